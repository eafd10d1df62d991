"""A lab's own clip dataset, no code needed: a folder of clip folders and a CSV table (docs/datasets.md,
"Your own dataset").

Layout::

    ROOT/annotations.csv                 subject,clip,onset,apex,emotion[,offset][,aus]  (or --annotation FILE)
    ROOT/P01/take3/frame_0046.jpg ...    clip = the folder's path relative to ROOT, as the table writes it

Subjects stay text as written ('P01', '007'). A frame's number is the last number in its file name (img46.jpg,
006_05562.png, frame_0046.jpg -> 46, 5562, 46), unless ``frames`` gives the name pattern ('img{frame}.jpg'). A copy
that a file manager named ('frame_0108 (1).jpg' beside 'frame_0108.jpg', 'frame_0108 - Copy.jpg') is not a frame: it
is named (frame_copy); files Windows renamed together ('take3 (1).jpg', 'take3 (2).jpg', ...) are frames 1, 2, ...
Labels are the emotion column as written (compared in lower case, runs of spaces as one); which classes they train is
the label scheme's choice (mmnet.data.label_maps). A clip is its folder's path as one POSIX path ('./P01\\take3/' is
'P01/take3'); one folder annotated twice, however spelled, is a duplicate (``_folders_twice``).
"""

from __future__ import annotations

import contextlib
import re
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path, PurePosixPath

from ..errors import AnnotationError, ConfigError, DatasetNotFoundError
from ..typed_separators import separator_in_name
from ..unicode_names import on_disk
from .annotations import read_table
from .case_keys import fold_id
from .common import DatasetLoad, attach_frames, find_folder, finish, samples_from_table
from .root_files import folder_in_any_case as _other_case
from .root_files import root_file, sheets_said
from .sample import Issue, Sample

__all__ = ["load_table", "ANNOTATION_NAME", "COLUMNS", "frame_pattern", "label_refused", "labels_of", "table_labels",
           "too_few_clip_classes", "too_few_said"]

ANNOTATION_NAME = "annotations.csv"

COLUMNS = {
    "subject": ("subject",),
    "clip": ("clip",),
    "onset": ("onset",),
    "apex": ("apex",),
    "offset": ("offset",),
    "aus": ("aus", "action units"),
    "label": ("emotion",),
}
_REQUIRED = "subject, clip, onset, apex, emotion (offset and aus optional)"
_IMAGE = r"\.(?:jpe?g|png|bmp|tiff?)"
# the last run of digits in the name: img46.jpg, 006_05562.png, frame_0046.jpg, and 'take3 (7).jpg' (Windows' numbering
# of files renamed together); a file manager's copy of a frame ('frame_0108 (1).jpg' beside 'frame_0108.jpg',
# 'frame_0108 - Copy.jpg') is no frame: which names are copies only their folder tells (frame_copies.folder_copies)
_ANY_FRAME = re.compile(rf"(?:.*\D)?(\d+)\D*?{_IMAGE}", re.IGNORECASE)

_LAYOUT_HELP = [
    f"{ANNOTATION_NAME}   (columns {_REQUIRED}; or pass --annotation FILE)",
    "P01/take3/frame_0046.jpg ...   (one folder per clip; the clip column names it relative to the root)",
]


def frame_pattern(frames: str | None) -> re.Pattern:
    """The file-name pattern of the frames: ``None`` for the last number in an image file's name, else a name with
    one ``{frame}`` where the number stands ('img{frame}.jpg', 'frame_{frame}.png')."""
    if frames is None:
        return _ANY_FRAME
    if frames.count("{frame}") != 1 or "/" in frames:
        raise ConfigError(f"frames pattern {frames!r} must be a file name holding '{{frame}}' once where the frame "
                          "number stands, e.g. 'img{frame}.jpg'.")
    before, after = (re.escape(p) for p in frames.split("{frame}"))
    return re.compile(f"{before}(\\d+){after}", re.IGNORECASE)


def _missing(root: Path, what: str) -> DatasetNotFoundError:
    layout = "\n".join(f"    {line}" for line in _LAYOUT_HELP)
    return DatasetNotFoundError(f"table dataset root '{root}' is missing {what}.\nExpected layout:\n{layout}\n"
                                "docs/datasets.md, \"Your own dataset\", has a worked example.")


def _annotation(root: Path, annotation: str | Path | None) -> Path:
    if annotation is None and not root.is_dir():
        raise _missing(root, "the folder itself")
    path = Path(annotation) if annotation is not None else root_file(root, ANNOTATION_NAME)
    if not path.is_file():
        given = "" if annotation is not None else " (or pass --annotation FILE / set data.annotation)"
        held = f". {sheets_said(root).rstrip('.')}" if annotation is None and sheets_said(root) else ""
        raise _missing(root, f"the annotation table '{path}'{given}{held}")
    return path


@contextmanager
def _columns_said():
    try:
        yield
    except AnnotationError as exc:  # a missing column, no header row: say what this dataset's table needs
        raise AnnotationError(f"{exc} The table dataset reads the columns {_REQUIRED}, one row per clip.") from None


def _read(path: Path):
    with _columns_said():
        return read_table(path, header="subject")


def label_refused(where: str, label: str | None) -> str | None:
    """Why the emotion ``label`` of the row ``where`` cannot be a class (a list separator in it:
    typed_separators.separator_in_name), naming the row; None when it can. Both lab tables (clips, table-long) ask."""
    why = separator_in_name(label) if label else None
    return None if why is None else f"{where}: emotion {why}"


def labels_of(table, column: int | None, rows) -> list[str]:
    """The emotion labels (lower case, sorted) of ``rows``, (row number, cells) of ``table``: the ``table`` scheme's
    classes when none are given; a label that cannot be a class (``label_refused``) is an AnnotationError."""
    from .annotations import cell, label_text

    labels = {}
    for row_no, row in rows:
        if (why := label_refused(table.where(row_no), label := label_text(cell(row, column)))) is not None:
            raise AnnotationError(why)
        labels[label] = None
    return sorted(label for label in labels if label)


def table_labels(root: str | Path, annotation: str | Path | None = None) -> list[str]:
    """The emotion labels of the table (lower case, sorted): the ``table`` scheme's classes when none are given."""
    table = _read(_annotation(Path(root), annotation))
    with _columns_said():
        column = table.column(*COLUMNS["label"])
    return labels_of(table, column, table.rows)


def too_few_said(where: str, labels: list[str], rows: list[int], blank: list[int], kind: str, no_row: str) -> str:
    """Why a lab's table (``where``) gives MMNet fewer than two classes: its ``kind`` rows ``rows`` hold the labels
    ``labels`` (sorted); ``blank``, those of them without an emotion, are named. Shared by the clip table (here) and
    table-long (table_long.too_few_classes), so that both say it alike."""
    if not rows:
        why = f"has no {no_row}"
    elif not labels:
        why = f"gives no {kind} an emotion"
    else:
        why = f"gives its {kind}s one emotion alone ({labels[0]}): MMNet needs two classes or more"
    shown = ", ".join(map(str, blank[:10])) + (f" and {len(blank) - 10} more" if len(blank) > 10 else "")
    return f"{where} {why}" + (f"; the {kind} row(s) {shown} have no emotion" if blank else "")


def too_few_clip_classes(root: str | Path, annotation: str | Path | None, labels: list[str]) -> str:
    """Why ``mmnet train`` cannot train MMNet on this table, whose labels are ``labels`` (fewer than two): no clip
    row, no emotion, or one alone, with the rows without an emotion named, and what to do (as table-long's
    table_long.too_few_classes says it)."""
    from .annotations import cell, label_text

    table = _read(_annotation(Path(root), annotation))
    with _columns_said():
        column = table.column(*COLUMNS["label"])
    rows = [row_no for row_no, _ in table.rows]
    blank = [row_no for row_no, row in table.rows if not label_text(cell(row, column))]
    return (f"{too_few_said(table.where(), labels, rows, blank, 'clip', 'clip row')}. mmnet train trains MMNet on "
            "the emotion of each clip: fill in the emotion column, one label per clip row, two emotions or more "
            "(docs/datasets.md, \"Your own dataset\").")


def _parts(clip: str) -> tuple[str, ...] | None:
    """The folder names of a relative clip path that stays inside the root ('./P01\\x/' -> ('P01', 'x')), else None."""
    parts = tuple(p for p in PurePosixPath(clip.replace("\\", "/")).parts if p != ".")
    if not parts or parts[0] == "/" or ".." in parts or re.match(r"[A-Za-z]:", clip):
        return None
    return parts


def _inside(root: Path, clip: str) -> Path | None:
    """``root/clip`` for a relative clip path that stays inside root (as the file system spells it: a folder copied
    from a Mac has its name in NFD, ``unicode_names``), else None."""
    parts = _parts(clip)
    return None if parts is None else on_disk(root, parts)


def _posix_clips(samples: list[Sample], issues: list[Issue]) -> list[Sample]:
    """Each clip as one POSIX path ('./P01\\x/' -> 'P01/x'), so a folder's sample id does not depend on how its
    row spells the path; the issues already named follow their sample."""
    out, renamed = [], {}
    for s in samples:
        parts = _parts(s.clip)
        if parts is not None and "/".join(parts) != s.clip:
            new = replace(s, clip="/".join(parts), extra={**s.extra, "clip_cell": s.clip})
            renamed[s.sample_id] = new.sample_id
            s = new
        out.append(s)
    issues[:] = [replace(i, sample_id=renamed[i.sample_id]) if i.sample_id in renamed else i for i in issues]
    return out


def _subject_spellings(samples: list[Sample], table, issues: list) -> None:
    """Subjects written two ways ('P02', 'p02', 'Ｐ０２'; '被试02', '被试 02': case, width and white space aside,
    ``fold_id``) would be two LOSO folds of one person, trained on in one and tested on in the other: an error on
    each row of a later spelling (as spotting refuses such subjects)."""
    first: dict[str, Sample] = {}
    for s in samples:
        other = first.setdefault(fold_id(s.subject), s)
        if other.subject != s.subject:
            row, other_row = table.where(s.extra.get("row")), table.where(other.extra.get("row"))
            issues.append(Issue(s.sample_id, "subject_case", f"{row}: subject {s.subject!r} is also written "
                                f"{other.subject!r} ({other_row}): one person would be on both sides of a "
                                "leave-one-subject-out split; write the subject one way", "error"))


def _folders_twice(samples: list[Sample], locate, table, issues: list) -> list[Sample]:
    """One clip folder annotated twice, however its rows spell the path ('P01/x', './P01/x/', 'P01\\X' on a
    case-insensitive disk): for two subjects it would be trained on in one subject's folds and tested on in the
    other's (an error on the later row); for one subject it is the ``duplicate`` rule of a repeated clip cell
    (``common.samples_from_table``): an exact repeat is ignored, a repeat with another window or label leaves no way
    to know which row is right. Returns the samples without the repeats (before their frames are listed: a
    repeat's own frame problems would be named under the sample id of the row kept)."""
    first: dict[object, Sample] = {}
    out = []
    for s in samples:
        folder = locate(s)[0]
        key: tuple = (s.subject, s.clip)  # no folder (clip_missing), or one that cannot be read: its spelling
        with contextlib.suppress(OSError):
            # the folder itself (device, inode), not its spelling: a case-insensitive disk opens 'x' as 'X'
            key = (folder.stat().st_dev, folder.stat().st_ino) if folder is not None else key
        other = first.setdefault(key, s)
        row, other_row = table.where(s.extra.get("row")), table.where(other.extra.get("row"))
        if other.subject != s.subject:
            issues.append(Issue(s.sample_id, "clip_twice", f"{row}: clip folder {folder.resolve()} is also "
                                f"{other_row}'s, of subject {other.subject}: a clip of two subjects would be tested "
                                "on after training on it; fix the subject or clip cell", "error"))
        elif other is not s:
            cells, first_cells = ([x.onset, x.apex, x.offset, x.label] for x in (s, other))
            spelled = f"clip folder '{other.clip}' (written '{s.extra.get('clip_cell', s.clip)}' here)"
            if cells == first_cells:
                issues.append(Issue(other.sample_id, "duplicate_row", f"{row}: repeats {other_row} for the same "
                                    f"subject and {spelled}; this copy is ignored", "warning"))
            else:
                issues.append(Issue(other.sample_id, "duplicate", f"{row}: repeats {other_row} for the same subject "
                                    f"and {spelled} with other onset/apex/offset/label ({first_cells} vs {cells}); "
                                    "the sample is not used until one of the rows is removed (one row per clip "
                                    "folder)", "error"))
            continue
        out.append(s)
    return out


def load_table(
    root: str | Path,
    *,
    annotation: str | Path | None = None,
    strict: bool = False,
    frames: str | None = None,
) -> DatasetLoad:
    """Load a table dataset: one Sample per CSV row, with the frames found in its clip folder.

    Args:
        root: the folder the clip paths are relative to.
        annotation: the table (.csv, or .xlsx); default ROOT/annotations.csv.
        strict: raise on any error-severity issue.
        frames: frame file-name pattern with ``{frame}`` ('img{frame}.jpg'); default: the last number in the name.
    """
    root = Path(root)
    if not root.is_dir():
        raise _missing(root, "the folder itself")
    pattern = frame_pattern(frames)
    path = _annotation(root, annotation)
    table = _read(path)
    with _columns_said():
        samples, issues = samples_from_table(table, dataset="table", columns=COLUMNS, optional=("offset",),
                                             corrections=False)
    samples = _posix_clips(samples, issues)
    _subject_spellings(samples, table, issues)
    issues.extend(Issue(s.sample_id, "label_separator", why, "error") for s in samples
                  if (why := label_refused(table.where(s.extra.get("row")), s.label)) is not None)

    def locate(s: Sample):
        where = _inside(root, s.clip)
        row = s.extra.get("row")
        if where is None:
            return None, True, (f"'{s.clip}' ({table.where(row)}: the clip column must be a folder path relative "
                                f"to {root}, without '..')")
        folder, exact = find_folder(where.parent, where.name)
        if folder is None and (other := _other_case(root, _parts(s.clip))) is not None:
            spelled = other.relative_to(root).as_posix()
            return None, False, (f"{where} ({table.where(row)}: the folder is there as '{spelled}', its name written "
                                 f"in another case, which this file system tells apart: write '{spelled}' in the clip "
                                 "cell, or rename the folder as the cell writes it)")
        return folder, exact, f"{where} ({table.where(row)}: create the folder or fix the clip cell)"

    samples = _folders_twice(samples, locate, table, issues)
    out, _ = attach_frames(samples, locate, pattern, issues)
    # the frame pattern as the user wrote it, not as a regular expression
    wanted = (f"no file named like '{frames}'" if frames else "no image file (.jpg, .png, .bmp, .tif) with a number "
              "in its name")
    shown = f"no frames matching {pattern.pattern!r}"
    issues[:] = [replace(i, message=i.message.replace(shown, f"{wanted} (its frame number)")) if i.check == "no_frames"
                 else i for i in issues]
    return finish(out, issues, path, strict)
