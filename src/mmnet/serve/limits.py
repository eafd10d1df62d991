"""The request-size limit, as ASGI middleware: a body larger than the limit is answered 413 with a
JSON message, checked on the declared Content-Length and again on the bytes actually received
(a client can lie or stream without a length). Starlette's form parser would otherwise read the
whole body before any handler sees it; stopping it here bounds memory and disk per request.
"""

from __future__ import annotations

import json

__all__ = ["BodyLimit"]


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413 and ``{"error": message(scope)}``."""

    def __init__(self, app, max_bytes: int, message):
        self.app = app
        self.max_bytes = max_bytes
        self.message = message

    async def _refuse(self, scope, send) -> None:
        body = json.dumps({"error": self.message(scope), "status": 413,
                           "code": "upload_too_large"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(scope, send)
        state = {"received": 0, "over": False, "started": False}

        async def limited_receive():
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > self.max_bytes:
                    state["over"] = True
                    raise _TooLarge
            return message

        async def guarded_send(message):
            if state["over"]:  # whatever the app answers to the aborted body (often a 400), the answer is 413
                if message["type"] == "http.response.start" and not state["started"]:
                    state["started"] = True
                    await self._refuse(scope, send)
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:  # noqa: BLE001 - the aborted body surfaces as whatever the parser makes of it
            if not state["over"]:
                raise
            if not state["started"]:
                state["started"] = True
                await self._refuse(scope, send)
