"""Case-insensitive keys for names written by people in any locale: headers, labels, folder names."""

from __future__ import annotations

import unicodedata

from ..unicode_names import nfc

__all__ = ["fold_case", "fold_words", "fold_id"]


def fold_case(text: object) -> str:
    """``text`` for comparing without case: casefolded, with the dotted and dotless i of Turkish and Azerbaijani as
    'i' (their Excel's UPPER() writes 'FİLENAME', which lower-cases to 'i' + a combining dot above)."""
    folded = unicodedata.normalize("NFKD", str(text).casefold()).replace("i\u0307", "i").replace("ı", "i")
    return nfc(folded)  # the one NFC rule of names (unicode_names)


def fold_words(text: object) -> str:
    """``fold_case`` with runs of white space as one space and none at the ends: the key of a label or class written
    by hand ('Happy  Face' and 'happy face' are one label)."""
    return " ".join(fold_case(text).split())


def fold_id(text: object) -> str:
    """``fold_case`` without any white space: the key of an id that must name one thing however it is typed
    ('被试02', '被试 02', '被试\u300002' with the ideographic space of a Chinese or Japanese input method, 'P02' and
    'ｐ０２' are one subject)."""
    return "".join(fold_case(text).split())
