"""What SLURM says about a fold's job: still alive (queued, running, suspended, held, ...), or ended, and how.

sacct (accounting) is asked first, for all jobs at once through submitit's watcher. A job sacct has no record of
(no accounting, or slurmdbd still behind the controller) is asked of the controller itself (``squeue -j``). A job
that neither can tell about counts as alive unless its result exists: submitting its fold again could run it twice.
"""

from __future__ import annotations

import subprocess
import time

__all__ = ["ACTIVE", "GONE", "UNKNOWN", "state_word", "squeue_state", "slurm_state", "is_active"]

# SLURM states of a job that is neither finished nor given up: its fold must not be submitted again
ACTIVE = {"PENDING", "RUNNING", "REQUEUED", "CONFIGURING", "COMPLETING", "SUSPENDED", "RESIZING", "REQUEUE_HOLD",
          "REQUEUE_FED", "SIGNALING", "STAGE_OUT", "READY", "STOPPED"}
GONE = "GONE"  # squeue answered and does not list the job: it ended (and accounting has no record of it)
UNKNOWN = "UNKNOWN"  # neither sacct nor squeue could tell
_SQUEUE_EVERY_S = 60.0  # the controller is asked at most this often per job while waiting
_asked: dict[str, tuple[float, str]] = {}


def state_word(state: str | None) -> str:
    """``CANCELLED by 1234`` -> ``CANCELLED``; an empty state -> ``UNKNOWN``."""
    words = (state or "").split()
    return words[0].rstrip("+").upper() if words else UNKNOWN


def squeue_state(job_id: str) -> str:
    """The controller's state of a job: its state word, :data:`GONE` when squeue does not list it, :data:`UNKNOWN`
    when squeue could not be asked (not installed, controller unreachable)."""
    try:
        out = subprocess.run(["squeue", "-h", "-j", str(job_id), "-o", "%T"], capture_output=True, text=True,
                             timeout=60)
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN
    if out.returncode != 0:  # squeue's answer for a job the controller has forgotten (ended > MinJobAge ago)
        return GONE if "invalid job id" in out.stderr.lower() else UNKNOWN
    return state_word(out.stdout) if out.stdout.strip() else GONE


def slurm_state(job, mode: str = "standard", squeue_now: bool = False) -> tuple[str, bool]:
    """(state word, whether the job may still run its fold) of a submitit SlurmJob: sacct's state (``mode`` as
    submitit's), else the controller's (squeue, asked at most once a minute per job unless ``squeue_now``)."""
    word = state_word(job.get_info(mode=mode).get("State"))
    if word in ACTIVE:
        return word, True
    if word not in (UNKNOWN, "PREEMPTED"):  # ended: COMPLETED, FAILED, CANCELLED, OUT_OF_MEMORY, NODE_FAIL, ...
        return word, False
    # no record (no accounting, slurmdbd behind), or preempted (requeued by SLURM, or cancelled): ask the controller
    job_id, now = str(job.job_id), time.monotonic()
    asked = _asked.get(job_id)
    if asked is None or squeue_now or now - asked[0] >= _SQUEUE_EVERY_S:
        asked = _asked[job_id] = (now, squeue_state(job_id))
    said = asked[1]
    if said == GONE:
        return word if word == "PREEMPTED" else GONE, False
    # squeue's PREEMPTED may still turn into a requeue; a job the controller forgets later shows as GONE
    return (word if said == UNKNOWN else said), said in ACTIVE or said in (UNKNOWN, "PREEMPTED")


def is_active(job) -> bool:
    """Whether a SLURM job may still run its fold: no result yet and a live state, or a state nobody could tell.
    sacct's answer is the one the watcher holds (one ``update`` for all jobs first); squeue is asked now."""
    return not job.paths.result_pickle.exists() and slurm_state(job, "cache", squeue_now=True)[1]
