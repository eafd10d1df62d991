"""The server's upload folder, ``TMPDIR/mmnet-serve-<user>-<host>-<pid>-XXXX``, held by the server while it runs
(``mmnet.held_folders``): removed when the server stops normally; those of a server that was killed (kill -9, the
OOM killer, a power cut) are removed when the next one of this user on this host starts, since they may hold a
participant's whole uploaded video (docs/data-protection.md)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..held_folders import HeldFolder, hold_new_folder, remove_unheld

__all__ = ["make_upload_root", "PREFIX", "removed_message"]

PREFIX = "mmnet-serve-"


def _user() -> str:
    """This user's id (POSIX) or name, so that servers of different users on one computer keep apart."""
    if hasattr(os, "getuid"):
        return str(os.getuid())
    import getpass

    return "".join(c for c in getpass.getuser() if c.isalnum()) or "user"


def make_upload_root() -> tuple[HeldFolder, list[Path]]:
    """A fresh private folder for this server's uploads, held until its ``release()``, and the folders of stopped
    servers removed first."""
    prefix = f"{PREFIX}{_user()}-"
    base = Path(tempfile.gettempdir())
    removed = remove_unheld(base, prefix)
    return hold_new_folder(base, prefix), removed


def removed_message(removed: list[Path]) -> str | None:
    """The start-up line naming the folders of stopped servers removed, or None."""
    if not removed:
        return None
    n = len(removed)
    return (f"removed {n} upload folder{'s' if n > 1 else ''} left by a server that stopped without cleaning up: "
            + ", ".join(str(p) for p in removed))
