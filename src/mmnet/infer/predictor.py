"""A trained MMNet ready to classify clips: its preprocessing, the predictor, its predictions.

Preprocessing follows the checkpoint's ``preprocessing`` settings (image size, mean, std): each
frame is resized bilinearly to ``image_size`` squared, scaled to [0, 1] and normalised. Inputs
are expected to be face crops, as the training data were. Clips are read and their apex spotted
by ``mmnet.infer.clips`` (requests: ``mmnet.infer.clip_list``); a batch holds only the onset and apex
frames of its clips.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import torch

from ..errors import CheckpointError, ConfigError, DataError, MMNetError, PredictionError
from ..media import resize_rgb
from ..model import IMAGENET_MEAN, IMAGENET_STD, CheckpointInfo, MMNet, load_checkpoint
from ..model.cpu_inference import fast_cpu_copy
from ..model.cpu_kernels import set_cpu_routes
from ..preprocess.face import FaceAligner
from ..runtime import check_device, nnpack_available, resolve_device
from .alignment import TrainingAlignment, training_alignment
from .clip_failure import ClipFailure, failure_of
from .clip_list import ClipRequest
from .clips import MIN_FRAME_SIDE, Clip, FrameNumber, align_clip, as_clip, load_clip
from .prepared_note import check_prepared, prepared_note, prepared_notes, prepared_recording
from .recordings import long_clip_warning

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["Preprocessing", "Prediction", "Predictor", "ClipFailure", "FrameLike"]

#: A clip, or the path of one (a folder of frames or a video file).
ClipInput = Clip | str | Path
#: One frame as ``predict_frames`` and ``explain_pair`` take it: an (H, W, 3) uint8 RGB array, a PIL image or a
#: tensor (converted with ``np.asarray``). A string: PIL is imported only where an image is decoded.
FrameLike: TypeAlias = "np.ndarray | Image.Image | torch.Tensor"


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
        try:  # a hand-edited config may hold text or a lone number where numbers belong
            size = int(p.get("image_size", model.config.image_size))
            mean = tuple(float(v) for v in p.get("mean", IMAGENET_MEAN))
            std = tuple(float(v) for v in p.get("std", IMAGENET_STD))
        except (TypeError, ValueError):
            raise CheckpointError(
                f"Checkpoint preprocessing {p} is invalid: image_size must be a whole number, mean and std "
                "3 numbers each. Fix the checkpoint's config or save the checkpoint again."
            ) from None
        if size != model.config.image_size:
            raise CheckpointError(
                f"Checkpoint preprocessing.image_size {size} differs from its model.image_size "
                f"{model.config.image_size}; the network only accepts the latter. Fix the checkpoint's config."
            )
        if len(mean) != 3 or len(std) != 3 or not np.isfinite(mean + std).all() or min(std) <= 0:
            raise CheckpointError(f"Checkpoint preprocessing mean/std must be 3 values (finite, std > 0), "
                                  f"got {mean} / {std}.")
        return cls(image_size=size, mean=mean, std=std)

    def to_tensor(self, images: Sequence[FrameLike] | np.ndarray) -> torch.Tensor:
        """(H, W, 3) uint8 RGB images (or one (N, H, W, 3) array) -> (N, 3, S, S) float32 normalised tensor.

        Raises:
            DataError: no images, or one that is not an (H, W, 3) uint8 array.
        """
        frames = [_checked_frame(im, f"image {i}") for i, im in enumerate(images)]
        if not frames:
            raise DataError("No images to preprocess: give at least one (H, W, 3) uint8 RGB frame.")
        batch = np.stack([resize_rgb(im, self.image_size) for im in frames])  # (N, S, S, 3)
        x = torch.from_numpy(batch).permute(0, 3, 1, 2).float().div_(255.0)  # (N, 3, S, S)
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        return (x - mean) / std

    def to_dict(self) -> dict:
        return {"image_size": self.image_size, "mean": list(self.mean), "std": list(self.std)}


def _checked_frame(image: FrameLike, what: str) -> np.ndarray:
    """``image`` as a contiguous (H, W, 3) uint8 array, or a DataError saying what it is and what to do."""
    frame = np.ascontiguousarray(image)
    if frame.ndim != 3 or frame.shape[2] != 3 or 0 in frame.shape or frame.dtype != np.uint8:
        raise DataError(
            f"{what} is a {frame.dtype} array of shape {frame.shape}; frames must be RGB (H, W, 3) uint8 "
            "arrays (0-255). Convert a greyscale or RGBA image with np.asarray(PIL.Image.open(path).convert('RGB')), "
            "floats in [0, 1] with (x * 255).round().astype(np.uint8), other integers of 0-255 with "
            "np.asarray(x, dtype=np.uint8).")
    return frame


def _checked_pair(onset: np.ndarray, apex: np.ndarray, what: str) -> None:
    if onset.shape != apex.shape:
        raise DataError(f"{what}: onset frame is {onset.shape[1]}x{onset.shape[0]}, apex frame "
                        f"{apex.shape[1]}x{apex.shape[0]}; crop and resize both frames of a pair the same way.")
    if min(onset.shape[:2]) < MIN_FRAME_SIDE:  # as a clip's frames are refused (Clip.read): arrays too
        raise DataError(f"{what}: the frames are {onset.shape[1]}x{onset.shape[0]} pixels; a frame needs at least "
                        f"{MIN_FRAME_SIDE} on each side to show a face's motion (the model only enlarges it to its "
                        "input size). Give face crops of the original footage.")


def checked_frame_pair(onset: FrameLike, apex: FrameLike, what: str) -> tuple[np.ndarray, np.ndarray]:
    """One onset/apex pair (arrays, PIL images or tensors) as checked (H, W, 3) uint8 arrays of one size."""
    onset, apex = _checked_frame(onset, f"{what}: onset frame"), _checked_frame(apex, f"{what}: apex frame")
    _checked_pair(onset, apex, what)
    return onset, apex


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
    aligned: bool = False  # faces were detected, cropped and aligned (--align)
    face_score: float | None = None  # the lower detector score of the onset and apex faces (aligned only)
    notes: tuple[str, ...] = ()  # what the result cannot vouch for (the decoder's, ZERO_MOTION, NOT_CHECKED), in order
    recording_warning: str | None = None  # the clip looks like a long recording (see recordings.long_clip_warning)

    @property
    def warning(self) -> str | None:
        """The notes as one text, joined by "; " (None when there are none): the JSON's ``warning``."""
        return "; ".join(self.notes) or None

    def to_dict(self) -> dict:
        """The fields as the JSON carries them: ``notes`` become their one ``warning`` text, in the same place."""
        return {("warning" if name == "notes" else name): (self.warning if name == "notes" else value)
                for name, value in asdict(self).items()}


#: The note on every prediction made without --align (or an aligner): nothing checked that the frames show a face;
#: read by people at the command line and by programs using the library, so it names both remedies.
#: Its first part, for callers whose remedy is not the command line's --align (the server's).
FACE_NOT_CHECKED = ("input not checked for a face: the frames are assumed to be face crops (noise or a blank "
                    "frame also gets a label)")
NOT_CHECKED = (FACE_NOT_CHECKED + "; to detect and check the face, use --align on the command line, "
               "predict_clips(..., aligner=face_aligner(predictor.alignment)) in Python (face_aligner from "
               "mmnet.infer.alignment: the landmark model and crop the checkpoint records)")
#: The note on a prediction whose onset and apex frames hold the same pixels (one image given twice,
#: --onset equal to --apex, or a spotted apex at the onset): the network sees no motion at all.
ZERO_MOTION = ("the onset and apex frames are identical: the motion between them is zero by construction, so the "
               "class reflects no expression; give the frame where the expression peaks as the apex")


class Predictor:
    """A loaded MMNet with its preprocessing, ready to classify clips.

    The predictor takes over ``model``: the object given is put in eval mode, moved to ``device`` and, with
    ``channels_last``, converted to that memory format, in place (as ``nn.Module.to`` does; no copy, so no second
    set of weights). To keep training or changing the model, give a copy (``copy.deepcopy(model)``).

    Args:
        model: a trained MMNet (see above).
        info: the class names and preprocessing its checkpoint carries (default: unnamed
            classes, ImageNet statistics at the model's image size).
        device: where to run it.
        channels_last: run convolutions in the channels-last memory format.
        fast_cpu: on CPU, run a copy with BatchNorm folded into the convolutions and the two
            large 3x3 convolutions on Winograd kernels (``mmnet.model.cpu_inference``): faster,
            logits equal to the exact path up to float rounding (about 1e-6).
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
        # a typo or a GPU this machine lacks: one line, before any work. A torch.device is one already (cpu:0, mps):
        # only a CUDA one is checked to be here.
        if isinstance(device, str) or device.type == "cuda":
            check_device(str(device), where="device")
        if isinstance(device, str):
            device = resolve_device(device)
        self.device = torch.device(device)
        self.model = model.eval().to(self.device)
        if fast_cpu and self.device.type == "cpu":
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
        self.cpu_routes: dict[str, bool] = {}  # see use_cpu_routes
        self._training, self._alignment = info.training, None  # the alignment is read when first asked for

    @property
    def alignment(self) -> TrainingAlignment:
        """How to crop raw footage for this model: as its training clips were (``infer.alignment``). Read when first
        asked for: a record this mmnet cannot read (a later version's) is a CheckpointError then, not for others."""
        if self._alignment is None:
            self._alignment = training_alignment(self._training)
        return self._alignment

    def use_cpu_routes(self, routes: Mapping[str, bool]) -> None:
        """Turn on the fp32 kernel routes named true (``mmnet.model.cpu_kernels``; on CPU only): e.g. the
        ones this machine's calibration measured faster (``mmnet.calibration_cache.inference_routes``)."""
        if self.device.type == "cpu":
            set_cpu_routes(self.model, **routes)
        self.cpu_routes = {name: on for name, on in routes.items() if on and self.device.type == "cpu"}

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

    def predict_frames(self, onsets: Sequence[FrameLike] | np.ndarray, apexes: Sequence[FrameLike] | np.ndarray,
                       ) -> np.ndarray:
        """Class probabilities (N, num_classes) of N onset/apex pairs of (H, W, 3) uint8 frames (lists of arrays,
        PIL images or tensors, or two (N, H, W, 3) arrays).

        Raises:
            DataError: the lists differ in length or are empty, a frame is not (H, W, 3) uint8, or
                the two frames of a pair differ in size.
        """
        if any(isinstance(f, np.ndarray) and f.ndim == 3 for f in (onsets, apexes)):
            raise DataError("predict_frames takes lists of frames (or (N, H, W, 3) arrays), not one frame: pass "
                            "[onset] and [apex] for one pair.")
        on_list, ap_list = list(onsets), list(apexes)  # an iterator too, as before
        if len(on_list) != len(ap_list) or not on_list:
            raise DataError(f"predict_frames needs as many apex frames as onset frames, at least one of each; "
                            f"got {len(on_list)} onset(s) and {len(ap_list)} apex(es).")
        on_frames = [_checked_frame(f, f"onset frame {i}") for i, f in enumerate(on_list)]
        ap_frames = [_checked_frame(f, f"apex frame {i}") for i, f in enumerate(ap_list)]
        for i, (on, ap) in enumerate(zip(on_frames, ap_frames)):
            _checked_pair(on, ap, f"Pair {i}")
        onset = self.preprocessing.to_tensor(on_frames)
        apex = self.preprocessing.to_tensor(ap_frames)
        return torch.softmax(self.logits(onset, apex), dim=1).cpu().numpy()

    def predict_clip(self, clip: ClipInput, *, onset: FrameNumber | None = None,
                     apex: FrameNumber | None = None) -> Prediction:
        """Classify one clip, or the clip at a path (``load_clip``); onset/apex: frame numbers (``Clip.select``)."""
        return self.predict_clips([(clip, onset, apex)])[0]

    def predict_clips(
        self, clips: Iterable[ClipInput | ClipRequest | tuple[ClipInput, FrameNumber | None, FrameNumber | None]], *,
        batch_size: int = 8,
        aligner: FaceAligner | None = None, failures: list[ClipFailure] | None = None,
        on_done: Callable[[int], object] | None = None,
    ) -> list[Prediction]:
        """Classify many clips, ``batch_size`` at a time; results keep the input order.

        Args:
            clips: ``Clip``s, their paths or ``ClipRequest``s (read here), or ``(clip, onset, apex)`` tuples.
            batch_size: clips per forward pass, an int >= 1.
            aligner: when given, faces are cropped and aligned first (see ``align_clip``).
            failures: when given, a clip that cannot be classified (an MMNetError of its own) is
                appended to it as a ``ClipFailure`` and skipped; the others are still classified.
            on_done: called with how many clips are finished (classified or failed) after each batch.

        Otherwise an error, and always an interruption, mid-way carries the clips classified before
        it, in input order, as its ``partial`` attribute: a caller can keep what finished.
        """
        if isinstance(clips, (str, Path, Clip, ClipRequest)):
            raise TypeError(f"predict_clips takes a list of clips, got one {type(clips).__name__}: pass [clip], "
                            "or call predict_clip.")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be an int >= 1 (clips per forward pass), got {batch_size!r}.")
        results: list[Prediction] = []
        pending: list[tuple[Clip, int, int, bool, bool]] = []
        pairs: list[tuple[np.ndarray, np.ndarray]] = []
        positions: list[int] = []  # of the pending clips in the input: a failure says where it was

        def flush() -> None:
            if not pending:
                return
            probs = self.predict_frames([o for o, _ in pairs], [a for _, a in pairs])
            for (clip, onset, apex, spotted, chosen), p, (o, a), i in zip(pending, probs, pairs, positions):
                try:
                    results.append(self._prediction(clip, onset, apex, spotted, p, chosen=chosen,
                                                    still=np.array_equal(o, a)))
                except MMNetError as exc:
                    if failures is None:
                        raise
                    failures.append(ClipFailure(clip.source, str(exc), i, onset, apex))
            pending.clear()
            pairs.clear()
            positions.clear()
            if on_done is not None:
                on_done(len(results) + len(failures or ()))

        try:
            for i, item in enumerate(clips):
                try:
                    entry, pair = self._read(item, aligner)
                except MMNetError as exc:
                    if failures is None:
                        raise
                    failures.append(failure_of(item, str(exc), i))
                    continue
                pending.append(entry)
                pairs.append(pair)
                positions.append(i)
                if len(pending) >= batch_size:
                    flush()
            flush()
        except (MMNetError, KeyboardInterrupt) as exc:
            if isinstance(exc, MMNetError):  # classify the clips read before the bad one
                with contextlib.suppress(MMNetError):
                    flush()
            exc.partial = results
            raise
        return results

    @staticmethod
    def _read(item: ClipInput | ClipRequest | tuple[ClipInput, FrameNumber | None, FrameNumber | None],
              aligner: FaceAligner | None) -> tuple[tuple[Clip, int, int, bool, bool], tuple[np.ndarray, np.ndarray]]:
        """One clip of ``predict_clips``, read: (clip, onset, apex, spotted, chosen) and its checked frame pair."""
        if isinstance(item, ClipRequest):
            clip = load_clip(item.source, item.apex_image)
            onset, apex = item.onset, item.apex
        elif isinstance(item, tuple) and len(item) == 3:
            clip, onset, apex = as_clip(item[0]), item[1], item[2]
        elif isinstance(item, tuple):
            raise TypeError(f"A clip tuple is (clip or path, onset, apex); got {len(item)} item(s): {item!r}. "
                            "Give None for a frame to choose automatically.")
        else:
            clip, onset, apex = as_clip(item), None, None
        chosen = onset is not None and apex is not None  # the caller picked both frames (a spotted interval)
        if aligner is not None:
            clip = align_clip(clip, onset, aligner=aligner)
        onset, apex, spotted = clip.select(onset, apex)
        check_prepared(clip, onset, apex)  # a frame whose crop prepare found to miss the face
        on, ap = clip.read_pair(onset, apex)
        # checked here, not in the batch: a bad pair fails its own clip, not the clips batched with it
        on, ap = checked_frame_pair(on, ap, clip.source)
        return (clip, onset, apex, spotted, chosen), (on, ap)

    def _prediction(self, clip: Clip, onset: int, apex: int, spotted: bool, probs: np.ndarray, *,
                    chosen: bool = False, still: bool = False) -> Prediction:
        """``chosen``: onset and apex were both given, so a long clip is no mistake to warn about (one
        expression of a recording, picked by its frames). ``still``: the two frames are identical."""
        if not np.isfinite(probs).all():
            raise PredictionError(f"{clip.source}: the network's output is not finite (NaN or infinity) for onset "
                                  f"{onset}, apex {apex}; the checkpoint or the frames are unusable.")
        k = int(np.argmax(probs))
        aligned = clip.transform is not None
        scores = [clip.face_scores[n] for n in (onset, apex) if n in clip.face_scores]
        # crops mmnet prepare wrote were checked for a face there; its marker says how they were cropped
        unchecked = NOT_CHECKED if aligned or clip.prepared is None else prepared_note(clip.prepared, self.alignment)
        return Prediction(
            source=clip.source,
            onset=onset,
            apex=apex,
            apex_spotted=spotted,
            label=self.class_names[k],
            probabilities={name: float(v) for name, v in zip(self.class_names, probs)},
            aligned=aligned,
            face_score=round(min(scores), 4) if scores else None,
            notes=(*clip.notes, *(note for note, on in ((ZERO_MOTION, still), (unchecked, not aligned)) if on),
                   *prepared_notes(clip, onset, apex)),
            recording_warning=None if chosen else long_clip_warning(clip) or prepared_recording(clip),
        )
