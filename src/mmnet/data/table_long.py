"""A lab's own long recordings for spotting, no code needed: a folder of frame folders and a CSV of the annotated
expressions (docs/spotting.md, "Your own long recordings"; the clip dataset's counterpart is data/table.py).

Layout::

    ROOT/intervals.csv                 subject,video,onset,offset,type[,apex][,fps][,emotion]   (or --annotation FILE)
    ROOT/P01/session1/frame_000001.jpg ...   video = the frame folder's path relative to ROOT, as the table writes it

One row per annotated expression; a row with only subject and video (and fps) lists a recording with no
expression, which a spotter is scored on too. Frame numbers are the numbers in the frame files' names (the last
number: ``frame_0001.jpg`` is frame 1, ``img0.png`` frame 0), as every other loader, the MEGC files and
``mmnet spot`` on a frame folder count them; onset and offset are inclusive. The type is ``micro`` or ``macro``
(also ``me``/``mae``, ``micro-expression``, ...). The rate is the ``fps`` column, else the ``fps`` option
(``--fps``); a recording with neither is refused, not guessed. A type no row has is not annotated: it is neither
trained nor scored (``LongVideoLoad.types``).

Every quirk is an Issue: a row that cannot be placed or read (``bad_row``, ``bad_value``), onset after offset
(``offset_before_onset``), one recording under two subjects (``video_twice``) or with two rates (``fps_differs``),
a subject written two ways, in case, width or white space (``subject_case``), a video file instead of a frame
folder (``video_file``), no rate (``no_fps``), and long_video's frame and interval checks (``video_missing``,
``frame_gaps``, ``beyond_video``, ``outside_video``, ``apex_outside``, ``duplicate_row``, ``not_annotated``).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from pathlib import Path

from ..errors import AnnotationError, ConfigError, DatasetNotFoundError
from ..spotting.intervals import TYPES, Interval, parse_type
from ..unicode_names import nfc, on_disk
from .annotations import cell, label_text, read_table, subject_text
from .case_keys import fold_id
from .decimal_comma import value_said
from .frame_copies import folder_copies
from .long_video import (
    LongVideo,
    LongVideoLoad,
    attach_long_frames,
    check_video,
    finish_long,
    frame_value,
    not_annotated,
    refused_row,
)
from .long_video import cell_text as _text
from .root_files import folder_in_any_case, root_file, sheets_said
from .sample import Issue
from .table import _parts, frame_pattern, label_refused, labels_of, too_few_said

__all__ = ["load_table_long", "table_long_labels", "too_few_classes", "fps_option", "check_fps", "ANNOTATION_NAME",
           "COLUMNS", "DATASET"]

DATASET = "table-long"
ANNOTATION_NAME = "intervals.csv"
COLUMNS = {"subject": ("subject",), "video": ("video",), "onset": ("onset",), "offset": ("offset",),
           "type": ("type",), "apex": ("apex",), "fps": ("fps",), "label": ("emotion",)}
_OPTIONAL = ("apex", "fps", "label")
_REQUIRED = "subject, video, onset, offset, type (apex, fps and emotion optional)"
_LAYOUT_HELP = [
    f"{ANNOTATION_NAME}   (columns {_REQUIRED}; or pass --annotation FILE)",
    "P01/session1/frame_000001.jpg ...   (one folder of numbered frames per recording; the video column names it "
    "relative to the root)",
]


def _missing(root: Path, what: str) -> DatasetNotFoundError:
    layout = "\n".join(f"    {line}" for line in _LAYOUT_HELP)
    return DatasetNotFoundError(f"table-long dataset root '{root}' is missing {what}.\nExpected layout:\n{layout}\n"
                                "docs/spotting.md, \"Your own long recordings\", has a worked example.")


@contextmanager
def _columns_said():
    try:
        yield
    except AnnotationError as exc:  # a missing column, no header row: say what this dataset's table needs
        raise AnnotationError(f"{exc} The table-long dataset reads the columns {_REQUIRED}, one row per annotated "
                              "expression (a row with only subject and video lists a recording without any).") from None


def _annotation(root: Path, annotation: str | Path | None) -> Path:
    if annotation is None and not root.is_dir():
        raise _missing(root, "the folder itself")
    path = Path(annotation) if annotation is not None else root_file(root, ANNOTATION_NAME)
    if not path.is_file():
        given = "" if annotation is not None else " (or pass --annotation FILE)"
        held = f". {sheets_said(root).rstrip('.')}" if annotation is None and sheets_said(root) else ""
        raise _missing(root, f"the annotation table '{path}'{given}{held}")
    return path


def table_long_labels(root: str | Path, annotation: str | Path | None = None) -> list[str]:
    """The emotion labels of the table's micro-expressions (lower case, sorted): the classes spot then recognise
    trains MMNet on under the default ``table`` scheme, as the clip table's labels are (table.table_labels)."""
    with _columns_said():
        table = read_table(_annotation(Path(root), annotation), header="subject")
        label, type_ = table.column(*COLUMNS["label"], required=False), table.column(*COLUMNS["type"])
    return labels_of(table, label, [(n, row) for n, row in table.rows if parse_type(cell(row, type_)) == "micro"])


def too_few_classes(root: str | Path, annotation: str | Path | None, labels: list[str]) -> str:
    """Why ``mmnet train`` (spot then recognise) cannot train MMNet on this table, whose micro-expressions' labels
    are ``labels`` (fewer than two): no emotion column, no micro-expression, or rows without an emotion (named),
    and what to do; a spotting-only table trains a spotter (train-spotter) instead."""
    with _columns_said():
        table = read_table(_annotation(Path(root), annotation), header="subject")
        label, type_ = table.column(*COLUMNS["label"], required=False), table.column(*COLUMNS["type"])
    micro = [row_no for row_no, row in table.rows if parse_type(cell(row, type_)) == "micro"]
    spotter = (f"To train only a spotter on it: mmnet train-spotter {DATASET} --root {root} --out SPOTTER.pt "
               "[--loso] (docs/spotting.md).")
    if label is None:
        why = f"{table.where()} has no emotion column"
    else:  # as the clip table says it
        blank = [row_no for row_no, row in table.rows if row_no in micro and not label_text(cell(row, label))]
        why = too_few_said(table.where(), labels, micro, blank, "micro-expression", "micro-expression row (type micro)")
    return (f"{why}. Spot then recognise (mmnet train) trains MMNet on the emotion of each "
            f"micro-expression: fill in an emotion column (one label per micro row; macro rows need none). {spotter}")


def check_fps(fps: object, what: str) -> float:
    """``fps`` as a frame rate the spotter can use, else a ConfigError naming ``what`` gave it."""
    from ..spotting.config import MAX_FPS

    value = frame_value(fps)
    if value is None or not 0 < value <= MAX_FPS:
        raise ConfigError(f"{what} must be a frame rate in (0, {MAX_FPS}] frames per second, got "
                          f"{value_said('', fps).strip()}.")
    return value


def fps_option(dataset: str, fps: float | None) -> dict:
    """A command's ``--fps`` as the loader option of ``dataset``: {} when not given; a ConfigError for a dataset
    other than table-long (the published ones carry their own rate)."""
    if fps is None:
        return {}
    if dataset != DATASET:
        raise ConfigError(f"--fps applies to table-long (a lab's own recordings); {dataset} has its own rate.")
    return {"fps": fps}


def _frame(raw: object, name: str, bad: list[str]) -> int | None:
    """A frame cell as a whole frame number >= 0; an unreadable one is added to ``bad``."""
    value = frame_value(raw)
    if value is None or not value.is_integer() or value < 0:
        bad.append(value_said(name, raw))
        return None
    return int(value)


def _rate(raw: object, where: str, sid: str, issues: list[Issue]) -> float | None | bool:
    """The fps cell: its rate, None when blank, False (with an error) when it is no rate."""
    if not _text(raw):
        return None
    try:
        return check_fps(raw, f"{where}: fps")
    except ConfigError as exc:
        issues.append(refused_row(sid, "bad_value", str(exc).rstrip(".")))
        return False


def _interval(row: list, col: dict, row_no: int, where: str, sid: str, issues: list[Issue]) -> Interval | None | bool:
    """One row's interval; None for a row that lists its recording alone; False (with an error) for a row that
    cannot be read."""
    raw = {k: cell(row, col[k]) for k in ("onset", "offset", "type", "apex")}
    if not any(_text(v) for v in raw.values()):
        return None
    missing = [k for k in ("onset", "offset", "type") if not _text(raw[k])]
    if missing:
        issues.append(refused_row(sid, "bad_row", f"{where}: no {', '.join(missing)}: an expression's row gives "
                                  "onset, offset and type (a row with only subject and video lists a recording "
                                  "without any expression)"))
        return False
    bad: list[str] = []
    onset, offset = _frame(raw["onset"], "onset", bad), _frame(raw["offset"], "offset", bad)
    apex = _frame(raw["apex"], "apex", bad) if _text(raw["apex"]) else None
    # each unreadable cell with its own hint: a type cell's is not a frame number's
    hints = ["frame numbers are whole numbers, as the frame files are numbered"] if bad else []
    type_ = parse_type(raw["type"])
    if type_ is None:
        bad.append(f"type {raw['type']!r}")
        hints.append("a type is micro or macro, or me, mae, micro-expression, macro-expression")
    if bad:
        issues.append(refused_row(sid, "bad_value", f"{where}: {', '.join(bad)} unreadable ({'; '.join(hints)})"))
        return False
    if offset < onset:
        issues.append(refused_row(sid, "offset_before_onset", f"{where}: offset {offset} is before onset {onset}"))
        return False
    emotion = label_text(cell(row, col["label"]))
    if type_ == "micro" and (why := label_refused(where, emotion)) is not None:  # a class MMNet trains on
        issues.append(refused_row(sid, "label_separator", why))
        return False
    return Interval(onset, apex, offset, type_, emotion, None, {"row": row_no})


def load_table_long(
    root: str | Path,
    *,
    annotation: str | Path | None = None,
    strict: bool = False,
    fps: float | None = None,
) -> LongVideoLoad:
    """Load a table-long dataset: one LongVideo per recording the table names, with its intervals.

    Args:
        root: the folder the video paths are relative to.
        annotation: the table (.csv, or .xlsx); default ROOT/intervals.csv.
        strict: raise on any error-severity issue.
        fps: the frame rate of the recordings whose rows give none (``--fps``).
    """
    root = Path(root)
    if not root.is_dir():
        raise _missing(root, "the folder itself")
    default = check_fps(fps, "--fps (fps=)") if fps is not None else None
    path = _annotation(root, annotation)
    with _columns_said():
        table = read_table(path, header="subject")
        col = {k: table.column(*names, required=k not in _OPTIONAL) for k, names in COLUMNS.items()}
    issues: list[Issue] = []
    owner: dict[str, tuple[str, int]] = {}  # video -> (subject, first row)
    rates: dict[str, tuple[float, int]] = {}  # video -> (fps, first row giving it)
    spellings: dict[str, tuple[str, int]] = {}  # folded subject -> (as first written, row)
    intervals: dict[str, list[Interval]] = {}
    for row_no, row in table.rows:
        where = table.where(row_no)
        subject, written = subject_text(cell(row, col["subject"])), _text(cell(row, col["video"]))
        parts = _parts(written) if written else None
        if subject is None or parts is None:
            what = "no subject" if subject is None else (f"video {written!r} is not a folder path relative to the "
                                                         "root (without '..')" if written else "no video")
            issues.append(refused_row(f"{DATASET}/?/row{row_no}", "bad_row", f"{where}: {what}"))
            continue
        video = nfc("/".join(parts))  # ids in NFC: a video cell pasted from a Mac's folder name is NFD
        sid = f"{DATASET}/{subject}/{video}"
        first, first_row = owner.setdefault(video, (subject, row_no))
        if first != subject:  # trained on in one subject's folds and tested on in the other's
            issues.append(refused_row(sid, "video_twice", f"{where}: video '{video}' is subject {first}'s in row "
                                      f"{first_row}: one recording belongs to one subject; fix the subject or video "
                                      "cell"))
            continue
        known, known_row = spellings.setdefault(fold_id(subject), (subject, row_no))
        if known != subject:
            issues.append(Issue(sid, "subject_case", f"{where}: subject {subject!r} is also written {known!r} (row "
                                f"{known_row}): one person would be on both sides of a leave-one-subject-out split; "
                                "write the subject one way", "error"))
        rate = _rate(cell(row, col["fps"]), where, sid, issues)
        if rate is False:
            continue
        if rate is not None:
            before, before_row = rates.setdefault(video, (rate, row_no))
            if before != rate:
                issues.append(refused_row(sid, "fps_differs", f"{where}: fps {rate:g}, but row {before_row} gives "
                                          f"{before:g} for video '{video}': one recording has one rate"))
                continue
        iv = _interval(row, col, row_no, where, sid, issues)
        if iv is False:
            continue
        intervals.setdefault(video, [])
        if iv is not None:
            intervals[video].append(iv)

    pattern = frame_pattern(None)
    out: list[LongVideo] = []
    for video, (subject, _) in owner.items():  # in the table's order
        rate = rates[video][0] if video in rates else default
        v = LongVideo(DATASET, subject, video, rate or 0.0, on_disk(root, video.split("/")),  # NFD from a Mac too
                      intervals=tuple(intervals.get(video, ())))
        if video not in intervals:  # every row of it was left out (each with its error)
            issues.append(not_annotated(v.video_id, issues))
        _overlapping(v, issues)
        if any(c.isspace() for c in video):
            issues.append(Issue(v.video_id, "video_name_space", f"video '{video}' holds a space, which no MEGC id "
                                "does: the MEGC2020 log separates its columns by spaces and writes it with '_' in "
                                "their place (spotting.csv and str.csv keep it), and `mmnet spot --out` refuses such "
                                "an id (--video-id); renaming the folder keeps one id everywhere", "warning"))
        if v.path.is_file():
            issues.append(Issue(v.video_id, "video_file", f"'{v.path}' is a file: a table-long recording is a folder "
                                "of numbered frames; extract them, e.g. `mkdir FOLDER` then `ffmpeg -i FILE -q:v 2 "
                                "FOLDER/frame_%06d.jpg` (numbered from 1: file n is the video's frame n as the MEGC "
                                "files, spotting.csv and score-spots count them), and write the folder in the video "
                                "column", "error"))
            out.append(v)
            continue
        folder = v.path if v.path.is_dir() else None
        other = folder_in_any_case(root, video.split("/")) if folder is None else None
        why = (f" (the folder is there as '{other.relative_to(root).as_posix()}', its name written in another case, "
               "which this file system tells apart: write that in the video column, or rename the folder as the "
               "cell writes it)") if other is not None else ""
        # 'frame_0108 (1).jpg' beside frame_0108.jpg is a copy, not frame 1: any image name is read (as table.py)
        v = check_video(attach_long_frames(v, folder, pattern, issues, why=why,
                                           not_frames=partial(folder_copies, pattern=pattern)), issues)
        if rate is None:
            issues.append(Issue(v.video_id, "no_fps", "no frame rate: give it in an fps column of the table (or, for "
                                "the recordings whose rows give none, --fps to train-spotter, check-data, "
                                "score-spots or train, data.fps in a config); the recording is left out", "error"))
            v = replace(v, frames=())  # left out with the recordings without frames
        out.append(v)
    types = tuple(t for t in TYPES if any(i.type == t for ivs in intervals.values() for i in ivs)) or TYPES
    return finish_long(out, issues, path, strict, types)


def _overlapping(video: LongVideo, issues: list) -> None:
    """Two intervals of one type that overlap in one recording: a warning naming their rows (one expression written
    twice, as two coders' union or a merged table can; or two expressions truly overlapping, kept as written). An
    exact repeat is duplicate_row's."""
    last: dict = {}  # type -> the interval reaching furthest so far
    for iv in sorted(video.intervals, key=lambda i: (i.onset, i.offset)):
        before = last.get(iv.type)
        if before is not None and iv.onset <= before.offset and before != iv:
            issues.append(Issue(video.video_id, "overlapping", f"{iv.type} {iv.onset}..{iv.offset} (row "
                                f"{iv.extra.get('row', '?')}) overlaps {before.onset}..{before.offset} (row "
                                f"{before.extra.get('row', '?')}): one expression written twice would be scored as two "
                                "(merge them); two expressions that overlap are kept as written", "warning",
                                interval=(iv.type, str(iv.extra.get("row", "?")))))
        if before is None or iv.offset > before.offset:
            last[iv.type] = iv
