"""Clips to classify: an onset/apex image pair, a folder of numbered frames, or a video file.

Frames of a folder are ordered by the number in their file name (``reg_img46.jpg`` -> 46; the
last run of digits, ``mmnet.media.list_frames``), never lexicographically. Onset and apex are
frame numbers (``mmnet.media.FRAME_NUMBERING``): the number in the file name for folders, the
decode index counted from 0 for videos (``mmnet prepare`` writes frame i as ``reg_img{i}.jpg``),
0 and 1 for an image pair.

Nothing but the frames asked for is kept: a folder's frames are decoded when read, a video is
streamed (``mmnet.media.stream_video``). Spotting the apex (``mmnet.spotting.spot_apex``) reads
the clip once, one frame at a time; the onset and apex are then read in a second pass, which
for a video stops at the apex.

``ClipRequest`` and ``read_clip_list`` live in ``mmnet.infer.clip_list``; they are imported here too, so that
``from mmnet.infer.clips import ClipRequest`` works as it did before they moved (``mmnet.infer`` exports both).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeAlias

import numpy as np

from ..errors import DataError, PreprocessError
from ..media import (
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    conversion_hint,
    cut_short,
    declared_frame_count,
    frame_not_there,
    is_image,
    is_video,
    iter_video_frames,
    list_frames,
    read_rgb,
    stream_video,
)
from ..media_damage import TRUNCATED
from ..preprocess.exposure import unscaled_depth_warning
from ..preprocess.face import SIDEWAYS, FaceAligner
from ..preprocess.face_edge import OUTSIDE, face_edge_note
from ..preprocess.face_watch import MOVED_SCALE, MOVED_SHIFT, face_moved_beyond, moved_face
from ..preprocess.marker import read_marker
from ..spotting import spot_apex
from .clip_list import ClipRequest, read_clip_list

__all__ = ["Clip", "ClipRequest", "load_clip", "align_clip", "read_clip_list", "frame_number", "FrameNumber",
           "ONSET_FACE", "CHOOSE_FACE_FRAMES", "FaceMoved"]

#: The remedies when the onset, or a chosen frame, of an aligned clip shows no face.
ONSET_FACE = "The onset must show a face: choose --onset (onset=) at a frame that shows it"
CHOOSE_FACE_FRAMES = "Choose --onset/--apex (onset=/apex=) among frames that show the face"
#: The remedy when the head moves within a clip: a recording's spotter follows the face.
FOLLOW_FACE = "for a clip in which the head moves, `mmnet spot CLIP --checkpoint MODEL` follows the face."


class FaceMoved(PreprocessError):
    """A frame's face is away from the onset frame's place (``align_clip``'s face check); the message says how far."""
#: Fewer pixels a side than this hold no face's motion: the model would only enlarge a blur to its input size.
MIN_FRAME_SIDE = 16
#: A frame number as callers give it: an int, or a numpy integer (an index taken from an array); see frame_number.
FrameNumber: TypeAlias = "int | np.integer"


@dataclass
class Clip:
    """Frames of one clip, read when needed.

    Attributes:
        source: what the clip was read from (folder, video, or "ONSET + APEX" images).
        kind: "folder", "video" or "pair".
        transform: applied to every decoded frame (e.g. a face alignment); see ``align_clip``.
        notes: what the decoder said once a video was read to its end (``stream_video``'s notes: frames lost, a
            file cut short), for the prediction's notes; empty before that and for folders and pairs.
        decoded: the frames up to the last that decoded (lost ones counted) once a video was read to its end, as
            the decoder's notes count them; None before that.
    """

    source: str
    kind: str
    transform: Callable[[np.ndarray], np.ndarray] | None = None
    _video: Path | None = field(default=None, repr=False)
    _paths: dict[int, Path] = field(default_factory=dict, repr=False)  # folder: number -> file, in order
    _images: dict[int, np.ndarray] = field(default_factory=dict, repr=False)  # pair: {0: onset, 1: apex}
    _names: tuple[str, ...] = field(default=(), repr=False)  # pair: the two image paths
    # aligned clips: image -> face score, or None when the frame shows no face; raises FaceMoved (see align_clip)
    face_check: Callable[[np.ndarray], float | None] | None = field(default=None, repr=False)
    face_scores: dict[int, float] = field(default_factory=dict, repr=False)  # frame number -> face score
    notes: list[str] = field(default_factory=list, repr=False)  # shared with the aligned copy (align_clip)
    decoded: int | None = field(default=None, repr=False)
    prepared: dict | None = field(default=None, repr=False)  # a folder mmnet prepare wrote: its crops' settings
    prepared_record: dict = field(default_factory=dict, repr=False)  # ... and its record (warnings, face_watch)
    prepared_origin: tuple[int, str | None] = field(default=(1, None), repr=False)  # ... its format, mmnet version

    @property
    def pair(self) -> bool:
        return self.kind == "pair"

    @property
    def numbers(self) -> list[int] | None:
        """Frame numbers of a folder or pair; None for a video (its length is known once streamed)."""
        if self.kind == "folder":
            return list(self._paths)
        return list(self._images) if self.kind == "pair" else None

    @property
    def first(self) -> int:
        """Number of the first frame (the default onset); a video's is 0."""
        numbers = self.numbers
        return 0 if numbers is None else (numbers[0] if numbers else 0)

    def name(self, number: int) -> str:
        """A readable name of frame ``number``, used in error messages."""
        if self.kind == "folder":
            return self._paths[number].name
        return self._names[number] if self.kind == "pair" else f"frame {number}"

    def stream(self) -> Iterator[tuple[int, np.ndarray]]:
        """(number, raw frame) of every frame in order, decoded one at a time, before ``transform``."""
        if self.kind == "video":
            stream, count = stream_video(self._video), 0
            for frame in stream:
                count = frame.index + 1  # frames lost on the way count, as in the decoder's notes: the clip's length
                yield frame.index, frame.image
            self._read_to_end(stream.notes, count)
        else:
            for n in self.numbers:
                yield n, self._images[n] if self.kind == "pair" else read_rgb(self._paths[n])

    def _read_to_end(self, notes: list[str], decoded: int) -> None:
        """Keep the decoder's ``notes`` and the ``decoded`` count of a video read to its end. A decoder may end
        quietly where a file was cut (no note of its own): far fewer frames than the header declares say so.
        The list is changed in place: an aligned copy of the clip shares it."""
        declared = declared_frame_count(self._video)
        said = any(TRUNCATED in note for note in notes)  # the decoder stopped on the damage and said so itself
        short = cut_short(decoded, declared) and not said
        kept = [note for note in self.notes if OUTSIDE in note]  # align_clip's, on the onset frame's face
        self.notes[:] = [*notes, *([f"decoded {decoded} of {declared} frames: {TRUNCATED}"] if short else []), *kept]
        self.decoded = decoded

    def check(self, number: int, what: str) -> None:
        """DataError when a folder or pair has no frame ``number`` (videos are checked when read)."""
        numbers = self.numbers
        if numbers is not None and number not in self._paths and number not in self._images:
            raise DataError(frame_not_there(f"{what} frame {number}", f"clip '{self.source}'",
                                            (numbers[0], numbers[-1], len(numbers))))

    def read_raw(self, numbers: Iterable[int], what: Sequence[str] = ()) -> dict[int, np.ndarray]:
        """The decoded frames ``numbers`` (before ``transform``), in one pass over a video.

        ``what`` names the frames in error messages ("Onset", "Apex"), in the order of ``numbers``.
        """
        labels: dict[int, str] = {}
        for i, n in enumerate(numbers):
            labels.setdefault(n, what[i] if i < len(what) else "Requested")
        for n in labels:
            self.check(n, labels[n])
        if self.kind == "folder":
            return {n: read_rgb(self._paths[n]) for n in labels}
        if self.kind == "pair":
            return {n: self._images[n] for n in labels}
        return dict(iter_video_frames(self._video, labels, where=f"clip '{self.source}'", labels=labels))

    def read(self, numbers: Iterable[int], what: Sequence[str] = ()) -> dict[int, np.ndarray]:
        """(H, W, 3) uint8 RGB frames ``numbers`` after ``transform``, checked to share one size."""
        numbers = list(numbers)
        raw = dict(self._check_sizes(self.read_raw(numbers, what).items()))
        if self.face_check is not None:  # the alignment of the onset is applied only where a face is
            labels = dict(zip(numbers, what))
            for n, image in raw.items():
                if n not in self.face_scores:
                    try:
                        score = self.face_check(image)
                    except FaceMoved as exc:
                        raise PreprocessError(
                            f"Clip '{self.source}': {labels.get(n, 'the').lower()} frame '{self.name(n)}': {exc}, so "
                            "the onset frame's alignment would crop part of it or background there. "
                            f"{CHOOSE_FACE_FRAMES} while the head keeps still; {FOLLOW_FACE}") from None
                    if score is None:
                        raise PreprocessError(
                            f"Clip '{self.source}': {labels.get(n, 'the').lower()} frame '{self.name(n)}' shows no "
                            "face (it left the picture, or the frame is blank), so it cannot be aligned. "
                            f"{CHOOSE_FACE_FRAMES}, or trim the clip to them.")
                    self.face_scores[n] = score
        return raw if self.transform is None else {n: self.transform(im) for n, im in raw.items()}

    def read_pair(self, onset: int, apex: int) -> tuple[np.ndarray, np.ndarray]:
        """The onset and apex frames (see ``read``)."""
        frames = self.read([onset, apex], ("Onset", "Apex"))
        return frames[onset], frames[apex]

    def _check_sizes(self, frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``frames``, raising DataError at the first whose decoded size differs from the first's, or at
        the first when it is smaller than ``MIN_FRAME_SIDE`` on a side."""
        first = None
        for n, image in frames:
            if first is None:
                first = (n, image.shape)
                if min(image.shape[:2]) < MIN_FRAME_SIDE:
                    h, w = image.shape[:2]
                    raise DataError(
                        f"Frame '{self.name(n)}' of clip '{self.source}' is {w}x{h} pixels; a frame needs at least "
                        f"{MIN_FRAME_SIDE} on each side to show a face's motion (the model only enlarges it to its "
                        "input size). Give face crops of the original footage."
                    )
            elif image.shape != first[1]:
                (n0, s0), s = first, image.shape
                raise DataError(
                    f"Frames of clip '{self.source}' differ in size: '{self.name(n0)}' is {s0[1]}x{s0[0]}, "
                    f"'{self.name(n)}' is {s[1]}x{s[0]}. Crop and resize every frame of a clip the same way."
                )
            yield n, image

    def spot(self, onset: int) -> int:
        """Number of the frame after ``onset`` with the largest motion, reading the clip once."""
        numbers: list[int] = []
        ended = False

        def frames() -> Iterator[np.ndarray]:
            nonlocal ended
            for n, image in self._check_sizes(self.stream()):
                numbers.append(n)
                yield image if self.transform is None else self.transform(image)
            ended = True

        position = self.numbers.index(onset) if self.numbers is not None else onset
        try:
            return numbers[spot_apex(frames(), position)]
        except DataError:
            if not ended:  # a decoding or size error: it names the frame
                raise
            if len(numbers) < 2:
                raise DataError(f"Clip '{self.source}' has {len(numbers)} frame(s); a clip needs at least 2 "
                                "(onset and apex).") from None
            if onset > numbers[-1]:
                raise DataError(frame_not_there(f"Onset frame {onset}", f"clip '{self.source}'",
                                                (numbers[0], numbers[-1], len(numbers)))) from None
            raise DataError(f"No frame after onset frame {onset} in clip '{self.source}' ({len(numbers)} frames): "
                            "give an earlier onset, or the apex explicitly.") from None

    def select(self, onset: FrameNumber | None = None, apex: FrameNumber | None = None) -> tuple[int, int, bool]:
        """Numbers of the onset and apex frames, and whether the apex was spotted.

        Args:
            onset: onset frame number; the first frame when None.
            apex: apex frame number; spotted (largest motion after the onset) when None.
        """
        onset = None if onset is None else frame_number(onset, "onset")
        apex = None if apex is None else frame_number(apex, "apex")
        numbers = self.numbers
        if numbers is not None and len(numbers) < 2:
            raise DataError(f"Clip '{self.source}' has {len(numbers)} frame(s); a clip needs at least 2 "
                            "(onset and apex).")
        if self.pair and onset is None and apex is None:
            return 0, 1, False
        onset = self.first if onset is None else onset
        self.check(onset, "Onset")
        if self.kind == "video" and onset < 0:
            raise DataError(frame_not_there(f"Onset frame {onset}", f"clip '{self.source}'"))
        if apex is None:
            return onset, self.spot(onset), True
        self.check(apex, "Apex")
        if apex <= onset:
            raise DataError(f"Apex frame {apex} must come after onset frame {onset} in clip '{self.source}'.")
        return onset, apex, False


def frame_number(value: object, what: str) -> int:
    """``value`` as an int frame number: numpy integers pass; floats, text and booleans are refused (a float's
    or a string's frame would be looked up, and echoed back, as something no frame is numbered)."""
    try:
        if isinstance(value, bool):
            raise TypeError
        return operator.index(value)
    except TypeError:
        raise DataError(f"{what} must be an int frame number, got {value!r} ({type(value).__name__}).") from None


def as_clip(clip: Clip | str | Path, apex_image: str | Path | None = None) -> Clip:
    """A Clip as given, or opened from its path (``load_clip``, as ``mmnet predict`` opens one)."""
    if isinstance(clip, (str, Path)):
        return load_clip(clip, apex_image)
    if not isinstance(clip, Clip):
        raise TypeError(f"Expected a Clip (mmnet.infer.load_clip) or a clip's path (a folder of frames or a video), "
                        f"or in a list a ClipRequest or (clip, onset, apex) tuple; got a {type(clip).__name__}.")
    return clip


def load_clip(source: str | Path, apex_image: str | Path | None = None) -> Clip:
    """Open a clip: a folder of frames, a video file, or (with ``apex_image``) an onset image.

    A folder is listed and a video's first frame decoded here, so that bad input fails early;
    other frames are decoded when read.

    Raises:
        DataError: missing or unreadable input, or a single image without its apex partner.
    """
    src = Path(source)
    if apex_image is not None:
        images = {0: read_rgb(src), 1: read_rgb(apex_image)}
        return Clip(source=f"{src} + {apex_image}", kind="pair", _images=images, _names=(str(src), str(apex_image)))
    if src.is_dir():
        frames, _ = list_frames(src, numbered=True)
        if not frames:  # "0 frames" alone does not say that a folder of clips was given, or a wrong folder
            folders = sorted(p.name for p in src.iterdir() if p.is_dir() and not p.name.startswith("."))
            what = (f"holds {len(folders)} folder(s) ({', '.join(folders[:3])}{' ...' if len(folders) > 3 else ''}) "
                    "but no frames: give one clip folder per clip, or list them in a CSV for --list "
                    "(read_clip_list)" if folders
                    else f"holds no numbered frame image (e.g. img1.jpg; {', '.join(IMAGE_SUFFIXES)})")
            raise DataError(f"Clip folder '{src}' {what}.")
        depth = unscaled_depth_warning(path for _, path in frames)  # 12-bit data in 16-bit files: near-black
        settings, record, origin = read_marker(src)  # read once: the prediction's checks and notes take it from here
        return Clip(source=str(src), kind="folder", _paths=dict(frames), prepared=settings, prepared_record=record,
                    prepared_origin=origin, notes=[depth] if depth else [])
    if is_video(src):
        stream = stream_video(src)
        try:
            next(stream)  # decodes the first frame: an unreadable or empty video fails here
        finally:
            stream.close()
        return Clip(source=str(src), kind="video", _video=src)
    if not src.exists():
        raise DataError(f"Input '{src}' does not exist.")
    if is_image(src):
        raise DataError(f"'{src}' is a single image; give the onset and apex images, a folder of frames, or a video.")
    raise DataError(
        f"'{src}' is neither a folder of frames, a video ({', '.join(VIDEO_SUFFIXES)}) nor an image pair."
        + conversion_hint(src)
    )


def _depth_hint(clip: Clip) -> str:
    """Where the frames are near-black 16-bit ones (``unscaled_depth_warning``): the likelier reason for no face."""
    if not any(note.startswith("bit_depth:") for note in clip.notes):
        return ""
    return (" These frames are 16-bit files whose values use fewer bits, read near-black (the bit_depth warning), "
            "which hides a face: run `mmnet prepare` on them first")


def align_clip(clip: Clip, onset: FrameNumber | None = None, *, aligner: FaceAligner | None = None) -> Clip:
    """The clip with every frame cropped and aligned to the face, as ``mmnet prepare`` does.

    The alignment (``mmnet.preprocess.FaceAligner``, needs the extra ``face``) is estimated once on
    the onset frame and applied to every frame, so the apex-onset difference keeps the motion.

    Args:
        clip: the clip, as loaded.
        onset: onset frame number (default: the first frame).
        aligner: any object with ``estimate(image) -> alignment`` whose result has
            ``apply(image) -> crop``; default a new ``FaceAligner``.

    Every frame read later (the apex, given or spotted) is checked to show the face where the onset's was: a face
    gone, or moved over ``MOVED_SHIFT`` face widths or ``MOVED_SCALE`` times in size, is a PreprocessError when it
    is read, as that crop would miss the face.

    Raises:
        PreprocessError: the face extra is missing, or no face is found on the onset frame.
    """
    aligner = aligner if aligner is not None else FaceAligner()
    n_on = clip.first if onset is None or clip.pair else frame_number(onset, "onset")
    image = clip.read_raw([n_on], ("Onset",))[n_on]
    try:
        alignment = aligner.estimate(image)
    except PreprocessError as exc:
        raise PreprocessError(
            f"Clip '{clip.source}', onset frame '{clip.name(n_on)}': {exc}. {ONSET_FACE} (the input may also be "
            f"no face at all: noise, a blank screen). {SIDEWAYS}{_depth_hint(clip)}"
        ) from None
    face = getattr(alignment, "face", None)
    scores = {n_on: float(face.score)} if face is not None else {}
    detect = getattr(aligner, "detect", None)
    onset_box = getattr(face, "box", None)
    edge = onset_box and face_edge_note(onset_box, image.shape, getattr(alignment, "landmarks", None))
    clip.notes.extend([edge] if edge and edge not in clip.notes else [])  # shared with the aligned copy

    def face_check(frame: np.ndarray) -> float | None:
        found = detect(frame)
        if not found or onset_box is None:
            return float(found[0].score) if found else None
        moves = [(moved_face(onset_box, f.box), f) for f in found]
        (shift, ratio), near = min(moves, key=lambda m: m[0])  # the face nearest the onset's is the one followed
        if face_moved_beyond(shift, ratio):
            raise FaceMoved(f"the face moved {shift:.2f} face widths from its place on the onset frame"
                            + (f" and changed size {ratio:.2f} times" if ratio > MOVED_SCALE else "")
                            + f" (allowed: {MOVED_SHIFT:g} widths, {MOVED_SCALE:g} times)")
        return float(near.score)

    return replace(clip, transform=alignment.apply, face_check=face_check if detect is not None else None,
                   face_scores=scores)
