"""Numbers as spreadsheets in any locale write them: a decimal point, or one decimal comma ('29,97', as a European
Excel saves a CSV), but never a comma that may be a thousands separator ('1,000': 1000 or 1.0?)."""

from __future__ import annotations

import math
import re

__all__ = ["number_text", "thousands_like", "value_said"]

_NUMBER = re.compile(r"[+-]?(\d+[.,]?\d*|[.,]\d+)")
# a comma before exactly three digits, after one to three not starting with 0: the thousands separator of 1,000 or
# 12,345 (a leading 0, as in '0,334' seconds, is only ever a decimal comma)
_THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2}(,\d{3})+")


def thousands_like(text: object) -> bool:
    """Whether ``text`` reads as a number with a thousands separator ('1,000', '12,345,678'): refused, not guessed."""
    return isinstance(text, str) and bool(_THOUSANDS.fullmatch(text.strip()))


def number_text(text: str) -> float | None:
    """Numeric text with a decimal point or one decimal comma as a finite float; None for other text and for a
    comma that may be a thousands separator. A pattern, not float(): float() accepts '1_0', 'nan', 'inf'."""
    text = text.strip()
    if not _NUMBER.fullmatch(text) or thousands_like(text):
        return None
    number = float(text.replace(",", "."))
    return number if math.isfinite(number) else None  # 400 digits read as inf


def value_said(name: str, raw: object) -> str:
    """``name raw`` for an unreadable cell, with why when a comma makes it ambiguous."""
    if thousands_like(raw):
        return (f"{name} {raw!r} (a thousands separator or a decimal comma? write the number without a separator, "
                "or with a decimal point)")
    return f"{name} {raw!r}"
