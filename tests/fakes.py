"""Writers of fake dataset trees that reproduce the real layouts and quirks (docs/datasets.md §9).

Frames are tiny (8x8) images; a bright patch grows from onset to ``apex`` and fades to offset, so
apex estimation has something to find. Spreadsheets are written cell by cell with openpyxl in
the real files' shape: real headers, blank columns, text subject ids with number format '@',
preamble rows, a formula cell. No real data is copied.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

SIZE = 8
_CACHE: dict[tuple, bytes] = {}


def frame_bytes(level: float, *, fmt: str = "JPEG", mode: str = "RGB", size: int = SIZE) -> bytes:
    """Encoded image: grey background with a centre patch of brightness ``level`` in [0, 1]."""
    key = (round(level, 3), fmt, mode, size)
    if key not in _CACHE:
        img = np.full((size, size), 60, np.uint8)
        q = size // 4
        img[q : size - q, q : size - q] = int(60 + 190 * level)
        im = Image.fromarray(img, "L").convert(mode)
        buf = io.BytesIO()
        im.save(buf, fmt)
        _CACHE[key] = buf.getvalue()
    return _CACHE[key]


def write_frames(folder: Path, numbers: Iterable[int], name, *, apex: int | None = None, fmt: str = "JPEG",
                 mode: str = "RGB") -> None:
    """Write frames ``name(n)`` for each number; brightness peaks at ``apex`` (or the middle)."""
    numbers = list(numbers)
    folder.mkdir(parents=True, exist_ok=True)
    if not numbers:
        return
    lo, hi = numbers[0], numbers[-1]
    peak = apex if apex is not None else (lo + hi) // 2
    for n in numbers:
        if n <= peak:
            level = (n - lo) / max(1, peak - lo)
        else:
            level = (hi - n) / max(1, hi - peak)
        (folder / name(n)).write_bytes(frame_bytes(level, fmt=fmt, mode=mode))


def write_xlsx(path: Path, sheets: dict[str, Sequence[Sequence[object]]], *, text_columns: dict[str, set[int]] | None = None,
               formulas: dict[str, dict[tuple[int, int], str]] | None = None) -> Path:
    """Write ``sheets`` (name -> rows); cells in ``text_columns[sheet]`` (0-based) get number format '@'."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        text_cols = (text_columns or {}).get(name, set())
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is None:
                    continue
                cell = ws.cell(row=r, column=c, value=value)
                if (c - 1) in text_cols and isinstance(value, str):
                    cell.number_format = "@"
        for (r, c), formula in (formulas or {}).get(name, {}).items():
            ws.cell(row=r, column=c, value=formula)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def _num_or_text(value: object) -> object:
    """CSV text -> the type the real sheet holds: ints stay ints, '/' and 'L10' stay text."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value if value != "" else None


def read_csv_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return [list(r) for r in csv.reader(f)]


# ---------------------------------------------------------------------------------------- CASME II

CASME2_HEADER_9 = ["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None, "Action Units",
                   "Estimated Emotion"]
CASME2_HEADER_10 = CASME2_HEADER_9 + ["Objective Classes"]

# subject, clip, onset, apex, offset, AUs, emotion, objective class
CASME2_ROWS: list[tuple] = [
    ("01", "EP02_01f", 46, 59, 86, 12, "happiness", 1),
    ("01", "EP19_05f", 10, 20, 40, "4+7+L10", "disgust", 3),
    ("01", "EP03_02", 131, 139, 161, 18, "others", 7),
    ("02", "EP01_2", 5, 9, 30, "R12", "happiness", 1),            # odd clip name (sub03 in the real file)
    ("02", "EP06_02_01", 20, 25, 50, "?", "repression", 7),       # odd clip name, '?' AUs
    ("02", "EP09f", 1, 5, 25, "L1+L2", "surprise", 2),            # odd clip name
    ("04", "EP12_01f", 30, "/", 70, "4+L10", "disgust", 3),       # '/' apex
    ("04", "EP07_01", 15, 22, 45, 1, "sadness", 6),
    ("05", "EP09_05f", 69, 69, 100, 4, "disgust", 3),             # apex = onset
    ("07", "EP06_01", 15, 49, 68, "4+9", "disgust", 3),           # frames on disk 56..91
    ("12", "EP09_06", 66, 111, 111, "6+12", "happiness", 1),      # frames on disk 66..106
    ("16", "EP01_08", 73, 94, 110, 14, "fear", 5),                # frames on disk 73..96
]
# frames actually on disk where they differ from onset..offset (docs/datasets.md §1.7)
CASME2_ON_DISK = {("07", "EP06_01"): (56, 91), ("12", "EP09_06"): (66, 106), ("16", "EP01_08"): (73, 96)}


def casme2_sheet(rows: Iterable[Sequence], *, columns: int = 10) -> list[list[object]]:
    header = CASME2_HEADER_10 if columns == 10 else CASME2_HEADER_9
    out: list[list[object]] = [list(header)]
    for subject, clip, onset, apex, offset, aus, emotion, *rest in rows:
        row = [subject, clip, None, onset, apex, offset, None, aus, emotion]
        if columns == 10:
            row.append(rest[0] if rest else None)
        out.append(row)
    return out


def write_casme2_xlsx(path: Path, rows: Iterable[Sequence], *, columns: int = 10) -> Path:
    sheet = casme2_sheet(rows, columns=columns)
    return write_xlsx(path, {"Sheet1": sheet, "Sheet2": [], "Sheet3": []}, text_columns={"Sheet1": {0, 1}})


CASME2_FRAME_DIRS = {
    "cropped": ("Cropped", "reg_img{}.jpg"),
    "cropped-updated": ("Cropped-updated/Cropped", "reg_img{}.jpg"),
    "raw-selected": ("CASME2_RAW_selected", "img{}.jpg"),
}


def write_casme2(root: Path, rows: Sequence[Sequence] = tuple(CASME2_ROWS), *, coding: str = "CASME2-coding-20190701.xlsx",
                 columns: int = 10, layout: str = "cropped", on_disk: dict | None = None, junk: bool = True,
                 frames: bool = True) -> Path:
    """A CASME II root: coding xlsx + frames folder (onset..offset, or ``on_disk`` ranges) + a junk file."""
    root.mkdir(parents=True, exist_ok=True)
    write_casme2_xlsx(root / coding, rows, columns=columns)
    sub, pattern = CASME2_FRAME_DIRS[layout]
    on_disk = CASME2_ON_DISK if on_disk is None else on_disk
    if frames:
        for subject, clip, onset, apex, offset, *_ in rows:
            lo, hi = on_disk.get((subject, clip), (onset, offset))
            write_frames(root / sub / f"sub{subject}" / clip, range(lo, hi + 1), pattern.format,
                         apex=apex if isinstance(apex, int) else None)
    if junk and rows:
        (root / sub / f"sub{rows[0][0]}" / "Desktop - Shortcut.lnk").write_bytes(b"junk")
        (root / sub / f"sub{rows[0][0]}" / rows[0][1] / "Thumbs.db").write_bytes(b"junk")
    return root
