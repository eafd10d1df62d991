"""Separators as typed in any locale. A Chinese or Japanese input method types the full-width comma and equals sign
('，' U+FF0C, '＝' U+FF1D) where an English keyboard types ',' and '='; a list such as ``--scheme
'高兴=positive，厌恶=negative'`` is the same list. Only the separators are read in their compatibility (NFKC) form:
the names between them are kept as written."""

from __future__ import annotations

import unicodedata

__all__ = ["ascii_separators"]


def ascii_separators(text: str, separators: str = ",=") -> str:
    """``text`` with each character whose NFKC form is one of ``separators`` (the full-width '，' and '＝', the small
    '﹐' and '﹦') written as that separator; every other character kept."""
    if text.isascii():
        return text
    return "".join(_separator(c, separators) for c in text)


def _separator(char: str, separators: str) -> str:
    form = char if char.isascii() else unicodedata.normalize("NFKC", char)
    return form if len(form) == 1 and form in separators else char
