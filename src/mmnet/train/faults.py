"""What the cluster executors (Ray, SLURM) share about folds that fail: the summary they raise at
the end, and the fault injection that the tests (and docs/cluster.md) use to prove retry + resume.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence

from ..errors import ExecutorError, MMNetError
from ..run_folder import STATE
from .tasks import FoldTask

__all__ = ["CRASH_ENV", "failed_folds_error", "local_fold_error", "folds_failed", "add_to_message",
           "after_first_checkpoint", "kill_this_process"]

# Fault injection, to prove retry + resume on a cluster (docs/cluster.md): the path of a marker
# file. The first fold whose first epoch checkpoint (state.pt) appears kills its own worker
# process with os._exit(1) and creates the marker, so the retry (and every other fold) runs
# normally.
CRASH_ENV = "MMNET_TEST_KILL_WORKER_ONCE"


def failed_folds_error(failures: Sequence[tuple[str, str]], total: int, where: str) -> ExecutorError:
    """The error raised once all folds have ended: the failed folds (label, error text) by name and the first error."""
    first = failures[0][1].strip()
    names = "\n".join(f"  - {label}" for label, _ in failures)
    return _fold_failure(ExecutorError(
        f"{len(failures)} of {total} fold(s) failed on {where}:\n{names}\nFirst error:\n{first}\n"
        "Finished folds are kept; fix the cause and rerun the same command to continue."))


def local_fold_error(label: str, exc: MMNetError, not_run: int) -> MMNetError:
    """A fold's error in the local executor, of the same type, naming the fold (a fold's own message may name
    only a file) and saying that the executor stopped there."""
    text = str(exc)
    named = f"seed {label.rsplit(' seed ', 1)[-1]}: "  # "seed S fold F: ", as a fold's own errors may start
    text = text.removeprefix(named)
    others = f" ({not_run} other fold(s) not run)" if not_run else ""
    message = (f"{label}: {text}\nThe local executor stops at the first failing fold{others}; finished "
               "folds are kept and rerunning the same command continues.")
    try:
        error = type(exc)(message)
    except TypeError:  # an error type with other arguments
        error = ExecutorError(message)
    return _fold_failure(error)


def _fold_failure(error: MMNetError) -> MMNetError:
    error.folds_failed = True  # type: ignore[attr-defined]  # the caller can still report the finished folds
    return error


def folds_failed(exc: BaseException) -> bool:
    """Whether an error says that folds failed (and the others ran): then the finished folds can be reported."""
    return bool(getattr(exc, "folds_failed", False))


def add_to_message(exc: BaseException, text: str) -> BaseException:
    """The same error (type, traceback, marks) with ``text`` added to its message."""
    exc.args = (f"{exc}\n{text}",)
    return exc


def kill_this_process() -> None:
    os._exit(1)


def after_first_checkpoint(task: FoldTask, marker: str, stop: threading.Event, act: Callable[[], None]) -> None:
    """Thread body: once the fold's state.pt exists, the first fold to create ``marker`` calls ``act``."""
    state = task.fold_dir / STATE
    while not stop.wait(0.01):
        if state.exists():
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return  # another fold (or an earlier attempt of this one) already did it
            act()
            return
