"""Use a trained MMNet on new clips: load frames, pick onset and apex, preprocess, classify.

A clip is an onset/apex image pair, a folder of frames, or a video file. Frames of a folder are
ordered by the integer in their file name (``reg_img46.jpg`` -> 46; the last run of digits), never
lexicographically. Onset and apex are frame numbers: the number in the file name for folders,
the position counted from 1 for videos (as ``mmnet prepare`` numbers the frames it extracts).
The onset defaults to the first frame and the apex, when not given, is spotted
(``mmnet.spotting.spot_apex``).

Preprocessing follows the checkpoint's ``preprocessing`` settings (image size, mean, std): each
frame is resized bilinearly to ``image_size`` squared, scaled to [0, 1] and normalised. Inputs
are expected to be face crops, as the training data were.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from .data.image import read_rgb, resize_rgb
from .errors import CheckpointError, DataError, PreprocessError
from .model import IMAGENET_MEAN, IMAGENET_STD, CheckpointInfo, MMNet, load_checkpoint
from .spotting import spot_apex
from .video import VIDEO_SUFFIXES, is_video, read_video_frames

__all__ = [
    "IMAGE_SUFFIXES",
    "Preprocessing",
    "Clip",
    "ClipRequest",
    "Prediction",
    "Predictor",
    "check_same_size",
    "frame_number",
    "list_frames",
    "load_clip",
    "align_clip",
    "read_clip_list",
]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
_LAST_INT = re.compile(r"(\d+)(?!.*\d)")


# -- preprocessing -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Preprocessing:
    """How frames become network inputs: bilinear resize to a square, [0, 1], normalise."""

    image_size: int = 224
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    @classmethod
    def from_checkpoint(cls, model: MMNet, info: CheckpointInfo) -> Preprocessing:
        """The checkpoint's settings; missing keys take the training defaults (ImageNet stats)."""
        p = info.preprocessing
        size = int(p.get("image_size", model.config.image_size))
        if size != model.config.image_size:
            raise CheckpointError(
                f"Checkpoint preprocessing.image_size {size} differs from its model.image_size "
                f"{model.config.image_size}; the network only accepts the latter. Fix the checkpoint's config."
            )
        mean = tuple(float(v) for v in p.get("mean", IMAGENET_MEAN))
        std = tuple(float(v) for v in p.get("std", IMAGENET_STD))
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise CheckpointError(f"Checkpoint preprocessing mean/std must be 3 values (std > 0), got {mean} / {std}.")
        return cls(image_size=size, mean=mean, std=std)

    def to_tensor(self, images: Sequence[np.ndarray]) -> torch.Tensor:
        """(H, W, 3) uint8 RGB images -> (N, 3, S, S) float32 normalised tensor."""
        batch = np.stack([resize_rgb(np.ascontiguousarray(im), self.image_size) for im in images])  # (N, S, S, 3)
        x = torch.from_numpy(batch).permute(0, 3, 1, 2).float().div_(255.0)  # (N, 3, S, S)
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        return (x - mean) / std

    def to_dict(self) -> dict:
        return {"image_size": self.image_size, "mean": list(self.mean), "std": list(self.std)}


# -- clips ---------------------------------------------------------------------------------------
def frame_number(path: str | Path) -> int:
    """The last integer in a frame's file name (``reg_img46.jpg`` -> 46), or DataError."""
    match = _LAST_INT.search(Path(path).stem)
    if match is None:
        raise DataError(f"Frame '{path}' has no number in its name; frames must be numbered (e.g. img12.jpg).")
    return int(match.group(1))


def list_frames(folder: str | Path) -> list[tuple[int, Path]]:
    """Image files of ``folder`` as (number, path), sorted by the number in their names.

    Files that are not images (by suffix) and hidden files are not frames and are left out.
    """
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"Frame folder '{root}' does not exist.")
    images = [p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")]
    unnumbered = sorted(p.name for p in images if _LAST_INT.search(p.stem) is None)
    if unnumbered:
        raise DataError(f"Frames in '{root}' without a number in their name: {unnumbered[:5]}; rename them (e.g. img12.jpg).")
    numbered = sorted((frame_number(p), p) for p in images)
    seen: dict[int, Path] = {}
    for n, p in numbered:
        if n in seen:
            raise DataError(f"Frames '{seen[n].name}' and '{p.name}' in '{root}' have the same number {n}.")
        seen[n] = p
    return numbered


@dataclass
class Clip:
    """Frames of one clip. Folder frames are decoded when first needed.

    Attributes:
        source: what the clip was read from (folder, video, or "ONSET + APEX" images).
        numbers: frame numbers (from file names; counted from 1 for videos; 0 and 1 for a pair).
        names: a readable name per frame, used in error messages.
        pair: True for an onset/apex image pair (frame 0 is the onset, 1 the apex).
        transform: applied to every decoded frame (e.g. a face alignment); see ``align_clip``.
    """

    source: str
    numbers: list[int]
    names: list[str]
    pair: bool = False
    transform: Callable[[np.ndarray], np.ndarray] | None = None
    _paths: list[Path] | None = field(default=None, repr=False)  # folders: read on demand
    _decoded: dict[int, np.ndarray] = field(default_factory=dict, repr=False)  # videos, pairs: in memory
    _cache: dict[int, np.ndarray] = field(default_factory=dict, repr=False)  # transformed frames
    _shapes: dict[int, tuple[int, ...]] = field(default_factory=dict, repr=False)  # decoded sizes

    def __len__(self) -> int:
        return len(self.numbers)

    def raw_frame(self, index: int) -> np.ndarray:
        """The decoded frame at position ``index`` (not frame number), before ``transform``."""
        image = self._decoded[index] if index in self._decoded else read_rgb(self._paths[index])
        self._shapes[index] = image.shape
        return image

    def frame(self, index: int) -> np.ndarray:
        """(H, W, 3) uint8 RGB frame at position ``index``, after ``transform``."""
        if index not in self._cache:
            image = self.raw_frame(index)
            self._cache[index] = image if self.transform is None else self.transform(image)
        return self._cache[index]

    def raw_shape(self, index: int) -> tuple[int, ...]:
        """Size of the decoded frame (before ``transform``)."""
        if index not in self._shapes:
            self.frame(index)
        return self._shapes[index]

    def frames(self) -> list[np.ndarray]:
        """All frames, checked to share one size."""
        check_same_size(self, range(len(self)))
        return [self.frame(i) for i in range(len(self))]

    def keep_only(self, indices: Iterable[int]) -> None:
        """Free every cached frame but these (a batch of long clips holds two frames each)."""
        keep = set(indices)
        self._cache = {i: f for i, f in self._cache.items() if i in keep}
        self._decoded = {i: f for i, f in self._decoded.items() if i in keep}

    def index_of(self, number: int, what: str) -> int:
        try:
            return self.numbers.index(number)
        except ValueError:
            raise DataError(
                f"{what} frame {number} is not in clip '{self.source}' (its frames are numbered "
                f"{self.numbers[0]}..{self.numbers[-1]}, {len(self)} frames)."
            ) from None

    def select(self, onset: int | None = None, apex: int | None = None) -> tuple[int, int, bool]:
        """Positions of the onset and apex frames, and whether the apex was spotted.

        Args:
            onset: onset frame number; the first frame when None.
            apex: apex frame number; spotted (largest motion after the onset) when None.
        """
        if len(self) < 2:
            raise DataError(f"Clip '{self.source}' has {len(self)} frame(s); a clip needs at least 2 (onset and apex).")
        if self.pair and onset is None and apex is None:
            return 0, 1, False
        i_onset = 0 if onset is None else self.index_of(onset, "Onset")
        if apex is None:
            return i_onset, spot_apex(self.frames(), i_onset), True
        i_apex = self.index_of(apex, "Apex")
        if i_apex <= i_onset:
            raise DataError(
                f"Apex frame {apex} must come after onset frame {self.numbers[i_onset]} in clip '{self.source}'."
            )
        return i_onset, i_apex, False


def check_same_size(clip: Clip, indices: Iterable[int]) -> None:
    """DataError naming the first frame (by position in ``indices``) whose size differs from the first."""
    indices = list(indices)
    first = clip.raw_shape(indices[0])
    for i in indices[1:]:
        shape = clip.raw_shape(i)
        if shape != first:
            raise DataError(
                f"Frames of clip '{clip.source}' differ in size: '{clip.names[indices[0]]}' is "
                f"{first[1]}x{first[0]}, '{clip.names[i]}' is {shape[1]}x{shape[0]}. "
                "Crop and resize every frame of a clip the same way."
            )


def load_clip(source: str | Path, apex_image: str | Path | None = None) -> Clip:
    """Open a clip: a folder of frames, a video file, or (with ``apex_image``) an onset image.

    Raises:
        DataError: missing or unreadable input, or a single image without its apex partner.
    """
    src = Path(source)
    if apex_image is not None:
        onset_img, apex_img = read_rgb(src), read_rgb(apex_image)
        clip = Clip(source=f"{src} + {apex_image}", numbers=[0, 1], names=[str(src), str(apex_image)], pair=True)
        clip._decoded = {0: onset_img, 1: apex_img}
        return clip
    if src.is_dir():
        listed = list_frames(src)
        return Clip(
            source=str(src), numbers=[n for n, _ in listed], names=[p.name for _, p in listed],
            _paths=[p for _, p in listed],
        )
    if is_video(src):
        frames = read_video_frames(src)
        numbers = list(range(1, len(frames) + 1))
        clip = Clip(source=str(src), numbers=numbers, names=[f"frame {n}" for n in numbers])
        clip._decoded = dict(enumerate(frames))
        return clip
    if not src.exists():
        raise DataError(f"Input '{src}' does not exist.")
    if src.suffix.lower() in IMAGE_SUFFIXES:
        raise DataError(f"'{src}' is a single image; give the onset and apex images, a folder of frames, or a video.")
    raise DataError(
        f"'{src}' is neither a folder of frames, a video ({', '.join(VIDEO_SUFFIXES)}) nor an image pair."
    )


def align_clip(clip: Clip, onset: int | None = None, *, aligner=None) -> Clip:
    """The clip with every frame cropped and aligned to the face, as ``mmnet prepare`` does.

    The alignment (``mmnet.preprocess.FaceAligner``, needs ``mmnet[face]``) is estimated once on
    the onset frame and applied to every frame, so the apex-onset difference keeps the motion.

    Args:
        clip: the clip, as loaded.
        onset: onset frame number (default: the first frame).
        aligner: any object with ``estimate(image) -> alignment`` whose result has
            ``apply(image) -> crop``; default a new ``FaceAligner``.

    Raises:
        PreprocessError: the face extra is missing, or no face is found on the onset frame.
    """
    if aligner is None:
        from .preprocess import FaceAligner

        aligner = FaceAligner()
    i_on = 0 if onset is None or clip.pair else clip.index_of(onset, "Onset")
    try:
        alignment = aligner.estimate(clip.raw_frame(i_on))
    except PreprocessError as exc:
        raise PreprocessError(
            f"Clip '{clip.source}', onset frame '{clip.names[i_on]}': {exc}. Give face crops and leave out --align."
        ) from None
    return replace(clip, transform=alignment.apply, _cache={})


@dataclass(frozen=True)
class ClipRequest:
    """One clip to classify: what to read and, optionally, which frames are onset and apex."""

    source: Path
    apex_image: Path | None = None
    onset: int | None = None
    apex: int | None = None


_LIST_COLUMNS = ("source", "apex_image", "onset", "apex")


def read_clip_list(path: str | Path) -> list[ClipRequest]:
    """Read a CSV of clips: column ``source`` (folder, video, or onset image), optional
    ``apex_image`` (then ``source`` is the onset image), ``onset`` and ``apex`` (frame numbers;
    blank = first frame / spotted). Relative paths are relative to the CSV's folder.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"Clip list '{p}' does not exist.")
    with p.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        unknown = [c for c in columns if c not in _LIST_COLUMNS]
        if "source" not in columns or unknown:
            raise DataError(
                f"Clip list '{p}' has columns {columns}; expected 'source' and optionally "
                f"{list(_LIST_COLUMNS[1:])} (unknown: {unknown})."
            )
        requests = [_clip_request(p, row_no, row) for row_no, row in enumerate(reader, start=2)]
    if not requests:
        raise DataError(f"Clip list '{p}' has no rows.")
    return requests


def _clip_request(csv_path: Path, row_no: int, row: dict) -> ClipRequest:
    """One CSV row -> ClipRequest (row_no counts the header as row 1, as spreadsheets do)."""

    def path(value: str | None) -> Path | None:
        if value is None or not value.strip():
            return None
        q = Path(value.strip())
        return q if q.is_absolute() else csv_path.parent / q

    def number(name: str) -> int | None:
        value = (row.get(name) or "").strip()
        if not value:
            return None
        try:
            return int(value)
        except ValueError:
            raise DataError(f"Clip list '{csv_path}' row {row_no}: {name} must be a frame number, got {value!r}.") from None

    source = path(row.get("source"))
    if source is None:
        raise DataError(f"Clip list '{csv_path}' row {row_no}: 'source' is empty.")
    return ClipRequest(source, path(row.get("apex_image")), number("onset"), number("apex"))


# -- prediction ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Prediction:
    """The class of one clip, with the frames it was computed from."""

    source: str
    onset: int  # frame number
    apex: int  # frame number
    apex_spotted: bool
    label: str
    probabilities: dict[str, float]

    def to_dict(self) -> dict:
        return asdict(self)


class Predictor:
    """A loaded MMNet with its preprocessing, ready to classify clips.

    Args:
        model: a trained MMNet (put in eval mode here).
        info: the class names and preprocessing its checkpoint carries (default: unnamed
            classes, ImageNet statistics at the model's image size).
        device: where to run it.
        channels_last: run convolutions in the channels-last memory format.
        fast_cpu: on CPU, run a copy with BatchNorm folded into the convolutions and the two
            large 3x3 convolutions on Winograd kernels (``mmnet.model.cpu_inference``): faster,
            logits equal to the exact path up to float rounding (~1e-6 measured).
    """

    def __init__(
        self,
        model: MMNet,
        info: CheckpointInfo | None = None,
        *,
        device: str | torch.device = "cpu",
        channels_last: bool = False,
        fast_cpu: bool = False,
    ) -> None:
        info = info or CheckpointInfo()
        if model.config.main_input == "flow":
            raise CheckpointError(
                "This checkpoint's network reads optical flow (model.main_input='flow'); prediction from "
                "frames supports main_input 'difference' and 'apex'."
            )
        self.device = torch.device(device)
        self.model = model.eval().to(self.device)
        if fast_cpu and self.device.type == "cpu":
            from .model.cpu_inference import fast_cpu_copy
            from .runtime import nnpack_available

            self.model = fast_cpu_copy(self.model, winograd=nnpack_available())
        self.channels_last = channels_last
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.preprocessing = Preprocessing.from_checkpoint(model, info)
        n = model.config.num_classes
        names = list(info.class_names) if info.class_names else [f"class_{i}" for i in range(n)]
        if len(names) != n:
            raise CheckpointError(f"Checkpoint lists {len(names)} class names {names} for {n} outputs.")
        self.class_names = names

    @classmethod
    def from_checkpoint(cls, path: str | Path, *, device: str | torch.device = "cpu", **kwargs) -> Predictor:
        """Load an mmnet checkpoint folder (or its model.safetensors); nothing is unpickled."""
        model, info = load_checkpoint(path)
        return cls(model, info, device=device, **kwargs)

    def logits(self, onset: torch.Tensor, apex: torch.Tensor) -> torch.Tensor:
        """Logits (B, num_classes) of preprocessed (B, 3, S, S) onset and apex tensors."""
        onset, apex = onset.to(self.device), apex.to(self.device)
        if self.channels_last:
            onset = onset.contiguous(memory_format=torch.channels_last)
            apex = apex.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            return self.model(onset, apex).float()

    def predict_frames(self, onsets: Sequence[np.ndarray], apexes: Sequence[np.ndarray]) -> np.ndarray:
        """Class probabilities (N, num_classes) of N onset/apex pairs of (H, W, 3) uint8 frames."""
        onset = self.preprocessing.to_tensor(onsets)
        apex = self.preprocessing.to_tensor(apexes)
        return torch.softmax(self.logits(onset, apex), dim=1).cpu().numpy()

    def predict_clip(self, clip: Clip, *, onset: int | None = None, apex: int | None = None) -> Prediction:
        """Classify one clip; onset/apex are frame numbers (see ``Clip.select``)."""
        return self.predict_clips([(clip, onset, apex)])[0]

    def predict_clips(
        self, clips: Iterable[ClipRequest | tuple[Clip, int | None, int | None]], *, batch_size: int = 8,
        aligner=None,
    ) -> list[Prediction]:
        """Classify many clips, ``batch_size`` at a time; results keep the input order.

        Args:
            clips: ``ClipRequest``s (read here) or ``(Clip, onset, apex)`` tuples.
            batch_size: clips per forward pass.
            aligner: when given, faces are cropped and aligned first (see ``align_clip``).
        """
        results: list[Prediction] = []
        pending: list[tuple[Clip, int, int, bool]] = []
        pairs: list[tuple[np.ndarray, np.ndarray]] = []

        def flush() -> None:
            if not pending:
                return
            probs = self.predict_frames([o for o, _ in pairs], [a for _, a in pairs])
            for (clip, i_on, i_ap, spotted), p in zip(pending, probs):
                results.append(self._prediction(clip, i_on, i_ap, spotted, p))
            pending.clear()
            pairs.clear()

        for item in clips:
            if isinstance(item, ClipRequest):
                clip = load_clip(item.source, item.apex_image)
                onset, apex = item.onset, item.apex
            else:
                clip, onset, apex = item
            if aligner is not None:
                clip = align_clip(clip, onset, aligner=aligner)
            i_on, i_ap, spotted = clip.select(onset, apex)
            check_same_size(clip, [i_on, i_ap])
            pending.append((clip, i_on, i_ap, spotted))
            pairs.append((clip.frame(i_on), clip.frame(i_ap)))
            clip.keep_only((i_on, i_ap))
            if len(pending) >= batch_size:
                flush()
        flush()
        return results

    def _prediction(self, clip: Clip, i_on: int, i_ap: int, spotted: bool, probs: np.ndarray) -> Prediction:
        k = int(np.argmax(probs))
        return Prediction(
            source=clip.source,
            onset=clip.numbers[i_on],
            apex=clip.numbers[i_ap],
            apex_spotted=spotted,
            label=self.class_names[k],
            probabilities={name: float(v) for name, v in zip(self.class_names, probs)},
        )
