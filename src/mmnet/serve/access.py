"""Who may use the server: an optional access token (``mmnet serve --token``), as ASGI middleware, and what the
access log may show (job ids and tokens are left out of it).

On a shared computer, "this computer only" (127.0.0.1) means every account on it. With a token, every request but
``/api/health`` must bring it: as ``Authorization: Bearer TOKEN`` (scripts), or as the cookie the page gets when it
is first opened by the printed address ``/?token=TOKEN`` (the address is then redirected to one without it, so
the token stays out of the browser's history and of what is shared from the address bar).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from urllib.parse import parse_qsl, urlencode

__all__ = ["TokenCheck", "new_token", "resolve_token", "exposure_note", "cookie_name", "hide_secrets",
           "JOB_PLACEHOLDER", "HideSecrets", "NEEDS_TOKEN", "TOKEN_ENV"]

JOB_PLACEHOLDER = "<job>"
NEEDS_TOKEN = ("This server needs its access token: open the address `mmnet serve` printed (it ends in ?token=...), "
               "or send the header 'Authorization: Bearer TOKEN'. Ask whoever runs the server for it.")
_JOB_PATH = re.compile(r"(/api/jobs/)[^/?\s]+")
_TOKEN_QUERY = re.compile(r"([?&]token=)[^&\s]*")


TOKEN_ENV = "MMNET_SERVE_TOKEN"  # a token given here does not show in `ps`, as a command-line argument does
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~-]{16,}")  # what a URL and a cookie carry as they are


def new_token() -> str:
    """A random token (32 bytes, URL-safe), for ``--token auto``."""
    return secrets.token_urlsafe(32)


def resolve_token(option: str | None, environ) -> str | None:
    """The token of ``--token`` (``auto``: a new random one) or else of $MMNET_SERVE_TOKEN; None: no login."""
    from ..errors import ConfigError

    given = option if option is not None else environ.get(TOKEN_ENV) or None
    if given is None:
        return None
    if given == "auto":
        return new_token()
    if not _TOKEN_CHARS.fullmatch(given):
        where = "--token" if option is not None else f"${TOKEN_ENV}"
        raise ConfigError(f"{where} must be at least 16 characters of A-Z, a-z, 0-9, '.', '_', '~' and '-' "
                          f"(it goes into an address and a cookie as it is), got {len(given)} characters; "
                          "or --token auto for a random one.")
    return given


def exposure_note(host: str, token: str | None) -> str | None:
    """The start-up line saying who can reach the server, or None (this computer only, with a token)."""
    from .settings import is_loopback

    if not is_loopback(host):
        login = "the token and the videos cross the network in clear" if token else "without login unless --token"
        return (f"warning: listening on {host}, reachable from the network, unencrypted and {login}; "
                "put it behind a TLS reverse proxy: docs/serve.md (Shared servers)")
    if token is None:
        return ("note: anyone with an account on this computer can open it; --token keeps them out "
                "(docs/serve.md, Shared servers)")
    return None


def cookie_name(token: str) -> str:
    """The cookie holding ``token``: named after it, so that two servers on one computer (other ports: cookies do
    not tell ports apart) do not overwrite each other's."""
    return "mmnet-token-" + hashlib.sha256(token.encode()).hexdigest()[:12]


def hide_secrets(path: str) -> str:
    """A request path as the access log may show it: job ids (which give access to a result) and a token left out."""
    return _TOKEN_QUERY.sub(r"\1<hidden>", _JOB_PATH.sub(r"\1" + JOB_PLACEHOLDER, path))


class HideSecrets(logging.Filter):
    """On uvicorn's access log: its request path (the third argument) through ``hide_secrets``."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], hide_secrets(args[2]), *args[3:])
        return True


def _is_health(scope) -> bool:
    return scope.get("method") in ("GET", "HEAD") and scope.get("path") == "/api/health"


class TokenCheck:
    """Answer 401 to requests without ``token`` (header, cookie, or ``?token=`` which sets the cookie)."""

    def __init__(self, app, token: str):
        self.app = app
        self.token = token.encode()
        self.cookie = cookie_name(token)

    def _matches(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.token)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan" or _is_health(scope):
            return await self.app(scope, receive, send)
        if scope["type"] != "http":  # the server has no websocket; refused as any request without the token
            return await send({"type": "websocket.close", "code": 1008})
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        if scope.get("method") == "GET" and self._matches(dict(query).get("token")):  # also with the cookie set
            return await self._set_cookie(scope, query, send)  # the token leaves the address bar either way
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"").decode("latin-1")
        if auth[:7].lower() == "bearer " and self._matches(auth[7:].strip()):
            return await self.app(scope, receive, send)
        cookies = dict(part.strip().split("=", 1) for part in headers.get(b"cookie", b"").decode("latin-1").split(";")
                       if "=" in part)
        if self._matches(cookies.get(self.cookie)):
            return await self.app(scope, receive, send)
        await self._answer(send, 401, {"error": NEEDS_TOKEN, "status": 401},
                           [(b"www-authenticate", b'Bearer realm="mmnet"')])

    async def _set_cookie(self, scope, query, send):
        """303 to the same address without the token, setting the cookie (HttpOnly: no script reads it). The address
        is relative (``/mmnet/?token=`` -> ``./``), so that it stays under a reverse proxy's sub-path."""
        rest = urlencode([(k, v) for k, v in query if k != "token"])
        location = (scope["path"].rsplit("/", 1)[-1] or "./") + (f"?{rest}" if rest else "")
        cookie = f"{self.cookie}={self.token.decode()}; HttpOnly; SameSite=Strict; Path=/"
        await self._answer(send, 303, None, [(b"location", location.encode("latin-1")),
                                             (b"set-cookie", cookie.encode("latin-1")),
                                             (b"cache-control", b"no-store")])

    @staticmethod
    async def _answer(send, status: int, body: dict | None, headers: list) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                                *headers]})
        await send({"type": "http.response.body", "body": data})
