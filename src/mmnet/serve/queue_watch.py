"""A request's place in a pool, watched outside the work itself: an upload is answered 503 busy before its body is
read when no place is free (``BusyFirst``), and a clip whose client leaves before its answer is cancelled
(``until_answered``), its place freed instead of analysed for nobody."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future

from starlette.concurrency import run_in_threadpool

from .answers import busy_response
from .jobs import Busy, Job
from .root_path import route_path

__all__ = ["BusyFirst", "until_answered", "UPLOAD_PATHS"]

#: The endpoints that take an upload, and the pool each needs a place in.
UPLOAD_PATHS = {"/api/predict": "clip", "/api/recordings": "recording"}
#: Seconds between two looks at whether a clip's client is still there.
WATCH_S = 0.25


class BusyFirst:
    """ASGI middleware: an upload to an endpoint whose pool has no free place is answered 503 at once, before its
    body (up to --max-upload-mb) is received; the route still takes its place when the body is in (a place taken
    meanwhile is answered 503 then)."""

    def __init__(self, app, pools: dict):
        self.app = app
        self.pools = pools

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope.get("method") == "POST":
            kind = UPLOAD_PATHS.get(route_path(scope))  # under a proxy's prefix (--root-path) too
            if kind is not None:
                try:
                    self.pools[kind].check()
                except Busy as exc:
                    return await busy_response(exc)(scope, receive, send)
        await self.app(scope, receive, send)


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
            await run_in_threadpool(cancel, job)  # it removes a waiting job's folder: not on the event loop
            return False
        await asyncio.wait({waiting}, timeout=WATCH_S)
    waiting.result()
    return True
