"""Reading ``mmnet spot --out``'s intervals.csv and the web page's CSV download (``mmnet serve``) as MEGC frame
numbers, to score them: ``frame_numbering`` says what the frame columns count (``video_from_0``: a video's frames
from 0, MEGC's frame i + 1; ``file_number``: a frame folder's file numbers, MEGC's as they are).

The rows that are no interval (``no_face``, ``note``) are left out. The seconds columns (``onset_s``, ``apex_s``,
``offset_s``, ``end_s``) are checked against the frames: a coder who corrects a time in a spreadsheet without its
frame would otherwise be scored on the frame left as it was.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from ..errors import AnnotationError
from .coder_records import video_stem
from .intervals import FILE_NUMBER, GAP_TYPE, NOTE_TYPE, VIDEO_FROM_0, Interval, parse_type, spreadsheet_unsafe
from .megc_csv import check_thousands, csv_reader, decimal_number, score_column
from .spot_output_seconds import check_seconds, video_rate

__all__ = ["is_spot_output", "read_spot_output", "SpotOutput"]

_SHIFT = {VIDEO_FROM_0: 1, FILE_NUMBER: 0}  # frame column + this = MEGC's frame number
_SECONDS = ("onset_s", "offset_s")  # the columns that tell the file apart (apex_s, end_s: optional)
# the frame each seconds column is the start of, on a row: end_s is the end of the offset frame, the next one's start
_TIMES = {"onset_s": ("onset", 0), "apex_s": ("apex", 0), "offset_s": ("offset", 0), "end_s": ("offset", 1)}

@dataclass
class SpotOutput:
    intervals: dict[str, list[Interval]]
    scored: bool
    notes: list[str] = field(default_factory=list)
    rate: float | None = None  # the frame rate its rows' seconds give (--fps when given); None without seconds


def is_spot_output(fields: list[str]) -> bool:
    """Whether a header (lower case) is intervals.csv's or the web CSV's: frame_numbering, or the seconds columns."""
    return "frame_numbering" in fields or any(s in fields for s in _SECONDS)


def _number(text: str, where: str, name: str, exponent: bool = True) -> float | None:
    """A cell's number (a decimal comma read as MEGC CSVs' are), None for an empty cell."""
    text = (text or "").strip()
    return decimal_number(text, where, name, exponent=exponent) if text else None


def _frame(text: str, where: str, name: str) -> int:
    # no exponent, as in MEGC CSVs' frame cells: '1.23457E+05' is a number a spreadsheet has rounded
    value = _number(text, where, name, exponent=False)
    if value is None or not value.is_integer():
        raise AnnotationError(f"{where}: {name} {text!r} is not a whole frame number.")
    return int(value)


def read_spot_output(path: Path, fields: list[str], video_id: str | None, fps: Fraction | None,
                     text: str | None = None) -> SpotOutput:
    """The intervals of an intervals.csv / web CSV as MEGC frame numbers, video id -> intervals; ``text``: the
    file's text already read (``megc_csv.csv_reader``)."""
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
    points: dict[tuple[str, str], list[tuple[int, list[tuple[int, float, str]]]]] = {}
    skipped: dict[str, int] = {}
    reader = csv_reader(path, text)
    rows = [(reader.line_num, {name.strip().lower(): (v or "").strip() for name, v in raw.items() if name is not None})
            for raw in reader]
    rows = [(n, row) for n, row in rows if any(row.values())]
    # '1.000' beside a decimal comma ('0,9'), anywhere in the file: 1000 in that locale, as in a MEGC CSV
    check_thousands(path, rows, ("onset", "apex", "offset", *_TIMES, *([score] if score else [])))
    for n, row in rows:
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
        # the cell as written before spreadsheet_safe protected it ("'=2+5 Zoë" is the video "=2+5 Zoë")
        video = video_id or (spreadsheet_unsafe(row.get(video_column, "")) if video_column else "")
        if video_column == "source" and not video_id:
            video = video_stem(video)  # the upload's file name: a recording is named by its stem
        if not video:
            raise AnnotationError(f"{where}: no video named (its {video_column or 'video'} cell is empty): give "
                                  "--video-id ID.")
        onset, offset = _frame(row.get("onset", ""), where, "onset"), _frame(row.get("offset", ""), where, "offset")
        if offset < onset:
            raise AnnotationError(f"{where}: offset {offset} is before onset {onset}: swap them if the columns are "
                                  "exchanged, else correct the row.")
        if onset < 0:  # both numberings count from 0
            raise AnnotationError(f"{where}: the interval {onset}..{offset} starts before frame 0 (frame_numbering "
                                  f"{numbering} counts from 0): correct the row.")
        value = _number(row.get(score, ""), where, score) if score else None
        shift = _SHIFT[numbering]
        apex = _frame(row["apex"], where, "apex") + shift if row.get("apex", "") else None  # spot's apex: kept
        out.setdefault(video, []).append(Interval(onset + shift, apex, offset + shift, type_, score=value))
        times = []
        for name, (column, plus) in _TIMES.items():
            seconds = _number(row.get(name, ""), where, name)
            frame = onset if column == "onset" else offset if column == "offset" else None
            if column == "apex" and seconds is not None and row.get("apex", ""):
                frame = _frame(row["apex"], where, "apex")
            if seconds is not None and frame is not None:
                times.append((frame + plus, seconds, name))
        if times:
            points.setdefault((video, numbering), []).append((n, times))
    rates = [video_rate(rows, check_seconds(path, rows)) for rows in points.values()]  # per video
    rates = [float(fps)] if fps and rates else [r for r in rates if r]
    notes = []
    if skipped:
        said = ", ".join(f"{k} {kind}" for kind, k in skipped.items())
        notes.append(f"'{path}': {sum(skipped.values())} row(s) that are no interval left out ({said})")
    if video_column == "source" and not video_id:
        notes.append(f"'{path}': video ids from the source column's file names ({', '.join(sorted(out)[:3])}); give "
                     "--video-id ID to name the recording as the truth does")
    # one of the videos' rates, not the mean of two (30 and 29.97 are no 29.985)
    return SpotOutput(out, score is not None, notes, statistics.median_low(rates) if rates else None)

