"""The SLURM executor: the folds as SLURM array jobs, through submitit (the extra ``slurm``; docs/cluster.md).

Each :class:`~mmnet.train.tasks.FoldTask` becomes one element of an array job (``sbatch --array``,
at most ``slurm_array_parallelism`` running at once; more folds than the cluster's MaxArraySize take several
arrays) with its own CPUs, GPU, memory and time limit. The job calls :func:`~mmnet.train.fold.run_fold`, which
writes the fold's files into the run folder and memory-maps the frame cache by its path, so both must be on
storage that every node mounts at the same path (each job checks this first and fails with a message if not).

Faults, the same guarantees as the Ray executor:

- Preemption: submitit's signal (``--signal USR2@90``) calls :meth:`FoldJob.checkpoint`, which requeues the same
  fold; it continues from its last ``state.pt``. A job that SLURM itself requeues does the same.
- Time limit: the same, until ``max_retries`` stops in a row saved no new epoch (an epoch longer than the limit).
- A job that ends without a result (node failure, killed): the waiting command submits the fold again, up to
  ``max_retries`` times; it too continues from ``state.pt``. A cancelled job (scancel) or one out of memory is not
  submitted again (:mod:`~mmnet.train.slurm_collect`).
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
import subprocess
from pathlib import Path

from .. import run_folder as rf
from ..config import ExecutorConfig, slurm_minutes
from ..errors import ExecutorError, install_hint, verify_choice
from ..progress import write_line
from ..shell_words import shell_quote
from .faults import CRASH_ENV
from .slurm_collect import collect
from .slurm_fold_job import THREAD_VARIABLES, FoldJob
from .slurm_jobs import LIVE, follow_queued, record_jobs
from .slurm_options import epoch_warning, gpu_request, gpus_and_device, memory_warning, slurm_parameters, whole
from .tasks import FoldTask

__all__ = ["run_slurm", "import_submitit", "slurm_parameters", "FoldJob", "CLUSTER_ENV", "PREEMPT_ENV", "DEFAULT_TIME",
           "array_size"]

# "local" runs each job as a process on this machine through submitit's LocalExecutor (the tests;
# no queue, no array limit, and a later command cannot follow its jobs). Default: "slurm".
CLUSTER_ENV = "MMNET_SLURM_CLUSTER"
# Fault injection (docs/cluster.md): the path of a marker file. The first fold whose state.pt
# appears sends its own job submitit's preemption signal and creates the marker.
PREEMPT_ENV = "MMNET_TEST_PREEMPT_ONCE"
DEFAULT_TIME = "4:00:00"  # per fold job; a fold that needs longer is requeued and continues
_ARRAY = 1000  # elements per array where `scontrol show config` cannot tell (SLURM's default MaxArraySize is 1001)
# submitit stops requeueing a job after this many time-limit stops; FoldJob.checkpoint decides instead
_SUBMITIT_TIMEOUTS = 10_000


def import_submitit():
    try:
        import submitit
    except ImportError:
        raise ExecutorError(f"The SLURM executor needs submitit, an optional extra: {install_hint('slurm')}") from None
    return submitit


def array_size(cluster: str) -> int:
    """The most elements one array job may have here: MaxArraySize - 1 (``scontrol show config``), else 1000."""
    if cluster != "slurm":
        return _ARRAY
    try:
        text = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return _ARRAY
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "MaxArraySize" and value.strip().isdigit():
            return max(1, int(value.strip()) - 1)
    return _ARRAY


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
    cpus = whole("--cpus-per-fold", options.cpus_per_fold, 1, "SLURM gives whole CPUs")
    plan = [gpus_and_device(t, options.gpus_per_fold, options.slurm_gpu_type) for t in tasks]
    for line in (memory_warning(tasks, [device for _, device in plan], options.slurm_mem),
                 epoch_warning(tasks, minutes)):
        if line is not None:
            write_line(line)
    log_dir = _log_dir(tasks, options)
    name = "mmnet-" + Path(os.path.commonpath([str(Path(t.out_dir).absolute()) for t in tasks])).name
    fn = FoldJob(cpus, max_requeues=max_retries, crash_marker=os.environ.get(CRASH_ENV) or None,
                 preempt_marker=os.environ.get(PREEMPT_ENV) or None, minutes=minutes)
    # before srun: the user's lines (module load ...), then the thread pools sized to the job's CPUs
    setup = [*(options.slurm_setup or ()), "export " + " ".join(f"{v}={cpus}" for v in THREAD_VARIABLES)]
    most = array_size(cluster)

    def new_executor():  # a fresh one per array: parameters set to None would keep an earlier array's value
        try:
            return submitit.AutoExecutor(folder=log_dir, cluster=cluster, slurm_max_num_timeout=_SUBMITIT_TIMEOUTS,
                                         local_max_num_timeout=_SUBMITIT_TIMEOUTS)
        except RuntimeError as exc:  # SlurmExecutor: no srun on PATH
            raise ExecutorError(f"No SLURM on this machine ({exc}). Run mmnet on a login node of the cluster, where "
                                "sbatch and srun work, or use --executor local or ray.") from None

    new_executor()  # fails before anything is submitted

    def submit(indices: list[int]) -> dict[int, object]:
        jobs: dict[int, object] = {}
        for gpus in sorted({plan[i][0] for i in indices}):  # one array per resource request
            same = [i for i in indices if plan[i][0] == gpus]
            gpus_per_node, gres = gpu_request(gpus, options.slurm_gpu_type)
            for start in range(0, len(same), most):  # no array above the cluster's MaxArraySize
                group = same[start:start + most]
                executor = new_executor()
                executor.update_parameters(
                    name=name, timeout_min=minutes, cpus_per_task=cpus, gpus_per_node=gpus_per_node,
                    slurm_partition=options.slurm_partition, slurm_mem=options.slurm_mem,
                    # submitit's own default limit is 256 at once: without --slurm-array-parallelism, none
                    slurm_array_parallelism=options.slurm_array_parallelism or len(group),
                    slurm_additional_parameters={**extra, **gres} or None, slurm_setup=setup,
                    # srun of SLURM 22.05-23.02 does not pass the job's --cpus-per-task on to the step
                    slurm_srun_args=["--cpus-per-task", str(cpus)])
                try:
                    submitted = executor.map_array(fn, [tasks[i] for i in group], [plan[i][1] for i in group])
                except (RuntimeError, OSError, ValueError) as exc:  # sbatch's own message (a bad partition, a limit)
                    raise ExecutorError(f"sbatch refused the fold jobs: {str(exc).strip()}\nCheck --slurm-partition, "
                                        "--slurm-time, --slurm-mem and --slurm-param (`sinfo` lists partitions and "
                                        "limits); folds submitted before are kept.") from None
                for i, job in zip(group, submitted):
                    jobs[i] = LIVE[job.job_id] = job
                record_jobs(tasks, {i: jobs[i] for i in group}, cluster, log_dir)
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
