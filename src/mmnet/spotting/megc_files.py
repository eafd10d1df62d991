"""MEGC file layouts for long-video spotting: the MEGC2020 log, the spotting CSV and the STR CSV.

* MEGC2020 log (the layout of the challenge's baseline log): one line with the dataset number
  (``DATASET_NUMBERS``: MEGC2020's 1 = SAMM Long Videos and 2 = CAS(ME)^2; 3 = CAS(ME)^3 is mmnet's,
  as MEGC2020 predates CAS(ME)^3 and later challenges defined no number for it), then one line per
  TP/FP/FN, columns aligned at 18, 26, 34 and 42 characters: video id, truth onset, truth offset,
  predicted onset, predicted offset, outcome; ``-`` where absent. Micro and macro lines of a video
  are merged and ordered by the predicted onset (the truth onset for an FN); the log has no type
  column. Frame numbers are the dataset's own.
* spotting CSV (MEGC2023 participants' submissions): ``vid,onset,offset,type`` with type ``me``/``mae``.
* STR CSV (MEGC2024-2025, STRS-Metric): ``subject,video,onset,offset,emotion`` for truth and predictions.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..data.csv_text import SAVE_AS_CSV_UTF8, NotUtf8Error, csv_delimiter, csv_error_detail, read_utf8
from ..errors import AnnotationError
from ..utils import atomic_write_text
from .intervals import Interval, parse_type
from .megc import Pair, subject_of_key

__all__ = [
    "LogLine",
    "DATASET_NUMBERS",
    "MEGC_DATASET_NAMES",
    "format_megc2020_log",
    "write_megc2020_log",
    "read_megc2020_log",
    "format_spotting_csv",
    "write_spotting_csv",
    "read_spotting_csv",
    "format_str_csv",
    "write_str_csv",
    "read_str_csv",
    "csv_reader",
]

#: Long-video dataset -> the MEGC2020 log's dataset number. 1 and 2 are MEGC2020's; MEGC defines none for
#: CAS(ME)^3 (its log predates the dataset; MEGC2022-2025 scored CAS(ME)^3 from CSV submissions), so mmnet
#: writes 3, the next free number, for it.
DATASET_NUMBERS = {"samm-long": 1, "casme-sq": 2, "casme2-long": 2, "casme3-long": 3}
MEGC_DATASET_NAMES = {1: "SAMM Long Videos", 2: "CAS(ME)^2", 3: "CAS(ME)^3 (mmnet's number)"}
_COLUMNS = (18, 26, 34, 42)


@dataclass(frozen=True)
class LogLine:
    """One line of a MEGC2020 log; None where the log has '-'."""

    dataset: int
    video: str
    truth_onset: int | None
    truth_offset: int | None
    pred_onset: int | None
    pred_offset: int | None
    outcome: str


def _sort_key(pair: Pair) -> int:
    return pair.prediction.onset if pair.prediction is not None else pair.truth.onset


def format_megc2020_log(sections: Iterable[tuple[int, Sequence[Pair]]]) -> str:
    """The log text: for each (dataset number, pairs of ``evaluate_spotting``) a number line and the pairs."""
    lines: list[str] = []
    for number, pairs in sections:
        lines.append(str(number))
        by_video: dict[Hashable, list[Pair]] = {}
        for p in pairs:
            by_video.setdefault(p.video, []).append(p)
        for video, items in by_video.items():
            for p in sorted(items, key=_sort_key):
                t = (p.truth.onset, p.truth.offset) if p.truth is not None else ("-", "-")
                q = (p.prediction.onset, p.prediction.offset) if p.prediction is not None else ("-", "-")
                line = f"{video}   {t[0]}"
                for width, value in zip(_COLUMNS, (t[1], q[0], q[1], p.outcome)):
                    line = line.ljust(width) if len(line) < width else line + " "
                    line += str(value)
                lines.append(line)
    return "\n".join(lines) + "\n"


def write_megc2020_log(path: str | Path, sections: Iterable[tuple[int, Sequence[Pair]]]) -> Path:
    """Write a MEGC2020 log (see the module docstring); returns the path."""
    path = Path(path)
    atomic_write_text(path, format_megc2020_log(sections))
    return path


def _frame_or_dash(text: str, where: str) -> int | None:
    if text == "-":
        return None
    try:
        return int(text)
    except ValueError:
        raise AnnotationError(f"{where}: {text!r} is not a frame number or '-'.") from None


def read_megc2020_log(path: str | Path) -> list[LogLine]:
    """Read a MEGC2020 log; raises AnnotationError naming the line of anything malformed."""
    path = Path(path)
    out: list[LogLine] = []
    dataset = None
    for n, raw in enumerate(_utf8_text(path).splitlines(), start=1):
        cells = raw.split()
        where = f"'{path}' line {n}"
        if not cells:
            continue
        if len(cells) == 1 and cells[0].isdecimal():
            dataset = int(cells[0])
            continue
        if len(cells) != 6 or cells[5] not in ("TP", "FP", "FN"):
            raise AnnotationError(f"{where}: expected 'video gt_onset gt_offset pred_onset pred_offset TP|FP|FN', "
                                  f"got {raw!r}.")
        if dataset is None:
            numbers = ", ".join(f"{k} = {v}" for k, v in MEGC_DATASET_NAMES.items())
            raise AnnotationError(f"{where}: no dataset number line ({numbers}) before it.")
        values = [_frame_or_dash(c, where) for c in cells[1:5]]
        out.append(LogLine(dataset, cells[0], *values, cells[5]))
    return out


def _utf8_text(path: Path) -> str:
    try:
        return read_utf8(path)
    except NotUtf8Error as exc:  # GBK, Shift-JIS, a legacy Windows code page: Excel's plain "CSV" outside UTF-8
        raise AnnotationError(f"'{path}' is not UTF-8 text ({exc.detail}); {SAVE_AS_CSV_UTF8}, or as UTF-8 text "
                              "in an editor, and retry.") from None


# every column of the spotting and STR layouts: the header line, split by its separator, holds some of them
_CSV_COLUMNS = ("vid", "video", "subject", "onset", "offset", "type", "emotion", "score")


def csv_reader(path: Path) -> csv.DictReader:
    """A DictReader over a UTF-8 CSV file (BOM or not), separated by what splits its header line into the layouts'
    column names (Excel in many locales saves "CSV" with ';'); a file in another encoding is a named error saying how
    to save it."""
    text = _utf8_text(path)
    return csv.DictReader(io.StringIO(text, newline=""), delimiter=csv_delimiter(text.partition("\n")[0], _CSV_COLUMNS))


def _rows(path: Path, header: Sequence[str]) -> Iterable[tuple[int, dict[str, str]]]:
    reader = csv_reader(path)
    try:  # a csv.Error (an unclosed quote) as the file's named error, not a traceback
        yield from _checked_rows(path, reader, header)
    except csv.Error as exc:
        detail = csv_error_detail(exc, reader.line_num)
        raise AnnotationError(f"'{path}' is not a readable CSV file ({detail}).") from None


def _checked_rows(path: Path, reader: csv.DictReader, header: Sequence[str]) -> Iterable[tuple[int, dict[str, str]]]:
    fields = [h.strip().lower() for h in (reader.fieldnames or [])]
    twice = sorted({h for h in fields if h and fields.count(h) > 1})
    if twice:  # the row dict would keep the last copy without a word
        raise AnnotationError(f"'{path}': the header names column(s) {twice} twice (letter case aside); its header is "
                              f"{reader.fieldnames}. Remove or rename the extra column.")
    missing = [h for h in header if h not in fields]
    if missing:
        raise AnnotationError(f"'{path}': no column(s) {missing}; its header is {reader.fieldnames}. Expected "
                              f"{','.join(header)}.{_spot_output_hint(path, fields)}")
    for n, row in enumerate(reader, start=2):
        yield n, {k.strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}


def _spot_output_hint(path: Path, fields: Sequence[str]) -> str:
    """For a file of ``mmnet spot --out`` or ``mmnet synth --long`` given instead of a MEGC CSV: what to give."""
    if path.name == "synth.json":
        return (" 'synth.json' lists what `mmnet synth --long` planted: score against it with `--dataset casme-sq "
                f"--root {path.parent}` (then give the predictions only).")
    # intervals.csv: onset,apex,offset,type first, or after video,frame_numbering
    if path.name == "spot.json" or ["onset", "apex", "offset", "type"] in (fields[:4], fields[2:6]):
        return (f" '{path.name}' is an output of `mmnet spot --out`: the spotting.csv beside it holds the same "
                "intervals in the MEGC layout; spot the recording again with `mmnet spot RECORDING --out DIR` if "
                "there is none (earlier versions of mmnet did not write it).")
    return ""


def _float(text: str, where: str, name: str, what: str) -> float:
    # a decimal comma ('0,87', '46,0'): what a ';'-separated CSV of a localized Excel holds
    try:
        return float(text.replace(",", ".", 1) if re.fullmatch(r"[+-]?\d*,\d+|[+-]?\d+,\d*", text) else text)
    except ValueError:
        raise AnnotationError(f"{where}: {name} {text!r} is not {what}.") from None


def _int(text: str, where: str, name: str) -> int:
    value = _float(text, where, name, "a frame number")
    if not value.is_integer():
        raise AnnotationError(f"{where}: {name} {text!r} is not a whole frame number.")
    return int(value)


def _interval(row: dict[str, str], where: str, type_: str, label: str | None) -> Interval:
    onset, offset = _int(row["onset"], where, "onset"), _int(row["offset"], where, "offset")
    if offset < onset:
        raise AnnotationError(f"{where}: offset {offset} is before onset {onset}.")
    score = row.get("score") or None
    value = None if score is None else _float(score, where, "score", "a number")
    if value is not None and not math.isfinite(value):  # NaN would rank unpredictably in the one-to-one matching
        raise AnnotationError(f"{where}: score {score!r} is not a finite number; leave the cell empty for a "
                              "prediction without a score.")
    return Interval(onset, None, offset, type_, label, value)


def format_spotting_csv(predictions: Mapping[Hashable, Sequence[Interval]], *, scores: bool = False) -> str:
    """``vid,onset,offset,type`` (me/mae), one row per interval, videos in the given order: the MEGC2023
    layout. ``scores=True`` adds a ``score`` column (not part of that layout; read back by ``read_spotting_csv``)."""
    lines = ["vid,onset,offset,type" + (",score" if scores else "")]
    for video, intervals in predictions.items():
        for i in sorted(intervals, key=lambda i: (i.onset, i.offset)):
            row = f"{video},{i.onset},{i.offset},{'me' if i.type == 'micro' else 'mae'}"
            # repr of a float reads back exactly (numpy's repr would be 'np.float32(0.5)')
            lines.append(row + (f",{'' if i.score is None else repr(float(i.score))}" if scores else ""))
    return "\n".join(lines) + "\n"


def write_spotting_csv(path: str | Path, predictions: Mapping[Hashable, Sequence[Interval]], *,
                       scores: bool = False) -> Path:
    """``format_spotting_csv`` written to ``path``."""
    atomic_write_text(Path(path), format_spotting_csv(predictions, scores=scores))
    return Path(path)


def read_spotting_csv(path: str | Path) -> dict[str, list[Interval]]:
    """Read ``vid,onset,offset,type`` into video id -> intervals (type me/mae or micro/macro)."""
    path = Path(path)
    out: dict[str, list[Interval]] = {}
    for n, row in _rows(path, ("vid", "onset", "offset", "type")):
        where = f"'{path}' row {n}"
        type_ = parse_type(row["type"])
        if type_ is None:
            raise AnnotationError(f"{where}: type {row['type']!r} is not me/mae (or micro/macro).")
        out.setdefault(row["vid"], []).append(_interval(row, where, type_, None))
    return out


#: The STR CSV's columns (STRS-Metric's layout), written and read in this order.
STR_COLUMNS = ("subject", "video", "onset", "offset", "emotion")


def format_str_csv(intervals: Mapping[Hashable, Sequence[Interval]], *, subject_of=subject_of_key) -> str:
    """``subject,video,onset,offset,emotion`` for the micro-expressions (STR scores MEs only), in onset order.

    Keys are ``(subject, video)`` tuples or video ids whose subject ``subject_of`` gives. A micro
    interval without a label (spotted, not classified: its onset is its apex) has an empty emotion,
    which ``read_str_csv`` reads back as None and STR scoring counts as a wrong class.
    """
    lines = [",".join(STR_COLUMNS)]
    for key, items in intervals.items():
        video = key[1] if isinstance(key, tuple) else key
        for i in sorted((i for i in items if i.type == "micro"), key=lambda i: (i.onset, i.offset)):
            lines.append(f"{subject_of(key)},{video},{i.onset},{i.offset},{i.label or ''}")
    return "\n".join(lines) + "\n"


def write_str_csv(path: str | Path, intervals: Mapping[Hashable, Sequence[Interval]], *,
                  subject_of=subject_of_key) -> Path:
    """``format_str_csv`` written to ``path``."""
    atomic_write_text(Path(path), format_str_csv(intervals, subject_of=subject_of))
    return Path(path)


def read_str_csv(path: str | Path) -> dict[tuple[str, str], list[Interval]]:
    """Read ``subject,video,onset,offset,emotion`` into (subject, video) -> micro intervals."""
    path = Path(path)
    out: dict[tuple[str, str], list[Interval]] = {}
    for n, row in _rows(path, STR_COLUMNS):
        where = f"'{path}' row {n}"
        label = row["emotion"].lower() or None
        out.setdefault((row["subject"], row["video"]), []).append(_interval(row, where, "micro", label))
    return out
