"""Text padded by the columns a terminal shows it in: CJK characters take two, combining marks none.

``str.ljust`` and ``f"{s:<10}"`` pad by ``len()``, so a table with Chinese or Japanese paths misaligns.
"""

from __future__ import annotations

import unicodedata

__all__ = ["display_width", "pad"]


def _char_width(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0  # a combining accent (NFD 'é'), a zero-width joiner
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def display_width(text: str) -> int:
    """The terminal columns ``text`` takes: 2 for wide and full-width characters (East Asian Width W/F)."""
    return sum(_char_width(c) for c in text)


def pad(text: str, width: int, align: str = "<") -> str:
    """``text`` filled with spaces to ``width`` columns (as shown, see ``display_width``): on the right for
    ``align`` '<', on the left for '>'. Text already as wide or wider is returned as it is."""
    fill = " " * max(0, width - display_width(text))
    return fill + text if align == ">" else text + fill
