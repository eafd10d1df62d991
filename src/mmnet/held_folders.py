"""Temporary folders held by the process that uses them (``mmnet serve``'s uploads, ``mmnet prepare``'s work), and
the removal of those left by a process killed before it could remove its own (kill -9, the OOM killer, a power cut).

A folder is ``<prefix><host>-<pid>-XXXX``; its process holds an exclusive lock (flock) on the file ``.owner.lock``
inside for as long as it uses it, and the system gives the lock up when the process ends, however it ends. Another
process removes a folder only if it can take that lock without waiting. The lock, not the pid, decides: a live
server in another PID namespace (a container sharing /tmp) keeps its folder, and a pid reused by an unrelated
process keeps none. Folders named for another host are never removed: a lock may not reach across machines on a
shared file system (NFS, cluster scratch). Without fcntl (Windows) the pid decides, as ``processes.process_alive``
answers it; so it does for folders of the previous name, ``<prefix><pid>-XXXX``, which had no lock.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import tempfile
import weakref
from pathlib import Path

from .processes import process_alive

try:
    import fcntl
except ImportError:  # Windows: no flock; whether the folder's process runs decides
    fcntl = None

__all__ = ["HeldFolder", "hold_new_folder", "remove_unheld", "host_name", "LOCK_NAME"]

LOCK_NAME = ".owner.lock"
_FLAGS = os.O_RDWR | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)


def host_name() -> str:
    """This computer's name as a folder name holds it: no "-" (it separates the name's parts), nothing odd."""
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname())[:64] or "host"


class HeldFolder:
    """A folder this process holds (its lock file locked) until :meth:`release`. One never released (a server's
    application never served, or stopped by an error before its server ran) is released when nothing refers to it
    any more or when this process exits normally; one whose process is killed is left to :func:`remove_unheld`."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path = path
        self._fd = fd
        self._end = weakref.finalize(self, _release, path, fd, os.getpid())

    def release(self) -> None:
        """Remove the folder and everything in it, then give up the hold (removed first: no other process may
        take it for a leftover while it is being emptied)."""
        self._end()
        self._fd = None

    def close(self) -> None:
        """Give up the hold and leave the folder: the next :func:`remove_unheld` removes it."""
        if self._end.detach() is not None and self._fd is not None:
            os.close(self._fd)
        self._fd = None


def _release(path: Path, fd: int | None, pid: int) -> None:
    """:meth:`HeldFolder.release`, also run at exit: by the holder only, not by a child it forked, whose exit
    leaves the folder of its still running parent."""
    if os.getpid() == pid:
        shutil.rmtree(path, ignore_errors=True)
    if fd is not None:
        os.close(fd)


def hold_new_folder(base: Path, prefix: str) -> HeldFolder:
    """A new private folder ``base/<prefix><host>-<pid>-XXXX`` (``base`` made if missing), held by this process."""
    base = Path(base)
    for _ in range(100):
        try:
            base.mkdir(parents=True, exist_ok=True)
            path = Path(tempfile.mkdtemp(prefix=f"{prefix}{host_name()}-{os.getpid()}-", dir=base))
        except FileNotFoundError:  # base removed meanwhile by another process, whose last folder in it was gone
            continue
        if fcntl is None:
            return HeldFolder(path, None)
        try:
            fd = os.open(path / LOCK_NAME, _FLAGS | os.O_CREAT, 0o600)
        except FileNotFoundError:  # removed (still empty, no lock file) by another process's remove_unheld
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # waits only while another process that took it for a leftover removes it
        except OSError:  # a file system without locks: held by nothing, and never removed by another (it cannot lock)
            return HeldFolder(path, fd)
        try:
            if os.stat(path / LOCK_NAME).st_ino == os.fstat(fd).st_ino:
                return HeldFolder(path, fd)
        except FileNotFoundError:
            pass
        os.close(fd)  # removed before this process took the lock: make another
    raise OSError(f"Could not make a temporary folder in '{base}' (it was removed 100 times while being made).")


def remove_unheld(base: Path, prefix: str) -> list[Path]:
    """Remove the folders ``<prefix><this host>-<pid>-*`` in ``base`` that no process holds: those of processes
    killed before they could remove their own. Also those of the previous name, ``<prefix><pid>-XXXX`` (no host, no
    lock; made by versions before the lock), whose process no longer runs, as those versions removed them. Only
    this user's (POSIX: by owner); a link is not followed. Returns those removed."""
    removed = []
    try:
        entries = list(Path(base).iterdir())
    except OSError:
        return removed
    pattern = re.compile(re.escape(prefix) + r"([A-Za-z0-9._]+)-(\d+)-[^/\\-]+")
    # mkdtemp's and prepare's suffixes hold no "-": one "-" after the pid is the previous name, two the current
    previous = re.compile(re.escape(prefix) + r"(\d+)-[^/\\-]+")
    for folder in entries:
        match, old = pattern.fullmatch(folder.name), previous.fullmatch(folder.name)
        if not old and (not match or match.group(1) != host_name()):  # not such a folder, or another host's
            continue
        try:
            st = folder.lstat()
        except OSError:  # removed meanwhile
            continue
        if not stat.S_ISDIR(st.st_mode) or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
            continue  # not a folder (a link to one is not followed), or another user's
        if old:  # no lock to ask: the pid decides, as it did when the folder was made
            gone = _remove_if_stopped(folder, int(old.group(1)))
        else:
            gone = _remove_if_unlocked(folder) if fcntl else _remove_if_stopped(folder, int(match.group(2)))
        if gone:
            removed.append(folder)
    return removed


def _remove_if_unlocked(folder: Path) -> bool:
    """Remove ``folder`` if its lock file can be locked without waiting (held while removing it, so that a process
    that just made it and waits for its lock makes another), or if it has none and is empty."""
    try:
        fd = os.open(folder / LOCK_NAME, _FLAGS)
    except FileNotFoundError:  # being made this moment, or its process was killed before it made the lock file
        try:
            folder.rmdir()  # only if empty: nothing of anyone's is lost
        except OSError:
            return False
        return True
    except OSError:  # not a plain file (a link), or not readable
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held by a running process (BlockingIOError), or a file system without locks: kept
            return False
        shutil.rmtree(folder, ignore_errors=True)
        return not folder.exists()
    finally:
        os.close(fd)


def _remove_if_stopped(folder: Path, pid: int) -> bool:
    """Without flock: remove ``folder`` if its process ``pid`` no longer runs on this host."""
    if process_alive(pid):
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return not folder.exists()
