"""The answer of a request still open when the server stops waiting for it (--shutdown-timeout): 503 with a
sentence, if it has not begun to answer, instead of uvicorn's plain-text 500 and a traceback in the log. Installed
inside ``RequestLog`` (``create_app``), so that the answer carries its request id and leaves its 5xx line, as every
other answer does."""

from __future__ import annotations

import asyncio
import threading

from .answers import error_response
from .watched_send import WatchedSend

__all__ = ["CUT_OFF", "AnswerWhenCutOff"]

#: The answer of a request still open when the server stopped waiting for it (--shutdown-timeout).
CUT_OFF = "The server is stopping and could not finish this request. Send it again once the server is back."


class AnswerWhenCutOff:
    """ASGI middleware: a request cancelled once ``stopping`` is set (uvicorn cancels those still open past its
    graceful-shutdown timeout) answers 503 ``server_stopping``, if it has not begun to answer."""

    def __init__(self, app, stopping: threading.Event):
        self.app = app
        self.stopping = stopping

    async def __call__(self, scope, receive, send):
        watched = WatchedSend(send)
        try:
            await self.app(scope, receive, watched)
        except asyncio.CancelledError:
            if not self.stopping.is_set() or scope["type"] != "http":
                raise
            if not watched.started:  # the request ends here: uvicorn stops waiting for it anyway
                answer = error_response(CUT_OFF, 503, "server_stopping", headers={"Connection": "close"})
                await answer(scope, receive, send)
