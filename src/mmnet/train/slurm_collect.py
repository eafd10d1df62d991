"""Waiting for the fold jobs of the SLURM executor: one line per finished fold, lost jobs submitted again.

A fold's job is waited for while SLURM calls it alive (queued, running, suspended, held, requeued: any state of
:data:`~mmnet.train.slurm_state.ACTIVE`, or a state nobody could tell). Once it has ended:

- with a result: the fold's record, or its Python error (not retried: it would repeat);
- cancelled (``scancel`` by its owner or an admin): not submitted again, the fold is listed as failed;
- out of memory: not submitted again (it would run out again), with the ``--slurm-mem`` to ask for;
- preempted and cancelled by SLURM (``PreemptMode=CANCEL``) after saving a new epoch: submitted again, not
  counted (no fault of the fold; a preemption without a new epoch counts, which bounds an endless loop);
- otherwise (node failure, killed, forgotten by SLURM): submitted again, up to ``max_retries`` times.

A job that ended without a result in sight is first given submitit's time for its result to show (on NFS, sacct
may say COMPLETED before result.pkl and done.json are visible on the login node): only then is it lost.
"""

from __future__ import annotations

import time
from pathlib import Path

from .. import run_folder as rf
from ..errors import Terminated
from ..progress import FoldProgress, write_line
from .faults import failed_folds_error
from .slurm_state import GONE, recheck_held, refresh_controller, result_visible, result_wait_s, slurm_state
from .tasks import FoldTask

__all__ = ["collect"]


def _state_stamp(task: FoldTask) -> int | None:
    """state.pt's mtime: whether a fold saved an epoch between two moments."""
    try:
        return (Path(task.fold_dir) / rf.STATE).stat().st_mtime_ns
    except OSError:
        return None


def _lost_text(job, state: str) -> str:
    return f"SLURM job {job.job_id} ended without a result (state {state}); its log: {job.paths.stderr}"


def collect(tasks: list[FoldTask], jobs: dict, submit, max_retries: int, progress: bool, finished: int,
            poll: float, cluster: str = "slurm") -> list[dict]:
    """Wait for the jobs (any order); one line per fold; resubmit lost jobs; raise once at the end on failures."""
    from submitit.core.utils import FailedJobError

    results: list[dict | None] = [None] * len(tasks)
    failures: list[tuple[int, str]] = []
    retries = dict.fromkeys(jobs, 0)
    ended: dict[int, float] = {}  # fold -> when its job was first seen ended without a result in sight
    stamps = {i: _state_stamp(tasks[i]) for i in jobs}  # state.pt when each job was submitted (or first followed)
    folds = FoldProgress(len(tasks), progress=progress, finished=finished)

    def fail(i: int, text: str, kind: str) -> None:
        failures.append((i, text))
        folds.failed(tasks[i].label, kind)

    try:
        while jobs:
            lost = []
            if cluster == "slurm":
                refresh_controller(jobs.values())  # one squeue call a minute at most, for all jobs sacct misses
                recheck_held(jobs.values())  # held or suspended jobs: submitit would not ask sacct about them again
            for i, job in list(jobs.items()):
                if cluster == "slurm" and not result_visible(job):
                    state, alive = slurm_state(job)
                    if alive:
                        ended.pop(i, None)
                        continue
                    # its result may still be on its way to this node's view of the folder: wait for it, bounded
                    if time.monotonic() - ended.setdefault(i, time.monotonic()) < result_wait_s(job):
                        continue
                    error = None
                elif not job.done():  # submitit's local executor, or a slurm job with its result written
                    continue
                else:
                    state, error = str(job.state), job.exception()
                    if error is None:
                        del jobs[i]
                        results[i] = job.result()
                        folds.done(tasks[i].label, results[i])
                        continue
                del jobs[i]
                ended.pop(i, None)
                label = tasks[i].label
                if state == GONE:
                    state = "gone: neither sacct nor squeue lists it"
                if isinstance(error, FailedJobError):  # a Python error in the fold: it would repeat
                    fail(i, *_python_error(str(error), job, max_retries))
                elif (recorded := rf.finished_result(tasks[i].fold_dir)) is not None:  # died after its done.json
                    results[i] = recorded
                    folds.done(label, recorded)
                elif state.startswith("PREEMPTED") and _state_stamp(tasks[i]) != stamps[i]:
                    write_line(f"  {label}: SLURM job {job.job_id} was preempted after saving an epoch; submitted "
                               "again (not counted as a retry)")
                    lost.append(i)
                elif state.startswith("CANCELLED"):  # someone's scancel: submitting it again would undo their decision
                    write_line(f"  {label}: SLURM job {job.job_id} was cancelled ({state}); not submitted again "
                               "(rerun the same command to submit this fold again)")
                    fail(i, f"{_lost_text(job, state)}. It was cancelled (scancel by you or an admin), so it was not "
                            "submitted again; rerun the same command to submit this fold again.", "cancelled")
                elif state.startswith("OUT_OF_MEMORY"):
                    write_line(f"  {label}: SLURM job {job.job_id} ran out of memory; not submitted again (it would "
                               "again): raise --slurm-mem and rerun the same command")
                    fail(i, f"{_lost_text(job, state)}. It ran out of its memory, and would again: rerun the same "
                            "command with a larger --slurm-mem (or a smaller train.batch_size).", "out of memory")
                elif retries[i] < max_retries:  # node failure, killed, forgotten by SLURM
                    retries[i] += 1
                    write_line(f"  {label}: SLURM job {job.job_id} ended without a result ({state}); "
                               f"submitted again ({retries[i]}/{max_retries})")
                    lost.append(i)
                else:
                    fail(i, f"SLURM job {job.job_id} ended without a result {max_retries + 1} times (last state "
                            f"{state}); its log: {job.paths.stderr}" + (f"\n{error}" if error else ""), "job lost")
            if lost:
                stamps.update({i: _state_stamp(tasks[i]) for i in lost})
                jobs.update(submit(lost))
            if jobs:
                time.sleep(poll)
    except KeyboardInterrupt as exc:
        _interrupted(jobs, isinstance(exc, Terminated))
        raise
    finally:
        folds.close()
    if failures:
        raise failed_folds_error([(tasks[i].label, text) for i, text in failures], len(tasks), "SLURM")
    return results  # type: ignore[return-value]


def _interrupted(jobs: dict, terminated: bool) -> None:
    """Ctrl-C stops the cluster's work too (finished folds and checkpoints are kept); SIGTERM (``kill``, the
    driver's own time limit) leaves the jobs running for a rerun to follow."""
    ids = ", ".join(sorted(str(job.job_id) for job in jobs.values()))
    if terminated:
        write_line(f"SLURM: {len(jobs)} fold job(s) left running ({ids}); rerun the same command to follow them "
                   "(`scancel` them to stop them)")
        return
    for job in jobs.values():
        job.cancel(check=False)
    write_line(f"SLURM: cancelled {len(jobs)} fold job(s) ({ids}); finished folds and saved epochs are kept")


def _python_error(message: str, job, max_retries: int) -> tuple[str, str]:
    """submitit's FailedJobError text -> (the job's traceback and its log, the exception's name)."""
    parts = message.split("-" * 22 + "\n")
    trace = parts[1].strip() if len(parts) >= 3 else message.strip()
    last = trace.splitlines()[-1] if trace else ""
    kind = last.split(":", 1)[0].rsplit(".", 1)[-1] or "error"
    if "Job not requeued because" in last:  # FoldJob.checkpoint gave up: time-limit stops without a new epoch
        trace = (f"the job reached its time limit more than max_retries={max_retries} times in a row without saving "
                 "a new epoch (preemptions are not counted): an epoch takes longer than --slurm-time allows. Give "
                 "each fold more time (--slurm-time); the fold continues from its last saved epoch when the same "
                 "command is rerun.")
        kind = "time limit too short"
    return f"{trace}\n(log: {job.paths.stderr})", kind
