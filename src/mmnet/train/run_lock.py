"""One driver per run folder: an advisory lock on ``RUN/.driver.lock`` while a command prepares the run and
runs (or follows) its folds.

Two ``mmnet train`` (or ``sweep``) commands on one folder would both train every fold. The lock is an
``fcntl.flock`` on the file, taken without waiting: the second command stops with a message naming the first
(pid, host, start time, written in the file). The kernel releases it when the process ends, killed or not, so a
stale lock never blocks a rerun. Ray workers and SLURM jobs do not take it, and a ``--no-wait`` command releases
it when it returns. Where fcntl does not exist (Windows) or the file system has no locks, there is no lock.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .. import run_folder as rf
from ..errors import ExecutorError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["driver_lock"]

log = logging.getLogger("mmnet.train")
_HELD: set[str] = set()  # run folders this process holds (a sweep's or a restart's nested use is no second lock)


@contextmanager
def driver_lock(out_dir: str | Path) -> Iterator[None]:
    """Hold the run folder's driver lock for the ``with`` block (the folder is created; removed again when the
    lock file is all this command left in it). ExecutorError when another process holds it."""
    out = Path(out_dir)
    key = str(out.absolute())
    if fcntl is None or key in _HELD:
        yield
        return
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    path = out / rf.DRIVER_LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 500, 0).decode("utf-8", "replace").strip() or "a process that wrote nothing yet"
            raise ExecutorError(
                f"'{out}' is in use by another mmnet command ({holder}): two commands on one run folder would both "
                "train every fold. Wait for it to end, or stop it (a rerun of the same command then continues "
                "where it stopped), or use another --out.") from None
        except OSError as exc:  # a file system without locks (some network mounts): run without
            log.warning("no lock on '%s' (%s): make sure no other mmnet command uses this run folder", path, exc)
        else:
            os.ftruncate(fd, 0)
            started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            os.pwrite(fd, f"pid {os.getpid()} on host {socket.gethostname()}, started {started}\n".encode(), 0)
        _HELD.add(key)
        try:
            yield
        finally:
            _HELD.discard(key)
    finally:
        os.close(fd)  # releases the lock
        if created and out.is_dir() and [p.name for p in out.iterdir()] == [rf.DRIVER_LOCK]:
            path.unlink(missing_ok=True)  # the command failed before writing anything: leave no folder behind
            out.rmdir()
