"""A dataset root's annotation files and folders, found as a copy from Windows or macOS leaves them: names in
another case ('Annotations.CSV', 'cropped/'; those file systems do not tell case apart, Linux does) and Office's
lock files ('~$name.xlsx', left beside a workbook open in Excel, or copied while it was) and the files macOS and
Windows add beside others (the AppleDouble '._CAS(ME)^2code_final.xlsx' a Mac writes beside the workbook on a drive
or share that is not its own, '.DS_Store', Thumbs.db), which are never the annotation."""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from pathlib import Path

from ..media import desktop_file
from ..unicode_names import entry_named
from .case_keys import fold_case

__all__ = ["root_files", "root_file", "folder_in_any_case", "find_folder", "is_lock_file"]


def is_lock_file(path: Path) -> bool:
    """Office's owner file of an open document: '~$' + the rest of the document's name, a few hundred bytes."""
    return path.name.startswith("~$")


def _files(root: Path) -> list[Path]:
    try:
        return sorted(p for p in root.iterdir() if not is_lock_file(p) and not desktop_file(p.name) and p.is_file())
    except OSError:  # not a folder, or one that cannot be listed
        return []


def root_files(root: Path, globs: Iterable[str]) -> list[Path]:
    """The files of ``root`` whose names match one of ``globs`` in any case, lock files left out: those of the
    first glob first, each glob's sorted by name; desktop files ('._name.xlsx') left out too."""
    files, out = _files(root), []
    for glob in globs:
        out += [p for p in files if p not in out and fnmatchcase(fold_case(p.name), fold_case(glob))]
    return out


def root_file(root: Path, name: str) -> Path:
    """``root/name``, else the file of root named so in another case; ``root/name`` when there is none."""
    if (root / name).is_file():
        return root / name
    return next(iter(root_files(root, [name.replace("[", "[[]")])), root / name)


def find_folder(parent: Path, name: str) -> tuple[Path | None, bool]:
    """``parent/name`` (also as a Mac writes it: ``unicode_names``), else a case-insensitive match (CAS(ME)^3 writes
    'J' for folder 'j'); (path, exact)."""
    try:
        exact = entry_named(parent, name)
        if exact is not None and exact.is_dir():
            return exact, True
        if parent.is_dir():
            for entry in parent.iterdir():
                if fold_case(entry.name) == fold_case(name) and entry.is_dir():
                    return entry, False
    except OSError:  # a name longer than the file system allows, a symbolic link loop: not found
        pass
    return None, False


def folder_in_any_case(root: Path, parts: Iterable[str]) -> Path | None:
    """The folder ``root/part/part...``, each part as written when it is there, else in another case (the first
    such folder by name when there are several); None when there is none."""
    folder = root
    for part in parts:
        if (same := entry_named(folder, part)) is not None and same.is_dir():  # as written, or in NFD from a Mac
            folder = same
            continue
        try:
            folder = next(p for p in sorted(folder.iterdir()) if fold_case(p.name) == fold_case(part) and p.is_dir())
        except (StopIteration, OSError):  # not there in any case, or a folder that cannot be listed
            return None
    return folder


_SHEETS = (".xlsx", ".xls", ".csv", ".tsv", ".txt")


def sheets_said(root: Path) -> str:
    """A line naming the spreadsheets a root holds when its annotation file was not found (a file renamed, or
    saved under another name), and its Office lock files as such; "" when it holds none."""
    try:
        files = sorted(p for p in root.iterdir() if p.suffix.lower() in _SHEETS and not desktop_file(p.name)
                       and p.is_file())
    except OSError:
        return ""
    own = [p.name for p in files if not is_lock_file(p)]
    locks = [p.name for p in files if is_lock_file(p)]
    said = (f"The root holds {', '.join(repr(n) for n in own[:6])}{' ...' if len(own) > 6 else ''}: if one is the "
            "annotation under another name, pass it with --annotation FILE. ") if own else ""
    if locks:
        said += (f"{', '.join(repr(n) for n in locks[:3])} is Office's lock file of a workbook open in Excel, not "
                 "the workbook: copy the workbook itself. ")
    return said.rstrip()
