"""Clip folders on disk that no annotation names: listed as ``not_annotated`` warnings, never passed over.

A table saved before its last rows were pasted, a row deleted by mistake or a clip folder copied to
the wrong place leaves frames on disk that training does not use. Every clip-folder loader lists
its candidate folders (sample id, folder) and the folders its samples were found in; a candidate
that holds frames, was not used, and is not the folder of a row refused with an issue of its own,
becomes one warning.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

from .case_keys import fold_case
from .sample import Issue

__all__ = ["report_unannotated"]


def _holds_frames(folder: Path, pattern: re.Pattern) -> bool:
    try:
        return any(pattern.fullmatch(f.name) for f in folder.iterdir())
    except OSError:  # unreadable: not listed here (the loader names folders it cannot read when it needs them)
        return False


def report_unannotated(
    candidates: Iterable[tuple[str, Path]],
    used: set[Path],
    pattern: re.Pattern,
    issues: list[Issue],
    *,
    why: str,
    advice: str,
    key: Callable[[str], str] = fold_case,
) -> None:
    """Append a ``not_annotated`` warning to ``issues`` for each candidate folder with frames that no
    sample used.

    Args:
        candidates: (sample id it would have, folder) for every clip folder of the layout.
        used: the folders samples were found in (the second result of ``common.attach_frames``).
        pattern: the dataset's frame file pattern.
        why: what is missing, e.g. "no row in 'coding.xlsx'".
        advice: what to do, e.g. "add its row to the table, or move the folder out".
        key: sample id -> comparison key (case and Unicode form folded: a row typed in NFC names a folder a Mac
            named in NFD); a candidate whose key is that of an issue already listed (a refused row) is not listed
            again.
    """
    named = {key(i.sample_id) for i in issues}
    for sample_id, folder in candidates:
        if folder in used or key(sample_id) in named or not _holds_frames(folder, pattern):
            continue
        issues.append(Issue(sample_id, "not_annotated", f"clip folder '{folder}' has frames but {why}; it is not "
                            f"used ({advice})", "warning"))
