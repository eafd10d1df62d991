"""'Did you mean --root X?': a dataset root one level off, found by where its annotation file is."""

from __future__ import annotations

from pathlib import Path

from ..shell_words import shell_quote

__all__ = ["root_hint"]


def _holds(folder: Path, names: set[str]) -> bool:
    try:
        return any(f.name.lower() in names and f.is_file() for f in folder.iterdir())
    except OSError:
        return False


def root_hint(root: Path, layout: list[str]) -> str:
    """A line for the missing-dataset error when the annotation file (named in the layout's first line) is
    not in ``root`` but in a folder of it (a root one level too high) or above it (a root pointing into the
    frames folder); "" otherwise."""
    words = (w.strip("(),;").lower() for w in (layout[0].split() if layout else []))
    names = {w for w in words if w.endswith((".xlsx", ".xls", ".csv"))}
    if not names or not root.is_dir() or _holds(root, names):
        return ""
    try:
        folders = sorted(d for d in root.iterdir() if d.is_dir())
    except OSError:
        folders = []
    found = next((d for d in [*folders, root.parent] if _holds(d, names)), None)
    return f"Did you mean --root {shell_quote(found)}? It holds the annotation file." if found else ""
