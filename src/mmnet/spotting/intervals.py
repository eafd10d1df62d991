"""The interval record of long-video spotting: one expression (or one spotted candidate) in time.

Frame numbers are the numbers the dataset gives its frames (CAS(ME)^2 ``img1.jpg`` -> 1, SAMM
Long Videos ``006_1_0001.jpg`` -> 1), never positions in a list; a video file's frames are its
decode indices from 0 (``mmnet.media.FRAME_NUMBERING``). Intervals are **inclusive**:
``Interval(10, 12, 14, "micro")`` covers the 5 frames 10..14. Ground truth and predictions share
the record; a prediction may carry a ``score`` (used to order predictions when they are matched).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from ..errors import DataError

__all__ = ["Interval", "TYPES", "iou", "parse_type", "intervals_csv", "with_seconds", "gap_seconds", "seek_time",
           "six_decimals", "CSV_COLUMNS", "spreadsheet_safe", "spreadsheet_unsafe", "formula_start", "VIDEO_FROM_0",
           "FILE_NUMBER"]

TYPES = ("micro", "macro")

# Spellings in the owners' sheets and in MEGC files -> the two types.
_TYPE_NAMES = {
    "micro": "micro", "micro-expression": "micro", "microexpression": "micro", "me": "micro", "micro-1/2": "micro",
    "macro": "macro", "macro-expression": "macro", "macroexpression": "macro", "mae": "macro",
}


def parse_type(text: object) -> str | None:
    """'micro-expression', 'Micro - 1/2', 'me' -> 'micro'; 'Macro', 'mae' -> 'macro'; anything else -> None."""
    key = "".join(str(text or "").split()).lower()
    return _TYPE_NAMES.get(key)


@dataclass(frozen=True)
class Interval:
    """One expression interval, inclusive frame numbers.

    Attributes:
        onset, offset: first and last frame of the interval (onset <= offset).
        apex: the apex frame, None when not annotated (or not estimated). It is not checked
            against onset..offset: some annotations put it outside, and loaders report that.
        type: "micro" or "macro".
        label: emotion or class, lower case, None when not annotated / not recognised.
        score: a prediction's confidence (higher = more confident); None for ground truth.
        probabilities: a recognised interval's class probabilities (spot-then-recognise), else None.
        extra: dataset fields kept for reference (AU text, self-report, notes, source row).
        note: why a spotted interval has no class (e.g. its onset is its apex: no motion to classify), else None.
    """

    onset: int
    apex: int | None
    offset: int
    type: str
    label: str | None = None
    score: float | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False, repr=False)
    probabilities: dict[str, float] | None = field(default=None, compare=False, hash=False, repr=False)
    note: str | None = field(default=None, compare=False, hash=False, repr=False)

    def __post_init__(self):
        if self.type not in TYPES:
            raise DataError(f"Interval type {self.type!r} is not one of {TYPES}.")
        if self.offset < self.onset:
            raise DataError(f"Interval {self.onset}..{self.offset}: the offset is before the onset.")

    def to_dict(self) -> dict:
        """The record of ``mmnet spot --json`` (``note`` only when there is one)."""
        record = {"onset": self.onset, "apex": self.apex, "offset": self.offset, "type": self.type,
                  "score": None if self.score is None else round(float(self.score), 6), "label": self.label,
                  "probabilities": self.probabilities}
        return record if self.note is None else {**record, "note": self.note}

    @property
    def length(self) -> int:
        """Number of frames, both ends included."""
        return self.offset - self.onset + 1


def iou(a: Interval, b: Interval) -> float:
    """Intersection over union of two inclusive frame intervals (MEGC's definition, counted in frames).

    ``iou(Interval(1, None, 10, t), Interval(6, None, 15, t))`` = 5 / 15. Disjoint intervals give 0.
    """
    overlap = min(a.offset, b.offset) - max(a.onset, b.onset) + 1
    if overlap <= 0:
        return 0.0
    return overlap / (max(a.offset, b.offset) - min(a.onset, b.onset) + 1)


# The columns of intervals.csv (``mmnet spot --out``) and of a recording's CSV download (``mmnet serve``);
# one ``p_<class>`` column per class of the model follows them, as in the clip prediction's CSV. The seconds come
# after the columns of earlier versions, which keep their places, then ``note``, then ``end_s``, added after it.
# intervals.csv puts ``video`` and ``frame_numbering`` before them (the server's CSV has its ``source`` there).
CSV_COLUMNS = ("onset", "apex", "offset", "type", "score", "label", "onset_s", "apex_s", "offset_s", "note", "end_s")
# the ``type`` of the rows that are no interval: a run of frames without a face, a note on the whole recording
GAP_TYPE, NOTE_TYPE = "no_face", "note"
GAP_NOTE = "no face: not analysed"
# intervals.csv's frame_numbering: a video file's frames counted from 0 in decode order, or a frame folder's by
# the number in each file name (media.FRAME_NUMBERING); only spot.json said which
VIDEO_FROM_0 = "video_from_0"
FILE_NUMBER = "file_number"
SECONDS = {"onset": "onset_s", "apex": "apex_s", "offset": "offset_s"}
# what the seconds are (spot.json's time_base): a video's frame (presentation) times, or frame numbers / fps
PRESENTATION = "presentation_time"
FRAME_RATE = "frame_number_over_fps"
# below a millionth of a millisecond, a time is a whole millisecond that floating point missed (60 / 30 * 1000)
_MS_SLACK = 1e-6


def seek_time(seconds: float) -> float:
    """A frame's start time written to the millisecond, rounded up: a player (or ELAN, BORIS) sought to it shows
    the last frame that starts at or before it, so this frame, where rounding to the nearest (40 / 30 s = 1.333)
    showed the frame before. Exact milliseconds stay (2.0 -> 2.0); 1.3333 -> 1.334."""
    return math.ceil(seconds * 1000 - _MS_SLACK) / 1000


def with_seconds(record: dict, fps: float, first: int, seconds: Callable[[int], float] | None = None) -> dict:
    """An ``Interval.to_dict()`` record with its times: ``onset_s``, ``apex_s`` and ``offset_s``, the start of
    those frames (None for no apex), and ``end_s``, the end of the offset frame (the next frame's start; the
    interval covers [onset_s, end_s), its last frame included), each ``seek_time``: to the millisecond, rounded up.

    A frame's start is ``seconds(number)`` (``MotionCurves.seconds``: a video's presentation times, the frame
    after the last one at the rate) where given, else its number from the recording's ``first`` frame / fps."""
    at = seconds or (lambda number: (number - first) / fps)
    times = {name: None if record.get(frame) is None else seek_time(at(record[frame]))
             for frame, name in SECONDS.items()}
    return {**record, **times, "end_s": seek_time(at(record["offset"] + 1))}


def gap_seconds(first: int, last: int, at: Callable[[int], float]) -> dict:
    """A gap's (frames ``first``..``last``) ``first_s`` and ``last_s`` (the start of those frames) and ``end_s``
    (the end of its last frame), as an interval's (``with_seconds``); ``at(number)`` is a frame's start."""
    return {"first_s": seek_time(at(first)), "last_s": seek_time(at(last)), "end_s": seek_time(at(last + 1))}


def six_decimals(value: float | None) -> str:
    """A score, probability or rate as mmnet's CSVs write it: 6 decimals (a spreadsheet shows the 16-17 digits of a
    float's repr as noise, and numpy's repr is 'np.float32(..)'); empty for None."""
    return "" if value is None else f"{float(value):.6f}"


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_safe(cell):
    """``cell`` as a CSV cell that no spreadsheet runs as a formula: text starting with ``=``, ``+``, ``-``,
    ``@``, a tab or a carriage return gets a leading ``'`` (OWASP's advice on CSV injection: a file name or a
    class name such as ``=1+2`` is shown, not computed). Numbers, and text that is a number ("-0.5"), are kept.
    Such text after ``'``s gets one more, so that ``spreadsheet_unsafe`` reads every cell back unchanged."""
    if isinstance(cell, str) and _protected(cell):
        return "'" + cell
    return cell


def spreadsheet_unsafe(cell: str) -> str:
    """The inverse of ``spreadsheet_safe``, for reading mmnet's CSVs back: the leading ``'`` it added is dropped
    (``'=2+5 Zoë`` reads as ``=2+5 Zoë``); other cells are kept."""
    return cell[1:] if cell.startswith("'") and _protected(cell[1:]) else cell


def formula_start(text: str) -> bool:
    """Whether a spreadsheet runs ``text`` as a formula: it starts with ``=``, ``+``, ``-``, ``@``, a tab or a
    carriage return and is not a number."""
    return text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text)


def _protected(text: str) -> bool:
    return formula_start(text.lstrip("'"))


def intervals_csv(records: Iterable[dict], class_names: Sequence[str] | None = None, *, video: str | None = None,
                  frame_numbering: str | None = None, gaps: Iterable[dict] = (), notes: Iterable[str] = ()) -> str:
    """Intervals as CSV, one row each: ``CSV_COLUMNS``, then ``p_<class>`` per class of ``class_names``.

    After the intervals, one row per gap (``mmnet spot --json``'s ``gaps``: ``first``, ``last``, ``first_s``,
    ``last_s``, ``end_s``) of type ``GAP_TYPE`` with its frames as onset and offset, then one row per note on the
    recording (``notes``) of type ``NOTE_TYPE``, its text in ``note`` and no frames: a reader keeps the intervals by
    their type, micro or macro.

    With ``video`` (the recording's id) and ``frame_numbering`` (``VIDEO_FROM_0`` or ``FILE_NUMBER``), each
    given is a first column repeated on every row (intervals.csv), so that concatenated files keep their source
    and the meaning of their frame numbers.

    ``records`` are ``Interval.to_dict()`` records with their seconds (``with_seconds``: the intervals of ``mmnet
    spot --json``; ``note``: why one is not classified); other keys are ignored. An interval that was not
    classified (a macro-expression) has empty label and ``p_`` cells. Without ``class_names`` the classes are those
    of the first classified interval, in its order (the model's: probabilities are filled in the predictor's class
    order); no ``p_`` columns when none is.
    Score and probabilities are written with 6 decimals, seconds with 3; text cells are ``spreadsheet_safe``.
    """
    records = list(records)
    if class_names is None:
        first = next((r["probabilities"] for r in records if r.get("probabilities")), {})
        class_names = list(first)
    lead = {name: value for name, value in (("video", video), ("frame_numbering", frame_numbering))
            if value is not None}
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([spreadsheet_safe(cell) for cell in [*lead, *CSV_COLUMNS, *(f"p_{c}" for c in class_names)]])
    for r in records:
        probs = r.get("probabilities") or {}
        writer.writerow([spreadsheet_safe(cell) for cell in
                         [*lead.values(), r["onset"], r.get("apex"), r["offset"], r["type"],
                          six_decimals(r.get("score")), r.get("label") or "",
                          *(_seconds(r.get(name)) for name in SECONDS.values()), r.get("note") or "",
                          _seconds(r.get("end_s")),
                          *(six_decimals(probs.get(c)) for c in class_names)]])
    empty = [""] * len(class_names)
    for g in gaps:
        writer.writerow([spreadsheet_safe(cell) for cell in
                         [*lead.values(), g["first"], "", g["last"], GAP_TYPE, "", "", _seconds(g.get("first_s")), "",
                          _seconds(g.get("last_s")), GAP_NOTE, _seconds(g.get("end_s")), *empty]])
    for note in notes:
        writer.writerow([spreadsheet_safe(cell) for cell in
                         [*lead.values(), "", "", "", NOTE_TYPE, "", "", "", "", "", note, "", *empty]])
    return buf.getvalue()
