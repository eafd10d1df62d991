"""One name in two Unicode forms. macOS writes file names decomposed (NFD: 'é' as 'e' + a combining acute accent)
and a copy to Linux keeps those bytes, while names typed into a table, a CSV or a command line are composed (NFC):
'Séance1' typed and 'Séance1' from a Mac look alike but differ byte by byte. mmnet compares names in NFC
(``nfc``), writes ids in NFC, and finds a file or folder whose name is the written one in the other form
(``on_disk``) as the same name, silently: on macOS it is the same name."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable
from pathlib import Path

__all__ = ["nfc", "nfc_keys", "on_disk", "entry_named"]


def nfc(text: str) -> str:
    """``text`` in Unicode NFC, the form typed text takes (an ASCII text is returned as it is)."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def nfc_keys(mapping: dict) -> dict:
    """``mapping`` with its keys (ids, or tuples of ids) in NFC, in order; values kept. Two keys that are one id in
    two forms (a file with rows typed and rows pasted from a Mac's names) become one: their lists are joined (an
    empty list, a video without expressions, beside a non-empty one adds nothing), else the first value is kept."""
    def key(k):
        if isinstance(k, tuple):
            return tuple(nfc(p) if isinstance(p, str) else p for p in k)
        return nfc(k) if isinstance(k, str) else k
    out: dict = {}
    for k, v in mapping.items():
        k = key(k)
        if k not in out:
            out[k] = v
        elif isinstance(out[k], list) and isinstance(v, list):
            out[k] = [*out[k], *v]  # a new list: the reader's own lists stay as they were
    return out


def entry_named(parent: Path, name: str) -> Path | None:
    """``parent/name`` when it is there, else the entry of ``parent`` whose name is ``name`` in another normalization
    form; None when there is none (or ``parent`` cannot be listed)."""
    exact = parent / name
    if os.path.lexists(exact):
        return exact
    if name.isascii():  # an ASCII name has one form: nothing to look for
        return None
    try:
        with os.scandir(parent) as it:
            return next((parent / e.name for e in it if nfc(e.name) == nfc(name)), None)
    except OSError:  # not a folder, or one that cannot be listed
        return None


def on_disk(path: Path, parts: Iterable[str] | None = None) -> Path:
    """``path`` (or ``path`` joined with ``parts``) as the file system spells it where a part is there in another
    normalization form (a folder copied from a Mac, its name in a table); the path as written when it is there or
    when no such spelling is found."""
    written = path.joinpath(*parts) if parts is not None else path
    if os.path.lexists(written) or str(written).isascii():
        return written
    if parts is not None:
        here, rest = path, list(parts)
    else:
        here, rest = Path(written.anchor), list(written.parts[1:] if written.anchor else written.parts)
    for part in rest:
        found = entry_named(here, part) if part not in (".", "..") else here / part
        if found is None:
            return written
        here = found
    return here
