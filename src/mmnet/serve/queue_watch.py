"""A clip whose client leaves before its answer is cancelled (``until_answered``), its place freed instead of
analysed for nobody."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future

from .jobs import Job

__all__ = ["until_answered"]

#: Seconds between two looks at whether a clip's client is still there.
WATCH_S = 0.25


async def until_answered(future: Future, job: Job, request, cancel) -> bool:
    """Wait for ``job``'s work (``future``); False, once ``cancel(job)`` was called, when the client left first
    (Starlette's ``request.is_disconnected``): its answer would reach nobody, so its job is cancelled (ended now if it
    waits, at its next frame if it runs) and its place freed."""
    waiting = asyncio.wrap_future(future)
    while not waiting.done():
        if job.ended and job.started is None:  # dropped before it started (the server stops): no need to wait
            return True
        if await request.is_disconnected():
            job.cancel_note = "its client left before the answer"
            cancel(job)
            return False
        await asyncio.wait({waiting}, timeout=WATCH_S)
    waiting.result()
    return True
