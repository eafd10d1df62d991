"""Jobs: work that runs off the request thread, at most N at a time behind a bounded queue.

A ``Pool`` is a thread pool with a capacity (running + waiting); a request first takes a slot
(``Busy`` when none is free: the server answers 503 at once instead of piling work up), then
hands it to a ``Job``. A job's upload folder is removed as soon as the job ends, whatever the
outcome; its result (JSON and the small PNGs drawn from it) stays in memory until it is deleted,
``ttl_s`` after it ended, or, oldest first, when more than ``max_kept`` finished jobs or more than
``max_bytes`` of their pictures are held (memory is the only thing a kept result holds).
Deleting a job that runs cancels it: its next progress report raises ``JobCancelled``; one that waits for a worker
is ended at once (``Job.drop``: its place and upload folder freed, its event stream ended; the worker that takes it
later does nothing). When the server stops, ``JobStore`` (``job_store``) ends every job still waiting or running
(failed, 503, saying so), so that its event stream ends and its worker stops instead of holding the process until
the job's time limit.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import MMNetError, is_out_of_memory
from ..progress import format_seconds
from .codes import code_of, field_of
from .messages import for_web
from .request_context import current_request_id, hidden_name, note_upload_name, of_request, short_id
from .uploads import UploadError, is_no_room, no_room, remove_folder

__all__ = ["Busy", "JobTimeout", "JobCancelled", "Job", "Pool", "DELETED", "EXPIRED", "EVICTED",
           "OVER_MEMORY", "POLL_S", "RETRY_AFTER_S", "SERVER_STOPPING", "WAITING", "QUEUED"]

log = logging.getLogger("mmnet.serve")


class Busy(MMNetError, RuntimeError):
    """Every worker and queue place is taken."""


#: Seconds a client told "busy" (503) should wait before trying again: its ``Retry-After`` header.
RETRY_AFTER_S = 60
#: Seconds between two polls of a job's state that a client is advised (docs, and 409's ``Retry-After``).
POLL_S = 2


class JobTimeout(MMNetError, RuntimeError):
    """A job ran past its time limit."""


class JobCancelled(MMNetError, RuntimeError):
    """The job was deleted while it waited or ran."""


# Why the store forgot a job (``JobStore.why_gone``): EVICTED past ``max_kept`` results, OVER_MEMORY past ``max_bytes``.
DELETED, EXPIRED, EVICTED, OVER_MEMORY = "deleted", "expired", "evicted", "over memory"
#: Why a job ends when the server stops: its last event, and its request's answer (503).
SERVER_STOPPING = ("The server is stopping, so this analysis was stopped and its result is lost (results are kept "
                   "in memory only). Send the file again once the server is back.")
#: The stage of a job that waits for a worker: every worker runs another job.
WAITING = "Waiting: another analysis is running"
#: The stage of a job handed to a free worker, before it starts.
QUEUED = "Queued"
#: Seconds of work measured before a job's time left is estimated (``Job.eta_s``), and before that estimate may stop
#: it early: a job whose time spent and left exceeds its limit by ``OVER_LIMIT`` fails then, not at the limit.
ETA_AFTER_S, ESTIMATE_AFTER_S, OVER_LIMIT = 10.0, 30.0, 1.2


@dataclass
class Job:
    """One piece of work and, once done, its result.

    Attributes:
        name: the upload's display name (never a path).
        status: "queued", "running", "done" or "failed".
        progress: fraction done in [0, 1], or None while unknown.
        eta_s: seconds left, estimated from the progress made so far (None until ``ETA_AFTER_S`` of work).
        stage: what it is doing, in words for the page's progress line.
        media: what was uploaded, once opened: "video" or "frames" (a zip); its frame numbers differ.
        files: PNGs drawn from the result, by file name.
        version: increases at every change (server-sent events send each version once).
    """

    kind: str
    name: str
    folder: Path | None
    max_seconds: float = 1800.0
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    status: str = "queued"
    progress: float | None = None
    eta_s: float | None = None
    stage: str = QUEUED
    result: dict | None = None
    error: str | None = None
    error_status: int = 422
    error_code: str | None = None  # serve.codes, once failed
    error_field: str | None = None  # the form field at fault (field_invalid)
    files: dict[str, bytes] = field(default_factory=dict)
    created: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    version: int = 0
    cancelled: bool = False
    stop_reason: str | None = None  # why it was stopped when the server stopped (not deleted)
    media: str | None = None
    request_id: str | None = field(default_factory=current_request_id)  # the request that started it, for the log
    cancel_note: str | None = None  # why it was cancelled, for its log line ("its client left")
    claimed: bool = False  # a worker started it, or it was dropped before one did: whoever came first ends it
    release: Callable[[], None] | None = field(default=None, repr=False)  # frees its pool place, once submitted
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.folder is not None:  # an upload's: its name stays out of its request's log lines
            note_upload_name(self.name)

    def update(self, *, progress: float | None = None, stage: str | None = None) -> None:
        """Report progress (called from the worker, at every frame of a recording); JobCancelled once the
        job is deleted, JobTimeout past its time limit, or once its estimated end is clearly past it (``OVER_LIMIT``,
        after ``ESTIMATE_AFTER_S`` of work): either stops the work where it stands."""
        if self.cancelled:
            raise JobCancelled(self.stop_reason or f"Job {self.id} was deleted.")
        elapsed = 0.0 if self.started is None else time.monotonic() - self.started
        if elapsed > self.max_seconds:
            raise JobTimeout(f"The analysis took longer than this server allows ({self.max_seconds / 60:g} minutes). "
                             f"Send a shorter {self.kind}, or ask whoever runs the server to raise --job-timeout.")
        if progress is not None:
            self.progress = min(max(float(progress), 0.0), 1.0)
            self.eta_s = (round(elapsed * (1 - self.progress) / self.progress, 1)
                          if elapsed >= ETA_AFTER_S and self.progress > 0 else None)
            if (self.eta_s is not None and elapsed >= ESTIMATE_AFTER_S
                    and elapsed + self.eta_s > self.max_seconds * OVER_LIMIT):
                raise JobTimeout(self._over_limit(elapsed))
        if stage is not None:
            self.stage = stage
        self.version += 1

    def _over_limit(self, elapsed: float) -> str:
        needed = elapsed + self.eta_s
        return (f"This analysis would take about {format_seconds(needed)} (estimated from its first "
                f"{format_seconds(elapsed)}, {self.progress:.0%} done), longer than this server allows "
                f"({self.max_seconds / 60:g} minutes): it was stopped now rather than at the limit. Send a shorter "
                f"{self.kind}, or ask whoever runs the server to raise --job-timeout (minutes; this one needs about "
                f"{math.ceil(needed / 60)}).")

    def claim(self) -> bool:
        """True for the first caller only: the worker that starts the job, or ``drop`` ending it before that."""
        with self._lock:
            claimed, self.claimed = self.claimed, True
        return not claimed

    def drop(self, error: str, status: int, code: str, stage: str = "failed") -> bool:
        """End the job now if no worker has started it: failed with ``error``, its upload folder removed, its
        line logged and its pool place freed at once (the worker that takes it off the queue later does nothing).
        False when a worker has started it (its work stops at its next progress report once ``cancelled``)."""
        with self._lock:
            if self.claimed:
                return False
            self.claimed, release = True, self.release
        if self.folder is not None:
            remove_folder(self.folder)
        self.files, self.result, self.finished = {}, None, time.monotonic()
        self.error, self.error_status, self.error_code, self.stage = error, status, code, stage
        self.status = "failed"
        self.version += 1
        _log_end(self, status, code)
        if release is not None:
            release()
        return True

    def stop(self, reason: str) -> bool:
        """End the job now, because the server stops: it reads as failed with ``reason`` (503) at once, and its
        work, if it runs, stops at its next progress report (or ends first: its own line says which). True when it
        had not started (it is stopped for sure)."""
        self.stop_reason, self.cancelled = reason, True
        if self.drop(reason, 503, "server_stopping", "Stopped"):
            return True
        if not self.ended:
            self.error, self.error_status, self.error_code, self.stage = reason, 503, "server_stopping", "Stopped"
            self.status = "failed"
            self.version += 1
        return False

    @property
    def ended(self) -> bool:
        return self.status in ("done", "failed")

    @property
    def size(self) -> int:
        """Bytes of pictures held (the JSON beside them is small)."""
        return sum(len(data) for data in self.files.values())

    def public(self) -> dict:
        """The job's state as the API shows it."""
        out = {"id": self.id, "kind": self.kind, "name": self.name, "status": self.status,
               "progress": self.progress, "eta_s": None if self.ended else self.eta_s, "stage": self.stage}
        if self.error is not None:
            out.update(error=self.error, error_status=self.error_status, error_code=self.error_code)
        return out

    def clean_message(self, message: str) -> str:
        """``message`` as the server shows it (``messages.for_web``): the job folder's paths replaced by the
        upload's name (no server paths shown), the command line's remedies by the page's and the API's."""
        return for_web(message, self.folder, self.name, self.media)


class Pool:
    """A thread pool of ``workers`` threads taking at most ``workers + queue`` jobs at a time."""

    def __init__(self, name: str, workers: int, queue: int, on_end: Callable[[], object] | None = None):
        if workers < 1 or queue < 0:
            raise ValueError(f"workers must be >= 1 and queue >= 0, got {workers}, {queue}")
        self.name = name
        self.on_end = on_end  # called after each job ends (e.g. to forget expired results)
        self.capacity = workers + queue
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix=f"mmnet-{name}")
        self._lock = threading.Lock()
        self.workers = workers
        self.active = 0
        self.submitted = 0  # jobs handed to a worker and not yet ended (running, or waiting for a worker)

    def slot(self) -> _Slot:
        """Take a place (``with pool.slot() as slot: ... slot.submit(job, fn)``); Busy when none is free."""
        with self._lock:
            if self.active >= self.capacity:
                raise self._busy()
            self.active += 1
        return _Slot(self)

    def check(self) -> None:
        """Busy when no place is free now (a look, not a place taken: ``slot`` takes one)."""
        if self.active >= self.capacity:
            raise self._busy()

    def _busy(self) -> Busy:
        return Busy(f"The server is busy ({self.capacity} {self.name} job(s) running or waiting). Try again in a "
                    "minute.")

    def _release(self) -> None:
        with self._lock:
            self.active -= 1

    def _ended(self) -> None:
        with self._lock:
            self.submitted -= 1
        self._release()
        if self.on_end is not None:
            self.on_end()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class _Slot:
    def __init__(self, pool: Pool):
        self.pool = pool
        self.used = False

    def __enter__(self) -> _Slot:
        return self

    def __exit__(self, *exc) -> None:
        if not self.used:
            self.pool._release()

    def submit(self, job: Job, work: Callable[[Job], dict]) -> Future:
        """Run ``work(job)`` on the pool; its return value becomes ``job.result``."""
        pool = self.pool
        with job._lock:  # dropped already (the server stops): its place is freed as the slot closes
            if job.claimed:
                done: Future = Future()
                done.set_result(None)
                return done
            job.release = pool._ended  # from now on, dropping it frees its place
        self.used = True
        with pool._lock:  # "Waiting" only when every worker has a job: else it starts at once
            job.stage = WAITING if pool.submitted >= pool.workers else QUEUED
            pool.submitted += 1
        try:
            return pool._executor.submit(_run, job, work, pool._ended)
        except RuntimeError:  # the pool is shut down
            with pool._lock:
                pool.submitted -= 1
            pool._release()
            raise Busy("The server is shutting down.") from None


def _run(job: Job, work: Callable[[Job], dict], release: Callable[[], None]) -> None:
    """Run one job; its folder is removed before it is seen to end (status is set last)."""
    if not job.claim():  # dropped while it waited: its place, folder and line are done with
        return
    job.status, job.started = "running", time.monotonic()
    status, error, code, name = "failed", "The analysis was interrupted.", 500, "internal"
    try:
        job.update(stage="Starting")
        job.result = work(job)
        status, error, code, name = "done", None, 200, None
    except JobCancelled as exc:
        job.files, job.result = {}, None  # nobody can fetch them: the job is deleted, or the server stops
        status, error = "failed", str(exc)
        code, name = (503, "server_stopping") if job.stop_reason else (410, "job_deleted")
    except JobTimeout as exc:  # the server's limit, not a fault of the upload
        status, error, code, name = "failed", str(exc), 504, "job_timeout"
    except UploadError as exc:
        status, error, code, name = "failed", job.clean_message(str(exc)), exc.status, exc.code
    except MMNetError as exc:
        status, error, code, name = "failed", job.clean_message(str(exc)), 422, code_of(str(exc))
        job.error_field = field_of(str(exc)) if name == "field_invalid" else None
    except Exception as exc:  # noqa: BLE001 - the client gets a sentence, the log the rest
        if is_out_of_memory(exc):  # MemoryError, or torch's RuntimeError for an allocation that failed: not a bug
            log.warning("%sa %s job (id %s) ran out of memory: %s", of_request(job.request_id), job.kind,
                        short_id(job.id), exc)
            status, error, code, name = "failed", ("The server ran out of memory on this upload. Send a shorter or "
                                                   "smaller recording."), 507, "out_of_memory"
        elif is_no_room(exc) or is_no_room(exc.__cause__):  # the disk of the uploads filled up: not a bug either
            full = no_room(job.folder.parent if job.folder is not None else Path("."))  # says where in the log
            status, error, code, name = "failed", str(full), full.status, full.code
        else:  # a bug: the traceback goes to the log (not the whole id: it gives access; nor the file's name)
            log.exception("%sa %s job (id %s, %s) failed", of_request(job.request_id), job.kind, short_id(job.id),
                          hidden_name(job.name))
            status, error, code, name = "failed", ("The server failed on this upload because of an internal error; "
                                                   "the details are in the server's log, on the lines naming the "
                                                   "first 6 characters of this job's id."), 500, "internal"
    finally:
        if job.folder is not None:
            remove_folder(job.folder)
        job.finished = time.monotonic()
        if status == "done":
            job.progress = 1.0
        job.error, job.error_status, job.error_code, job.stage = error, code, name, status
        job.status = status
        job.version += 1
        _log_end(job, code, name)
        release()


def _log_end(job: Job, status: int, code: str | None) -> None:
    """One line per job: its kind, short id, request, how long it ran (and waited, from the upload's arrival), and
    how it ended."""
    ran = job.finished - (job.started or job.finished)
    waited = (job.started or job.finished) - job.created
    outcome = "done" if code is None else f"failed {status} {code}"
    if job.cancel_note and code == "job_deleted":
        outcome = f"cancelled ({job.cancel_note})"
    log.log(logging.WARNING if status >= 500 and code != "server_stopping" else logging.INFO,
            "%s%s job %s %s in %s%s", of_request(job.request_id), job.kind, short_id(job.id), outcome,
            format_seconds(ran), f" ({format_seconds(waited)} after it arrived)" if waited >= 1 else "")
