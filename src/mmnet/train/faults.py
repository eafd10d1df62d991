"""What the cluster executors (Ray, SLURM) share about folds that fail: the summary they raise at
the end, and the fault injection that the tests (and docs/cluster.md) use to prove retry + resume.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence

from ..errors import ExecutorError
from ..run_folder import STATE
from .tasks import FoldTask

__all__ = ["CRASH_ENV", "failed_folds_error", "after_first_checkpoint", "kill_this_process"]

# Fault injection, to prove retry + resume on a cluster (docs/cluster.md): the path of a marker
# file. The first fold whose first epoch checkpoint (state.pt) appears kills its own worker
# process with os._exit(1) and creates the marker, so the retry (and every other fold) runs
# normally.
CRASH_ENV = "MMNET_TEST_KILL_WORKER_ONCE"


def failed_folds_error(failures: Sequence[tuple[str, str]], total: int, where: str) -> ExecutorError:
    """The error raised once all folds have ended: the failed folds (label, error text) by name and the first error."""
    first = failures[0][1].strip()
    names = "\n".join(f"  - {label}" for label, _ in failures)
    return ExecutorError(f"{len(failures)} of {total} fold(s) failed on {where}:\n{names}\n"
                         f"First error:\n{first}\n"
                         "Finished folds are kept; fix the cause and rerun the same command to continue.")


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
