"""What each SLURM job runs: one fold (:class:`FoldJob`), and submitit's requeue hook for its time limit or
preemption."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from pathlib import Path

from .. import run_folder as rf
from ..errors import ExecutorError
from ..progress import write_line
from ..version import __version__
from .faults import after_first_checkpoint, kill_this_process
from .fold import run_fold
from .tasks import FoldTask

__all__ = ["FoldJob", "THREAD_VARIABLES", "allowed_cpus", "timed_out"]

# the thread pools of OpenMP, MKL and OpenBLAS (numpy, torch's CPU kernels): set in the job script, before any of
# them starts, to the job's CPUs (a login shell's OMP_NUM_THREADS would otherwise reach the job)
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def allowed_cpus() -> int | None:
    """The CPUs this process may run on (SLURM's cgroup or CPU mask), or None where that cannot be read."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return None


def timed_out(started: float, minutes: int, now: float) -> bool:
    """Whether a stop signal at ``now`` is the job's time limit rather than a preemption, by submitit's rule (its
    signal comes 90 s before the limit; a job stopped before 80% of its time, or 10 minutes before it, was
    preempted)."""
    limit = minutes * 60
    return now - started >= min(limit * 0.8, limit - 600)


class FoldJob:
    """What each job runs: one fold. :meth:`checkpoint` is submitit's requeue hook (time limit, preemption).

    Preemptions are always requeued (they are no fault of the fold). A time-limit stop after a new epoch was saved
    (state.pt changed) is requeued and resets the count; stops without one are counted: after more than
    ``max_requeues`` of those in a row the fold stops, since an epoch takes longer than its job's time limit."""

    # what an instance pickled by an earlier mmnet (a job still queued) lacks
    minutes, stops, state_stamp, started = 240, 0, None, 0.0

    def __init__(self, threads: int, max_requeues: int, crash_marker: str | None = None,
                 preempt_marker: str | None = None, minutes: int = 240):
        self.threads, self.max_requeues, self.minutes = threads, max_requeues, minutes
        self.stops = 0  # time-limit stops in a row without a new state.pt (a new one resets it)
        self.state_stamp: int | None = None  # state.pt's mtime at the last time-limit stop
        self.started = time.time()
        self.crash_marker, self.preempt_marker = crash_marker, preempt_marker
        self.version = __version__

    def __call__(self, task: FoldTask, device: str | None) -> dict:
        import torch

        self.started = time.time()
        host = socket.gethostname()
        _check_node_sees(task, self.version, host)
        if device == "cuda" and not torch.cuda.is_available():
            why = "this PyTorch is built without CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
            raise ExecutorError(f"{task.label}: its job on node {host} asked for a GPU, but {why} "
                                f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')}). Check that "
                                "--slurm-partition has GPUs (`sinfo -o '%P %G'`) and that the environment's torch "
                                "is a CUDA build; the fold was not trained on the CPU instead.")
        # --cpus-per-fold, but never more than the CPUs SLURM lets the job use (its mask may be smaller)
        threads = min(self.threads, allowed_cpus() or self.threads)
        torch.set_num_threads(threads)
        for name in THREAD_VARIABLES:
            os.environ[name] = str(threads)  # for any process the fold starts
        job = _job_name()
        write_line(f"{task.label}: on {host}, SLURM job {job}, {threads} torch thread(s), GPU "
                   f"{os.environ.get('CUDA_VISIBLE_DEVICES', 'none') if device == 'cuda' else 'none'}")
        stop = threading.Event()
        for marker, act in ((self.crash_marker, kill_this_process), (self.preempt_marker, _preempt_this_job)):
            if marker:
                threading.Thread(target=after_first_checkpoint, args=(task, marker, stop, act), daemon=True).start()
        try:  # per-epoch lines (one a minute) in the job's log
            return run_fold(task, progress=True, device=device, record_extra={"host": host, "slurm_job": job},
                            keep_process_settings=True)
        finally:
            stop.set()

    def checkpoint(self, task: FoldTask, device: str | None):
        """Called by submitit on the time-limit or preemption signal: the same fold again (it resumes from
        state.pt), or None (no requeue) after ``max_requeues`` time-limit stops without a new epoch saved."""
        from submitit.helpers import DelayedSubmission

        if not timed_out(self.started, self.minutes, time.time()):
            write_line(f"{task.label}: preempted; requeued (it continues from its last saved epoch)")
            return DelayedSubmission(self, task, device)
        state = Path(task.fold_dir) / rf.STATE
        stamp = state.stat().st_mtime_ns if state.exists() else None
        # a piece that saved an epoch made progress: only stops in a row without one count
        self.stops = 0 if stamp is not None and stamp != self.state_stamp else self.stops + 1
        self.state_stamp = stamp
        if self.stops > self.max_requeues:
            write_line(f"{task.label}: reached the time limit {self.stops} times in a row without saving an epoch; "
                       f"not requeued again (max_retries={self.max_requeues}): give each fold more --slurm-time")
            return None
        return DelayedSubmission(self, task, device)

    __submitit_checkpoint__ = checkpoint  # the name newer submitit looks for first


def _job_name() -> str:
    array, index = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    own = os.environ.get("SLURM_JOB_ID") or os.environ.get("SUBMITIT_LOCAL_JOB_ID") or "?"
    return f"{array}_{index} (id {own})" if array and index else own


def _preempt_this_job() -> None:
    import submitit

    os.kill(os.getpid(), getattr(signal, "SIG" + submitit.JobEnvironment.USR_SIG))


def _check_node_sees(task: FoldTask, version: str, host: str) -> None:
    if version != __version__:
        raise ExecutorError(f"node {host} runs mmnet {__version__} but the submitting command runs {version}: the jobs "
                            "must use the same mmnet (the same environment, on storage every node mounts).")
    for what, path in (("run folder", task.out_dir), ("frame cache", task.frames_path),
                       ("optical-flow cache", task.flows_path)):
        if path and not Path(path).exists():
            raise ExecutorError(f"node {host} does not see the {what} '{path}': the run folder (--out) and "
                                "data.cache_dir must be on storage that every node mounts at the same path "
                                "(docs/cluster.md).")
