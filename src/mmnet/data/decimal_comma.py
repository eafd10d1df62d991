"""Numbers as spreadsheets in any locale write them: a decimal point, or one decimal comma ('29,97', as a European
Excel saves a CSV), but never a comma that may be a thousands separator ('1,000': 1000 or 1.0?), nor, in a table
that writes decimal commas, a point that may be one ('1.000', as the same locale writes 1000). Where a reader asks
for it, a number may carry an exponent ('1e-05', or '2,5E-03' as a decimal-comma Excel writes its scientific
format): a score column of a spotter holds such numbers; a frame cell does not."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

__all__ = ["number_text", "thousands_like", "value_said", "dot_thousands"]

_NUMBER = re.compile(r"[+-]?(\d+[.,]?\d*|[.,]\d+)")
_EXPONENT = re.compile(r"[eE][+-]?\d+$")
# a comma before exactly three digits, after one to three not starting with 0: the thousands separator of 1,000 or
# 12,345 (a leading 0, as in '0,334' seconds, is only ever a decimal comma)
_THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2}(,\d{3})+")


def thousands_like(text: object) -> bool:
    """Whether ``text`` reads as a number with a thousands separator ('1,000', '12,345,678'): refused, not guessed."""
    return isinstance(text, str) and bool(_THOUSANDS.fullmatch(text.strip()))


def number_text(text: str, exponent: bool = False) -> float | None:
    """Numeric text with a decimal point or one decimal comma as a finite float; None for other text and for a
    comma that may be a thousands separator. A pattern, not float(): float() accepts '1_0', 'nan', 'inf'.
    ``exponent``: also read an exponent after the number ('1e-05', '2,5E-03'; a thousands separator never stands
    before one, so '1,000E-03' is 0.001)."""
    text = text.strip()
    mantissa = text
    if exponent and (tail := _EXPONENT.search(text)):
        mantissa = text[:tail.start()]
    if not _NUMBER.fullmatch(mantissa) or (mantissa == text and thousands_like(text)):
        return None
    number = float(text.replace(",", "."))
    return number if math.isfinite(number) else None  # 400 digits read as inf


def value_said(name: str, raw: object) -> str:
    """``name raw`` for an unreadable cell, with why when a comma makes it ambiguous."""
    if thousands_like(raw):
        return (f"{name} {raw!r} (a thousands separator or a decimal comma? write the number without a separator, "
                "or with a decimal point)")
    return f"{name} {raw!r}"


_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+([eE][+-]?\d+)?")
# a point before groups of three digits, after one to three not starting with 0: '1.000', '12.345.678'
_DOT_THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2}(\.\d{3})+")


def dot_thousands(rows: Sequence[Sequence[object]], numbers: Sequence[int] | None = None) -> str:
    """For a text table (rows of cells, the file's first row first) that writes a decimal comma in some cell
    ('29,97'): where a cell such as '1.000' stands, which that locale writes for 1000, so it is not read as 1;
    '' when there is none (a table without decimal commas reads '12.000' as 12). ``numbers``: each row's number as
    the message names it (its line in the file), else 1, 2, ..."""
    numbers = range(1, len(rows) + 1) if numbers is None else numbers
    cells = [(n, str(c).strip()) for n, row in zip(numbers, rows) for c in row if isinstance(c, str)]
    comma = next(((n, c) for n, c in cells if _DECIMAL_COMMA.fullmatch(c) and not thousands_like(c)), None)
    dot = next(((n, c) for n, c in cells if _DOT_THOUSANDS.fullmatch(c)), None)
    if comma is None or dot is None:
        return ""
    return (f"row {dot[0]}: {dot[1]!r} may be {dot[1].replace('.', '')} written with a thousands separator, as this "
            f"table writes decimal commas ({comma[1]!r} in row {comma[0]}): write the number without a separator "
            f"({dot[1].replace('.', '')}), or {dot[1].split('.')[0]} if that is meant")
