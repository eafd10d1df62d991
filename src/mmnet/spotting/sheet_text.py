"""A spreadsheet given where mmnet reads a CSV file or a coder's export (BORIS exports .xlsx and .ods too, and a MEGC
CSV is often kept as a workbook): an Excel workbook (.xlsx, .xlsm) is read as the same table, its one sheet as
tab-separated text; an .xls or .ods workbook is a named error saying how to export it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

from ..errors import AnnotationError

__all__ = ["spreadsheet_kind", "sheet_text"]

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an Excel 97-2003 .xls (a compound document)
_EXPORT = ("export it as CSV or TSV (BORIS: Observations > Export events > Aggregated events, format TSV or CSV; a "
           "spreadsheet: Save As 'CSV UTF-8'), or save it as an Excel workbook (.xlsx), and retry")


def spreadsheet_kind(path: Path) -> str | None:
    """'xlsx', 'xls' or 'ods' for a spreadsheet (by its content, whatever its name), None for anything else."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return None  # the caller's read names the error
    if head == _OLE:
        return "xls"
    if not head.startswith(b"PK\x03\x04") or not zipfile.is_zipfile(path):
        return None
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        if "xl/workbook.xml" in names:
            return "xlsx"
        if "mimetype" in names and b"opendocument.spreadsheet" in z.read("mimetype"):
            return "ods"
    return None


def sheet_text(path: Path, kind: str) -> str:
    """The table of an Excel workbook's one sheet with cells as tab-separated text, as the CSV and coder readers
    read it; a named error for an .xls or .ods workbook, or for a workbook whose several sheets hold data (BORIS
    writes an observation per sheet: which one to read is the user's choice)."""
    if kind != "xlsx":
        what = "an Excel 97-2003 workbook (.xls)" if kind == "xls" else "an OpenDocument spreadsheet (.ods)"
        raise AnnotationError(f"'{path}' is {what}, not text: {_EXPORT}.")
    import openpyxl

    try:
        # from its bytes: openpyxl refuses a workbook by its file name's suffix, and the content says what it is
        wb = openpyxl.load_workbook(io.BytesIO(Path(path).read_bytes()), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - a damaged or encrypted workbook: say so, not a traceback
        raise AnnotationError(f"'{path}' is not a readable Excel workbook ({type(exc).__name__}: {exc}).") from None
    try:
        sheets = [(ws.title, rows) for ws in wb.worksheets
                  if (rows := [r for r in ws.iter_rows(values_only=True)]) and any(_filled(r) for r in rows)]
    finally:
        wb.close()
    if len(sheets) > 1:
        raise AnnotationError(f"'{path}' is an Excel workbook with {len(sheets)} sheets of data "
                              f"({', '.join(repr(t) for t, _ in sheets[:5])}): keep one sheet per file (one "
                              f"observation, or one coder), or {_EXPORT}.")
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    for row in sheets[0][1] if sheets else []:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def _filled(row: tuple) -> bool:
    return any(v is not None and str(v).strip() for v in row)


def _cell(value: object) -> str:
    """A cell as the CSV export would write it: 31 for the number 31.0 (a frame number, not a time in decimals)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return str(value)
