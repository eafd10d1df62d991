"""Stray copies of frames, named as file managers name a copy ('frame_0108 (1).jpg', 'frame_0108 - Copy.jpg',
'frame_0108 copy.jpg'): never read as frames (the last number of such a name is the copy's count, not a frame), and
each named with the frame it copies and what to do (``frame_copy``)."""

from __future__ import annotations

import re
from collections.abc import Container
from pathlib import Path

from .sample import Issue

__all__ = ["COPY_SUFFIX", "copied_name", "copy_issue"]

#: What a file manager adds to a copy's name, before the extension: ' (1)' (Windows Explorer, browsers),
#: ' - Copy' and ' - Copy (2)' (Windows), ' copy' and ' copy 2' (macOS), ' (copy)', ' (another copy)' and
#: ' (3rd copy)' (GNOME Files).
COPY_SUFFIX = r"(?: \(\d+\)| - copy(?: \(\d+\))?| copy(?: \d+)?| \((?:another |\d+(?:st|nd|rd|th) )?copy\))"
_COPY_NAME = re.compile(rf"(.+?){COPY_SUFFIX}(\.[^.]+)", re.IGNORECASE)


def copied_name(name: str) -> str | None:
    """The name a copy was made of ('frame_0108 (1).jpg', 'frame_0108 (1) - Copy.jpg' -> 'frame_0108.jpg'), or
    None for a name without a copy's suffix."""
    original = None
    while m := _COPY_NAME.fullmatch(original or name):
        original = m.group(1) + m.group(2)
    return original


def copy_issue(sample_id: str, name: str, folder: Path, pattern: re.Pattern, frames: Container[int]) -> Issue | None:
    """The ``frame_copy`` warning for a file of ``folder`` that is not a frame (``name``) but is named as a copy of
    one (a name ``pattern`` reads once the copy's suffix is removed); None for any other file. ``frames``: the
    numbers of the folder's frames."""
    original = copied_name(name)
    m = pattern.fullmatch(original) if original else None
    if m is None:
        return None
    n = int(m.group(1))
    if n in frames:
        what = f"a copy of frame {n} ('{original}'); delete it"
    else:
        what = (f"a copy of frame {n} ('{original}'), which is absent: rename it to '{original}' if it is that frame, "
                "else delete it")
    return Issue(sample_id, "frame_copy", f"'{name}' in {folder} is named as a file manager names {what} (it is "
                 "not read as a frame)", "warning")
