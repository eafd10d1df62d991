"""Whether the seconds of an intervals.csv / web CSV (``onset_s``, ``apex_s``, ``offset_s``, ``end_s``) still go with
its frames, or were edited in a spreadsheet without them.

The seconds are a video's own presentation times, which need not follow one constant rate over a whole recording (a
variable-frame-rate video; a 29.97 fps video read at 30), so no rate is fitted to the whole file: each row is
checked on its own, each time against the line its row's other times draw (the rate within one interval is about
constant even on such a video), within a frame at that rate plus a frame per frame it lies from the nearest of them
(``_VARIES``), and the times of the file, in frame order, must not go back. A row with times at two frames only
(an older file without ``end_s``, its apex at its onset or offset) tells no rate of its own: only the order checks
it, and its times of one frame must agree.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from ..errors import AnnotationError

__all__ = ["check_seconds", "video_rate", "COMMON_RATES"]

#: the rates recordings are made at: a rate estimated from seconds written to the millisecond (30 fps reads as
#: 29.9993 over a recording, 30.075 over one short interval) is the one of these that gives its times back
COMMON_RATES = (Fraction(24000, 1001), 24, 25, Fraction(30000, 1001), 30, 48, 50, Fraction(60000, 1001), 60, 90,
                100, Fraction(120000, 1001), 120, 144, 200, 240)

# how far from the estimate a common rate may lie at most: the estimate of the shortest interval (a frame or two)
# is off by the rounding of its times, which the check of the times below bounds; no two common rates but the
# 1000/1001 pairs lie this close
_NEAR = 0.02

# the seconds are written to the millisecond (rounded up, or otherwise): a frame plus that much is no edit
_ROUNDING = 0.0015

# how far a time may lie from the line of its row's other times, in frames (at their rate) per frame away from the
# nearest of them: a dropped frame doubles a frame's time, and a rate taken over one frame (offset_s to end_s) may be
# off by that much where it is carried to the onset; a time further off is an edit (an unedited variable-rate
# video's rows all pass; an edit is caught where it lands farther from its neighbours than they are apart)
_VARIES = 1.0

Row = tuple[int, list[tuple[int, float, str]]]  # line, (the frame a time is the start of, seconds, column)


def check_seconds(path: Path, rows: list[Row]) -> float | None:
    """Refuse a row whose times were edited without its frames (naming its line); the rate the times give from
    the first frame to the last (their mean over a variable-rate video), None when they tell none."""
    for n, times in rows:
        _check_row(path, n, times)
    _check_order(path, rows)
    ordered = sorted((frame, seconds) for _, times in rows for frame, seconds, _ in times)
    (f1, s1), (f2, s2) = ordered[0], ordered[-1]
    return (f2 - f1) / (s2 - s1) if f2 > f1 and s2 > s1 else None


def video_rate(rows: list[Row], estimate: float | None) -> float | None:
    """The frame rate of one video's rows (``check_seconds``'s ``estimate`` of it): the common rate nearest the
    estimate at which frames at a constant rate give every time written back, to the rounding of the seconds (any
    start time; of 30 and 29.97 that both do, 30); else the estimate to 3 decimals (a variable frame rate, or a
    rate none of the common ones), the digits past which an estimate from times to the millisecond tells nothing."""
    if not estimate:
        return estimate
    points = [(frame, seconds) for _, times in rows for frame, seconds, _ in times]

    def spread(rate: float) -> float:  # how far apart the times lie from those of one constant rate
        offsets = [seconds - frame / rate for frame, seconds in points]
        return max(offsets) - min(offsets)

    fits = [r for r in COMMON_RATES if abs(float(r) / estimate - 1) <= _NEAR and spread(float(r)) <= _ROUNDING]
    # times that both rates of a 1000/1001 pair give back (less than about 1.5 s apart) cannot tell 30 from 29.97:
    # the whole rate, as a lab's cameras record, rather than the one the rounding of the times leans to
    whole = [r for r in fits if float(r).is_integer() and any(Fraction(r * 1000, 1001) == f for f in fits)]
    if whole:
        return float(min(whole, key=lambda r: abs(r / estimate - 1)))
    return float(min(fits, key=lambda r: abs(float(r) / estimate - 1))) if fits else round(estimate, 3)


def _line(times: list[tuple[int, float, str]]) -> tuple[float, float, int, int] | None:
    """The least-squares line (seconds per frame, seconds at frame 0) through times, with their first and last
    frame; None without two frames."""
    frames = [f for f, _, _ in times]
    if max(frames) == min(frames):
        return None
    mf, ms = sum(frames) / len(times), sum(s for _, s, _ in times) / len(times)
    spf = sum((f - mf) * (s - ms) for f, s, _ in times) / sum((f - mf) ** 2 for f in frames)
    return spf, ms - spf * mf, min(frames), max(frames)


def _check_row(path: Path, n: int, times: list[tuple[int, float, str]]) -> None:
    """Each time against the line through the row's others (left out, an edited time cannot tilt the line to fit
    itself), within a frame at their rate, plus the rounding, more the farther outside their frames it lies. Of
    several times off, the one whose others lie best on their line is the edited one (onset_s and apex_s of one
    frame apart: the one off the line of the rest)."""
    worst = None
    for i, (frame, seconds, name) in enumerate(times):
        others = times[:i] + times[i + 1:]
        fit = _line(others)
        if fit is None or fit[0] <= 0:  # the others tell no rate (out of order: told below, or by their own check)
            continue
        spf, at0, first, last = fit
        outside = max(first - frame, frame - last, 0) / (last - first)
        apart = min(abs(frame - f) for f, _, _ in others)  # frames to the nearest other time
        excess = abs(seconds - (at0 + spf * frame)) / (spf * (1 + _VARIES * apart) + _ROUNDING * (1 + 2 * outside))
        spread = max(abs(s - (at0 + spf * f)) for f, s, _ in others) / spf
        if excess > 1 and (worst is None or (spread, -excess) < worst[0]):
            worst = ((spread, -excess), frame, seconds, name, spf, at0)
    if worst is not None:
        _, frame, seconds, name, spf, at0 = worst
        _refuse(path, n, name, seconds, frame, at0 + spf * frame, spf, "the rate of the row's other times")


def _check_order(path: Path, rows: list[Row]) -> None:
    """The times in frame order, over the rows, must not go back: a time moved past another row's."""
    ordered = sorted((frame, seconds, n, name) for n, times in rows for frame, seconds, name in times)
    before = here = None  # the latest time of the frames before this one, and of this one
    for time in ordered:
        frame, seconds, n, name = time
        if here is not None and frame > here[0]:
            before = here if before is None or here[1] > before[1] else before
            here = None
        if before is not None and seconds < before[1] - _ROUNDING:
            f0, s0, n0, name0 = before
            raise AnnotationError(
                f"'{path}' line {n}: the seconds were edited: {name} {seconds:.3f} (at {_frame_of(name, frame)}) "
                f"is before {name0} {s0:.3f} of line {n0} (at {_frame_of(name0, f0)}), an earlier frame. "
                + _ADVICE.format(column=_column(name)))
        here = time if here is None or seconds > here[1] else here


_ADVICE = ("score-spots reads the frame columns (onset, offset) and the frame_numbering column, not the seconds: "
           "correct {column} to the frame of the time you mean, or give the corrected times as an ELAN or BORIS "
           "file with --fps.")


def _column(name: str) -> str:
    return "offset" if name == "end_s" else name[:-2]


def _frame_of(name: str, frame: int) -> str:
    return f"the end of frame {frame - 1}" if name == "end_s" else f"frame {frame}"


def _refuse(path: Path, n: int, name: str, seconds: float, frame: int, expected: float, spf: float,
            rate: str) -> None:
    said = _frame_of(name, frame + round((seconds - expected) / spf))
    raise AnnotationError(
        f"'{path}' line {n}: the seconds were edited: {name} {seconds:.3f} is {said} at {1 / spf:.4g} fps ({rate}), "
        f"but {_column(name)} is {frame - (name == 'end_s')} ({expected:.3f} s). "
        + _ADVICE.format(column=_column(name)))
