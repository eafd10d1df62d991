"""Spot one long recording end to end: ``spot_recording(source) -> SpotResult`` (JSON, CSV).

Frame numbers follow mmnet's one convention (``mmnet.media.FRAME_NUMBERING``): a video's frames are
counted from 0 in decode order, a folder's frames carry the number in their file name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..media import FRAME_NUMBERING as _MEDIA_NUMBERING
from .config import SpotConfig, spot_config
from .flow_spotter import MotionCurves, check_rate, extract_motion, open_recording
from .intervals import FILE_NUMBER, FRAME_RATE, VIDEO_FROM_0, Interval, gap_seconds, intervals_csv, with_seconds
from .motion_state import StaleProgress
from .peaks import spot_intervals

__all__ = ["FRAME_NUMBERING", "SpotResult", "spot_recording"]

FRAME_NUMBERING = _MEDIA_NUMBERING + "; onset, apex and offset are inclusive"


@dataclass
class SpotResult:
    """Everything ``mmnet spot`` reports for one recording."""

    source: str
    fps: float
    frames: int
    intervals: list[Interval]
    gaps: list[tuple[int, int]]
    config: SpotConfig
    curves: MotionCurves
    details: dict = field(default_factory=dict)  # per scale: smoothed curve, threshold, k, note

    @property
    def notes(self) -> list[str]:
        """What the result cannot vouch for, one sentence each: a recording that decoded short of its declared
        frame count, a scale that could not be spotted and why."""
        return [*getattr(self.curves, "notes", ()), *(d["note"] for d in self.details.values() if d.get("note")),
                *(w for d in self.details.values() for w in d.get("warnings", ()))]

    @property
    def first_frame(self) -> int:
        """The number of the recording's first frame read (0 for a video), from which seconds are counted."""
        numbers = getattr(self.curves, "numbers", None)
        return int(numbers[0]) if numbers is not None and len(numbers) else 0

    def seconds(self, number: int) -> float:
        """Frame ``number``'s time in seconds: a video's presentation time (``MotionCurves.seconds``), else its
        number from the first frame / fps."""
        at = getattr(self.curves, "seconds", None)
        return at(number) if at is not None else (number - self.first_frame) / self.fps

    @property
    def time_base(self) -> str:
        """``intervals.PRESENTATION`` or ``intervals.FRAME_RATE``: what the seconds are."""
        return getattr(self.curves, "time_base", FRAME_RATE)

    def interval_records(self) -> list[dict]:
        """The intervals as ``mmnet spot --json`` gives them: ``Interval.to_dict()`` with their seconds."""
        return [with_seconds(i.to_dict(), self.fps, self.first_frame, self.seconds) for i in self.intervals]

    def gap_records(self) -> list[dict]:
        """The gaps as ``mmnet spot --json`` gives them: first and last frame, their starts and the last one's end
        in seconds (``intervals.gap_seconds``), the reason."""
        return [{"first": a, "last": b, **gap_seconds(a, b, self.seconds), "reason": "no face"} for a, b in self.gaps]

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return {
            "source": self.source,
            "fps": self.fps,
            "frames": self.frames,
            "frame_numbering": FRAME_NUMBERING,
            "intervals": self.interval_records(),
            "time_base": self.time_base,
            "gaps": self.gap_records(),
            # None (JSON null) where a scale has no threshold: its motion could not be measured (see notes)
            "thresholds": {s: None if d["threshold"] is None else round(float(d["threshold"]), 6)
                           for s, d in self.details.items()},
            "notes": self.notes,
            "strides": dict(self.curves.strides),
            "config": _used_config(asdict(self.config)),
        }

    def to_csv(self, class_names: Sequence[str] | None = None, *, video: str | None = None) -> str:
        """intervals.csv: the layout of ``intervals.intervals_csv`` (that of the server's CSV download too);
        ``class_names``: the classifying model's classes (default: those of the first classified interval). With
        ``video`` (the recording's id), the first columns are ``video`` and ``frame_numbering``. The gaps and the notes
        follow the intervals as rows of their own type."""
        rows = {"gaps": self.gap_records(), "notes": self.notes}  # after the intervals, typed no_face and note
        if video is None:
            return intervals_csv(self.interval_records(), class_names, **rows)
        numbering = VIDEO_FROM_0 if Path(self.source).is_file() else FILE_NUMBER
        return intervals_csv(self.interval_records(), class_names, video=video, frame_numbering=numbering, **rows)


def spot_recording(source: str | Path, config: SpotConfig | None = None, *, fps: float | None = None,
                   aligner=None, progress: Callable[[int], None] | None = None,
                   on_total: Callable[[int | None], None] | None = None, partial=None) -> SpotResult:
    """Spot the micro- and macro-expressions of one video file or frame folder.

    Args:
        source: a video file or a folder of numbered frames.
        config: the spotter's parameters, a ``SpotConfig`` (``spot_config``; default: the CAS(ME)^2 preset).
        fps: the frame rate; required for a frame folder, overrides a video's own.
        aligner: a ``preprocess.FaceAligner`` to reuse across recordings.
        progress: called with 1 after every frame.
        on_total: called once with the frame count (None when the container does not say).
        partial: a ``partial_state.PartialSpot`` (``mmnet spot --out``): the progress an earlier run kept is
            continued, and this run's is kept as it goes.
    """
    if config is not None and not isinstance(config, SpotConfig):
        raise TypeError(f"spot_recording's config is a SpotConfig, got a {type(config).__name__} ({config!r}): "
                        "pass spot_config(preset, overrides), e.g. spot_config('casme2'), or leave it out.")
    config = config or spot_config()
    frames, rate, total = open_recording(source, fps)
    if partial is not None:
        check_rate(rate)  # before the progress kept is compared with a rate that is none
        partial.begin(source, rate, config, total)
    if on_total is not None:
        on_total(total)
    if partial is not None and partial.curves is not None:
        curves = MotionCurves(**partial.curves)
    else:
        try:
            curves = extract_motion(frames, rate, config, aligner=aligner, progress=progress, source=str(source),
                                    declared=total, keep=partial)
        except StaleProgress as exc:  # the recording is not what the saved progress measured after all
            partial.forget(f"{source} streams other frames than it did ({exc})")
            frames, rate, total = open_recording(source, fps)
            if on_total is not None:  # counted again from the first frame
                on_total(total)
            curves = extract_motion(frames, rate, config, aligner=aligner, progress=progress, source=str(source),
                                    declared=total, keep=partial)
    if partial is not None:  # written once; kept in hand for the classification's saves (--checkpoint)
        partial.save_curves(curves)
    intervals, details = spot_intervals(curves, config, flow=True)
    return SpotResult(str(source), rate, curves.frames_read, intervals, curves.gaps, config, curves, details)


def _used_config(config: dict) -> dict:
    """spot.json's ``config``: the flow spotter's without the ``learned`` block it never reads (its lr and epochs
    would read as settings of this result); the learned spotter's and one's own spotter's whole."""
    return {k: v for k, v in config.items() if k != "learned"} if config.get("method") == "flow" else config
