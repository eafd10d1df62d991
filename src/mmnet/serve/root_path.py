"""The server under a reverse proxy's path prefix (``mmnet serve --root-path /mmnet``).

A proxy serving the app at ``https://lab.example/mmnet/`` and passing requests on without the prefix (nginx's
``proxy_pass http://127.0.0.1:8000/;``) leaves the app unaware of it; uvicorn's ``root_path`` puts it back: each
request's scope then has ``root_path`` "/mmnet" and a ``path`` that begins with it (ASGI), and the app routes the
rest. The URLs the API answers with (a job's ``urls`` and ``files``, ``Location``) carry the prefix, so that a
client resolving them against the proxy's address reaches the app. A test client may give ``root_path`` with paths
that lack it: both forms are read here.
"""

from __future__ import annotations

import re

__all__ = ["check_root_path", "prefix_of", "route_path", "public_path", "job_urls", "file_urls"]

# a URL path of plain segments: no query, fragment, percent-escape (the scope's path is decoded), space or non-ASCII
# character (uvicorn writes the prefix into every request's raw path as ASCII), no "." or ".." segment
_SEGMENT = r"/(?!\.\.?(?:/|$))[A-Za-z0-9._~!$&'()*+,;=:@-]+"


def check_root_path(value: str) -> str:
    """``value`` (--root-path) as uvicorn takes it: "/mmnet" (a trailing "/" left out; "" or "/": no prefix).
    ValueError saying what is wrong otherwise."""
    path = value.strip().rstrip("/")
    if not path:
        return ""
    if not path.startswith("/"):
        raise ValueError(f"--root-path must be the path the proxy serves the app under, beginning with '/' "
                         f"(e.g. /mmnet for https://lab.example/mmnet/), got {value!r}")
    if not re.fullmatch(f"(?:{_SEGMENT})+", path):
        raise ValueError(f"--root-path must be a plain URL path (ASCII letters, digits and -._~!$&'()*+,;=:@ between "
                         f"slashes; no spaces, '%', '?', '#', '//', '.' or '..'), e.g. /mmnet, got {value!r}")
    return path


def prefix_of(scope) -> str:
    """The prefix the client's URLs begin with ("" without one; never ending in "/")."""
    return (scope.get("root_path") or "").rstrip("/")


def route_path(scope) -> str:
    """The path the app routes (``/api/health``): the scope's path without the prefix."""
    path, root = scope.get("path", ""), prefix_of(scope)
    if root and (path == root or path.startswith(root + "/")):
        return path[len(root):] or "/"
    return path


def public_path(scope) -> str:
    """The path the client asked for, prefix included (``/mmnet/api/health``)."""
    return prefix_of(scope) + route_path(scope)


def job_urls(root: str, job_id: str) -> dict[str, str]:
    """A recording job's URLs (its state, events and result), under the prefix ``root``."""
    base = f"{root}/api/jobs/{job_id}"
    return {"state": base, "events": f"{base}/events", "result": f"{base}/result", "csv": f"{base}/result?format=csv"}


def file_urls(root: str, job_id: str, names) -> dict[str, str]:
    """The URLs of a job's pictures by name, under the prefix ``root``."""
    return {n: f"{root}/api/jobs/{job_id}/files/{n}" for n in names}
