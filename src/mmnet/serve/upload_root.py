"""The server's upload folder, ``TMPDIR/mmnet-serve-<user>-<pid>-XXXX``: removed when the server stops normally;
those of a server that was killed (kill -9, the OOM killer, a power cut) are removed when the next one starts,
since they may hold a participant's whole uploaded video (docs/data-protection.md)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..processes import remove_folders_of_stopped

__all__ = ["make_upload_root", "PREFIX", "removed_message"]

PREFIX = "mmnet-serve-"


def _user() -> str:
    """This user's id (POSIX) or name, so that servers of different users on one computer keep apart."""
    if hasattr(os, "getuid"):
        return str(os.getuid())
    import getpass

    return "".join(c for c in getpass.getuser() if c.isalnum()) or "user"


def make_upload_root() -> tuple[Path, list[Path]]:
    """A fresh private folder for this server's uploads, and the folders of stopped servers removed first."""
    prefix = f"{PREFIX}{_user()}-"
    removed = remove_folders_of_stopped(Path(tempfile.gettempdir()), prefix)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-")), removed


def removed_message(removed: list[Path]) -> str | None:
    """The start-up line naming the folders of stopped servers removed, or None."""
    if not removed:
        return None
    n = len(removed)
    return (f"removed {n} upload folder{'s' if n > 1 else ''} left by a server that stopped without cleaning up: "
            + ", ".join(str(p) for p in removed))
