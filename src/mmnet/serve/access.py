"""Who may use the server: an optional access token (``mmnet serve --token``) and a check of the ``Origin`` of
requests that change something, as ASGI middleware; and what the log may show of a request's path (job ids and
tokens are left out of it: ``request_log``).

On a shared computer, "this computer only" (127.0.0.1) means every account on it. With a token, every request to
``/api/`` but ``GET /api/health`` must bring it as ``Authorization: Bearer TOKEN``. The page gets it from the
address ``mmnet serve`` prints, in its fragment (``/#token=TOKEN``), which the browser never sends to a server: the
page keeps it for its tab and sends the header itself. There is no cookie: browsers send a cookie of 127.0.0.1 to
every port of it, so to any other account's server there, and with every form another port's page posts here.
The page itself, its scripts and the API's documentation hold no data and are served to anyone.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
from urllib.parse import quote, unquote, unquote_plus, urlsplit

from .cors import normalise_origin
from .request_context import JOB_PLACEHOLDER
from .root_path import route_path

__all__ = ["TokenCheck", "OriginCheck", "new_token", "resolve_token", "exposure_note", "hide_secrets",
           "JOB_PLACEHOLDER", "bearer_matches", "NEEDS_TOKEN", "TOKEN_IN_QUERY", "TOKEN_ENV",
           "OTHER_ORIGIN"]

NEEDS_TOKEN = ("This server needs its access token: open the address `mmnet serve` printed (it ends in #token=...), "
               "or send the header 'Authorization: Bearer TOKEN'. Ask whoever runs the server for it.")
TOKEN_IN_QUERY = ("The access token goes after '#' in the address (/#token=...), where the browser keeps it to itself, "
                  "never after '?', which sends it to the server and its logs; programs send the header "
                  "'Authorization: Bearer TOKEN'. Open the address `mmnet serve` printed.")
OTHER_ORIGIN = ("This request came from a page of another site or port ({origin}), which may not upload to or delete "
                "from this server. Use the server's own page. Behind a reverse proxy, the server must know its "
                "public name: have the proxy pass it (nginx: 'proxy_set_header X-Forwarded-Host $http_host;') "
                "or restart `mmnet serve` with --allowed-host NAME. A page of another origin that should call the "
                "API (a client under development) needs its origin listed: --allow-origin {origin}.")
_JOB_PATH = re.compile(r"(/api/jobs/)[^/?\s]+")
_SHOWN = "/:@!$&'()*+,;=-._~<>"  # what the log shows of a path as it is; the rest percent-encoded (no line breaks)

TOKEN_ENV = "MMNET_SERVE_TOKEN"  # a token given here does not show in `ps`, as a command-line argument does
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~-]{16,}")  # what an address and a header carry as they are
# The page, its scripts and the API's documentation: no data, and the page must load to ask for the token.
_OPEN_PATHS = re.compile(r"/|/(static|docs-assets)/[^?]*|/docs(/licences)?|/redoc|/openapi\.json|/api/health")
_CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_CHALLENGE = [(b"www-authenticate", b'Bearer realm="mmnet"')]


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
                          f"(it goes into an address and a header as it is), got {len(given)} characters; "
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


def _hide_query(query: str) -> str:
    parts = []
    for part in query.split("&"):
        key = part.split("=", 1)[0]
        parts.append(f"{key}=<hidden>" if unquote_plus(key).strip().lower() == "token" else part)
    return "&".join(parts)


def hide_secrets(path: str) -> str:
    """A request path as the access log may show it: job ids (which give access to a result) and a token left out.
    The path is percent-decoded first, as the server routes it (``/api/jobs%2FID`` is ``/api/jobs/ID``)."""
    path, _, query = path.partition("?")
    shown = quote(_JOB_PATH.sub(r"\1" + JOB_PLACEHOLDER, unquote(path)), safe=_SHOWN)
    return shown + (f"?{_hide_query(query)}" if query else "")


async def _answer(send, status: int, body: dict, headers: tuple = ()) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            (b"cache-control", b"no-store"), *headers]})
    await send({"type": "http.response.body", "body": data})


def _header(scope, name: bytes) -> str | None:
    value = dict(scope.get("headers") or []).get(name)
    return None if value is None else value.decode("latin-1")


def bearer_matches(header: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header brings ``token`` as ``Bearer TOKEN`` (compared in constant time)."""
    header = header or ""
    return header[:7].lower() == "bearer " and hmac.compare_digest(header[7:].strip().encode("latin-1"),
                                                                   token.encode())


def _query_names_token(scope) -> bool:
    query = scope.get("query_string", b"").decode("latin-1")
    return any(unquote_plus(part.split("=", 1)[0]).strip().lower() == "token" for part in query.split("&"))


class TokenCheck:
    """Answer 401 to requests that need ``token`` (all but the page, its files and the health check) and bring
    no ``Authorization: Bearer`` header with it; and to any that puts a token in the query (it would be logged)."""

    def __init__(self, app, token: str):
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await self.app(scope, receive, send)
        if scope["type"] != "http":  # the server has no websocket; refused as any request without the token
            return await send({"type": "websocket.close", "code": 1008})
        if _query_names_token(scope):
            return await _answer(send, 401, {"error": TOKEN_IN_QUERY, "status": 401, "code": "unauthorized"},
                                 _CHALLENGE)
        # under a proxy's prefix (--root-path): the path the app routes
        if scope.get("method") in ("GET", "HEAD") and _OPEN_PATHS.fullmatch(route_path(scope)):
            return await self.app(scope, receive, send)
        if bearer_matches(_header(scope, b"authorization"), self.token.decode()):
            return await self.app(scope, receive, send)
        await _answer(send, 401, {"error": NEEDS_TOKEN, "status": 401, "code": "unauthorized"}, _CHALLENGE)


def _origin_host(origin: str) -> str | None:
    """``scheme://host[:port]`` -> ``host[:port]`` as a Host header names it (the scheme's default port left out)."""
    try:
        parts = urlsplit(origin.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or parts.scheme not in ("http", "https"):
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = {"http": 80, "https": 443}[parts.scheme]
    return host if port in (None, default) else f"{host}:{port}"


def _host_header(header: str) -> str:
    """A Host header without a default port (``example.org:443`` behind TLS, ``:80`` in clear)."""
    header = header.strip().lower()
    for default in (":80", ":443"):
        if header.endswith(default):
            return header.removesuffix(default)
    return header


def _public_names(allowed_hosts) -> frozenset[str]:
    """The names an operator gave with --allowed-host, as ``host_name`` writes them, but this computer's own: a
    page on any port of 127.0.0.1 or localhost may be another account's (the very case the check is for)."""
    from .host_check import host_name
    from .settings import is_loopback

    names = set()
    for given in allowed_hosts:
        name = host_name(given)
        name = f"[{name}]" if ":" in name and not name.startswith("[") else name  # a bare IPv6 address
        if name and name != "*" and not is_loopback(name):
            names.add(name)
    return frozenset(names)


class OriginCheck:
    """Answer 403 to POST, PUT, PATCH and DELETE whose ``Origin`` header names another site or port than the
    ``Host`` asked: a page on another port of 127.0.0.1 is "same-site" to the browser, and a form it posts here
    would be sent. Requests without ``Origin`` (curl, scripts) pass: no browser sends such a request from a page.
    An Origin naming one of ``allowed_hosts`` (--allowed-host, a reverse proxy's public name; any scheme or port)
    passes too: a proxy may pass on its own address as Host (nginx's default) and no X-Forwarded-Host. So does an
    Origin listed in ``allowed_origins`` (--allow-origin, exact scheme, host and port: ``serve.cors``)."""

    def __init__(self, app, allowed_hosts=(), allowed_origins=()):
        self.app = app
        self.public = _public_names(allowed_hosts)
        self.origins = frozenset(allowed_origins)

    def _from_public_name(self, origin_host: str | None) -> bool:
        from .host_check import host_name

        return origin_host is not None and host_name(origin_host) in self.public

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") not in _CHANGES:
            return await self.app(scope, receive, send)
        origin = _header(scope, b"origin")
        # a proxy that passes on its own address as Host names the public one in X-Forwarded-Host (a header no
        # other site's page can add without the browser asking this server first, which it never allows)
        served = {_host_header((_header(scope, name) or "").split(",")[0])
                  for name in (b"host", b"x-forwarded-host")}
        # "Origin: null" (a sandboxed frame, a file:// page) names no site: refused on purpose, as any page may be
        asked = None if origin is None else _origin_host(origin)
        if origin is None or asked in served - {""} or self._from_public_name(asked) \
                or normalise_origin(origin) in self.origins:
            return await self.app(scope, receive, send)
        shown = origin[:100].encode("ascii", "replace").decode()
        await _answer(send, 403, {"error": OTHER_ORIGIN.format(origin=shown), "status": 403,
                                 "code": "forbidden_origin"})
