"""The Host header check, as ASGI middleware: a request whose ``Host`` names another site is answered 400
before any endpoint or other check runs, so that a page of another site whose name is made to resolve to this
computer (DNS rebinding) reads nothing. ``GET /api/health`` alone is answered whatever the Host (health probes).
Only the CORS middleware (``serve.cors``) sits outside it: it adds its headers to the 400 for an origin listed with
``--allow-origin`` alone (that page then reads why, not a network error), and answers such an origin's preflight.

Starlette's TrustedHostMiddleware makes the same check but answers in plain text; this one answers as every
other error of the server does, ``{"error", "status", "code"}`` (code ``bad_host``), saying which names are served
and how to add one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from .root_path import route_path

__all__ = ["HostCheck", "host_name"]


def host_name(header: str) -> str:
    """The name of a Host header, lower case, without its port; an IPv6 address keeps its brackets
    (``[::1]:8000`` -> ``[::1]``)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[: header.find("]") + 1] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _is_health_probe(scope) -> bool:
    """``GET``/``HEAD /api/health``, answered whatever the Host: container and cluster probes (Docker, kubelet)
    name the server by its container's or pod's address, which no --allowed-host can list in advance. It reveals
    nothing a rebinding page could use (liveness, version, load); the check guards the endpoints that do work."""
    return scope["type"] == "http" and scope.get("method") in ("GET", "HEAD") and route_path(scope) == "/api/health"


class HostCheck:
    """Refuse requests whose Host header is not one of ``allowed_hosts`` (names, any port; ``*`` lets any in)."""

    def __init__(self, app, allowed_hosts: Sequence[str]):
        self.app = app
        self.allow_any = "*" in allowed_hosts
        self.allowed = {host_name(name) for name in allowed_hosts}  # a name given with a port means the name

    def message(self, name: str) -> str:
        served = ", ".join(sorted(self.allowed))
        asked = f"'{name}'" if name else "no name"
        return (f"This server does not answer requests for {asked}: it answers {served}. Open it by one of those "
                "names, or, if this name is meant to reach it (a reverse proxy's), restart `mmnet serve` with "
                f"--allowed-host {name or 'NAME'}.")

    async def __call__(self, scope, receive, send):
        if self.allow_any or scope["type"] not in ("http", "websocket") or _is_health_probe(scope):
            return await self.app(scope, receive, send)
        header = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
        name = host_name(header)
        if name in self.allowed:
            return await self.app(scope, receive, send)
        body = json.dumps({"error": self.message(name), "status": 400, "code": "bad_host"}).encode()
        await send({"type": "http.response.start", "status": 400,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
