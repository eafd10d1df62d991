"""Reading ``mmnet spot --out``'s intervals.csv and the web page's CSV download (``mmnet serve``) as MEGC frame
numbers, to score them: ``frame_numbering`` says what the frame columns count (``video_from_0``: a video's frames
from 0, MEGC's frame i + 1; ``file_number``: a frame folder's file numbers, MEGC's as they are).

The rows that are no interval (``no_face``, ``note``) are left out. The seconds columns (``onset_s``, ``offset_s``)
are checked against the frames: a coder who corrects a time in a spreadsheet without its frame would otherwise be
scored on the frame left as it was.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from ..errors import AnnotationError
from .coder_records import video_stem
from .intervals import FILE_NUMBER, GAP_TYPE, NOTE_TYPE, VIDEO_FROM_0, Interval, parse_type

__all__ = ["is_spot_output", "read_spot_output", "SpotOutput"]

_SHIFT = {VIDEO_FROM_0: 1, FILE_NUMBER: 0}  # frame column + this = MEGC's frame number
_SECONDS = ("onset_s", "offset_s")
# the seconds are written to the millisecond (rounded, or ceiled): a frame plus that much is no edit
_ROUNDING = 0.0015
# the rates recordings are made at: an estimate from seconds written to the millisecond (29.9993) is the one of these
# that gives every row's seconds back to the millisecond, when one does
_COMMON_RATES = (Fraction(24000, 1001), 24, 25, Fraction(30000, 1001), 30, 48, 50, Fraction(60000, 1001), 60, 90,
                 100, Fraction(120000, 1001), 120, 144, 200, 240)


@dataclass
class SpotOutput:
    intervals: dict[str, list[Interval]]
    scored: bool
    notes: list[str] = field(default_factory=list)
    rate: float | None = None  # the frame rate its rows' seconds give (--fps when given); None without seconds


def is_spot_output(fields: list[str]) -> bool:
    """Whether a header (lower case) is intervals.csv's or the web CSV's: frame_numbering, or the seconds columns."""
    return "frame_numbering" in fields or any(s in fields for s in _SECONDS)


def _number(text: str, where: str, name: str) -> float | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return float(text.replace(",", ".", 1) if text.count(",") == 1 and "." not in text else text)
    except ValueError:
        raise AnnotationError(f"{where}: {name} {text!r} is not a number.") from None


def _frame(text: str, where: str, name: str) -> int:
    value = _number(text, where, name)
    if value is None or not value.is_integer():
        raise AnnotationError(f"{where}: {name} {text!r} is not a whole frame number.")
    return int(value)


def read_spot_output(path: Path, fields: list[str], video_id: str | None, fps: Fraction | None) -> SpotOutput:
    """The intervals of an intervals.csv / web CSV as MEGC frame numbers, video id -> intervals."""
    from .megc_csv import csv_reader, score_column

    if "frame_numbering" not in fields:
        raise AnnotationError(
            f"'{path}' has seconds columns ({', '.join(s for s in _SECONDS if s in fields)}) like intervals.csv of "
            "`mmnet spot --out` or the web page's CSV download, but no frame_numbering column (deleted in a "
            "spreadsheet?): it says whether the frames are a video's, counted from 0, or a frame folder's file "
            "numbers, which differ by one frame in MEGC's numbering. Add the column back, video_from_0 on every row "
            "for a video or file_number for a frame folder, or download the file again.")
    score = score_column(fields)
    video_column = "video" if "video" in fields else "source" if "source" in fields else None
    out: dict[str, list[Interval]] = {}
    points: dict[tuple[str, str], list[tuple[int, float, int, str]]] = {}
    skipped: dict[str, int] = {}
    reader = csv_reader(path)
    for raw in reader:
        n = reader.line_num
        row = {name.strip().lower(): (v or "").strip() for name, v in raw.items() if name is not None}
        if not any(row.values()):
            continue
        where = f"'{path}' line {n}"
        kind = row.get("type", "")
        if kind in (GAP_TYPE, NOTE_TYPE):  # a run of frames without a face, a note on the recording: no interval
            skipped[kind] = skipped.get(kind, 0) + 1
            continue
        type_ = parse_type(kind)
        if type_ is None:
            raise AnnotationError(f"{where}: type {kind!r} is not micro or macro ({GAP_TYPE} and {NOTE_TYPE} rows "
                                  "are left out).")
        numbering = row.get("frame_numbering", "")
        if numbering not in _SHIFT:
            raise AnnotationError(f"{where}: frame_numbering {numbering!r} is not {VIDEO_FROM_0} (a video's frames "
                                  f"counted from 0) or {FILE_NUMBER} (a frame folder's file numbers).")
        video = video_id or (row.get(video_column, "") if video_column else "")
        if video_column == "source" and not video_id:
            video = video_stem(video)  # the upload's file name: a recording is named by its stem
        if not video:
            raise AnnotationError(f"{where}: no video named (its {video_column or 'video'} cell is empty): give "
                                  "--video-id ID.")
        onset, offset = _frame(row.get("onset", ""), where, "onset"), _frame(row.get("offset", ""), where, "offset")
        if offset < onset:
            raise AnnotationError(f"{where}: offset {offset} is before onset {onset}.")
        value = _number(row.get(score, ""), where, score) if score else None
        shift = _SHIFT[numbering]
        out.setdefault(video, []).append(Interval(onset + shift, None, offset + shift, type_, score=value))
        for frame, name in ((onset, "onset_s"), (offset, "offset_s")):
            seconds = _number(row.get(name, ""), where, name)
            if seconds is not None:
                points.setdefault((video, numbering), []).append((frame, seconds, n, name))
    rates = [_check_seconds(path, found, numbering, fps) for (_, numbering), found in points.items()]  # per video
    rates = [r for r in rates if r]
    notes = []
    if skipped:
        said = ", ".join(f"{k} {kind}" for kind, k in skipped.items())
        notes.append(f"'{path}': {sum(skipped.values())} row(s) that are no interval left out ({said})")
    if video_column == "source" and not video_id:
        notes.append(f"'{path}': video ids from the source column's file names ({', '.join(sorted(out)[:3])}); give "
                     "--video-id ID to name the recording as the truth does")
    return SpotOutput(out, score is not None, notes, statistics.median(rates) if rates else None)


def _check_seconds(path: Path, found: list[tuple[int, float, int, str]], numbering: str,
                   fps: Fraction | None) -> float | None:
    """Refuse a row whose seconds are more than a frame away from its frames, at --fps or the rate the file's rows
    give (a median over its rows, robust to one edited row and to the seconds' rounding): its times were edited
    without its frames. Returns that rate (None when the rows tell none)."""
    by_frame = sorted({(f, s) for f, s, _, _ in found})
    if numbering == VIDEO_FROM_0:  # a video's frame 0 is at about 0 s: each frame's seconds give the rate
        anchored = [s / f for f, s in by_frame if f >= 10] or [s / f for f, s in by_frame if f > 0]
        spf = 1 / float(fps) if fps else (statistics.median(anchored) if anchored else 0.0)
    else:  # a frame folder's first number is not known: the rate from pairs of rows (Theil-Sen)
        half = len(by_frame) // 2  # each point with the one half the rows later: far apart, and linear in rows
        pairs = [(*by_frame[i], *by_frame[i + half]) for i in range(len(by_frame) - half)] if half else []
        slopes = [(s2 - s1) / (f2 - f1) for f1, s1, f2, s2 in pairs if f2 - f1 >= 10] or [
            (s2 - s1) / (f2 - f1) for f1, s1, f2, s2 in pairs if f2 > f1]
        spf = 1 / float(fps) if fps else (statistics.median(slopes) if slopes else 0.0)
    if not spf > 0:  # one frame, or nothing to tell a rate from
        return None
    if not fps:
        spf = _snapped(by_frame, spf)
    # the time of frame 0 (a folder's first number, a video's first frames lost): the rows' own, by their median
    anchor = statistics.median(s - f * spf for f, s in by_frame)
    for frame, seconds, n, name in found:
        expected = anchor + frame * spf
        if abs(seconds - expected) > spf + _ROUNDING:
            column = name[:-2]
            rate = f"{1 / spf:.4g} fps" + (" (--fps)" if fps else ", the rate the file's rows give")
            raise AnnotationError(
                f"'{path}' line {n}: the seconds were edited: {name} {seconds:.3f} is frame "
                f"{round((seconds - anchor) / spf)} at {rate}, but {column} is {frame} ({expected:.3f} s). score-spots "
                "reads the frame columns (onset, offset) and the frame_numbering column, not the seconds: correct "
                f"{column} to the frame of the time you mean, or give the corrected times as an ELAN or BORIS file "
                "with --fps.")
    return 1 / spf


def _snapped(by_frame: list[tuple[int, float]], spf: float) -> float:
    """The seconds per frame of the common rate nearest the estimate ``1 / spf`` (within 0.5%) when it gives every
    row's seconds back to the millisecond (as written, rounded up: ``intervals.seek_time``), else ``spf``."""
    rate = min(_COMMON_RATES, key=lambda r: abs(float(r) * spf - 1))
    if abs(float(rate) * spf - 1) > 0.005:
        return spf
    candidate = 1 / float(rate)
    anchor = statistics.median(s - f * candidate for f, s in by_frame)
    fits = all(abs(s - (anchor + f * candidate)) <= 0.001 + 1e-9 for f, s in by_frame)
    return candidate if fits else spf
