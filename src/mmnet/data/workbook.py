"""What openpyxl's read-only mode does not show of a sheet: merged cells and formulas saved with no value.

Annotation sheets are read in read-only mode (streamed, little memory), which sees neither merged
ranges nor whether a blank cell is a formula never computed. Both are in the sheet's XML: one byte
search over it finds them, and only a sheet that has them costs more (a formula without a value is
looked up with a second, formula-reading pass).
"""

from __future__ import annotations

import re

__all__ = ["UnsavedFormula", "resolve_merged_and_formulas"]

_MERGED = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*\bref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')
# a formula (<f>...</f> or a shared <f .../>) followed by no value or an empty one, then the cell's end
_FORMULA_WITHOUT_VALUE = re.compile(
    rb"(?:</(?:\w+:)?f>|<(?:\w+:)?f\b[^>]*/>)\s*(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</(?:\w+:)?c>")


class UnsavedFormula(str):
    """A formula cell whose file holds no computed value (saved by a program that does not calculate):
    the formula's text, shown with what to do, wherever a message quotes the cell."""

    def __repr__(self) -> str:
        return f"{str.__repr__(self)} (a formula with no saved value: open and save the file in Excel or LibreOffice)"


def resolve_merged_and_formulas(path, ws, rows: list[list[object]]) -> list[tuple[int, str]]:
    """Fill what a read-only sheet ``ws`` of ``path`` gave as ``rows`` (its values) in place: a merged range
    over several rows takes its first cell's value in every cell, and a formula with no saved value becomes
    an ``UnsavedFormula``. Returns (first row, note) for each range filled.

    Filling is what the person who merged meant (Excel keeps the value in the first cell only, so the other
    rows would read as having no subject); a range within one row (a title across columns) is left as is.
    """
    try:
        with ws._get_source() as source:  # the sheet's XML part (openpyxl exposes no public reader for it)
            xml = source.read()
    except AttributeError:  # an openpyxl release without that reader: the sheet is read as before, unchecked
        return []
    if _FORMULA_WITHOUT_VALUE.search(xml):
        _mark_unsaved_formulas(path, ws.title, rows)
    from openpyxl.utils import range_boundaries

    notes = []
    for ref in _MERGED.findall(xml):
        first_col, first_row, last_col, last_row = range_boundaries(ref.decode())
        if first_row == last_row or first_row > len(rows):
            continue
        value = rows[first_row - 1][first_col - 1] if first_col <= len(rows[first_row - 1]) else None
        for row in rows[first_row - 1 : last_row]:
            row.extend([None] * (last_col - len(row)))
            row[first_col - 1 : last_col] = [value] * (last_col - first_col + 1)
        notes.append((first_row, f"cells {ref.decode()} are merged: each of rows {first_row}-{last_row} is read "
                                  f"with the merged value {value!r}; unmerge them if that is not meant"))
    return notes


def _mark_unsaved_formulas(path, sheet: str, rows: list[list[object]]) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        ws = wb[sheet]
        ws.reset_dimensions()
        for row, written in zip(rows, ws.iter_rows(values_only=True)):
            for i, text in enumerate(written[: len(row)]):
                if row[i] is None and isinstance(text, str) and text.startswith("="):
                    row[i] = UnsavedFormula(text)
    finally:
        wb.close()
