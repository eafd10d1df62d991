"""One driver per run folder: a lock on ``RUN/.driver.lock`` while a command prepares the run and runs (or
follows) its folds.

Two ``mmnet train`` (or ``sweep``) commands on one folder would both train every fold. The lock is the
``filelock`` package's (flock on Unix, the file's first byte locked on Windows), taken without waiting: the second
command stops with a message naming the first (pid, host, start time, written in the file after the lock is
taken). The system releases it when the process ends, killed or not, so a stale lock never blocks a rerun. Ray
workers and SLURM jobs do not take it, and a ``--no-wait`` command releases it when it returns. Without flock
(no fcntl), filelock falls back to its soft lock (the file's existence); where the file system refuses locks,
the command runs without one (logged). The holder line is emptied when the command ends (an error or an
interrupt included), so a rerun that finds it still there knows the previous command was killed (SIGKILL, the
out-of-memory killer) and says so in its first line. A holder line an earlier mmnet wrote (untagged: before
2026-12-05 it was never emptied) counts only where the folder's status.json says that command was still running.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

from .. import run_folder as rf
from ..errors import ExecutorError
from ..folder_lock import UNSURE, folder_lock
from ..progress import write_line
from ..run_status import read_status

__all__ = ["driver_lock", "restart_lock", "set_aside", "ended_abruptly", "abrupt_end_note", "ABRUPT_END",
           "ABRUPT_MAYBE"]

_HELD: set[str] = set()  # run folders this process holds (a sweep's or a restart's nested use is no second lock)
_ABRUPT: dict[str, str] = {}  # held run folders whose previous driver ended without its clean-up: its holder

# What a rerun adds to its first line when the previous command on the folder ended abruptly.
ABRUPT_END = ("the previous run stopped abruptly (killed, or out of memory: see `dmesg`; a smaller train.batch_size "
              "uses less memory)")
# The same when that command ran on another host (a lock file without flock): whether it still runs is unknown here.
ABRUPT_MAYBE = ("the previous run, on another host, may have stopped abruptly (killed, or out of memory: see `dmesg` "
                "there; a smaller train.batch_size uses less memory)")


def ended_abruptly(out_dir: str | Path) -> bool:
    """Whether the command before this one on a run folder (whose lock this process holds) ended, or on another
    host may have ended, without its clean-up: SIGKILL, the kernel's out-of-memory killer, a power cut. Its holder
    line was still in the lock file."""
    return str(Path(out_dir).absolute()) in _ABRUPT


def abrupt_end_note(out_dirs) -> str | None:
    """What a rerun on ``out_dirs`` says of the command before it: ``ABRUPT_END``, ``ABRUPT_MAYBE`` (it ran on
    another host) or None (it ended cleanly)."""
    left = [_ABRUPT[str(Path(d).absolute())] for d in out_dirs if ended_abruptly(d)]
    if not left:
        return None
    return ABRUPT_MAYBE if all(UNSURE in holder for holder in left) else ABRUPT_END


def _refused(out: Path) -> Callable[[str], Exception]:
    return lambda holder: ExecutorError(
        f"'{out}' is in use by another mmnet command ({holder}): two commands on one run folder would both train "
        "every fold. Wait for it to end, or stop it (a rerun of the same command then continues where it stopped), "
        "or use another --out.")


def _was_running(out: Path) -> bool:
    """Whether the run's status.json says its last command never ended (no status.json: an mmnet from before it,
    whose holder line tells nothing; a sweep's folder has its own status.json)."""
    status = read_status(out)
    return bool(status) and status.get("state") in ("running", "stopped abruptly")


@contextmanager
def driver_lock(out_dir: str | Path) -> Iterator[None]:
    """Hold the run folder's driver lock for the ``with`` block (the folder is created; removed again when the
    lock file is all this command left in it). ExecutorError when another process holds it."""
    out = Path(out_dir)
    key = str(out.absolute())
    if key in _HELD:
        yield
        return
    with folder_lock(out, rf.DRIVER_LOCK, _refused(out), what="run folder", untagged=lambda: _was_running(out)) as left:
        if left:
            _ABRUPT[key] = left
        _HELD.add(key)
        try:
            yield
        finally:
            _HELD.discard(key)
            _ABRUPT.pop(key, None)


@contextmanager
def restart_lock(out_dir: str | Path) -> Iterator[Path | None]:
    """The driver lock of a run started again: the earlier run is moved by :func:`set_aside` holding its lock, and
    the new folder's lock is taken before that one is released, so no other command takes the folder in between.
    The moved folder's lock file goes (nobody drives that run). Yields where the earlier run went (None: nowhere).

    On Windows a folder cannot be renamed while a file in it is open, so there the earlier run's lock is
    released just before the move: another command starting at that very moment either keeps the earlier run
    in place (the move fails) or takes the new folder (this one stops, naming it)."""
    out = Path(out_dir)
    key = str(out.absolute())
    nested = key in _HELD  # a caller holding this folder already keeps its own lock
    with ExitStack() as locks:
        earlier = locks.enter_context(ExitStack())
        earlier.enter_context(driver_lock(out))
        moved = set_aside(out, before_move=earlier.close if sys.platform == "win32" and not nested else None)
        if moved is not None and not nested:
            with suppress(OSError):  # (Windows: a held file cannot be deleted; it stays, unlocked, when released)
                (moved / rf.DRIVER_LOCK).unlink()
            _HELD.discard(key)  # the folder at this path is a new one: its own lock
            _ABRUPT.pop(key, None)  # and no previous run
            locks.enter_context(driver_lock(out))
        yield moved


def set_aside(out: str | Path, before_move: Callable[[], object] | None = None) -> Path | None:
    """Move a run folder to ``<out>.old-<time>`` (nothing is deleted) and return where; None if absent. Its SLURM
    jobs still queued or running are cancelled first (they would write into a new run at the same path).
    ``before_move`` is called just before the folder is renamed."""
    out = Path(out)
    if not out.exists() or not any(p.name != rf.DRIVER_LOCK for p in out.iterdir()):  # the lock alone: no run
        return None
    if (out / rf.SLURM_JOBS).exists():
        from .slurm_jobs import cancel_recorded

        if cancelled := cancel_recorded(out):  # ExecutorError, nothing moved, when they cannot be cancelled
            write_line(f"cancelled {len(cancelled)} SLURM job(s) of the run in {out} still queued or running "
                       f"({', '.join(cancelled)})")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = out.with_name(f"{out.name}.old-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = out.with_name(f"{out.name}.old-{stamp}-{n}")
    if before_move is not None:
        before_move()
    out.rename(target)
    return target
