"""The files macOS and Windows add beside every file and folder they copy ('.DS_Store', the AppleDouble '._NAME'
beside each file, Thumbs.db, desktop.ini; ``media.desktop_file``): never frames, never annotations, and too common to
warn of per clip (a CASME II copy from a Mac holds one in each of its 255 folders). Each folder's are recorded as it
is listed (``split_desktop``) and the load ends with one note that counts them all (``merge_desktop``); other stray
files are still warned of per clip."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..media import DESKTOP_KINDS, desktop_file
from .sample import Issue

__all__ = ["DESKTOP_CHECK", "split_desktop", "merge_desktop"]

DESKTOP_CHECK = "desktop_files"


def split_desktop(sample_id: str, folder: Path, names: Iterable[str], issues: list[Issue]) -> tuple[str, ...]:
    """``names`` without the desktop files, whose count in ``folder`` is recorded in ``issues`` for ``merge_desktop``
    (a folder listed for several samples is counted once)."""
    names = tuple(names)
    count = sum(desktop_file(n) for n in names)
    if count:
        issues.append(Issue(sample_id, DESKTOP_CHECK, f"{count}\t{folder}", "warning"))
    return tuple(n for n in names if not desktop_file(n))


def merge_desktop(issues: list[Issue]) -> None:
    """Replace, in place, the per-folder records of ``split_desktop`` with one note for the dataset."""
    folders: dict[str, int] = {}
    first = None
    kept = []
    for issue in issues:
        count, tab, folder = issue.message.partition("\t")
        if issue.check == DESKTOP_CHECK and tab and count.isdigit():
            folders[folder] = int(count)
            first = first or issue
        else:
            kept.append(issue)
    if first is None:
        return
    example = next(iter(folders))
    kept.append(Issue(first.sample_id.split("/")[0], DESKTOP_CHECK, f"{sum(folders.values())} hidden or macOS/Windows "
                      f"metadata file(s) ignored ({DESKTOP_KINDS}) in "
                      f"{len(folders)} folder(s), e.g. in {example}: harmless, never read as frames or annotations",
                      "warning"))
    issues[:] = kept
