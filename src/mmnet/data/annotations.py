"""Shared readers for annotation tables: header-row search, text subject ids, numbers, AU strings.

The real coding files are hand-edited Excel sheets (see docs/datasets.md): blank columns, preamble
rows above the header, subject ids stored as text ('01', '006'), '/' where a frame is unknown,
free-text action units. Everything here reads cells as openpyxl gives them (text stays text, so
'01' keeps its zero) and converts explicitly, never by column position.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import AnnotationError, install_hint
from ..unicode_names import nfc
from .case_keys import fold_words
from .csv_text import SAVE_AS_CSV_UTF8, NotUtf8Error, csv_delimiter, csv_error_detail, normalise_header, read_utf8
from .decimal_comma import dot_thousands, thousands_like
from .workbook import resolve_merged_and_formulas

__all__ = [
    "Table",
    "read_table",
    "csv_delimiter",
    "normalise_header",
    "subject_text",
    "frame_number",
    "parse_aus",
]


@dataclass
class Table:
    """One sheet (or CSV) below its header row.

    Attributes:
        path: the file read.
        sheet: sheet name ('' for CSV).
        header: header cells as written (blank columns kept as '').
        header_row: 1-based row number of the header in the file.
        rows: (1-based file row number, cells) for every non-blank row below the header.
        notes: (1-based row, text) for what reading changed: merged cells filled into each row.
    """

    path: Path
    sheet: str
    header: list[str]
    header_row: int
    rows: list[tuple[int, list[object]]]
    notes: list[tuple[int, str]] = field(default_factory=list)

    def column(self, *names: str, required: bool = True) -> int | None:
        """Index of the first column whose normalised header equals one of ``names``; two such
        columns that differ in any row are an error (which one is meant cannot be told)."""
        keys = {normalise_header(n) for n in names}
        found = [i for i, h in enumerate(self.header) if normalise_header(h) in keys]
        for j in found[1:]:
            row = next((n for n, r in self.rows if _text_at(r, found[0]) != _text_at(r, j)), None)
            if row is not None:
                raise AnnotationError(
                    f"{self.where()}: header row {self.header_row} has two columns for {names[0]!r} "
                    f"({self.header[found[0]]!r}, column {found[0] + 1}, and {self.header[j]!r}, column {j + 1}), "
                    f"which differ in row {row}; delete or rename the one that is not meant.")
        if found:
            return found[0]
        if required:
            raise AnnotationError(
                f"{self.where()}: no column named {' or '.join(repr(n) for n in names)}; header row {self.header_row} "
                f"is {[h for h in self.header if h]}. Check that this is the right annotation file."
            )
        return None

    def where(self, row: int | None = None) -> str:
        sheet = f" sheet '{self.sheet}'" if self.sheet else ""
        at = f" row {row}" if row is not None else ""
        return f"'{self.path}'{sheet}{at}"


def _text_at(row: list[object], i: int) -> str:
    value = cell(row, i)
    return "" if _is_blank(value) else str(value).strip()


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


_ZIP = b"PK\x03\x04"  # an .xlsx is a zip archive
_OLE = b"\xd0\xcf\x11\xe0"  # the old binary Excel format (.xls)


def _content_kind(path: Path) -> str:
    """What the file holds, from its first bytes: "xlsx", "xls", "empty", "text" or "binary"."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError as exc:
        raise AnnotationError(f"Cannot read annotation file '{path}': {exc.strerror or exc}.") from None
    if not head:
        return "empty"
    if head.startswith(_ZIP):
        return "xlsx"
    if head.startswith(_OLE):
        return "xls"
    return "binary" if b"\x00" in head else "text"


# text tables read by the CSV reader (comma, semicolon or tab separated)
_TEXT_SUFFIXES = (".csv", ".tsv", ".txt")


def _read_cells(path: Path, sheet: str | Sequence[str] | None,
                header: str | None = None) -> tuple[str, list[list[object]], list]:
    """(sheet name, rows, notes): notes as ``Table.notes``. ``header``: a cell of the header row, which tells a
    CSV's separator (see ``csv_delimiter``)."""
    suffix = path.suffix.lower()
    kind = _content_kind(path)
    if kind == "empty":
        raise AnnotationError(f"Annotation file '{path}' is empty (0 bytes); copy it again from the dataset.")
    if kind == "xls":
        return *_read_xls(path, sheet), []
    if suffix in _TEXT_SUFFIXES and kind == "xlsx":
        raise AnnotationError(f"Annotation file '{path}' is an Excel workbook named {suffix}; rename it to "
                              f"'{path.with_suffix('.xlsx').name}'.")
    if suffix in (".xlsx", ".xlsm") and kind == "text":
        raise AnnotationError(f"Annotation file '{path}' is a CSV (text) file, not an Excel workbook; rename it to "
                              f"'{path.with_suffix('.csv').name}' (or pass it as --annotation with a .csv name).")
    if suffix in _TEXT_SUFFIXES:  # a tab-separated .tsv/.txt too: the separator is read off the first lines
        from .csv_text import utf16_bom

        with open(path, "rb") as f:  # UTF-16 with its BOM (Excel's "Unicode Text") is text, read as such below
            binary = kind == "binary" and not utf16_bom(f.read(4))
        if binary:
            raise AnnotationError(f"Annotation file '{path}' is not a UTF-8 text CSV file (it holds binary data, or "
                                  "UTF-16 text without a byte order mark); save it as 'CSV UTF-8' (or .xlsx) in the "
                                  "spreadsheet program and retry.")
        # CSV cells are all text, which the converters below accept.
        try:
            text = read_utf8(path)
            # the first lines, not the header alone: preamble rows may stand above the header
            separator = csv_delimiter("".join(text.splitlines(keepends=True)[:HEADER_SCAN_ROWS]),
                                      (header,) if header else ())
            rows, read = [], 0  # read: the last line of the last row read whole, for a csv.Error
            reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
            for row in reader:
                rows.append(list(row))
                read = reader.line_num
            if why := dot_thousands(rows):  # '1.000' beside '29,97': 1000 in that locale, not frame 1
                raise AnnotationError(f"Annotation file '{path}' {why}.")
            return "", rows, []
        except OSError as exc:
            raise AnnotationError(f"Cannot read annotation file '{path}': {exc.strerror or exc}.") from None
        except NotUtf8Error as exc:
            raise AnnotationError(f"Annotation file '{path}' is not UTF-8 text ({exc.detail}); {SAVE_AS_CSV_UTF8} "
                                  "and retry.") from None
        except csv.Error as exc:
            raise AnnotationError(f"Annotation file '{path}' is not a readable CSV file "
                                  f"({csv_error_detail(exc, read)}).") from None
    if suffix not in (".xlsx", ".xlsm"):
        raise AnnotationError(f"Annotation file '{path}' is neither an Excel workbook (.xlsx, .xls) nor a text table "
                              "(.csv, .tsv, .txt); save it as .xlsx or CSV UTF-8 and retry.")
    import openpyxl

    try:
        # data_only: formula cells (SAMM 'Duration') give their cached value, or None when never computed.
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise AnnotationError(f"Cannot read '{path}' as an Excel workbook ({exc}); re-download the file.") from None
    try:
        if isinstance(sheet, str):
            if sheet not in wb.sheetnames:
                raise AnnotationError(f"'{path}' has no sheet '{sheet}'; its sheets are {wb.sheetnames}.")
            ws = wb[sheet]
        else:  # preferred names in order, else the first sheet
            ws = next((wb[s] for s in (sheet or ()) if s in wb.sheetnames), wb.worksheets[0])
        # Files written by tools other than Excel can carry a wrong <dimension>; read-only mode trusts it.
        ws.reset_dimensions()
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        return ws.title, rows, resolve_merged_and_formulas(path, ws, rows)
    finally:
        wb.close()


_SAVE_AS = "or open it in a spreadsheet program and save it as .xlsx (or each sheet as CSV UTF-8, named .csv)"


def _xls_value(cell) -> object:
    """An xlrd cell as openpyxl would give it: blank -> None, integral number -> int, text stays text."""
    import xlrd

    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return None
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return bool(cell.value)
    if cell.ctype == xlrd.XL_CELL_NUMBER and float(cell.value).is_integer():
        return int(cell.value)
    return cell.value  # text, a fractional number, a date serial (no loader reads dates)


def _read_xls(path: Path, sheet: str | Sequence[str] | None) -> tuple[str, list[list[object]]]:
    """An old binary Excel workbook (CAS(ME)^3's CAS(ME)3_part_A_v2.xls), read with xlrd (extra ``xls``)."""
    try:
        import xlrd
    except ImportError:
        raise AnnotationError(f"Annotation file '{path}' is an old Excel .xls workbook; reading it needs the xlrd "
                              f"package ({install_hint('xls')}), {_SAVE_AS}.") from None
    try:
        wb = xlrd.open_workbook(str(path), on_demand=True)
    except Exception as exc:  # xlrd raises several types for a damaged file
        raise AnnotationError(f"Cannot read '{path}' as an old Excel .xls workbook ({exc}); re-download the file, "
                              f"{_SAVE_AS}.") from None
    try:
        names = wb.sheet_names()
        if isinstance(sheet, str):
            if sheet not in names:
                raise AnnotationError(f"'{path}' has no sheet '{sheet}'; its sheets are {names}.")
            name = sheet
        else:  # preferred names in order, else the first sheet
            name = next((s for s in (sheet or ()) if s in names), names[0])
        ws = wb.sheet_by_name(name)
        return name, [[_xls_value(c) for c in ws.row(r)] for r in range(ws.nrows)]
    finally:
        wb.release_resources()


HEADER_MARK = "Subject"  # a cell of every dataset's header row
HEADER_SCAN_ROWS = 50  # the rows searched for it


def read_table(
    path: str | Path,
    *,
    sheet: str | Sequence[str] | None = None,
    header: str = HEADER_MARK,
) -> Table:
    """Read a sheet, find its header row and return the rows below it.

    Args:
        path: .xlsx, .csv or (with xlrd installed) .xls file.
        sheet: sheet name (must exist), or preferred names in order (else the first sheet), or None
            for the first sheet.
        header: the text of a cell of the header row ("Subject" in every table mmnet reads; another
            dataset's may say e.g. "sub_ID").

    The header row is the first of the first ``HEADER_SCAN_ROWS`` rows with a ``header`` cell (any of
    its cells, compared after ``normalise_header``): SAMM releases have 0 or 13 preamble rows.
    """
    path = Path(path)
    sheet_name, cells, notes = _read_cells(path, sheet, header)
    key = normalise_header(header)
    for i, row in enumerate(cells[:HEADER_SCAN_ROWS]):
        # any cell, not only the first: a copy may carry an index column before the subject column
        if any(not _is_blank(c) and normalise_header(c) == key for c in row):
            names = ["" if _is_blank(c) else str(c).strip() for c in row]
            rows = [(i + 2 + k, r) for k, r in enumerate(cells[i + 1 :]) if not all(_is_blank(c) for c in r)]
            if not rows:
                where = f"'{path}'{f' sheet {sheet_name!r}' if sheet_name else ''}"
                raise AnnotationError(f"{where} has a header row (row {i + 1}) but no rows below it: no sample is "
                                      "annotated. Is the file complete (a copy saved before the rows were pasted)?")
            return Table(path, sheet_name, names, i + 1, rows, notes)
    raise AnnotationError(
        f"'{path}'{f' sheet {sheet_name!r}' if sheet_name else ''}: no header row with a {header!r} cell in "
        f"the first {HEADER_SCAN_ROWS} rows. Is this the dataset's original coding file?"
    )


def cell(row: Sequence[object], index: int | None) -> object:
    """Cell ``index`` of a row, None past its end or when the column is absent."""
    if index is None or index >= len(row):
        return None
    return row[index]


def subject_text(value: object, width: int = 0, prefix: str = "") -> str | None:
    """Subject id as text: keeps '01' / '006' as written; an int (re-saved sheet) is zero-padded to ``width``.

    ``prefix``: the dataset's subject folder prefix ('sub' for CASME II's sub01/), taken off a number
    written with it ('sub1', 'Sub01' -> '01'), as the folder name is the prefix and the subject.
    """
    if _is_blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return str(value).zfill(width)
    text = nfc(str(value).strip())  # ids in NFC (unicode_names): a table written from a Mac's names is NFD
    if prefix and text.lower().startswith(prefix) and text[len(prefix):].strip().isdecimal():
        text = text[len(prefix):].strip()
    if re.fullmatch(r"\d+\.0+", text):  # a CSV written from a float column (pandas): 1.0, as the sheet's 1.0 above
        text = text.split(".")[0]
    if text.isdecimal():  # full-width '１', as an East Asian input method types it, is the folder's '01'
        return "".join(str(unicodedata.decimal(c)) for c in text).zfill(width)
    return text


def frame_number(value: object) -> int | None:
    """A frame number from a cell: int, integral float or digit text -> int; '/', '', '?', other text -> None."""
    if isinstance(value, bool) or _is_blank(value):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    text = str(value).strip()
    # at most 9 digits: a longer "frame number" is not one (and int() refuses over 4300 digits)
    if re.fullmatch(r"[+-]?\d{1,9}", text):
        return int(text)
    # 46.0 (12.000 from a float export), or 46,0 as a decimal-comma locale writes it; not 1,000, whose comma may
    # be a thousands separator (1000), so it is refused rather than read as 1
    if re.fullmatch(r"[+-]?\d{1,9}[.,]0*", text) and not thousands_like(text):
        return int(re.split(r"[.,]", text)[0])
    return None


_AU = re.compile(r"^(?P<side>[LRATB]?)(?P<num>\d*)(?P<level>[A-E]?)$")
_ALTERNATIVE = re.compile(r"\s+or\s+|/", re.IGNORECASE)


def _parse_alternatives(term: str) -> str | None:
    """'R6 or R12' -> 'R6|R12'; '10A/B' -> '10A|10B'; 'A/L12' -> 'A12|L12'; None if not AU-like."""
    parts = [p.strip() for p in _ALTERNATIVE.split(term) if p.strip()]
    matches = [_AU.match(p) for p in parts]
    if not parts or any(m is None or not (m["side"] or m["num"] or m["level"]) for m in matches):
        return None
    full = next((m for m in matches if m["num"]), None)
    if full is None:
        return None
    out = []
    for m in matches:
        letter = m["side"] or m["level"]
        if m["num"]:
            out.append(m.group(0))
        elif full["level"] and letter in "ABCDE":  # 'B' in '10A/B': another intensity of the sibling's AU
            out.append(f"{full['side']}{full['num']}{letter}")
        elif m["side"]:  # 'A' in 'A/L12': another side prefix for the sibling's AU
            out.append(f"{m['side']}{full['num']}{full['level']}")
        else:
            return None
    return "|".join(out)


def parse_aus(value: object) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Parse a free-text action-unit cell.

    Returns (aus, unparsed). ``aus`` keeps side prefixes (L, R, A = asymmetric, T, B) and intensity
    suffixes (A-E) as written: '4+L10' -> ('4', 'L10'). Alternatives become one token joined by '|'
    ('(R6 or R12)+R15' -> ('R6|R12', 'R15')), 'ref(24)' stays 'ref(24)'. '?' (unknown AUs) gives
    nothing. ``unparsed`` lists fragments that are not AU codes ('soft focus'), for an Issue.
    """
    if _is_blank(value):
        return (), ()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value)).strip()  # '４＋Ｌ７' of a CJK input method is '4+L7'
    aus: list[str] = []
    unparsed: list[str] = []
    for raw in re.split(r"\+", text):
        term = raw.strip()
        if not term or term == "?":
            continue
        ref = re.fullmatch(r"ref\s*\(\s*([^)]*?)\s*\)", term, re.IGNORECASE)
        if ref:
            inner = _parse_alternatives(ref.group(1))
            if inner is None:
                unparsed.append(term)
            else:
                aus.append(f"ref({inner})")
            continue
        token = _parse_alternatives(term.strip("() "))
        if token is None:
            unparsed.append(term)
        else:
            aus.append(token)
    return tuple(aus), tuple(unparsed)


def label_text(value: object) -> str | None:
    """Emotion label as lower-case text with single spaces ('Happiness ' -> 'happiness', 'Happy  Face' -> 'happy
    face'), None when blank."""
    if _is_blank(value):
        return None
    return fold_words(value)



def read_rows(path: str | Path, sheet: str | Sequence[str] | None = None) -> tuple[str, list[list[object]]]:
    """Every row of a sheet (or CSV) as openpyxl gives it, with no header search: (sheet name, rows).

    For header-less sheets (CAS(ME)^2's ``CASFEcode_final`` and its naming tables). ``sheet`` as in ``read_table``.
    """
    sheet_name, cells, _ = _read_cells(Path(path), sheet)
    return sheet_name, cells
