"""Reading the MEGC CSV layouts of spotted intervals: the spotting CSV and the STR CSV (``megc_files`` writes them).

* spotting CSV (MEGC2023 participants' submissions): ``vid,onset,offset,type`` with type ``me``/``mae`` (or
  ``micro``/``macro``); ``video`` is read as ``vid`` (mmnet's run truth.csv names it so).
* STR CSV (MEGC2024-2025, STRS-Metric): ``subject,video,onset,offset,emotion``: micro-expressions, unless a
  ``type`` column says which rows are macro-expressions.

Both may add a ``score`` column (or ``confidence``, ``conf``, ``prob``, ``probability``) that orders the matching.
A row with the video named and onset, apex, offset, type, emotion and score all empty lists a video without any
expression (the truth then counts the false positives there); a row with every cell empty is skipped.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from ..data.csv_text import SAVE_AS_CSV_UTF8, NotUtf8Error, csv_dict_reader, csv_error_detail, read_utf8
from ..data.decimal_comma import dot_thousands, number_text, value_said
from ..errors import AnnotationError
from .intervals import Interval, parse_type

__all__ = ["STR_COLUMNS", "SCORE_COLUMNS", "csv_reader", "csv_header", "score_column", "read_spotting_csv",
           "read_str_csv", "decimal_frames", "utf8_text", "decimal_number", "check_thousands"]

#: The STR CSV's columns (STRS-Metric's layout), written and read in this order.
STR_COLUMNS = ("subject", "video", "onset", "offset", "emotion")
#: The names a prediction's score column is read under, the first found in this order (a score orders the matching).
SCORE_COLUMNS = ("score", "confidence", "conf", "prob", "probability")
# every column of the spotting and STR layouts: the header line, split by its separator, holds some of them
_CSV_COLUMNS = ("vid", "video", "subject", "onset", "apex", "offset", "type", "emotion", *SCORE_COLUMNS)
# the cells of an interval: all empty (the video named) lists a video without expression
_INTERVAL_CELLS = ("onset", "apex", "offset", "type", "emotion", "score")
# the cells read as numbers (a table-long row's own frame rate among them), where a table's decimal commas show
_NUMBER_CELLS = ("onset", "apex", "offset", "score", "fps")


def utf8_text(path: Path) -> str:
    """The text of a CSV or coder's file: UTF-8, or UTF-16 with its BOM (a named error for another encoding), or an
    Excel workbook's sheet as tab-separated text (``sheet_text``)."""
    from .sheet_text import sheet_text, spreadsheet_kind

    kind = spreadsheet_kind(path)
    if kind is not None:
        return sheet_text(path, kind)
    try:
        return read_utf8(path)
    except NotUtf8Error as exc:  # GBK, Shift-JIS, a legacy Windows code page: Excel's plain "CSV" outside UTF-8
        raise AnnotationError(f"'{path}' is not UTF-8 text ({exc.detail}); {SAVE_AS_CSV_UTF8}, or as UTF-8 text "
                              "in an editor, and retry.") from None


def csv_reader(path: Path, text: str | None = None) -> csv.DictReader:
    """A DictReader over a UTF-8 CSV file (BOM or not; or UTF-16 with its BOM), separated by what splits its header
    line into the layouts' column names (Excel in many locales saves "CSV" with ';'), or by an Excel 'sep=;' line
    above it (``csv_dict_reader``); a file in another encoding is a named error saying how to save it. ``text``: the
    file's text as ``utf8_text`` read it already (a command reads each file once)."""
    text = utf8_text(path) if text is None else text
    return csv_dict_reader(text, _CSV_COLUMNS)


def csv_header(path: Path, text: str | None = None) -> list[str]:
    """The column names of a CSV file as the readers compare them (stripped, lower case)."""
    return [h.strip().lower() for h in csv_reader(path, text).fieldnames or []]


def score_column(fields: Iterable[str]) -> str | None:
    """The column a prediction's score is read from (``SCORE_COLUMNS``' first in ``fields``), None without one."""
    fields = set(fields)
    return next((c for c in SCORE_COLUMNS if c in fields), None)


def _rows(path: Path, header: Sequence[str], aliases: Mapping[str, str] | None = None,
          text: str | None = None) -> Iterable[tuple[int, dict[str, str]]]:
    reader = csv_reader(path, text)
    try:  # a csv.Error (an unclosed quote) as the file's named error, not a traceback
        yield from _checked_rows(path, reader, header, aliases or {})
    except csv.Error as exc:
        detail = csv_error_detail(exc, reader.line_num)
        raise AnnotationError(f"'{path}' is not a readable CSV file ({detail}).") from None


def _checked_rows(path: Path, reader: csv.DictReader, header: Sequence[str],
                  aliases: Mapping[str, str]) -> Iterable[tuple[int, dict[str, str]]]:
    if not reader.fieldnames:  # no line at all, or a blank first line (a header of no column: refused either way)
        if not any(any(cell.strip() for cell in row) for row in reader.reader):
            raise AnnotationError(f"'{path}' is empty; expected the columns {','.join(header)} (a header row, then "
                                  "a row per interval).")
        raise AnnotationError(f"'{path}': its first line is blank; the header row ({','.join(header)}) goes first.")
    fields = [h.strip().lower() for h in (reader.fieldnames or [])]
    twice = sorted({h for h in fields if h and fields.count(h) > 1})
    if twice:  # the row dict would keep the last copy without a word
        raise AnnotationError(f"'{path}': the header names column(s) {twice} twice (letter case aside); its header is "
                              f"{reader.fieldnames}. Remove or rename the extra column.")
    if "frame_numbering" in fields:  # intervals.csv: a video's frames counted from 0, not MEGC's numbers
        raise AnnotationError(f"'{path}' has a frame_numbering column: it is intervals.csv of `mmnet spot --out` or "
                              "the web page's CSV download, not a MEGC CSV; `mmnet score-spots` reads it as it is "
                              "(mmnet.spotting.spot_output_csv.read_spot_output from Python).")
    score = score_column(fields)
    # an alias is read as its column's name when the file lacks that column
    rename = {alt: name for alt, name in {**aliases, **({score: "score"} if score else {})}.items()
              if alt in fields and name not in fields}
    missing = [h for h in header if h not in {rename.get(f, f) for f in fields}]
    if missing:
        also = "".join(f" (nor {alt!r}, which is read as {name})" for alt, name in aliases.items() if name in missing)
        raise AnnotationError(f"'{path}': no column(s) {missing}{also}; its header is {reader.fieldnames}. Expected "
                              f"{','.join(header)}.{_spot_output_hint(path, fields) or _times_hint(fields)}")
    rows = []
    for row in reader:
        n = reader.line_num  # the row's (last) line in the file, as an editor or spreadsheet numbers it: a blank line
        # is skipped by DictReader but counted there
        cells = {rename.get(k := name.strip().lower(), k): (v or "").strip() for name, v in row.items()
                 if name is not None}
        if any(cells.values()):  # a row of empty cells (a spreadsheet's trailing ",,,") holds nothing
            rows.append((n, cells))
    check_thousands(path, rows, _NUMBER_CELLS)
    yield from rows


def check_thousands(path: Path, rows: Sequence[tuple[int, dict[str, str]]], columns: Sequence[str]) -> None:
    """Refuse a text table that writes decimal commas and also '1.000' (1000 in that locale, not 1) in one of
    ``columns``; ``rows``: (line, cells by lower-case column name). The whole table first, wherever the first one
    stands (a spreadsheet's number cells hold numbers, not text: as the data loaders read workbooks)."""
    from .sheet_text import spreadsheet_kind

    numbers = [[c[k] for k in columns if k in c] for _, c in rows]
    if spreadsheet_kind(path) is None and (why := dot_thousands(numbers, [n for n, _ in rows])):
        raise AnnotationError(f"'{path}' {why}.")


def _spot_output_hint(path: Path, fields: Sequence[str]) -> str:
    """For a file of ``mmnet spot --out`` or ``mmnet synth --long`` given instead of a MEGC CSV: what to give."""
    if path.name == "synth.json":
        return (" 'synth.json' lists what `mmnet synth --long` planted: score against it with `--dataset casme-sq "
                f"--root {path.parent}` (then give the predictions only).")
    # intervals.csv: its frame_numbering column, or (written before it had one) onset,apex,offset,type first
    if path.name == "spot.json" or "frame_numbering" in fields or list(fields[:4]) == ["onset", "apex", "offset",
                                                                                         "type"]:
        return (f" '{path.name}' is an output of `mmnet spot --out`: the spotting.csv beside it holds the same "
                "intervals in the MEGC layout and frame numbers; spot the recording again with `mmnet spot RECORDING "
                "--out DIR` if there is none (earlier versions of mmnet did not write it).")
    return ""


_TIME_WORDS = re.compile(r"time|start|begin|stop|end|dur|sec|\(s\)|\bms\b|^\d+:\d+|^\d*\.\d+$|^\d+$")


def _times_hint(fields: Sequence[str]) -> str:
    """For a file whose columns (or first line, without a header) look like times: how times are read."""
    timed = [f for f in fields if _TIME_WORDS.search(f)]
    if not timed:
        return ""
    return (f" Its columns {timed[:4]} look like times or values, not MEGC's columns: this layout holds frame "
            "numbers. `mmnet score-spots` reads times from an ELAN tab-delimited text export, an ELAN .eaf file or a "
            "BORIS aggregated-events export, given with --fps RATE (the recording's frame rate).")


# what every refused frame cell says to do
_FRAMES_FIX = ("frame numbers are whole numbers counted from 1 (MEGC's) or from 0 (a frame folder's file numbers); "
               "correct the row")


def decimal_number(text: str, where: str, name: str, what: str = "a number", fix: str = "",
                   exponent: bool = True) -> float:
    """The finite number a cell writes, '0.87' or with a decimal comma '0,87' (what a ';'-separated CSV of a
    localized Excel holds), with an exponent where ``exponent`` ('1e-05', '2,5E-03'); a named error for anything
    else, and for a comma that may be a thousands separator ('1,000'): the data loaders' rule,
    ``mmnet.data.decimal_comma.number_text``."""
    value = number_text(text, exponent=exponent)
    if value is None:
        raise AnnotationError(f"{where}: {value_said(name, text)} is not {what}{fix}.")
    return value


def _int(text: str, where: str, name: str) -> int:
    # no exponent: a spreadsheet writes a frame number as '1.23457E+05' only once it has rounded it
    value = decimal_number(text, where, name, "a frame number", f": {_FRAMES_FIX}", exponent=False)
    if not value.is_integer():
        raise AnnotationError(f"{where}: {name} {text!r} is not a whole frame number: {_FRAMES_FIX}.")
    return int(value)


def _interval(row: dict[str, str], where: str, type_: str, label: str | None) -> Interval:
    onset, offset = _int(row["onset"], where, "onset"), _int(row["offset"], where, "offset")
    if offset < onset:
        raise AnnotationError(f"{where}: offset {offset} is before onset {onset}: swap them if the columns are "
                              f"exchanged, else {_FRAMES_FIX}.")
    if onset < 0:  # frame 0 stays: a frame folder's files numbered from 0
        raise AnnotationError(f"{where}: the interval {onset}..{offset} starts before frame 0: {_FRAMES_FIX}.")
    score = row.get("score") or None
    # NaN would rank unpredictably in the one-to-one matching: refused with the rest
    value = None if score is None else decimal_number(score, where, "score", "a finite number",
                                                      "; leave the cell empty for a prediction without a score")
    # an apex and a table-long row's frame rate are kept (agree --write-truth writes them); scoring ignores both
    apex = _apex(row.get("apex") or "", onset, offset)
    fps = (row.get("fps") or "").strip()
    return Interval(onset, apex, offset, type_, label, value, extra={"fps": fps} if fps else {})


def _apex(text: str, onset: int, offset: int) -> int | None:
    """The apex cell as a frame number within onset..offset; anything else (empty, '-1', '/', a frame outside the
    interval, as some datasets' tables mark an unknown apex) is no apex: the cell was never used for scoring."""
    value = number_text(text)  # '13,0' as the frame cells read it
    if value is None:
        return None
    return int(value) if value.is_integer() and onset <= value <= offset else None


def _no_expression(row: dict[str, str], where: str, video: str) -> bool:
    """Whether ``row`` lists its video without an expression: every interval cell empty. Empty onset and offset
    beside another filled interval cell is refused: a half-written interval is not a video without expression."""
    if row["onset"] or row["offset"]:
        return False
    filled = [f"{c} {row[c]!r}" for c in _INTERVAL_CELLS if row.get(c)]
    if filled or not video:
        what = f"has {', '.join(filled)}" if filled else "names no video"
        raise AnnotationError(f"{where}: onset and offset are empty but the row {what}: give the interval's onset "
                              "and offset, or list a video without expression as its id with onset, apex, offset, "
                              "type and emotion empty.")
    return True


def _type(row: dict[str, str], where: str, default: str | None) -> str:
    """The row's type (me/mae, micro/macro, ...); ``default`` for a file without a type column."""
    if "type" not in row and default is not None:
        return default
    type_ = parse_type(row["type"])
    if type_ is None:
        raise AnnotationError(f"{where}: type {row['type']!r} is not me/mae (or micro/macro).")
    return type_


def read_spotting_csv(path: str | Path, text: str | None = None) -> dict[str, list[Interval]]:
    """Read ``vid,onset,offset,type`` into video id -> intervals (type me/mae or micro/macro; ``video`` for ``vid``;
    an ``emotion`` column, where there is one, as each interval's label); a video listed without an expression (see
    the module docstring) maps to an empty list. ``text``: the file's text already read (``csv_reader``)."""
    path = Path(path)
    out: dict[str, list[Interval]] = {}
    first: dict[str, tuple[str, int]] = {}  # video -> (subject, row): a subject column must not tell videos apart
    for n, row in _rows(path, ("vid", "onset", "offset", "type"), {"video": "vid"}, text):
        where = f"'{path}' row {n}"
        subject, row_1 = first.setdefault(row["vid"], (row.get("subject", ""), n))
        if row.get("subject", "") != subject:
            raise AnnotationError(f"{where}: video {row['vid']!r} is named for subject {row['subject']!r} here and "
                                  f"{subject!r} in row {row_1}; without an emotion column this file is read by video "
                                  "alone, so their intervals would be pooled: give unique video ids, or add an "
                                  "emotion column (the STR layout, subject,video,onset,offset,emotion, with type if "
                                  "it holds macro-expressions) to key videos by subject and video.")
        intervals = out.setdefault(row["vid"], [])
        if not _no_expression(row, where, row["vid"]):
            # an emotion column is kept as the STR reader keeps it (agree --write-truth and --pairs write it)
            label = (row.get("emotion") or "").lower() or None
            intervals.append(_interval(row, where, _type(row, where, None), label))
    return out


def read_str_csv(path: str | Path, text: str | None = None) -> dict[tuple[str, str], list[Interval]]:
    """Read ``subject,video,onset,offset,emotion`` into (subject, video) -> intervals: micro-expressions, or with a
    ``type`` column each row's type (a macro row stays macro: STR scoring leaves it out, spotting scores it as
    macro); a video listed without an expression maps to an empty list. ``text``: as for ``read_spotting_csv``."""
    path = Path(path)
    out: dict[tuple[str, str], list[Interval]] = {}
    for n, row in _rows(path, STR_COLUMNS, text=text):
        where = f"'{path}' row {n}"
        intervals = out.setdefault((row["subject"], row["video"]), [])
        if not _no_expression(row, where, row["video"]):
            label = row["emotion"].lower() or None
            intervals.append(_interval(row, where, _type(row, where, "micro"), label))
    return out


def decimal_frames(path: str | Path, text: str | None = None) -> bool:
    """Whether every onset and offset of a MEGC CSV is written with decimals ('13.000', '13,5'): frame numbers are
    whole, so such a file most likely holds times (``read_spotting_csv`` reads '13.000' as frame 13)."""
    cells = [(row.get(name) or "").strip() for row in _plain_rows(path, text) for name in ("onset", "offset")]
    cells = [c for c in cells if c]
    return bool(cells) and all(re.fullmatch(r"[+-]?\d*[.,]\d+", c) for c in cells)


def _plain_rows(path: str | Path, text: str | None) -> Iterable[dict[str, str]]:
    for raw in csv_reader(Path(path), text):
        yield {name.strip().lower(): value for name, value in raw.items() if name is not None}
