"""One mmnet command at a time on a folder: a lock on a file in it, taken without waiting, whose holder line
(pid, host, start time, written once the lock is taken) names the command a second one is refused for.

The lock is the ``filelock`` package's (flock on Unix, the file's first byte locked on Windows). The system releases
it when the process ends, killed or not, so a stale lock never blocks a rerun. Without flock (no fcntl, or a file
system that answers ENOSYS), the lock is filelock's soft lock: the file's existence, holding filelock's own record of
its holder (pid, host), by which filelock breaks the lock of a holder that was killed. Which of the two is used is
decided here, before the lock is taken (filelock does not say which it took); where the file system refuses locks
otherwise (ENOLCK, EOPNOTSUPP), the command runs without one (logged); a folder where no lock file can be written
(permissions, a read-only file system) stops it at once. The holder line (flock) is emptied when the command ends (an
error or an interrupt included): one still there when the next command takes the lock tells that the previous one
was killed. The line is followed by a tag line (``TAG``): an mmnet from before it wrote the holder line without one,
and the earliest of those never emptied it, so an untagged line left in the file proves nothing by itself (the
caller's ``untagged`` decides). A folder the command made and left with nothing but the lock file is removed, while
the lock is still held where that is safe (flock), so that a command waiting for it never takes the lock of a deleted
file.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from filelock import FileLock, SoftFileLock, Timeout, UnixFileLock

from .utils import DISK_REFUSALS, check_writable, in_made_folder

__all__ = ["folder_lock", "read_holder", "UNSURE", "TAG"]

# The line written after the holder line: a holder line with it was written by an mmnet that empties the file when
# its command ends. One without it is an earlier mmnet's (before 2026-12-05 the line was never emptied).
TAG = "(emptied when this command ends)"

# What the holder a soft lock's rerun found says when that holder ran on another host.
UNSURE = "another host's process, which may have ended abruptly"

log = logging.getLogger("mmnet")

# A folder where no file can be written: the command stops before its work, which could not be saved there. Other
# errors (ENOLCK, EOPNOTSUPP, ENOSYS: a file system that takes no locks) let it run without a lock. A refused
# permission may be the lock file's alone (another user's, left by a run before in a shared run folder): the folder
# is probed for a new file before the command is stopped.
_REFUSED = {errno.EACCES, errno.EPERM}


def read_holder(path: Path) -> str:
    """The text of a lock file, or "" (none, or (Windows) its locked first byte cannot be read)."""
    try:
        with open(path, "rb") as f:
            return f.read(500).decode("utf-8", "replace").strip()
    except OSError:
        return ""


def _holder_line(text: str) -> str:
    """The holder line of a flock's file, without its tag line."""
    return text.split("\n", 1)[0].strip()


def _clear_holder(path: Path) -> None:
    with suppress(OSError):
        with open(path, "r+b") as f:
            f.truncate(0)


def _write_holder(path: Path) -> None:
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    try:
        with open(path, "r+b") as f:
            f.truncate(0)
            f.write(f"pid {os.getpid()} on host {socket.gethostname()}, started {started}\n{TAG}\n".encode())
    except OSError as exc:  # Windows: the lock's own handle alone may write its first byte
        log.debug("lock '%s' holds no holder line (%s)", path, exc)


@contextmanager
def folder_lock(out: Path, name: str, refused: Callable[[str], Exception], *, what: str = "folder",
                remove: bool = False, untagged: Callable[[], bool] = lambda: False) -> Iterator[str]:
    """Hold the lock on ``out/name`` for the ``with`` block (``out`` is made). ``refused(holder)`` is raised when
    another process holds it, ``holder`` naming it. Yields the holder line found in the file once the lock was
    taken: not empty when the previous holder ended abruptly (or, on another host, may have: ``UNSURE``).
    ``remove``: delete the lock file at the end also when the folder holds more (with flock only: a soft lock's file
    is its release's to delete). ``untagged()``: whether a holder line an earlier mmnet left (no ``TAG``) tells an
    abrupt end (by default not: the earliest left it after every command)."""
    created = not out.exists()
    path = out / name
    kind = _lock_kind(path)  # makes the folder
    holder = read_holder(path)
    lock = _new_lock(path, kind)
    left = ""
    try:
        try:
            # the folder is made again where the command before removed it (all it held was its lock) meanwhile
            in_made_folder(path, lock.acquire)
        except Timeout:
            raise refused((_soft_holder(holder) if kind == "soft" else _holder_line(holder))
                          or "a process that wrote nothing yet") from None
        except OSError as exc:  # a file system without locks (some network mounts): run without
            if not out.is_dir():  # no folder either: the error says why
                raise
            if exc.errno in DISK_REFUSALS or (exc.errno in _REFUSED and not _takes_files(out, name)):
                # a folder that refuses files: said now, not after all the work
                raise OSError(exc.errno, f"{exc.strerror or exc} (no file can be written in this {what})",
                              str(out)) from None
            log.warning("no lock on '%s' (%s): make sure no other mmnet command uses this %s", path, exc, what)
        else:
            if kind == "soft":  # the file is filelock's record, which it reads to break a killed holder's lock
                # there before, and the lock ours: filelock broke it, or its holder released it meanwhile
                left = _ended_holder(holder)
            else:
                left = read_holder(path)  # read again now it is ours: the previous holder did not clear it
                if left and TAG not in left.splitlines()[1:] and not untagged():
                    log.debug("lock '%s' holds an earlier mmnet's holder line (%s): no abrupt end told", path, left)
                    left = ""
                left = _holder_line(left)
                _write_holder(path)
        yield left
    finally:
        # the command failed before writing anything: leave no folder behind
        unused = created and out.is_dir() and [p.name for p in out.iterdir()] in ([], [name])
        if lock.is_locked:
            if kind != "soft":
                _clear_holder(path)
            if (unused or remove) and kind == "flock":
                _remove(path, out if unused else None)  # before the release: a command waiting then locks a new file
                unused = False
            lock.release()
        if unused:  # a soft lock's release deleted its file (a new one is another command's lock)
            _remove(None if kind == "soft" else path, out)


def _lock_kind(path: Path) -> str:
    """How the lock on ``path`` is taken: "flock", on a file that may be deleted while held (filelock takes a lock on
    an unlinked file for not held and locks the new file); "soft", filelock's soft lock, the file's existence, which
    its release deletes (no fcntl, or flock answers ENOSYS in ``path``'s folder, which is made); "other", a Windows
    lock (a locked file cannot be deleted)."""
    if issubclass(FileLock, SoftFileLock):  # filelock found no fcntl
        return "soft"
    if not issubclass(FileLock, UnixFileLock):
        return "other"
    try:
        return "flock" if in_made_folder(path, lambda: _flock_works(path.parent)) else "soft"
    except OSError:  # no file can be made there: the lock's own acquire says why
        return "flock"


def _flock_works(folder: Path) -> bool:
    """Whether the file system of ``folder`` takes flock: False where it answers ENOSYS (some FUSE and network file
    systems). Tried on a file of its own (unnamed where the system allows), never on the lock file, whose mere
    existence would be a soft lock."""
    import fcntl

    with tempfile.TemporaryFile(dir=folder) as probe:
        try:
            fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            return exc.errno != errno.ENOSYS  # another refusal: the lock's own acquire meets it and says so
    return True


def _new_lock(path: Path, kind: str) -> FileLock:
    if kind == "flock":  # never filelock's own fallback to a soft lock: this function decides the kind
        return FileLock(path, timeout=0, fallback_to_soft=False)
    if kind == "soft":
        return FileLock(path, timeout=0) if issubclass(FileLock, SoftFileLock) else SoftFileLock(path, timeout=0)
    return FileLock(path, timeout=0)


def _soft_holder(record: str) -> str:
    """The holder a soft lock's file names (filelock writes its pid and host on the first two lines), or ""."""
    found = re.match(r"(\d+)\n([^\n]*)", record)
    return f"pid {found.group(1)} on host {found.group(2)}" if found else record


def _ended_holder(record: str) -> str:
    """The holder a soft lock's record names, read before the lock was taken, when it did not release the lock
    itself: a process of this host that no longer runs, or one of another host (whose processes cannot be looked at,
    so it may have: the text then holds ``UNSURE``). "" for one still running, which ended cleanly between the
    reading of its record and the taking of the lock, or for no record."""
    found = re.match(r"(\d+)\n([^\n]*)", record)
    if not found:
        return ""
    pid, host = int(found.group(1)), found.group(2)
    if host != socket.gethostname():
        return f"pid {pid} on host {host}, {UNSURE}"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return f"pid {pid} on host {host}"
    except OSError:  # another user's process: still running
        return ""
    return ""


def _remove(path: Path | None, out: Path | None) -> None:
    """Delete the lock file and its folder; either may be another command's by now (it stays then)."""
    with suppress(OSError):
        if path is not None:
            path.unlink(missing_ok=True)
        if out is not None:
            out.rmdir()


def _takes_files(out: Path, name: str) -> bool:
    """Whether a new file can be made (and is removed at once) in ``out``: a lock file the command may not open
    can be another user's in a folder that still takes the command's files."""
    try:
        check_writable(out / f"{name}.probe")
    except OSError:
        return False
    return True
