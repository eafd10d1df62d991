"""Whether an answer has begun: what a middleware that answers in place of the application (an error, a request cut
off at the server's stop) must know, since once the response's start is sent nothing else can answer."""

from __future__ import annotations

__all__ = ["WatchedSend"]


class WatchedSend:
    """An ASGI ``send`` that passes each message on to ``send`` and sets ``started`` once the response has begun
    (``http.response.start``, counted as soon as it is sent, even if sending it fails)."""

    def __init__(self, send):
        self.send = send
        self.started = False

    async def __call__(self, message) -> None:
        self.started = self.started or message["type"] == "http.response.start"
        await self.send(message)
