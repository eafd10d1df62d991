"""Numbers as the reports print them: halves rounded up (away from zero), as people and spreadsheets round.

Python's formatting rounds the float's binary value half to even, so 13/32 = 40.625 % printed 40.62 beside
11/32 = 34.375 % printed 34.38. Here the shortest decimal that gives the float back (``repr``: 0.40625 for 13/32,
the exact fraction whenever it has a short decimal expansion) is rounded half up: 40.63 and 34.38."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

__all__ = ["half_up", "format_metric", "format_mean_std"]


def half_up(value: float, digits: int, scale: int = 1, sign: bool = False) -> str:
    """``value * scale`` with ``digits`` decimals, halves rounded up; ``sign``: a leading '+' on a positive one."""
    value = float(value)
    if not math.isfinite(value):
        return f"{value * scale:{'+' if sign else ''}.{digits}f}"
    rounded = (Decimal(repr(value)) * scale).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    if rounded.is_zero():  # a tiny negative difference rounds to zero, not to "-0.00"
        rounded = abs(rounded)
    text = str(rounded)
    return "+" + text if sign and not text.startswith("-") else text


def format_metric(v: float | None, pct: bool = False) -> str:
    """A metric as every report writes it: a percent with 2 decimals (``pct``: Acc), else 4 decimals, halves
    rounded up (:func:`half_up`); 'n/a'."""
    if v is None:
        return "n/a"
    return half_up(v, 2, 100) if pct else half_up(v, 4)


def format_mean_std(mean: float | None, std: float | None, pct: bool = False, sep: str = " ± ") -> str:
    """'mean ± std' with several seeds, 'mean' with one (no spread)."""
    return format_metric(mean, pct) + ("" if std is None else sep + format_metric(std, pct))
