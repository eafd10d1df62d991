"""A lab's own clip dataset, no code needed: a folder of clip folders and a CSV table (docs/datasets.md,
"Your own dataset").

Layout::

    ROOT/annotations.csv                 subject,clip,onset,apex,emotion[,offset][,aus]  (or --annotation FILE)
    ROOT/P01/take3/frame_0046.jpg ...    clip = the folder's path relative to ROOT, as the table writes it

Subjects stay text as written ('P01', '007'). A frame's number is the last number in its file name (img46.jpg,
006_05562.png, frame_0046.jpg -> 46, 5562, 46), unless ``frames`` gives the name pattern ('img{frame}.jpg').
Labels are the emotion column as written (compared in lower case); which classes they train is the label scheme's
choice (mmnet.data.label_maps).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path, PurePosixPath

from ..errors import AnnotationError, ConfigError, DatasetNotFoundError
from .annotations import read_table
from .common import DatasetLoad, attach_frames, find_folder, finish, samples_from_table
from .sample import Issue, Sample

__all__ = ["load_table", "ANNOTATION_NAME", "COLUMNS", "frame_pattern", "table_labels"]

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
# the last run of digits in the name: img46.jpg, 006_05562.png, frame_0046.jpg
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
    path = Path(annotation) if annotation is not None else root / ANNOTATION_NAME
    if not path.is_file():
        given = "" if annotation is not None else " (or pass --annotation FILE / set data.annotation)"
        raise _missing(root, f"the annotation table '{path}'{given}")
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


def table_labels(root: str | Path, annotation: str | Path | None = None) -> list[str]:
    """The emotion labels of the table (lower case, sorted): the ``table`` scheme's classes when none are given."""
    from .annotations import cell, label_text

    table = _read(_annotation(Path(root), annotation))
    with _columns_said():
        column = table.column(*COLUMNS["label"])
    return sorted({t for _, row in table.rows if (t := label_text(cell(row, column)))})


def _inside(root: Path, clip: str) -> Path | None:
    """``root/clip`` for a relative clip path that stays inside root, else None."""
    parts = PurePosixPath(clip.replace("\\", "/")).parts
    if not parts or parts[0] == "/" or ".." in parts or re.match(r"[A-Za-z]:", clip):
        return None
    return root.joinpath(*parts)


def _shared_folders(samples: list[Sample], table, issues: list) -> None:
    """One clip folder annotated for two subjects would be trained on in one subject's folds and tested on in the
    other's: an error on each later row."""
    first: dict[Path, Sample] = {}
    for s in samples:
        if not s.frames:
            continue
        folder = s.frames[0][1].parent.resolve()
        other = first.setdefault(folder, s)
        if other.subject != s.subject:
            issues.append(Issue(s.sample_id, "clip_twice", f"{table.where(s.extra.get('row'))}: clip folder {folder} "
                                f"is also {table.where(other.extra.get('row'))}'s, of subject {other.subject}: a clip "
                                "of two subjects would be tested on after training on it; fix the subject or clip "
                                "cell", "error"))


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

    def locate(s: Sample):
        where = _inside(root, s.clip)
        row = s.extra.get("row")
        if where is None:
            return None, True, (f"'{s.clip}' ({table.where(row)}: the clip column must be a folder path relative "
                                f"to {root}, without '..')")
        folder, exact = find_folder(where.parent, where.name)
        return folder, exact, f"{where} ({table.where(row)}: create the folder or fix the clip cell)"

    out, _ = attach_frames(samples, locate, pattern, issues)
    _shared_folders(out, table, issues)
    # the frame pattern as the user wrote it, not as a regular expression
    wanted = (f"no file named like '{frames}'" if frames else "no image file (.jpg, .png, .bmp, .tif) with a number "
              "in its name")
    shown = f"no frames matching {pattern.pattern!r}"
    issues[:] = [replace(i, message=i.message.replace(shown, f"{wanted} (its frame number)")) if i.check == "no_frames"
                 else i for i in issues]
    return finish(out, issues, path, strict)
