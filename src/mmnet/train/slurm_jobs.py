"""The SLURM executor's record of fold jobs (``RUN/slurm-jobs.json``): which job last ran each fold, and with
what configuration.

A rerun follows a recorded job that is still queued or running instead of submitting its fold twice, but only
when that job was submitted with this run's configuration: a rerun may change the config while no epoch has
finished, and a job pickled with the old one would train the fold under settings that config.yaml no longer
shows. Such jobs are cancelled and their folds submitted anew. ``train --restart`` cancels the recorded jobs
still queued or running before it moves the run aside, so that none of them writes into the new run.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from .. import run_folder as rf
from ..config import config_to_dict
from ..config_effect import effective_config
from ..errors import ExecutorError, install_hint
from ..progress import write_line
from ..utils import atomic_write_text
from .resume_rules import experiment_values
from .slurm_state import is_active, refresh_controller
from .tasks import FoldTask

__all__ = ["LIVE", "config_digest", "read_records", "fold_key", "record_jobs", "follow_queued", "cancel_recorded"]

LIVE: dict[str, object] = {}  # job id -> the submitit Job this process submitted (a local job is followed by it)


def config_digest(task: FoldTask) -> str:
    """What a fold's job was submitted with: a digest of the resolved config without what a resume may change
    (the seed list, where the data lie, train.final_fit, train.tensorboard: ``resume_rules``) and with its inert keys
    at their defaults (``config_effect``), so that a rerun the resume check takes follows the running folds instead
    of cancelling them."""
    values = experiment_values(effective_config(config_to_dict(task.config)))
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]


def read_records(out_dir: str | Path) -> dict:
    path = Path(out_dir) / rf.SLURM_JOBS
    try:
        records = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, ValueError):
        return {}  # only bookkeeping: without it a rerun submits the unfinished folds again
    return records if isinstance(records, dict) else {}


def fold_key(task: FoldTask) -> str:
    return task.fold_dir.relative_to(task.out_dir).as_posix()


def record_jobs(tasks: list[FoldTask], jobs: dict[int, object], cluster: str, log_dir: Path) -> None:
    by_run: dict[str, list[int]] = {}
    for i in jobs:
        by_run.setdefault(tasks[i].out_dir, []).append(i)
    # ISO 8601 in UTC with its offset: the local time alone is ambiguous to whoever reads it from another time zone
    # (or across a daylight-saving change); nothing parses the stamp, so records without an offset read as before
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for out_dir, indices in by_run.items():
        records = read_records(out_dir)
        for i in indices:
            before = records.get(fold_key(tasks[i]))
            # the fold's earlier jobs, oldest first: where to look for the logs of its earlier attempts
            previous = [*before.get("previous", []), before.get("job_id")] if isinstance(before, dict) else []
            records[fold_key(tasks[i])] = {"job_id": jobs[i].job_id, "cluster": cluster, "log_dir": str(log_dir),
                                           "submitted": stamp, "config": config_digest(tasks[i]),
                                           "previous": [str(p) for p in previous if p]}
        atomic_write_text(Path(out_dir) / rf.SLURM_JOBS, json.dumps(records, indent=2) + "\n")


def _handle(submitit, rec: object, cluster: str):
    """The submitit Job of a record of this cluster kind, or None."""
    if not isinstance(rec, dict) or rec.get("cluster") != cluster or not rec.get("job_id"):
        return None
    job = LIVE.get(str(rec["job_id"]))
    if job is None and cluster == "slurm":
        job = submitit.SlurmJob(folder=rec.get("log_dir", "."), job_id=str(rec["job_id"]))
    return job


def _active(job, cluster: str) -> bool:
    if cluster == "slurm":  # a job sacct has no record of is asked of the controller (squeue), else counts as alive
        return is_active(job)
    return not job.paths.result_pickle.exists() and not job.done()


def _active_jobs(submitit, handles: dict, cluster: str) -> dict:
    if cluster == "slurm" and handles:
        submitit.SlurmJob.watcher.update()  # one sacct call for all of them
        refresh_controller(handles.values(), force=True)  # one squeue call for those sacct has no word on
    return {k: job for k, job in handles.items() if _active(job, cluster)}


def _cancel(jobs: list, why: str) -> None:
    """Cancel jobs (scancel); an ExecutorError naming them when that fails (they would go on writing)."""
    ids = ", ".join(str(job.job_id) for job in jobs)
    try:
        for job in jobs:
            job.cancel(check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise ExecutorError(f"Could not cancel the SLURM job(s) {ids} ({why}): {exc}. Cancel them yourself "
                            f"(`scancel {' '.join(str(job.job_id) for job in jobs)}`) and rerun.") from None


def follow_queued(submitit, tasks: list[FoldTask], cluster: str) -> dict[int, object]:
    """The folds whose recorded job is still queued or running with this configuration (a rerun follows it
    instead of submitting again); recorded jobs of another configuration are cancelled (their folds go again)."""
    handles, recorded = {}, {}
    for i, task in enumerate(tasks):
        rec = read_records(task.out_dir).get(fold_key(task))
        job = _handle(submitit, rec, cluster)
        if job is not None:
            handles[i], recorded[i] = job, rec.get("config")
    active = _active_jobs(submitit, handles, cluster)
    # a record without a digest (an earlier mmnet's) is followed: nothing says that its job differs
    stale = [i for i in active if recorded[i] is not None and recorded[i] != config_digest(tasks[i])]
    if stale:
        _cancel([active[i] for i in stale], "submitted with another configuration")
        write_line(f"SLURM: cancelled {len(stale)} queued or running job(s) of an earlier start that were submitted "
                   f"with another configuration ({', '.join(str(active[i].job_id) for i in stale)}); their folds "
                   "are submitted again with this one")
    return {i: job for i, job in active.items() if i not in stale}


def cancel_recorded(out_dir: str | Path) -> list[str]:
    """Cancel the jobs recorded in a run folder that are still queued or running (``train --restart``, before the
    run is moved aside); their ids. ExecutorError when they cannot be checked or cancelled."""
    records = read_records(out_dir)
    if not records:
        return []
    try:
        import submitit
    except ImportError:
        ids = sorted(str(r.get("job_id")) for r in records.values() if isinstance(r, dict))
        raise ExecutorError(f"'{out_dir}' records SLURM jobs ({', '.join(ids)}) that may still be queued or running, "
                            f"and submitit is needed to check them ({install_hint('slurm')}). Cancel them "
                            f"(`scancel ...`) or install it, then use --restart again; nothing was moved.") from None
    active: dict[str, object] = {}
    for cluster in ("slurm", "local"):
        handles = {key: job for key, rec in records.items() if (job := _handle(submitit, rec, cluster)) is not None}
        active.update(_active_jobs(submitit, handles, cluster))
    if active:
        _cancel(list(active.values()), f"still queued or running for '{out_dir}'; nothing was moved")
    return [str(job.job_id) for job in active.values()]
