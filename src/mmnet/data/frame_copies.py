"""Stray copies of frames, named as file managers name a copy ('frame_0108 (1).jpg', 'frame_0108 - Copy.jpg',
'frame_0108 copy.jpg'): never read as frames (the last number of such a name is the copy's count, not a frame), and
each named with the frame it copies and what to do (``frame_copy``).

' (N)' alone is also how Windows Explorer numbers files renamed together ('take3 (1).jpg', 'take3 (2).jpg', ...):
such a name is a copy only when its folder holds the original it would copy ('take3.jpg', or a frame of that number
named the usual way); a folder whose frames all share one '<base> (N)' base is a batch rename, frames 1..N."""

from __future__ import annotations

import re
from collections.abc import Collection, Container, Mapping
from pathlib import Path

from .sample import Issue

__all__ = ["COPY_SUFFIX", "copied_name", "copy_issue", "folder_copies"]

#: What a file manager adds to a copy's name, before the extension: ' (1)' (Windows Explorer, browsers),
#: ' - Copy' and ' - Copy (2)' (Windows), ' copy' and ' copy 2' (macOS), ' (copy)', ' (another copy)' and
#: ' (3rd copy)' (GNOME Files).
COPY_SUFFIX = r"(?: \(\d+\)| - copy(?: \(\d+\))?| copy(?: \d+)?| \((?:another |\d+(?:st|nd|rd|th) )?copy\))"
_COPY_NAME = re.compile(rf"(.+?){COPY_SUFFIX}(\.[^.]+)", re.IGNORECASE)
_NUMBERED = re.compile(r" \(\d+\)")  # the one suffix that may be a batch rename's numbering rather than a copy's


def _strip(name: str) -> tuple[str, str] | None:
    """(the name without its outermost copy suffix, that suffix), or None for a name without one."""
    m = _COPY_NAME.fullmatch(name)
    return None if m is None else (m.group(1) + m.group(2), name[len(m.group(1)):len(name) - len(m.group(2))])


def copied_name(name: str) -> str | None:
    """The name a copy was made of ('frame_0108 (1).jpg', 'frame_0108 (1) - Copy.jpg' -> 'frame_0108.jpg'), or
    None for a name without a copy's suffix."""
    original = None
    while (s := _strip(original or name)) is not None:
        original = s[0]
    return original


def _number(pattern: re.Pattern, name: str) -> int | None:
    m = pattern.fullmatch(name)
    return int(m.group(1)) if m else None


def folder_copies(names: Collection[str], pattern: re.Pattern) -> dict[str, str]:
    """The copies among one folder's image file ``names``, each with the name it copies (the nearest one the folder
    holds, else the name without any copy suffix). A name ending ' (N)' is a copy when the folder holds its original
    or a frame of the original's number named without a copy suffix; when it holds neither and every frame
    ``pattern`` reads in the folder is such a name of one base, they are a batch rename and no copies."""
    present = {n.lower(): n for n in names}
    usual = {n for name in names if _strip(name) is None and (n := _number(pattern, name)) is not None}
    copies: dict[str, str] = {}
    undecided: dict[str, str] = {}  # ' (N)' names whose original is absent
    bases: set[str] = set()
    for name in names:
        chain: list[tuple[str, str]] = []
        while (s := _strip(chain[-1][0] if chain else name)) is not None:
            chain.append(s)
        if not chain:
            continue
        original = next((present[c.lower()] for c, _ in chain if c.lower() in present), chain[-1][0])
        nearest, suffix = chain[0]
        if (_NUMBERED.fullmatch(suffix) and nearest.lower() not in present
                and _number(pattern, chain[-1][0]) not in usual):
            undecided[name] = original
            bases.add(nearest.lower())
        else:
            copies[name] = original
    frames = {name for name in names if name not in copies and pattern.fullmatch(name)}
    if not (len(bases) == 1 and frames == set(undecided)):
        copies.update(undecided)
    return copies


def copy_issue(sample_id: str, name: str, folder: Path, pattern: re.Pattern, frames: Container[int],
               copies: Mapping[str, str]) -> Issue | None:
    """The ``frame_copy`` warning for a file ``name`` of ``folder`` that ``folder_copies`` found a copy
    (``copies``) of a name ``pattern`` reads as a frame; None for any other file. ``frames``: the numbers of the
    folder's frames."""
    original = copies.get(name)
    n = _number(pattern, original) if original else None
    if n is None:
        return None
    if n in frames:
        what = f"a copy of frame {n} ('{original}'); delete it"
    else:
        twins = sorted(other for other, o in copies.items() if o == original and other != name)
        if twins:  # several copies of one absent frame: at most one of them can take its name
            shown = ", ".join(f"'{t}'" for t in twins[:3]) + (", ..." if len(twins) > 3 else "")
            what = (f"a copy of frame {n} ('{original}'), which is absent; {len(twins)} other file(s) here copy it too "
                    f"({shown}): if one of them is that frame, rename that one alone to '{original}', and delete the "
                    "others")
        else:
            what = (f"a copy of frame {n} ('{original}'), which is absent: rename it to '{original}' if it is that "
                    "frame, else delete it")
    return Issue(sample_id, "frame_copy", f"'{name}' in {folder} is named as a file manager names {what} (it is "
                 "not read as a frame)", "warning")
