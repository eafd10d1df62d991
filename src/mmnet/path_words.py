"""How a path that is not what its option needs is said, in one wording for every command: "does not exist", "is a
folder; give a file", "is a file; give a folder", each after the option and the path as typed; and the line of an
OSError about a path (``mmnet.cli``), which names a file in the way of an output folder by what the user typed."""

from __future__ import annotations

import errno
import os

__all__ = ["os_error_advice"]


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
