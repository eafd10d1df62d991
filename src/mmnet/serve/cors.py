"""Cross-origin requests (CORS) from the origins an operator lists with ``mmnet serve --allow-origin``.

A page of another origin (a JavaScript client under development on http://localhost:5173, a lab's dashboard)
may call the API only when its exact origin (scheme, host and port) is listed: its uploads and deletes then pass
the ``OriginCheck``, its answers carry ``Access-Control-Allow-Origin: <that origin>`` (never ``*``), and its
preflight ``OPTIONS`` is answered 204. Any other origin stays refused as before (403 for a change; a browser
hides the answer of a read from its page). ``*`` is never accepted: on a server without a token it would let any
site's page send this computer's files and read the results, and with a token the page needs the token anyway,
so listing the page's origin costs nothing. No cookie is used (access.py), so no credentials are allowed.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ..errors import ConfigError

__all__ = ["Cors", "normalise_origin", "parse_allowed_origins", "ALLOW_METHODS", "ALLOW_HEADERS", "EXPOSE_HEADERS"]

ALLOW_METHODS = "GET, POST, DELETE"
ALLOW_HEADERS = "Authorization, Content-Type"
EXPOSE_HEADERS = "Content-Disposition, Retry-After, Location"
MAX_AGE_S = 600  # seconds a browser may reuse a preflight's answer


def normalise_origin(origin: str) -> str | None:
    """``scheme://host[:port]`` in lower case without the scheme's default port, as a browser's Origin header
    writes it; None for anything else (a path, ``null``, another scheme, ``*``)."""
    try:
        parts = urlsplit(origin.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment or parts.username or parts.password:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + ("" if port in (None, default) else f":{port}")


def parse_allowed_origins(given) -> tuple[str, ...]:
    """The ``--allow-origin`` values, normalised; ConfigError naming the value for one that is not an origin."""
    origins = []
    for value in given:
        origin = normalise_origin(value)
        if value.strip() == "*":
            raise ConfigError("--allow-origin '*' is not accepted: it would let a page of any site upload to this "
                              "server and read its results. List each origin that may call the API, e.g. "
                              "--allow-origin http://localhost:5173 (repeat the option for more).")
        if origin is None:
            raise ConfigError(f"--allow-origin {value!r} is not an origin: give the scheme, host and port a browser "
                              "shows for the calling page, without a path, e.g. http://localhost:5173 or "
                              "https://dashboard.lab.example.")
        origins.append(origin)
    return tuple(dict.fromkeys(origins))


class Cors:
    """ASGI middleware: for a request whose ``Origin`` is one of ``origins``, answer its preflight (204) and add the
    CORS headers to its answer; every answer of a server with origins listed says ``Vary: Origin``."""

    def __init__(self, app, origins):
        self.app = app
        self.origins = frozenset(origins)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not self.origins:
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        raw = headers.get(b"origin")
        origin = normalise_origin(raw.decode("latin-1")) if raw else None
        listed = origin in self.origins
        if listed and scope.get("method") == "OPTIONS" and b"access-control-request-method" in headers:
            await send({"type": "http.response.start", "status": 204, "headers": [
                *self._headers(origin), (b"access-control-allow-methods", ALLOW_METHODS.encode()),
                (b"access-control-allow-headers", ALLOW_HEADERS.encode()),
                (b"access-control-max-age", str(MAX_AGE_S).encode())]})
            return await send({"type": "http.response.body", "body": b""})

        async def with_headers(message):
            if message["type"] == "http.response.start":
                extra = self._headers(origin) if listed else [(b"vary", b"Origin")]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)

    @staticmethod
    def _headers(origin: str) -> list[tuple[bytes, bytes]]:
        return [(b"access-control-allow-origin", origin.encode()), (b"vary", b"Origin"),
                (b"access-control-expose-headers", EXPOSE_HEADERS.encode())]
