"""Whether a loader read uncropped full frames: the `uncropped_frames` warning.

MMNet and the published results train on face crops (each dataset's cropped release, or `mmnet prepare`'s
output). A loader falls back to a raw folder when no cropped one is there; it says so, once per dataset, so that
a run on full frames (faces a fraction of the image), or a composite mixing both, is never silent.
"""

from __future__ import annotations

from pathlib import Path

from ..shell_words import shell_quote
from .sample import Issue

__all__ = ["uncropped_issue"]


def uncropped_issue(dataset: str, folder: Path, root: Path, cropped: str, *, prepare: bool = True) -> Issue:
    """The warning for ``dataset`` read from the raw ``folder`` under ``root``; ``cropped`` names the cropped folder
    that the loader would read first; ``prepare``: `mmnet prepare ROOT` makes it."""
    how = (f"run `mmnet prepare {shell_quote(str(root))}` to make {cropped} (read first when present), or put the "
           "release's cropped frames there" if prepare else f"put the release's {cropped} (face crops) in the root: "
           "it is read first when present")
    return Issue(dataset, "uncropped_frames", f"frames read from {folder}: uncropped full frames, not the face crops "
                 f"that MMNet and published results use; {how}", "warning")
