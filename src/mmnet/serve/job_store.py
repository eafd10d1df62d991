"""The jobs by id: forgotten ``ttl_s`` after they end, beyond ``max_kept`` ended ones or ``max_bytes`` of their
pictures, or when deleted (a job that waits for a worker is ended at once, its place and upload folder freed; one
that runs stops at its next progress report); ``stop_all`` ends them all when the server stops."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from pathlib import Path

from .jobs import DELETED, EVICTED, EXPIRED, OVER_MEMORY, Job
from .uploads import remove_folder

__all__ = ["JobStore"]


class JobStore:
    """The jobs by id, forgotten ``ttl_s`` after they end, beyond ``max_kept`` ended ones or ``max_bytes`` of
    their pictures (oldest first; the newest result is always kept), or when deleted."""

    REMEMBERED = 10_000  # ids of forgotten jobs whose fate is still told (a few hundred KB at most)

    def __init__(self, root: Path, *, ttl_s: float = 1800.0, max_kept: int = 500, max_bytes: int = 2**30):
        if max_kept < 1 or max_bytes < 1:
            raise ValueError(f"max_kept and max_bytes must be >= 1, got {max_kept}, {max_bytes}")
        self.root = root
        self.ttl_s = ttl_s
        self.max_kept = max_kept
        self.max_bytes = max_bytes
        self._jobs: dict[str, Job] = {}
        self._gone: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self.stopping: str | None = None  # the reason, once the server stops
        self.forgotten = 0  # jobs forgotten so far (their memory may be given back: freed_memory)

    def new_folder(self) -> Path:
        """A fresh, private folder for one upload."""
        import tempfile

        return Path(tempfile.mkdtemp(prefix="job-", dir=self.root))

    def add(self, job: Job) -> Job:
        with self._lock:
            self._jobs[job.id] = job
        if self.stopping:  # an upload that arrived while the server stops: no worker will finish it
            job.stop(self.stopping)
        self.sweep()
        return job

    def stop_all(self, reason: str) -> tuple[int, int]:
        """End every job still waiting or running, and any added from now on (``Job.stop``); how many were
        stopped before they started, and how many running were told to stop (such a job may still end first)."""
        with self._lock:
            self.stopping = reason
            running = [job for job in self._jobs.values() if not job.ended]
        waiting = sum(job.stop(reason) for job in running)
        return waiting, len(running) - waiting

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def why_gone(self, job_id: str) -> str | None:
        """DELETED, EXPIRED, EVICTED or OVER_MEMORY for a job this store forgot lately; None for one it never held."""
        with self._lock:
            return self._gone.get(job_id)

    def _forget(self, job: Job, why: str) -> None:  # with the lock held
        del self._jobs[job.id]
        self.forgotten += 1
        self._gone[job.id] = why
        while len(self._gone) > self.REMEMBERED:
            self._gone.popitem(last=False)

    def remove(self, job_id: str) -> bool:
        """Forget a job, cancelling it: one that waits ends now (``Job.drop``: its place and folder freed), one that
        runs at its next progress report (its worker removes its folder); False when there is none."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                job.cancelled = True
                self._forget(job, DELETED)
        if job is None:
            return False
        if not job.drop(f"Job {job.id} was deleted.", 410, "job_deleted") and job.ended and job.folder is not None:
            remove_folder(job.folder)
        return True

    def sweep(self, now: float | None = None) -> int:
        """Forget expired jobs, then the oldest ended ones beyond the limits; returns how many."""
        now = time.monotonic() if now is None else now
        with self._lock:
            ended = sorted((j for j in self._jobs.values() if j.ended and j.finished is not None),
                           key=lambda j: j.finished)
            expired = [j for j in ended if now - j.finished > self.ttl_s]
            kept = [j for j in ended if now - j.finished <= self.ttl_s]
            held = sum(j.size for j in kept)
            evicted = 0
            while len(kept) > self.max_kept or (len(kept) > 1 and held > self.max_bytes):
                why = EVICTED if len(kept) > self.max_kept else OVER_MEMORY
                job = kept.pop(0)
                held -= job.size
                self._forget(job, why)
                evicted += 1
            for job in expired:
                self._forget(job, EXPIRED)
        return len(expired) + evicted

    def counts(self) -> dict[str, int]:
        with self._lock:
            jobs = list(self._jobs.values())
        return {s: sum(j.status == s for j in jobs) for s in ("queued", "running", "done", "failed")}
