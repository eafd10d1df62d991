"""Requests to classify clips: one clip with its chosen frames (``ClipRequest``), or a CSV list of them
(``read_clip_list``, ``mmnet predict --list``). The clips themselves are read by ``mmnet.infer.clips``."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..data.csv_text import SAVE_AS_CSV_UTF8, NotUtf8Error, csv_dict_reader, csv_error_detail, read_utf8
from ..errors import DataError
from ..unicode_names import on_disk

if TYPE_CHECKING:  # annotations only: clips imports this module at its top (it re-exports ClipRequest)
    from .clips import FrameNumber

__all__ = ["ClipRequest", "read_clip_list"]


@dataclass(frozen=True)
class ClipRequest:
    """One clip to classify: what to read and, optionally, which frames are onset and apex.

    ``source`` and ``apex_image`` may be given as text; they are kept as ``Path``s. A request read from a clip
    list (``read_clip_list``) also keeps where it came from: ``row``, its line in the list file (the header's
    line is 1, as a spreadsheet and the list's error messages number them), and ``list_source``, the list's
    ``source`` cell exactly as written (``source`` is that path joined to the list's folder).
    """

    source: Path
    apex_image: Path | None = None
    onset: FrameNumber | None = None
    apex: FrameNumber | None = None
    row: int | None = field(default=None, compare=False)  # where it was listed, not which clip it asks for
    list_source: str | None = field(default=None, compare=False)

    if TYPE_CHECKING:  # what the constructor takes (the generated one's types would be the fields')
        def __init__(self, source: str | Path, apex_image: str | Path | None = None,
                     onset: FrameNumber | None = None, apex: FrameNumber | None = None,
                     row: int | None = None, list_source: str | None = None) -> None: ...

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", Path(self.source))  # frozen: the one place the fields are set
        if self.apex_image is not None:
            object.__setattr__(self, "apex_image", Path(self.apex_image))


_LIST_COLUMNS = ("source", "apex_image", "onset", "apex")


def read_clip_list(path: str | Path) -> list[ClipRequest]:
    """Read a CSV of clips: column ``source`` (folder, video, or onset image), optional
    ``apex_image`` (then ``source`` is the onset image), ``onset`` and ``apex`` (frame numbers;
    blank = first frame / spotted). Relative paths are relative to the CSV's folder; backslashes separate folders
    where the path as written is not there (a list written on Windows). UTF-8 or UTF-16 with its BOM, separated
    by ',', ';' or tabs (or as an Excel 'sep=;' first line says).
    """
    from ..path_words import check_path

    p = Path(path)
    check_path(p, "--list", give="a CSV file (one clip a row)", error=DataError)
    try:
        text = read_utf8(p)
        # the header alone, split into the list's column names: paths in the rows below may hold any separator
        reader = csv_dict_reader(text, _LIST_COLUMNS)
        columns = reader.fieldnames or []
        if not columns:
            raise DataError(f"Clip list '{p}' is empty; it needs a header row with the column 'source' and "
                            f"optionally {list(_LIST_COLUMNS[1:])}, then one row per clip.")
        unknown = [c for c in columns if c not in _LIST_COLUMNS]
        if "source" not in columns or unknown:
            raise DataError(
                f"Clip list '{p}' has columns {columns}; expected 'source' and optionally "
                f"{list(_LIST_COLUMNS[1:])} (unknown: {unknown})."
            )
        # line_num after reading a row is its last line in the file: blank lines are counted, as an editor does
        requests = [_clip_request(p, reader.line_num, row) for row in reader]
    except NotUtf8Error as exc:
        raise DataError(f"Clip list '{p}' is not UTF-8 text ({exc.detail}); {SAVE_AS_CSV_UTF8}.") from None
    except csv.Error as exc:
        detail = csv_error_detail(exc, reader.line_num)
        raise DataError(f"Clip list '{p}' is not a readable CSV file ({detail}).") from None
    if not requests:
        raise DataError(f"Clip list '{p}' has no rows.")
    return requests


def _joined(csv_path: Path, value: str) -> Path:
    q = Path(value)
    # as the file system spells it: a folder copied from a Mac has its name in NFD, the list's cell in NFC
    return on_disk(q if q.is_absolute() else csv_path.parent / q)


def _clip_request(csv_path: Path, row_no: int, row: dict) -> ClipRequest:
    """One CSV row -> ClipRequest (row_no is its line in the file, the header's being 1, as in a spreadsheet)."""

    def path(value: str | None) -> Path | None:
        if value is None or not value.strip():
            return None
        q = _joined(csv_path, value.strip())
        if not q.exists() and "\\" in value:  # a list written on Windows: 'P01\clip A' is P01/clip A here
            posix = _joined(csv_path, value.strip().replace("\\", "/"))
            if not posix.exists():
                raise DataError(f"Clip list '{csv_path}' row {row_no}: '{q}' does not exist, nor '{posix}' (its "
                                "backslashes read as folder separators; a relative path is relative to the list's "
                                "folder).")
            return posix
        return q

    def number(name: str) -> int | None:
        value = (row.get(name) or "").strip()
        if not value:
            return None
        try:
            return int(value)
        except ValueError:
            raise DataError(
                f"Clip list '{csv_path}' row {row_no}: {name} must be a frame number, got {value!r}."
            ) from None

    if None in row:  # csv.DictReader files cells beyond the header under None: they would be ignored
        raise DataError(f"Clip list '{csv_path}' row {row_no} has more cells than the header; a path with a comma "
                        "must be in double quotes.")
    source, apex_image = path(row.get("source")), path(row.get("apex_image"))
    if source is None:
        raise DataError(f"Clip list '{csv_path}' row {row_no}: 'source' is empty.")
    for q in (source, apex_image):  # every row checked before the first clip is classified
        if q is not None and not q.exists():
            raise DataError(f"Clip list '{csv_path}' row {row_no}: '{q}' does not exist (a relative path is "
                            "relative to the list's folder).")
    return ClipRequest(source, apex_image, number("onset"), number("apex"), row=row_no,
                       list_source=row.get("source"))
