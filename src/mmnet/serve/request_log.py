"""What the server's log says of each request, and how a client's answer points to it.

Every request gets an id: the client's ``X-Request-ID`` header when it sends a plain one (letters, digits and
``._:-``, at most 64), else a new one. It comes back in the ``X-Request-ID`` header of every answer and, in an
error's JSON body, as ``request_id``; the server's lines about the request (its refusal, a job it started, a
bug's traceback) name it. A request answered 4xx or 5xx always leaves a line with its reason (status, code and
the error's sentence); with ``--access-log`` every request leaves one (``mmnet.serve.access``), with its duration.

What the log may show: paths through ``access.hide_secrets`` (no job id, no token); the sentence with job ids cut
to their first 6 characters and the upload's file name replaced by ``<file>`` and its extension
(``request_context``): file names are the users' data. Nothing of an upload's contents, and never a header but
``X-Request-ID``. ``ServeLogHandler`` is the one form of these lines when ``mmnet serve`` runs (``server.serve``).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid

from .access import hide_secrets
from .request_context import Request, current, hide_in_line
from .root_path import public_path

__all__ = ["RequestLog", "REQUEST_ID_HEADER", "ServeLogHandler"]

log = logging.getLogger("mmnet.serve")
access_log = logging.getLogger("mmnet.serve.access")
REQUEST_ID_HEADER = "X-Request-ID"
_HEADER_KEY = REQUEST_ID_HEADER.lower().encode("latin-1")  # as ASGI gives and takes header names
_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # a client's id, logged as it is: short, no spaces or quotes


def _new_id(scope) -> str:
    given = dict(scope.get("headers") or []).get(_HEADER_KEY, b"").decode("latin-1").strip()
    return given if _CLIENT_ID.fullmatch(given) else uuid.uuid4().hex[:16]


def _with_id(body: bytes, request_id: str) -> bytes:
    """An error's JSON body with ``request_id`` added (a body that is no JSON object as it was)."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    return json.dumps({**data, "request_id": request_id}).encode() if isinstance(data, dict) else body


class RequestLog:
    """ASGI middleware, outermost: gives each request its id, adds it to every answer (and to an error's JSON
    body), and logs refusals (always) and every request (``mmnet.serve.access`` at INFO: ``--access-log``)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(_new_id(scope))
        header = (_HEADER_KEY, request.id.encode())
        answer: dict = {"status": None, "error": None}
        held: list = []  # an error's answer, held until its body is whole, to add request_id to it
        t0 = time.perf_counter()

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                message = {**message, "headers": [*message.get("headers", []), header]}
                headers = dict(message["headers"])
                if (message["status"] >= 400 and scope.get("method") != "HEAD"
                        and headers.get(b"content-type", b"").startswith(b"application/json")):
                    held.append(message)
                    return
            elif message["type"] == "http.response.body" and held:
                held.append(message)
                if message.get("more_body"):
                    return
                start, body = held[0], b"".join(m.get("body", b"") for m in held[1:])
                answer["error"], body = _error_of(body), _with_id(body, request.id)
                headers = [(k, v) for k, v in start["headers"] if k != b"content-length"]
                held.clear()
                await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
                message = {"type": "http.response.body", "body": body}
            await send(message)

        token = current.set(request)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current.reset(token)
            self._log(scope, request, answer, time.perf_counter() - t0)

    @staticmethod
    def _log(scope, request: Request, answer: dict, seconds: float) -> None:
        path = public_path(scope)  # as the client asked for it: a proxy's prefix (--root-path) once
        query = scope.get("query_string", b"").decode("latin-1")
        shown = hide_secrets(f"{path}?{query}" if query else path)
        status, method = answer["status"], scope.get("method", "")
        if access_log.isEnabledFor(logging.INFO):
            host, port = (scope.get("client") or ("-", 0))[:2]
            access_log.info('request %s: %s:%s "%s %s HTTP/%s" %s in %s', request.id, host, port, method, shown,
                            scope.get("http_version", "1.1"), status or "(no answer)", _duration(seconds))
        if status is not None and status >= 400:
            code, reason = answer["error"] or ("", "")
            reason = hide_in_line(reason, request.names, path)
            log.log(logging.WARNING if status >= 500 else logging.INFO, "request %s: %s %s answered %s%s%s",
                    request.id, method, shown.partition("?")[0], status, f" {code}" if code else "",
                    f": {reason}" if reason else "")


def _error_of(body: bytes) -> tuple[str, str] | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return (str(data.get("code") or ""), str(data.get("error") or "")) if isinstance(data, dict) else None


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


class ServeLogHandler(logging.Handler):
    """The lines of ``mmnet serve`` (``mmnet.serve``: stderr; its access log, ``mmnet.serve.access``: stdout), in
    one form: ``2026-05-04T10:11:12Z info: <message>`` (UTC)."""

    def __init__(self, stream_name: str = "stderr"):
        super().__init__(logging.INFO)
        self.stream_name = stream_name  # the stream at the time of each line (tests replace sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created))
            text = self.format(record)
            print(f"{when} {record.levelname.lower()}: {text}", file=getattr(sys, self.stream_name), flush=True)
        except Exception:  # as logging's own handlers: a failed log line does not stop the server
            self.handleError(record)
