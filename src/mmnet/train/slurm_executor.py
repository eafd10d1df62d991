"""The SLURM executor: the folds as one SLURM array job, through submitit (the extra ``slurm``; docs/cluster.md).

Each :class:`~mmnet.train.tasks.FoldTask` becomes one element of an array job (``sbatch --array``,
at most ``slurm_array_parallelism`` running at once) with its own CPUs, GPUs, memory and time
limit. The job calls :func:`~mmnet.train.fold.run_fold`, which writes the fold's files into the run
folder and memory-maps the frame cache by its path, so both must be on storage that every node
mounts at the same path (each job checks this first and fails with a message if not).

Faults, the same guarantees as the Ray executor:

- Time limit or preemption: submitit's signal (``--signal USR2@90``) calls :meth:`FoldJob.checkpoint`,
  which requeues the same fold (at most ``max_retries`` times); it continues from its last
  per-epoch ``state.pt``. A job that SLURM itself requeues does the same.
- A job that ends without a result (node failure, killed, out of memory): the waiting command
  submits the fold again, up to ``max_retries`` times; it too continues from ``state.pt``.
- A Python error inside a fold is not retried (it would repeat); the other folds keep running and
  the failed ones are listed at the end with the first error.

``slurm-jobs.json`` in each run folder records the job of each fold: a rerun of the same command
follows jobs that are still queued or running instead of submitting their folds twice, and never
submits finished folds (``done.json``). A job submitted with another configuration (a rerun may change it
while no epoch has finished) is cancelled and its fold submitted again (:mod:`~mmnet.train.slurm_jobs`).
With ``no_wait`` the command submits and returns.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from pathlib import Path

from .. import run_folder as rf
from ..config import ExecutorConfig, slurm_minutes
from ..errors import ConfigError, ExecutorError, install_hint, verify_choice
from ..progress import write_line
from ..shell_words import shell_quote
from ..version import __version__
from .faults import CRASH_ENV, after_first_checkpoint, kill_this_process
from .fold import run_fold
from .slurm_collect import collect
from .slurm_jobs import LIVE, follow_queued, record_jobs
from .tasks import FoldTask

__all__ = ["run_slurm", "import_submitit", "slurm_parameters", "FoldJob", "CLUSTER_ENV", "PREEMPT_ENV", "DEFAULT_TIME"]

# "local" runs each job as a process on this machine through submitit's LocalExecutor (the tests;
# no queue, no array limit, and a later command cannot follow its jobs). Default: "slurm".
CLUSTER_ENV = "MMNET_SLURM_CLUSTER"
# Fault injection (docs/cluster.md): the path of a marker file. The first fold whose state.pt
# appears sends its own job submitit's preemption signal and creates the marker.
PREEMPT_ENV = "MMNET_TEST_PREEMPT_ONCE"
DEFAULT_TIME = "4:00:00"  # per fold job; a fold that needs longer is requeued and continues
# sbatch options that mmnet sets itself: --slurm-param may not change them.
_OWN = {"partition": "--slurm-partition", "time": "--slurm-time", "mem": "--slurm-mem",
        "cpus-per-task": "--cpus-per-fold", "gpus-per-node": "--gpus-per-fold", "array": "--slurm-array-parallelism",
        "output": "--slurm-log-dir", "error": "--slurm-log-dir", "signal": "nothing (requeue depends on it)",
        "open-mode": "nothing (logs of requeued jobs are appended)", "job-name": "nothing"}


def import_submitit():
    try:
        import submitit
    except ImportError:
        raise ExecutorError(f"The SLURM executor needs submitit, an optional extra: {install_hint('slurm')}") from None
    return submitit


def slurm_parameters(params) -> dict[str, str | bool]:
    """``--slurm-param`` values (``KEY=VALUE``, or ``KEY`` for a flag) as extra sbatch options."""
    out: dict[str, str | bool] = {}
    for item in params or ():
        key, eq, value = str(item).partition("=")
        key = key.strip().lstrip("-").replace("_", "-")
        if not key or (eq and not value.strip()):
            raise ConfigError(f"--slurm-param {item!r} is not KEY=VALUE (e.g. account=myproject, qos=normal)")
        if key in _OWN:
            raise ConfigError(f"--slurm-param {key} is set by mmnet; use {_OWN[key]} instead")
        out[key] = value.strip() if eq else True
    return out


def _whole(flag: str, value: float | None, default: int, why: str) -> int:
    if value is None:
        return default
    if value != int(value):
        raise ConfigError(f"{flag} must be a whole number with --executor slurm (got {value:g}): {why}")
    return int(value)


def _gpus_and_device(task: FoldTask, gpus: float | None) -> tuple[int, str | None]:
    device = task.config.train.device
    if device.startswith("cuda:"):
        raise ConfigError(f"train.device={device} cannot be used with the SLURM executor: SLURM assigns each fold its "
                          "GPU. Use train.device=auto (or cuda) with --gpus-per-fold.")
    n = _whole("--gpus-per-fold", gpus, 1 if device == "cuda" else 0,
               "SLURM gives whole GPUs; to share one GPU between folds use --executor ray")
    if n == 0 and device == "cuda":
        raise ConfigError("train.device=cuda but no GPU requested per fold: pass --gpus-per-fold 1.")
    return n, ("cpu" if n == 0 else None)  # None: the GPU(s) SLURM made visible to the job


class FoldJob:
    """What each job runs: one fold. :meth:`checkpoint` is submitit's requeue hook (time limit, preemption)."""

    def __init__(self, threads: int, max_requeues: int, crash_marker: str | None = None,
                 preempt_marker: str | None = None):
        self.threads, self.max_requeues, self.requeues = threads, max_requeues, 0
        self.crash_marker, self.preempt_marker = crash_marker, preempt_marker
        self.version = __version__

    def __call__(self, task: FoldTask, device: str | None) -> dict:
        import torch

        _check_node_sees(task, self.version)
        torch.set_num_threads(self.threads)  # the CPUs SLURM gave the job; a fold never oversubscribes its node
        stop = threading.Event()
        for marker, act in ((self.crash_marker, kill_this_process), (self.preempt_marker, _preempt_this_job)):
            if marker:
                threading.Thread(target=after_first_checkpoint, args=(task, marker, stop, act), daemon=True).start()
        try:
            return run_fold(task, progress=True, device=device)  # per-epoch lines (one a minute) in the job's log
        finally:
            stop.set()

    def checkpoint(self, task: FoldTask, device: str | None):
        """Called by submitit on the time-limit or preemption signal: the same fold again (it resumes from
        state.pt, which is written after every epoch), or None (no requeue) after ``max_requeues``."""
        from submitit.helpers import DelayedSubmission

        self.requeues += 1
        if self.requeues > self.max_requeues:
            write_line(f"{task.label}: stopped {self.requeues} times (time limit or preemption); not requeued again "
                       f"(max_retries={self.max_requeues})")
            return None
        return DelayedSubmission(self, task, device)

    __submitit_checkpoint__ = checkpoint  # the name newer submitit looks for first


def _preempt_this_job() -> None:
    import submitit

    os.kill(os.getpid(), getattr(signal, "SIG" + submitit.JobEnvironment.USR_SIG))


def _check_node_sees(task: FoldTask, version: str) -> None:
    host = socket.gethostname()
    if version != __version__:
        raise ExecutorError(f"node {host} runs mmnet {__version__} but the submitting command runs {version}: the jobs "
                            "must use the same mmnet (the same environment, on storage every node mounts).")
    for what, path in (("run folder", task.out_dir), ("frame cache", task.frames_path),
                       ("optical-flow cache", task.flows_path)):
        if path and not Path(path).exists():
            raise ExecutorError(f"node {host} does not see the {what} '{path}': the run folder (--out) and "
                                "data.cache_dir must be on storage that every node mounts at the same path "
                                "(docs/cluster.md).")


def _log_dir(tasks: list[FoldTask], options: ExecutorConfig) -> Path:
    if options.slurm_log_dir:
        return Path(options.slurm_log_dir).expanduser().absolute()
    outs = sorted({str(Path(t.out_dir).absolute()) for t in tasks})
    return Path(outs[0] if len(outs) == 1 else os.path.commonpath(outs)) / rf.SLURM_LOGS  # a sweep: OUT/slurm-logs


def run_slurm(tasks: list[FoldTask], options: ExecutorConfig, *, progress: bool = True,
              finished: int = 0) -> list[dict]:
    """Run the folds as SLURM jobs (see the module docstring); ``[]`` with ``no_wait`` (nothing waited for).

    Raises:
        ConfigError: a resource option SLURM cannot take.
        ExecutorError: submitit or SLURM missing, sbatch refused the jobs, or some folds failed
            (finished folds are kept; rerunning the same command continues).
    """
    submitit = import_submitit()
    if not tasks:
        return []
    cluster = str(verify_choice(CLUSTER_ENV, os.environ.get(CLUSTER_ENV) or "slurm", ("slurm", "local")))
    max_retries = 3 if options.max_retries is None else options.max_retries
    extra = slurm_parameters(options.slurm_params)
    minutes = slurm_minutes(options.slurm_time or DEFAULT_TIME)
    cpus = _whole("--cpus-per-fold", options.cpus_per_fold, 1, "SLURM gives whole CPUs")
    plan = [_gpus_and_device(t, options.gpus_per_fold) for t in tasks]
    log_dir = _log_dir(tasks, options)
    name = "mmnet-" + Path(os.path.commonpath([str(Path(t.out_dir).absolute()) for t in tasks])).name
    fn = FoldJob(cpus, max_requeues=max_retries, crash_marker=os.environ.get(CRASH_ENV) or None,
                 preempt_marker=os.environ.get(PREEMPT_ENV) or None)

    def new_executor():  # a fresh one per array: parameters set to None would keep an earlier array's value
        try:
            return submitit.AutoExecutor(folder=log_dir, cluster=cluster, slurm_max_num_timeout=max_retries,
                                         local_max_num_timeout=max_retries)
        except RuntimeError as exc:  # SlurmExecutor: no srun on PATH
            raise ExecutorError(f"No SLURM on this machine ({exc}). Run mmnet on a login node of the cluster, where "
                                "sbatch and srun work, or use --executor local or ray.") from None

    new_executor()  # fails before anything is submitted

    def submit(indices: list[int]) -> dict[int, object]:
        jobs: dict[int, object] = {}
        for gpus in sorted({plan[i][0] for i in indices}):  # one array per resource request
            group = [i for i in indices if plan[i][0] == gpus]
            executor = new_executor()
            executor.update_parameters(
                name=name, timeout_min=minutes, cpus_per_task=cpus, gpus_per_node=gpus or None,
                slurm_partition=options.slurm_partition, slurm_mem=options.slurm_mem,
                slurm_array_parallelism=options.slurm_array_parallelism, slurm_additional_parameters=extra or None)
            try:
                submitted = executor.map_array(fn, [tasks[i] for i in group], [plan[i][1] for i in group])
            except (RuntimeError, OSError, ValueError) as exc:  # sbatch's own message (a bad partition, a limit)
                raise ExecutorError(f"sbatch refused the fold jobs: {str(exc).strip()}\nCheck --slurm-partition, "
                                    "--slurm-time, --slurm-mem and --slurm-param (`sinfo` lists partitions and "
                                    "limits); folds submitted before are kept.") from None
            for i, job in zip(group, submitted):
                jobs[i] = LIVE[job.job_id] = job
        record_jobs(tasks, jobs, cluster, log_dir)
        return jobs

    jobs = follow_queued(submitit, tasks, cluster)
    followed = len(jobs)
    todo = [i for i in range(len(tasks)) if i not in jobs]
    new = submit(todo) if todo else {}
    jobs.update(new)
    ids = sorted({str(j.job_id).split("_")[0] for j in new.values()})
    write_line(f"SLURM: {len(new)} fold job(s) submitted" + (f" ({', '.join(ids)})" if ids else "")
               + (f", {followed} still queued or running from an earlier start" if followed else "")
               + f"; logs in {log_dir}")
    if options.no_wait:
        outs = sorted({t.out_dir for t in tasks})
        run = shell_quote(outs[0]) if len(outs) == 1 else "RUN"
        write_line("Not waiting (--no-wait): `squeue --me` shows the jobs. When they have ended, rerun the same "
                   "command (it submits only the folds that are neither finished nor queued, then writes the "
                   f"report), or build the report with `mmnet report {run}`.")
        return []
    return collect(tasks, jobs, submit, max_retries, progress, finished, poll=1.0 if cluster == "local" else 5.0,
                   cluster=cluster)
