"""How a path that is not what its option needs is said, in one wording for every command: "does not exist", "is a
folder; give a file", "is a file; give a folder", each after the option and the path as typed; and the line of an
OSError about a path (``mmnet.cli``), which names a file in the way of an output folder by what the user typed."""

from __future__ import annotations

import argparse
import errno
import os
from pathlib import Path

__all__ = ["path_problem", "check_path", "file_in_the_way", "os_error_advice"]


def path_problem(path: str | Path, option: str | None = None, want: str | None = "file",
                 give: str | None = None) -> str | None:
    """What is wrong with ``path`` given as ``option`` (its flag, or a word such as "Input"; None: the path alone)
    where a ``want`` goes ("file", "folder", or None: either), as one sentence that ends with what to give (``give``,
    default "a file" or "a folder"; a missing path: only a ``give`` given); None when nothing is."""
    named = f"{option} '{path}'" if option else f"'{path}'"
    if not os.path.exists(path):
        return f"{named} does not exist{f'; give {give}' if give else ''}."
    if want == "file" and os.path.isdir(path):
        return f"{named} is a folder; give {give or 'a file'}."
    if want == "folder" and not os.path.isdir(path):
        return f"{named} is a file; give {give or 'a folder'}."
    return None


def check_path(path: str | Path, option: str | None = None, want: str | None = "file", give: str | None = None,
               error: type | None = None) -> None:
    """Raise ``error`` (default ConfigError) with :func:`path_problem`'s sentence when ``path`` is not what goes
    there."""
    problem = path_problem(path, option, want, give)
    if problem is not None:
        if error is None:
            from .errors import ConfigError as error
        raise error(problem)


def _blocking_file(path: str | Path) -> Path | None:
    """The first component of ``path`` (from its root down) that exists and is not a folder: a file where a folder
    goes."""
    path = Path(path)
    for part in [*reversed(path.parents), path]:
        if part.exists() and not part.is_dir():
            return part
        if not part.exists():
            return None
    return None


def file_in_the_way(exc: OSError, args: argparse.Namespace | None,
                    parser: argparse.ArgumentParser | None) -> str | None:
    """The line of an OSError that a file where a folder goes caused (making a folder or writing under a file's name:
    EEXIST, ENOTDIR): the option and the value typed, the file in the way, and what to do; None for another error.
    The path the error names (a folder the command makes under the one given) means little to the user."""
    if exc.errno not in (errno.EEXIST, errno.ENOTDIR) or exc.filename is None:
        return None
    blocking = _blocking_file(os.fsdecode(exc.filename))
    if blocking is None:
        return None
    where = blocking.absolute()
    for action in getattr(parser, "_actions", []):
        value = getattr(args, action.dest, None)
        if not isinstance(value, (str, Path)) or action.dest.startswith("_"):
            continue
        given = Path(value).absolute()
        if given == where or where in given.parents:
            option = action.option_strings[-1] if action.option_strings else "--out" if action.dest == "out" else None
            named = f"{option} '{value}'" if option else f"'{value}'"
            another = f"another {option}" if option else "another path"
            return f"{named}: '{blocking}' is a file where a folder goes; give {another} or move it."
    return f"'{blocking}' is a file where a folder goes; move it or give another path."


def os_error_advice(exc: OSError) -> str:
    """What to do about an error on the file ``exc`` names, by its cause (a full disk's "No space left on device"
    also stands for a file system out of inodes, whose df shows free space)."""
    if exc.errno == errno.ENOSPC:
        from .utils import existing_folder

        try:
            entries = os.statvfs(existing_folder(exc.filename))
        except (OSError, AttributeError):  # (Windows has no statvfs)
            entries = None
        if entries is not None and entries.f_files and entries.f_favail == 0:
            return ("Its file system is out of file entries (inodes; see df -i), though it may have free space: "
                    "delete files there or choose another output folder.")
        return "The disk is full: free space on it or choose another output folder."
    if exc.errno == errno.EDQUOT:
        return "Disk quota exceeded: delete files of yours there or choose another output folder."
    if exc.errno == errno.EROFS:
        return "Read-only file system: choose another output folder."
    return ("Check the path (a file where a folder is needed, or the reverse), its permissions and the free disk "
            "space.")
