"""Separators as typed in any locale. A Chinese or Japanese input method types the full-width comma and equals sign
('，' U+FF0C, '＝' U+FF1D) where an English keyboard types ',' and '='; a list such as ``--scheme
'高兴=positive，厌恶=negative'`` is the same list. Only the separators are read in their compatibility (NFKC) form:
the names between them are kept as written.

The ideographic enumeration comma '、' (U+3001, what a Japanese input method types for ',', and Chinese writing's
list comma inside a phrase) is not a separator: its NFKC form is itself, and a Chinese class or tier name may hold
it ('惊讶、恐惧'). An error about such a list says so (``separator_note``)."""

from __future__ import annotations

import unicodedata

__all__ = ["ascii_separators", "separator_in_name", "separator_note", "split_typed"]

_NAMES = {",": "comma", "=": "equals sign", ":": "colon", ";": "semicolon"}


def ascii_separators(text: str, separators: str = ",=") -> str:
    """``text`` with each character whose NFKC form is one of ``separators`` (the full-width '，' and '＝', the small
    '﹐' and '﹦') written as that separator; every other character kept."""
    if text.isascii():
        return text
    return "".join(_separator(c, separators) for c in text)


def split_typed(text: str, separator: str = ",", separators: str | None = None) -> list[str]:
    """``text`` split at ``separator`` typed at any width ('，' as ','), each part stripped, empty parts dropped;
    ``separators`` (default: ``separator`` alone) are the characters read at ASCII width."""
    text = ascii_separators(text, separators or separator)
    return [part for part in (p.strip() for p in text.split(separator)) if part]


def separator_note(text: str, separators: str = ",=") -> str:
    """For an error about ``text``: which full-width characters in it were read as ``separators`` (e.g. "'，' (a
    full-width comma) separates like ','; a name holding one must be renamed. "), and that '、' is not a separator;
    empty when ``text`` holds neither."""
    seen = {c: _separator(c, separators) for c in dict.fromkeys(text) if not c.isascii()}
    read = [f"'{c}' (a full-width {_NAMES.get(s, 'separator')}) separates like '{s}'"
            for c, s in seen.items() if s != c]
    note = "; ".join(read) + ("; a name holding one must be renamed. " if read else "")
    if "、" in seen:
        note += "'、' is not a separator: separate with ',' or '，'. "
    return note


def separator_in_name(name: str) -> str | None:
    """Why a class name or emotion label cannot be used, and what to do; None when it can. The one rule, asked
    where a name enters (data.classes, the lab tables' emotion column): a name holding ',' or '=' (of any width:
    '，', '＝') splits where lists of names are read (--classes, data.classes, a label map in data.scheme), so it
    could neither be named again nor kept whole."""
    held = [c for c in dict.fromkeys(name) if _separator(c, ",=") in ",="]
    if not held:
        return None
    said = ", ".join(f"'{c}'" + ("" if c.isascii() else f" (a full-width {_NAMES[_separator(c, ',=')]})") for c in held)
    renamed = "".join("/" if c in held else c for c in name)
    return (f"{name!r} holds {said}, which separates the names in a list (--classes, data.classes, a label map in "
            "data.scheme): it would split there and could not be named; rename it without ',' or '=' of any width, "
            f"e.g. {renamed!r} (with '/' or '、').")


def _separator(char: str, separators: str) -> str:
    form = char if char.isascii() else unicodedata.normalize("NFKC", char)
    return form if len(form) == 1 and form in separators else char
