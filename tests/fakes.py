"""Writers of fake dataset trees that reproduce the real layouts and quirks (docs/datasets.md, Layouts accepted
and Quirks handled).

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


def write_xlsx(path: Path, sheets: dict[str, Sequence[Sequence[object]]], *,
               text_columns: dict[str, set[int]] | None = None,
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
    ("01", "EP02_01f", 40, 52, 75, 12, "happiness", 1),
    ("01", "EP19_05f", 10, 20, 40, "4+7+L10", "disgust", 3),
    ("01", "EP03_02", 120, 128, 150, 18, "others", 7),
    ("02", "EP01_2", 5, 9, 30, "R12", "happiness", 1),            # odd clip name (sub03 in the real file)
    ("02", "EP06_02_01", 20, 25, 50, "?", "repression", 7),       # odd clip name, '?' AUs
    ("02", "EP09f", 1, 5, 25, "L1+L2", "surprise", 2),            # odd clip name
    ("04", "EP12_01f", 30, "/", 70, "4+L10", "disgust", 3),       # '/' apex
    ("04", "EP07_01", 15, 22, 45, 1, "sadness", 6),
    ("05", "EP09_05f", 64, 64, 100, 4, "disgust", 3),             # apex = onset
    ("07", "EP06_01", 17, 47, 66, "4+9", "disgust", 3),           # frames on disk 52..88
    ("12", "EP09_06", 62, 104, 104, "6+12", "happiness", 1),      # frames on disk 62..99
    ("16", "EP01_08", 70, 90, 105, 14, "fear", 5),                # frames on disk 70..93
    ("12", "EP09_02", 18, 55, 97, "R2", "others", 7),             # frames on disk 158..203: nothing matches
    ("20", "EP16_01", 68, 102, 102, 12, "happiness", 1),          # frames on disk 68..97
]
# frames actually on disk where they differ from onset..offset (docs/datasets.md, Quirks handled)
CASME2_ON_DISK = {("07", "EP06_01"): (52, 88), ("12", "EP09_06"): (62, 99), ("16", "EP01_08"): (70, 93),
                  ("12", "EP09_02"): (158, 203), ("20", "EP16_01"): (68, 97)}


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


def write_casme2_objective(path: Path, classes: dict[tuple[str, str], object]) -> Path:
    """The separate CASME2-ObjectiveClasses.xlsx (Davison et al. 2018): Subject | Filename | Objective Class."""
    sheet = [["Subject", "Filename", "Objective Class"], *([s, c, v] for (s, c), v in classes.items())]
    return write_xlsx(path, {"Sheet1": sheet}, text_columns={"Sheet1": {0, 1}})


CASME2_FRAME_DIRS = {
    "cropped": ("Cropped", "reg_img{}.jpg"),
    "cropped-updated": ("Cropped-updated/Cropped", "reg_img{}.jpg"),
    "raw-selected": ("CASME2_RAW_selected", "img{}.jpg"),
}


def write_casme2(root: Path, rows: Sequence[Sequence] = tuple(CASME2_ROWS), *,
                 coding: str = "CASME2-coding-20190701.xlsx", columns: int = 10, layout: str = "cropped",
                 on_disk: dict | None = None, junk: bool = True, frames: bool = True) -> Path:
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


# -------------------------------------------------------------------------------------------- SAMM

SAMM_HEADER = ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame", "Duration",
               "Micro", "Action Units", "Estimated Emotion", "Objective Classes", "Notes"]
# Preamble of the same shape as the real sheet (title, notes, symbol key, AU help, blanks): 13 rows.
SAMM_PREAMBLE: list[list[object]] = [
    ["Fake SAMM Dataset - Master FACS Codes", None, None, None, "(test fixture, not the real file)"],
    [],
    ["Notes row", None, None, None, None, None, None, None, "reference"],
    [None, None, None, None, "(another note)"],
    [],
    ["Symbol Key:"],
    ['"/" = or'],
    ['"?" = unclear offset'],
    [],
    ["AU Help:"],
    ['"L2 or R2" = unilateral'],
    ['"A2" = asymmetric'],
    [],
]
# subject, clip, inducement, onset, apex, offset, AUs, emotion, objective class, notes
SAMM_ROWS: list[tuple] = [
    ("006", "006_1_2", 1, 5540, 5571, 5610, "4+7", "Anger", 3, None),
    ("006", "006_1_3", 1, 3900, 3931, 3969, 4, "Anger", 3, "Eyes shut"),
    ("007", "007_3_1", 3, 100, 120, 140, "12A+ref(24)", "Happiness", 1, None),
    ("011", "011_2_3", 2, 300, 310, 330, "(R6 or R12)+R15", "Other", 7, None),
    ("020", "020_5_1", 5, 50, 60, 80, "10A/B", "Disgust", 4, None),
    ("028", "028_4_1", 4, 1100, 1143, 1134, "R14+17+soft focus", "Contempt", 2, None),  # corrected to 1105
    ("009", "009_3_1", 3, 200, 260, 240, "12+15 ", "Surprise", 1, None),                # apex > offset, no fix
]


def samm_sheet(rows: Iterable[Sequence], *, preamble: bool = True) -> tuple[list[list[object]], dict]:
    """Rows of a MICRO_ONLY sheet and its Duration formulas ((row, col) -> '=SUM(Fn-Dn)+1')."""
    out: list[list[object]] = [list(r) for r in SAMM_PREAMBLE] if preamble else []
    out.append(list(SAMM_HEADER))
    formulas = {}
    for subject, clip, code, onset, apex, offset, aus, emotion, obj, notes in rows:
        out.append([subject, clip, code, onset, apex, offset, None, "Micro - 1/2", aus, emotion, obj, notes])
        r = len(out)
        formulas[(r, 7)] = f"=SUM(F{r}-D{r})+1"
    return out, formulas


def write_samm(root: Path, rows: Sequence[Sequence] = tuple(SAMM_ROWS), *, preamble: bool = True,
               frames_dir: str = "SAMM", frames: bool = True, name: str = "SAMM_Micro_FACS_Codes_v2.xlsx") -> Path:
    """A SAMM root: MICRO_ONLY xlsx (13 preamble rows unless ``preamble=False``) + greyscale frames."""
    sheet, formulas = samm_sheet(rows, preamble=preamble)
    write_xlsx(root / name, {"MICRO_ONLY": sheet}, text_columns={"MICRO_ONLY": {0, 1}},
               formulas={"MICRO_ONLY": formulas})
    if frames:
        for subject, clip, _, onset, apex, offset, *_ in rows:
            lo, hi = min(onset, apex, offset), max(onset, offset)
            write_frames(root / frames_dir / subject / clip, range(lo, hi + 1), lambda n, s=subject: f"{s}_{n:05d}.jpg",
                         apex=apex, mode="L")
    return root


# -------------------------------------------------------------------------------------------- MMEW

MMEW_HEADER = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion",
               "remarks"]
# subject, clip, onset, apex, offset, AUs, emotion, remarks
MMEW_ROWS: list[tuple] = [
    ("S01", "S01-01-001", 1, 8, 15, "12", "happiness", None),
    ("S01", "S01-02-001", 1, 5, 12, "1+2", "surprise", "note"),
    ("S02", "S02-03-002", 1, 6, 14, "4+9", "disgust", None),
    ("S02", "S02-07-001", 1, 4, 10, "L14", "others", None),
    ("S03", "S03-05-001", 1, 7, 11, "4", "fear", None),
]


def write_mmew(root: Path, rows: Sequence[Sequence] = tuple(MMEW_ROWS), *, layout: str = "emotion",
               others_folder: str = "others") -> Path:
    """An MMEW root. ``layout``: "emotion" (Micro_Expression/<emotion>/<clip>) or "subject"
    (Micro_Expression/<subject>/<emotion>/<clip>); ``others_folder`` names the others folder."""
    write_xlsx(root / "MMEW_Micro_Exp.xlsx", {"Sheet1": [MMEW_HEADER, *[list(r) for r in rows]]},
               text_columns={"Sheet1": {0, 1}})
    for subject, clip, onset, apex, offset, _, emotion, _ in rows:
        folder = others_folder if emotion == "others" else emotion
        base = root / "Micro_Expression" / (subject if layout == "subject" else "") / folder / clip
        write_frames(base, range(onset, offset + 1), "{}.jpg".format, apex=apex)
    return root


# -------------------------------------------------------------------------------------------- SMIC

# subject number, clip, emotion folder, first frame, apex (where the fake motion peaks), last frame
SMIC_CLIPS: list[tuple] = [
    (1, "s1_ne_01", "negative", 106324, 106330, 106340),
    (1, "s1_po_01", "positive", 2000, 2009, 2012),
    (2, "s2_sur_05", "surprise", 219120, 219122, 219131),
    (20, "s20_ne_01", "negative", 17580210, 17580217, 17580226),
]


def write_smic(root: Path, clips: Sequence[Sequence] = tuple(SMIC_CLIPS), *, variant: str = "HS", cropped: bool = True,
               release: str = "") -> Path:
    """A SMIC tree: <release>/<variant>/s<n>/micro/<emotion>/<clip>/reg_image<N:06d>.bmp + a non_micro folder."""
    base = root / release / variant if release else root / variant
    pattern = "reg_image{:06d}.bmp" if cropped else "image{:06d}.bmp"
    for n, clip, emotion, lo, apex, hi in clips:
        write_frames(base / f"s{n}" / "micro" / emotion / clip, range(lo, hi + 1), pattern.format, apex=apex, fmt="BMP")
    first = clips[0][0]
    write_frames(base / f"s{first}" / "non_micro" / "negative" / f"s{first}_ne_99", range(1, 4), pattern.format,
                 fmt="BMP")
    return root


# ---------------------------------------------------------------------------------------- CAS(ME)^3

CASME3_HEADER = ["Subject", "Filename", "Onset", "Apex", "Offset", "AU", "Objective class", "emotion"]
# every cell as text, as in the real file
CASME3_ROWS: list[tuple] = [
    ("spNO.1", "a", "341", "346", "348", "5", "II", "others"),
    ("spNO.1", "b", "150", "158", "163", "4", "III", "disgust"),
    ("spNO.1", "e", "60", "66", "93", "R12", "I", "happy"),
    ("spNO.1", "e", "93", "99", "104", "R12", "I", "happy"),         # repeated (Subject, Filename)
    ("spNO.14", "J", "10", "14", "20", "4+L2", "III", "Others"),      # upper-case J, capitalised Others
    ("spNO.40", "e", "1790", "1801", "0", "18", "VII", "others"),     # offset 0
    ("spNO.216", "d", "3647", "2668", "2691", "14", "VII", "others"),  # onset typo, corrected to 2647
]


def write_casme3(root: Path, rows: Sequence[Sequence] = tuple(CASME3_ROWS), *, nested: bool = False,
                 frames: bool = True, name: str = "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx") -> Path:
    """A CAS(ME)^3 part A root: 'label' sheet with every cell as text + <subject>/<task>/color/<N>.jpg."""
    write_xlsx(root / name, {"label": [CASME3_HEADER, *[list(r) for r in rows]], "Sheet1": [], "Sheet3": []},
               text_columns={"label": set(range(8))})
    if frames:
        base = root / "part_A" / "data" / "part_A_split" / "part_A" if nested else root
        spans: dict[tuple[str, str], set[int]] = {}
        for subject, task, onset, apex, offset, *_ in rows:
            nums = [int(onset), int(apex), int(offset)]
            known = [n for n in nums if n > 0] or [0]
            lo, hi = min(known), max(known)
            if subject == "spNO.216" and task == "d":
                lo = 2647  # the real folder holds the corrected span
            spans.setdefault((subject, task.lower()), set()).update(range(lo, hi + 1))
        for (subject, task), nums in spans.items():
            write_frames(base / subject / task / "color", sorted(nums), "{}.jpg".format)
            (base / subject / task / "depth").mkdir(exist_ok=True)
    return root


# --------------------------------------------------------------------------------------------- CDE

def write_cde_csv(path: Path, rows: Iterable[Sequence], *, blank_lines: bool = False) -> Path:
    """Header-less 'dataset,subject,filename,label' with CRLF endings (',,,' between rows if ``blank_lines``)."""
    lines = []
    for r in rows:
        lines.append(",".join(str(c) for c in r))
        if blank_lines:
            lines.append(",,,")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return path


def xlsx_from_csv(csv_path: Path, xlsx_path: Path, sheet: str, *, text_columns: set[int], all_text: bool = False,
                  formula_column: int | None = None, extra_sheets: Sequence[str] = ()) -> Path:
    """Rebuild a sheet from a cell-by-cell CSV export (conformance tests, in tmp only).

    Numbers become ints except in ``text_columns`` (kept as text with format '@') or when
    ``all_text``; ``formula_column`` (0-based) gets '=SUM(Fn-Dn)+1' below the header (SAMM Duration).
    """
    rows = read_csv_rows(csv_path)
    cells = [[(v if v != "" else None) if (all_text or c in text_columns) else _num_or_text(v)
              for c, v in enumerate(r)] for r in rows]
    formulas = {}
    if formula_column is not None:
        header = next(i for i, r in enumerate(rows) if r and r[0] == "Subject")
        for i in range(header + 1, len(rows)):
            formulas[(i + 1, formula_column + 1)] = f"=SUM(F{i + 1}-D{i + 1})+1"
    cols = set(range(max(len(r) for r in rows))) if all_text else text_columns
    return write_xlsx(xlsx_path, {sheet: cells, **{s: [] for s in extra_sheets}}, text_columns={sheet: cols},
                      formulas={sheet: formulas})


def write_audio_only(path: Path) -> Path:
    """A media file holding one short audio stream and no video (PyAV): what a mistaken upload or input is."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return path
