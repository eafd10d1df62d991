"""The training-free optical-flow spotter, part 1: a recording -> per-frame motion curves, streaming.

For each frame i and each expression scale (micro, macro, each with its stride k from
``SpotConfig``), the optical flow from frame i - k to frame i is computed on the aligned face
crop; the head's own motion (translation, roll, scale: a similarity fitted to the flow of the face's rigid
parts, ``head_motion``) is subtracted;
in each region (brows, mouth; eyes masked, see ``regions``) the score is the mean of the largest
``top`` fraction (default a tenth) of the flow
magnitudes. The score is placed at the middle of the pair (frame i - k // 2).

Memory does not grow with the recording: frames are read one at a time, only the last k + 1 grey
crops are kept, and per frame a few numbers. The face is detected and aligned once, then looked
for again every ``face.check_every`` seconds: it is re-aligned only when it has moved, and the
frames around a check that found no face become a gap (their scores are NaN, never interpolated).
With several people in view, each check takes the face followed so far (``preprocess.face.followed_face``),
not the best-scoring one (``face_track``); when that face is gone and another is there, the spotter follows the
other, and the frames since the check before become a gap: no flow compares two faces.
``peaks.spot_intervals`` turns the curves into intervals. All it holds between two frames (``motion_state``) can be
saved and continued from (``partial_state``: ``mmnet spot --out`` resumes an interrupted run).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError, PreprocessError
from ..preprocess.face import SIDEWAYS
from ..preprocess.flow import flow_calculator
from .config import MAX_FPS, SpotConfig
from .face_track import MAX_LISTED, FaceTrack
from .intervals import FRAME_RATE, PRESENTATION
from .lighting import lighting_notes
from .motion_state import SCALES, MotionState, StaleProgress
from .read_ahead import ReadAhead
from .recording import FrameFiles, TimedFrames, check_numbering
from .regions import MEASURED, Regions

__all__ = ["MotionCurves", "FlowHook", "open_recording", "extract_motion", "check_rate", "centre_pairs", "NO_ALIGN",
           "NO_RATE"]

#: The remedy when frames show no face that may be face crops already (here and ``infer.recordings``).
NO_ALIGN = ("If the frames are face crops already, spot with --no-align (in Python: the override face.mode=none, "
            "e.g. spot_config('casme2', 'face.mode=none')).")
#: A video without a frame rate in its header.
NO_RATE = "does not state its frame rate; pass fps=... / --fps."
#: ``on_flow(scale, pos, (first, last), flow, regions)``: see ``extract_motion``.
FlowHook = Callable[[str, int, tuple[int, int], np.ndarray, Regions], None]
_NAN = [float("nan")] * len(MEASURED)  # the scores of a pair that cannot be measured


@dataclass
class MotionCurves:
    """What the spotter measured on one recording.

    Attributes:
        fps: frame rate used to convert the config's frame counts.
        numbers: (N,) frame numbers (videos: from 0; frame folders: the number in the file name).
        scores: scale -> (N, R) raw region scores (pixels of the crop), NaN where undefined.
        regions: the R region names, in column order.
        strides: scale -> k in frames at ``fps``.
        gaps: (first, last) frame numbers of the runs of frames without a usable face.
        realignments: frame numbers where the alignment was (re-)estimated.
        notes: what the curves cannot vouch for, one sentence each (a video that decoded short of its count,
            frames missing from a frame folder, several faces in view and which one was followed).
        missing: (first, last) frame numbers of the runs of frames missing from the recording (a frame folder's
            numbers that have no file); like gaps, their motion is not measured.
        faces: (frame number, box) of the followed face at each check that saw it; the box is (left, top,
            right, bottom) in frame pixels.
        times: (N,) a video's frame times, its presentation times in seconds from the first frame (NaN where a
            frame has none); None where seconds are frame numbers / ``fps`` (a frame folder, a rate given that
            replaces the video's own).
    """

    fps: float
    numbers: np.ndarray
    scores: dict[str, np.ndarray]
    regions: tuple[str, ...]
    strides: dict[str, int]
    gaps: list[tuple[int, int]] = field(default_factory=list)
    realignments: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missing: list[tuple[int, int]] = field(default_factory=list)
    faces: list[tuple[int, tuple[int, int, int, int]]] = field(default_factory=list)
    times: np.ndarray | None = None

    @property
    def time_base(self) -> str:
        """What the seconds are: ``intervals.PRESENTATION`` (the video's frame times) or ``intervals.FRAME_RATE``."""
        return FRAME_RATE if self.times is None else PRESENTATION

    def seconds(self, number: int) -> float:
        """Frame ``number``'s time in seconds from the first frame: its presentation time in the video (between
        its neighbours' for a frame without one), else (number - first) / fps."""
        numbers = np.asarray(self.numbers)
        first = int(numbers[0]) if len(numbers) else 0
        if self.times is None:
            return (number - first) / self.fps
        if getattr(self, "_known", None) is None:  # once, not per interval: a recording has ~100,000 frames an hour
            known = np.isfinite(self.times)
            self._known = numbers[known], np.asarray(self.times)[known]
        at, times = self._known
        if not len(at):
            return (number - first) / self.fps
        if number > at[-1]:  # past the last frame with a time: on at the rate
            return float(times[-1] + (number - at[-1]) / self.fps)
        if number < at[0]:
            return float(times[0] - (at[0] - number) / self.fps)
        return float(np.interp(number, at, times))

    def face_at(self, number: int) -> tuple[int, int, int, int] | None:
        """The followed face's box at the last check up to frame ``number`` (the first check's before it), so
        that a frame is cropped to the face the spotter measured there; None when no face was followed."""
        before = [box for seen, box in self.faces if seen <= number]
        return before[-1] if before else (self.faces[0][1] if self.faces else None)

    @property
    def frames_read(self) -> int:
        """The frames the recording holds: every number but the missing ones."""
        return len(self.numbers) - sum(b - a + 1 for a, b in self.missing)


def open_recording(source: str | Path, fps: float | None = None
                   ) -> tuple[Iterator[tuple[int, np.ndarray]], float, int | None]:
    """A video file or a frame folder as ((number, RGB frame) stream, fps, frame count or None).

    A video's rate and count are the ones its container declares (``media.video_header``); its stream is a
    ``recording.TimedFrames``, whose note ``extract_motion`` adds when the frame rate varies. A frame folder's
    numbers that have no file are streamed as (number, None): missing frames, measured as gaps are.

    Raises:
        DataError: the source does not exist or is not a video or folder, a frame folder is given without
            ``fps``, or its numbers are mostly missing (``recording.check_numbering``).
    """
    from ..media import conversion_hint, is_video, list_frames, read_rgb, stream_video, video_header

    path = Path(source)
    if path.is_dir():
        frames, _ = list_frames(path, numbered=True)
        if not frames:
            videos = sorted(p.name for p in path.iterdir() if p.is_file() and is_video(p))
            said = (f"; it holds {_listed(videos)}: give the video itself, e.g. `mmnet spot {path / videos[0]}`"
                    if videos else "")
            raise DataError(f"Frame folder '{path}' holds no numbered image (e.g. img1.jpg){said}.")
        if fps is None:
            raise DataError(f"Frame folder '{path}' carries no frame rate: pass fps=... / --fps (CAS(ME)^2 and "
                            "CAS(ME)^3: 30, SAMM-LV: 200).")
        check_numbering(path, frames)
        return FrameFiles(frames, read_rgb), float(fps), frames[-1][0] - frames[0][0] + 1
    if not path.exists():
        raise DataError(f"'{path}' does not exist; give a video file or a folder of numbered frames.")
    if not is_video(path):
        raise DataError(f"'{path}' is neither a folder of frames nor a video file ({', '.join(('.mp4', '.avi'))}, "
                        "...)." + conversion_hint(path))
    rate, count = video_header(path)
    if fps is None and rate is None:
        probe = stream_video(path)
        try:
            next(probe)  # a file that is no video (or a damaged one) says so, before its missing frame rate
        finally:
            probe.close()
        raise DataError(f"Video '{path}' {NO_RATE}")
    used = float(rate if fps is None else fps)
    # the frame times are checked against the video's own rate: a --fps that differs is the user's choice
    return TimedFrames(stream_video(path), rate or used), used, count


def _listed(names: list[str], most: int = 3) -> str:
    """``names`` for a message, the first ``most`` and how many more."""
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ("the video " if len(names) == 1 else "the videos ") + ", ".join(names[:most]) + more


def check_rate(fps: float) -> None:
    """ConfigError unless ``fps`` is a frame rate the spotter's windows can be sized at."""
    if not 0 < fps <= MAX_FPS:  # also NaN and infinity, which no window length can be computed from
        raise ConfigError(f"fps must be a frame rate in (0, {MAX_FPS}] frames per second, got {fps}; "
                          "give the recording's real frame rate.")


def _region_score(mag: np.ndarray, idx: np.ndarray, top: float) -> float:
    """Mean of the largest ``top`` fraction of the magnitudes at ``idx``."""
    vals = mag[idx]
    n = max(1, int(vals.size * top))
    return float(np.partition(vals, vals.size - n)[vals.size - n:].mean())


def extract_motion(frames: Iterable[tuple[int, np.ndarray]], fps: float, config: SpotConfig, *,
                   aligner=None, progress: Callable[[int], None] | None = None, source: str = "recording",
                   on_flow: FlowHook | None = None, declared: int | None = None, keep=None) -> MotionCurves:
    """Stream a recording's (number, RGB frame) pairs into ``MotionCurves``.

    Args:
        frames: in display order; RGB (H, W, 3) or grey (H, W) uint8, all the same size; None for a frame
            missing from the recording (its pairs are NaN, as a gap's; the curves note the missing runs). A
            ``recording.TimedFrames`` (``open_recording``'s video) adds its note of a varying frame rate.
        fps: the recording's frame rate.
        config: the spotter's parameters.
        aligner: a ``preprocess.FaceAligner`` to reuse (``face.mode=align``); made here if None.
        progress: called with 1 after every frame.
        source: the recording's name for error messages.
        on_flow: called for every flow pair computed, as ``on_flow(scale, pos, (first, last), flow, regions)``:
            ``pos`` the 0-based position of the pair's last frame, ``first``/``last`` the frame numbers
            of the pair, ``flow`` (2, H, W) float32 crop pixels with the head's motion (``head_motion``)
            removed, ``regions`` the crop's ``Regions``. Pairs that touch a gap
            are reported too; their curve values are NaN afterwards (the learned spotter's features).
        declared: the frame count the recording's container declares (``open_recording``); when far fewer
            frames decode (``media.cut_short``), the curves carry a note saying the file may be truncated.
        keep: a ``partial_state.PartialSpot`` (``mmnet spot --out``): the run continues from its ``resume`` (the
            frames measured before are streamed by, a ``FrameFiles`` folder's unread), and ``keep.save_motion``
            gets what was measured every ``keep.every_s`` seconds (``keep.tick``), on Ctrl-C and SIGTERM (held
            until the frame being measured is done, ``keep.watching``) and on an error between two frames.

    Raises:
        PreprocessError: ``face.mode=align`` and no face in any checked frame.
        DataError: frames change size, or fewer than 2 frames.
        StaleProgress: the recording streams other frame numbers than ``keep.resume`` measured.
    """
    from ..media import cut_short
    from ..media_damage import TRUNCATED

    check_rate(fps)
    strides = {s: config.frames_at(getattr(config, s).k, fps) for s in SCALES}
    face = FaceTrack(config, max(1, int(round(config.face.check_every * fps))), aligner)
    state = MotionState.start(face, max(strides.values()) + 1, None if keep is None else keep.resume)
    start = state.done  # the frames a resumed run measured before: streamed by, not measured again
    calc = flow_calculator(config.flow)  # one OpenCV flow object for the run (two pairs a frame), this thread's
    if start and isinstance(frames, FrameFiles):
        frames.skip = start  # not even read
    between, streamed = True, 0  # between: no frame half measured, so what is held can be saved
    try:
        # the frames are decoded on a second thread while this one measures (ReadAhead stops it on leaving)
        with nullcontext() if keep is None else keep.watching(), ReadAhead(frames) as ahead:
            for pos, (number, image) in enumerate(ahead):
                streamed = pos + 1
                if pos >= start:
                    between = False
                    _measure(state, pos, int(number), image, strides, config, source, on_flow, calc)
                    between = True
                elif int(number) != state.numbers[pos]:
                    raise StaleProgress(f"frame {pos} is numbered {number}, not {state.numbers[pos]} as before")
                if progress is not None:
                    progress(1)
                if keep is not None:
                    keep.tick(state)
    except BaseException:
        if keep is not None and between:  # Ctrl-C, SIGTERM or an error between two frames: keep what finished
            keep.save_motion(state)
        raise
    if streamed < start:
        raise StaleProgress(f"it ends after {streamed} frames, before the {start} measured")
    numbers, face = state.numbers, state.face
    n = len(numbers)
    missing = np.array(state.absent, bool)
    if n - missing.sum() < 2:
        raise DataError(f"{source}: spotting needs at least 2 frames, got {n - missing.sum()}.")
    if config.face.mode == "align" and not any(good for _, good in face.checks):
        raise PreprocessError(
            f"{source}: no face found in any of the {len(face.checks)} frames checked (one every "
            f"{config.face.check_every:g} s). {SIDEWAYS} {NO_ALIGN}")
    lost = face.lost(n) | missing
    lost_before = np.concatenate([[0], np.cumsum(lost)])
    scores = {}
    for s, k in strides.items():
        end = np.array(state.ends[s], dtype=np.float64).reshape(n, len(MEASURED))  # a copy: NaN is set below
        idx = np.arange(n)
        bad = (idx < k) | (lost_before[idx + 1] - lost_before[np.maximum(idx - k, 0)] > 0)
        end[bad] = np.nan
        scores[s] = centre_pairs(end, k // 2)
    # a decoder that stopped on damage says so itself, with its own words (media_video's note)
    said = any(TRUNCATED in note for note in getattr(getattr(frames, "frames", None), "notes", ()))
    notes = [f"{source}: decoded {n} of {declared} frames: {TRUNCATED}"] if cut_short(n, declared) and not said else []
    varying = frames.note(source) if isinstance(frames, TimedFrames) else None
    notes += [varying] if varying else []
    slow = config.rate_note(fps)  # a rate too low for the micro-expression windows
    notes += [f"{source}: {slow}"] if slow else []
    notes += face.notes(source)
    missing_runs = _runs(missing, numbers)
    if missing_runs and not isinstance(frames, TimedFrames):  # a video's decoder names its lost frames itself
        listed = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in missing_runs[:MAX_LISTED])
        more = f" and {len(missing_runs) - MAX_LISTED} more runs" if len(missing_runs) > MAX_LISTED else ""
        notes.append(f"{source}: {int(missing.sum())} frame(s) missing from the numbering (frames {listed}{more}): "
                     "their motion is not measured, as in a gap without a face; re-extract the frames if they "
                     "should be there")
    # the video's own frame times, unless a rate given replaces its own (then seconds follow the rate given)
    own = isinstance(frames, TimedFrames) and abs(frames.rate - fps) <= 1e-6 * fps
    times = frames.times_of(numbers) if own else None
    curves = MotionCurves(fps, np.array(numbers, np.int64), scores, MEASURED, strides,
                          _runs(lost & ~missing, numbers), face.realignments, notes, missing_runs, face.seen, times)
    light = np.array(state.light, np.float64)
    light[lost] = np.nan  # a gap's crops are of no face (or of the face before a re-check found it gone)
    curves.notes += lighting_notes(light, curves.numbers, fps, curves.seconds, source)
    return curves


def _measure(state: MotionState, pos: int, number: int, image: np.ndarray | None, strides: dict[str, int],
             config: SpotConfig, source: str, on_flow: FlowHook | None, calc) -> None:
    """Measure one frame: its crop joins the window, and each scale's pair that ends there gets its scores;
    ``calc`` is ``preprocess.flow.flow_calculator(config.flow)``'s."""
    import cv2

    state.absent.append(image is None)
    window, face, numbers = state.window, state.face, state.numbers
    if image is None:
        window.append(None)
        state.light.append(np.nan)
        numbers.append(number)
        for s in SCALES:
            state.ends[s].extend(_NAN)
        return
    if state.shape is None:
        state.shape = image.shape
    elif image.shape != state.shape:
        raise DataError(f"{source}: frame {number} is {image.shape[:2]}, the first frame {state.shape[:2]}; "
                        "a recording's frames must share one size.")
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else np.ascontiguousarray(image)
    crop = face.crop(pos, number, grey)
    if face.restart:  # another face from here on: the kept crops are of the one before
        window.clear()
        face.restart = False
    if face.moved is not None:  # re-aligned: warp the kept crops too, so pairs across it compare alike
        size = (config.face.width, config.face.height)
        kept = [c if c is None else cv2.warpAffine(c, face.moved[:2], size, flags=cv2.INTER_LINEAR,
                                                   borderMode=cv2.BORDER_REPLICATE) for c in window]
        window.clear()
        window.extend(kept)
        face.moved = None
    window.append(crop)
    numbers.append(number)
    state.light.append(np.nan if crop is None else float(crop.mean()))  # lighting.py: steps and flicker
    for s, k in strides.items():
        start = window[-1 - k] if len(window) > k else None
        if crop is None or start is None:
            state.ends[s].extend(_NAN)
            continue
        # OpenCV's own result, in crop pixels: the same numbers as compute_flow(...)[:2] * FLOW_SCALE, without
        # the division, the magnitude channel and the copies
        flow = calc(np.ascontiguousarray(start), np.ascontiguousarray(crop))  # (H, W, 2)
        u, v = flow[..., 0].ravel(), flow[..., 1].ravel()
        du, dv = face.regions.head.remove(u, v)  # the head's own motion (head_motion): translation, roll, scale
        mag = np.hypot(du, dv)
        if on_flow is not None:
            on_flow(s, pos, (numbers[-1 - k], number), np.stack([du, dv]).reshape(2, *flow.shape[:2]), face.regions)
        state.ends[s].extend([_region_score(mag, face.regions.measured[r], config.top) for r in MEASURED])


def centre_pairs(end: np.ndarray, half: int) -> np.ndarray:
    """Move the score of the pair ending at each frame to the pair's middle, ``half`` frames earlier.

    The last ``half`` frames are NaN (no pair is centred there), and so is all of a recording shorter than ``half``.
    """
    centre = np.full_like(end, np.nan)
    centre[: max(len(end) - half, 0)] = end[half:]  # a negative bound would count from the end
    return centre


def _runs(mask: np.ndarray, numbers: list[int]) -> list[tuple[int, int]]:
    """(first, last) frame numbers of the runs of True in ``mask``."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return [(numbers[a], numbers[b - 1]) for a, b in zip(edges[::2], edges[1::2])]
