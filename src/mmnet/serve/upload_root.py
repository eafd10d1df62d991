"""The server's upload folder, ``TMPDIR/mmnet-serve-<user>-<host>-<pid>-XXXX``, held by the server while it runs
(``mmnet.held_folders``): removed when the server stops normally; those of a server that was killed (kill -9, the
OOM killer, a power cut) are removed when the next one of this user on this host starts, since they may hold a
participant's whole uploaded video (docs/data-protection.md). So are the uploads left in folders of the first
versions' name, ``mmnet-serve-XXXXXXXX``, once nothing in them changed for a day (``remove_oldest_uploads``)."""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import time
from pathlib import Path

from ..held_folders import HeldFolder, hold_new_folder, remove_unheld

__all__ = ["make_upload_root", "PREFIX", "removed_message", "remove_oldest_uploads", "OLDEST_STALE_AFTER_S"]

PREFIX = "mmnet-serve-"
# The first versions' folders: tempfile.mkdtemp(prefix="mmnet-serve-"), eight of mkdtemp's characters (no "-", so
# never a later name), no user, host, pid or lock; one tempfile.mkdtemp(prefix="job-") folder in it per upload
_OLDEST = re.compile(re.escape(PREFIX) + r"[a-z0-9_]{8}")
_OLDEST_JOB = re.compile(r"job-[a-z0-9_]{8}")
#: Seconds without any change after which an upload of the first versions is a killed server's: those servers
#: removed an upload's folder when its analysis ended, and an analysis ends within --job-timeout (30 minutes unless
#: raised).
OLDEST_STALE_AFTER_S = 24 * 3600.0


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
    removed = remove_unheld(base, prefix) + remove_oldest_uploads(base)
    return hold_new_folder(base, prefix), removed


def remove_oldest_uploads(base: Path, now: float | None = None) -> list[Path]:
    """Remove the uploads left in folders ``base/mmnet-serve-XXXXXXXX`` of the first versions, which had no lock:
    in a folder of this user (a link is not followed) that holds nothing but upload folders ``job-XXXXXXXX``, each
    upload folder in which nothing changed (content or metadata) for ``OLDEST_STALE_AFTER_S``. The folder itself
    is kept, empty: a server of those versions that still runs goes on using it, and nothing tells whether one
    does. A folder holding anything else is someone else's: kept whole. Returns the upload folders removed."""
    now = time.time() if now is None else now
    removed = []
    try:
        entries = sorted(Path(base).iterdir())
    except OSError:
        return removed
    for folder in entries:
        if not _OLDEST.fullmatch(folder.name) or not _own_folder(folder):
            continue
        try:
            jobs = sorted(folder.iterdir())
        except OSError:
            continue
        if not all(_OLDEST_JOB.fullmatch(job.name) and _own_folder(job) for job in jobs):
            continue
        for job in jobs:
            changed = _last_change(job)
            if changed is not None and now - changed > OLDEST_STALE_AFTER_S:
                shutil.rmtree(job, ignore_errors=True)
                if not job.exists():
                    removed.append(job)
    return removed


def _own_folder(path: Path) -> bool:
    """Whether ``path`` is a folder (not a link to one) of this user (POSIX: by owner)."""
    try:
        st = path.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and (not hasattr(os, "getuid") or st.st_uid == os.getuid())


def _last_change(folder: Path) -> float | None:
    """When ``folder`` or anything in it last changed (the latest modification or metadata change: a copy that
    kept older modification times counts as new), links not followed; None when part of it cannot be read."""

    def unreadable(exc: OSError) -> None:
        raise exc

    latest = 0.0
    try:
        for parent, dirs, files in os.walk(folder, onerror=unreadable):
            for path in (parent, *(os.path.join(parent, name) for name in dirs + files)):
                st = os.lstat(path)
                latest = max(latest, st.st_mtime, st.st_ctime)
    except OSError:
        return None
    return latest


def removed_message(removed: list[Path]) -> str | None:
    """The start-up line naming the folders of stopped servers removed, or None."""
    if not removed:
        return None
    n = len(removed)
    return (f"removed {n} upload folder{'s' if n > 1 else ''} left by a server that stopped without cleaning up: "
            + ", ".join(str(p) for p in removed))
