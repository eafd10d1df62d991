"""What SLURM says about a fold's job: still alive (queued, running, suspended, held, ...), or ended, and how.

sacct (accounting) is asked first, for all jobs at once through submitit's watcher. A job sacct has no record of
(no accounting, or slurmdbd still behind the controller) is asked of the controller itself (``squeue -j``). A job
that neither can tell about counts as alive unless its result exists: submitting its fold again could run it twice.
"""

from __future__ import annotations

import subprocess
import time

__all__ = ["ACTIVE", "GONE", "UNKNOWN", "state_word", "ask_squeue", "refresh_controller", "recheck_held",
           "slurm_state", "is_active", "result_visible", "result_wait_s"]

# SLURM states of a job that is neither finished nor given up: its fold must not be submitted again
ACTIVE = {"PENDING", "RUNNING", "REQUEUED", "CONFIGURING", "COMPLETING", "SUSPENDED", "RESIZING", "REQUEUE_HOLD",
          "REQUEUE_FED", "SIGNALING", "STAGE_OUT", "READY", "STOPPED"}
GONE = "GONE"  # squeue answered and does not list the job: it ended (and accounting has no record of it)
UNKNOWN = "UNKNOWN"  # neither sacct nor squeue could tell
_SQUEUE_EVERY_S = 60.0  # the controller is asked at most this often per job while waiting
_said: dict[str, tuple[float, str]] = {}  # job id -> (when squeue was asked, its answer)
_RECHECK_EVERY_S = 60.0  # sacct is asked again about held or suspended jobs at most this often
_rechecked = [float("-inf")]  # when recheck_held last made submitit forget its cache


def result_visible(job) -> bool:
    """Whether the job's result.pkl is there, after refreshing the log folder's listing as submitit does (on NFS a
    file written on a node may not show on the login node until the folder's cached attributes are renewed)."""
    folder = job.paths.result_pickle.parent
    try:
        folder.chmod(folder.stat().st_mode)
    except OSError:
        pass
    return job.paths.result_pickle.exists()


def result_wait_s(job) -> float:
    """How long a job that ended may take to show its result here before it counts as lost: submitit's own wait
    for a result (15 s), twice that where the folder's listing cannot be refreshed (not its owner)."""
    wait = float(getattr(job, "_results_timeout_s", 15))
    folder = job.paths.result_pickle.parent
    try:
        folder.chmod(folder.stat().st_mode)
    except PermissionError:
        wait *= 2
    except OSError:
        pass
    return wait


def state_word(state: str | None) -> str:
    """``CANCELLED by 1234`` -> ``CANCELLED``; an empty state -> ``UNKNOWN``."""
    words = (state or "").split()
    return words[0].rstrip("+").upper() if words else UNKNOWN


def ask_squeue(job_ids) -> None:
    """Ask the controller about these jobs in one call (``squeue -r``: one line per array element) and keep the
    answers: a state word, :data:`GONE` for a job it does not list, :data:`UNKNOWN` when squeue could not answer
    (not installed, controller unreachable)."""
    ids = sorted({str(i) for i in job_ids})
    if not ids:
        return
    now = time.monotonic()
    bases = sorted({i.split("_")[0] for i in ids})
    try:
        out = subprocess.run(["squeue", "-h", "-r", "-o", "%i %T", "-j", ",".join(bases)], capture_output=True,
                             text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        words = dict.fromkeys(ids, UNKNOWN)
    else:
        if out.returncode != 0:  # squeue's answer when it knows none of them (ended > MinJobAge ago)
            words = dict.fromkeys(ids, GONE if "invalid job id" in out.stderr.lower() else UNKNOWN)
        else:
            listed = {parts[0]: state_word(parts[1]) for parts in map(str.split, out.stdout.splitlines())
                      if len(parts) >= 2}
            words = {i: listed.get(i, GONE) for i in ids}
    for i, word in words.items():
        _said[i] = (now, word)


def _asks_controller(job) -> bool:
    return state_word(job.get_info(mode="cache").get("State")) in (UNKNOWN, "PREEMPTED")


def refresh_controller(jobs, force: bool = False) -> None:
    """One squeue call for the jobs without a result that sacct cannot tell about, at most once a minute
    (unless ``force``): what :func:`slurm_state` then reads."""
    jobs = [job for job in jobs if not result_visible(job) and _asks_controller(job)]
    now = time.monotonic()
    if jobs and (force or any(now - _said.get(str(j.job_id), (-_SQUEUE_EVERY_S, ""))[0] >= _SQUEUE_EVERY_S
                              for j in jobs)):
        ask_squeue(job.job_id for job in jobs)


def recheck_held(jobs) -> None:
    """Make submitit ask sacct again about jobs alive to SLURM that it takes for finished.

    submitit's watcher stops asking about a job once sacct gives a state outside its own short list of live ones
    (PENDING, RUNNING, ...): a job first seen SUSPENDED, REQUEUE_HOLD or CONFIGURING would keep that state for
    ever, and the wait for it would never end. Its public ``clear`` forgets every cached state, so the next read
    asks sacct about all jobs again (at most once a minute)."""
    held = [job for job in jobs if getattr(job, "watcher", None) is not None and not result_visible(job)
            and job.watcher.is_done(str(job.job_id), mode="cache")
            and state_word(job.get_info(mode="cache").get("State")) in ACTIVE]
    now = time.monotonic()
    if held and now - _rechecked[0] >= _RECHECK_EVERY_S:
        held[0].watcher.clear()
        _rechecked[0] = now


def slurm_state(job, mode: str = "standard") -> tuple[str, bool]:
    """(state word, whether the job may still run its fold) of a submitit SlurmJob: sacct's state (``mode`` as
    submitit's), else the controller's (as :func:`refresh_controller` last asked it; asked now if never)."""
    word = state_word(job.get_info(mode=mode).get("State"))
    if word in ACTIVE:
        return word, True
    if word not in (UNKNOWN, "PREEMPTED"):  # ended: COMPLETED, FAILED, CANCELLED, OUT_OF_MEMORY, NODE_FAIL, ...
        return word, False
    # no record (no accounting, slurmdbd behind), or preempted (requeued by SLURM, or cancelled): ask the controller
    if str(job.job_id) not in _said:
        ask_squeue([job.job_id])
    said = _said[str(job.job_id)][1]
    if said == GONE:
        return word if word == "PREEMPTED" else GONE, False
    # squeue's PREEMPTED may still turn into a requeue; a job the controller forgets later shows as GONE
    return (word if said == UNKNOWN else said), said in ACTIVE or said in (UNKNOWN, "PREEMPTED")


def is_active(job) -> bool:
    """Whether a SLURM job may still run its fold: no result yet and a live state, or a state nobody could tell.
    sacct's and squeue's answers are those asked last (one ``update`` and one :func:`refresh_controller` first)."""
    return not result_visible(job) and slurm_state(job, "cache")[1]
