"""MEGC file layouts for long-video spotting: the MEGC2020 log, the spotting CSV and the STR CSV.

* MEGC2020 log (the layout of the challenge's baseline log): one line with the dataset number
  (``DATASET_NUMBERS``: MEGC2020's 1 = SAMM Long Videos and 2 = CAS(ME)^2; 3 = CAS(ME)^3 is mmnet's,
  as MEGC2020 predates CAS(ME)^3 and later challenges defined no number for it; 0, mmnet's too, for recordings
  of no MEGC dataset), then one line per TP/FP/FN, columns aligned at 18, 26, 34 and 42 characters: video id,
  truth onset, truth offset, predicted onset, predicted offset, outcome; ``-`` where absent. Micro and macro
  lines of a video are merged and ordered by the predicted onset (the truth onset for an FN); the log has no type
  column. Frame numbers are the dataset's own. Its columns are separated by spaces, and MEGC2020's scorers (as
  ``read_megc2020_log``) split each line at whitespace: an id holding a space or a tab is written with ``_`` in
  its place (``log_id``), the only form that reads back as one column (MEGC's own ids hold none).
* spotting CSV (MEGC2023 participants' submissions): ``vid,onset,offset,type`` with type ``me``/``mae``.
* STR CSV (MEGC2024-2025, STRS-Metric): ``subject,video,onset,offset,emotion`` for truth and predictions.

Both CSVs are RFC 4180 (an id with a comma is quoted) and hold the ids verbatim, as MEGC's scorers match them: an id
that starts with ``=``, ``+``, ``-`` or ``@`` is a formula to a spreadsheet that opens the file.

The CSV readers (``read_spotting_csv``, ``read_str_csv``: the aliases and rows they accept) are ``megc_csv``'s.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import AnnotationError
from ..utils import atomic_write_text
from .intervals import Interval, formula_start, six_decimals
from .megc import Pair, subject_of_key
from .megc_csv import STR_COLUMNS, csv_reader, read_spotting_csv, read_str_csv, utf8_text

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
    "STR_COLUMNS",
    "formula_ids_warning",
    "log_id",
    "check_log_ids",
]

#: Long-video dataset -> the MEGC2020 log's dataset number. 1 and 2 are MEGC2020's; MEGC defines none for
#: CAS(ME)^3 (its log predates the dataset; MEGC2022-2025 scored CAS(ME)^3 from CSV submissions), so mmnet
#: writes 3, the next free number, for it. A lab's own recordings (table-long) are no MEGC dataset: 0, the number
#: score-spots writes when no dataset is named.
DATASET_NUMBERS = {"samm-long": 1, "casme-sq": 2, "casme2-long": 2, "casme3-long": 3, "table-long": 0}
MEGC_DATASET_NAMES = {1: "SAMM Long Videos", 2: "CAS(ME)^2", 3: "CAS(ME)^3 (mmnet's number)",
                      0: "no MEGC dataset (mmnet's number: a lab's own recordings)"}
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
    """The log text: for each (dataset number, pairs of ``evaluate_spotting``) a number line and the pairs. Refuses
    two videos of a section that ``log_id`` writes alike (``check_log_ids``)."""
    lines: list[str] = []
    for number, pairs in sections:
        check_log_ids(p.video for p in pairs)
        lines.append(str(number))
        by_video: dict[Hashable, list[Pair]] = {}
        for p in pairs:
            by_video.setdefault(p.video, []).append(p)
        for video, items in by_video.items():
            for p in sorted(items, key=_sort_key):
                t = (p.truth.onset, p.truth.offset) if p.truth is not None else ("-", "-")
                q = (p.prediction.onset, p.prediction.offset) if p.prediction is not None else ("-", "-")
                line = f"{log_id(video)}   {t[0]}"
                for width, value in zip(_COLUMNS, (t[1], q[0], q[1], p.outcome)):
                    line = line.ljust(width) if len(line) < width else line + " "
                    line += str(value)
                lines.append(line)
    return "\n".join(lines) + "\n"


def log_id(video: Hashable) -> str:
    """A video id as the MEGC2020 log writes it: each run of whitespace as one ``_`` (see the module docstring)."""
    return "_".join(str(video).split())


def check_log_ids(videos: Iterable[Hashable], rename: str = "in the files that name them") -> None:
    """Refuse two video ids that the log would write as one (``log_id``: "my clip" and "my_clip"): their lines would
    read as one video's. ``rename`` says where the ids come from."""
    first: dict[str, str] = {}
    for video in sorted({str(v) for v in videos}):  # sorted: the same message whatever order the ids come in
        other = first.setdefault(log_id(video), video)
        if other != video:
            raise AnnotationError(
                f"video ids {other!r} and {video!r} would both be written {log_id(video)!r} in the MEGC2020 log (its "
                "columns are split at whitespace, so each run of spaces or tabs in an id is written as '_'), which "
                f"would merge the two videos: rename one of them {rename}.")


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
    for n, raw in enumerate(utf8_text(path).splitlines(), start=1):
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


def _csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """RFC 4180 CSV (``csv.writer``): an id holding a comma, a quote or a line break is quoted, so that the row keeps
    its columns and ``read_spotting_csv``/``read_str_csv`` read the id back. Ids are written verbatim otherwise (no
    ``spreadsheet_safe``: a leading ``'`` would change the ids MEGC's scorers match)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def format_spotting_csv(predictions: Mapping[Hashable, Sequence[Interval]], *, scores: bool = False) -> str:
    """``vid,onset,offset,type`` (me/mae), one row per interval, videos in the given order: the MEGC2023
    layout. ``scores=True`` adds a ``score`` column (not part of that layout; read back by ``read_spotting_csv``),
    written with 6 decimals as intervals.csv."""
    rows = []
    for video, intervals in predictions.items():
        for i in sorted(intervals, key=lambda i: (i.onset, i.offset)):
            row = [video, i.onset, i.offset, "me" if i.type == "micro" else "mae"]
            rows.append(row + ([six_decimals(i.score)] if scores else []))
    return _csv_text(["vid", "onset", "offset", "type", *(["score"] if scores else [])], rows)


def write_spotting_csv(path: str | Path, predictions: Mapping[Hashable, Sequence[Interval]], *,
                       scores: bool = False) -> Path:
    """``format_spotting_csv`` written to ``path``."""
    atomic_write_text(Path(path), format_spotting_csv(predictions, scores=scores))
    return Path(path)


def format_str_csv(intervals: Mapping[Hashable, Sequence[Interval]], *, subject_of=subject_of_key) -> str:
    """``subject,video,onset,offset,emotion`` for the micro-expressions (STR scores MEs only), in onset order.

    Keys are ``(subject, video)`` tuples or video ids whose subject ``subject_of`` gives. A micro
    interval without a label (spotted, not classified: its onset is its apex) has an empty emotion,
    which ``read_str_csv`` reads back as None and STR scoring counts as a wrong class.
    """
    rows = []
    for key, items in intervals.items():
        video = key[1] if isinstance(key, tuple) else key
        for i in sorted((i for i in items if i.type == "micro"), key=lambda i: (i.onset, i.offset)):
            rows.append([subject_of(key), video, i.onset, i.offset, i.label or ""])
    return _csv_text(STR_COLUMNS, rows)


def write_str_csv(path: str | Path, intervals: Mapping[Hashable, Sequence[Interval]], *,
                  subject_of=subject_of_key) -> Path:
    """``format_str_csv`` written to ``path``."""
    atomic_write_text(Path(path), format_str_csv(intervals, subject_of=subject_of))
    return Path(path)


def formula_ids_warning(ids: Mapping[str, Sequence[str]], fix: str) -> str | None:
    """What to say about ids (id -> the MEGC files that hold it) a spreadsheet runs as a formula (``formula_start``):
    the MEGC files keep ids verbatim, as scorers match them; None when no id is one."""
    said = sorted({f"{i!r} ({', '.join(files)})" for i, files in ids.items() if formula_start(i)})
    if not said:
        return None
    return (f"id(s) {', '.join(said)} start with =, +, -, @, a tab or a carriage return: a spreadsheet that opens "
            "the file runs such an id as a formula. The MEGC files (spotting.csv, str.csv) hold ids verbatim, as "
            "MEGC's scorers match them (intervals.csv and the other CSVs write a leading ' before them); to open the "
            f"MEGC files in a spreadsheet, {fix}.")
