"""The API's interactive documentation, served from this computer: ``/docs`` (Swagger UI) and ``/redoc``.

FastAPI's own pages load their scripts from cdn.jsdelivr.net: blank on an offline computer, and a
request to another site from every one that opens them. Here the scripts, style sheet and icon come
from the ``fastapi-offline`` package (in the serve extra; it ships Swagger UI 5, which reads the
OpenAPI 3.1 schema FastAPI writes, and ReDoc) under ``/docs-assets``. Without that package both
pages say how to install it. ReDoc's script is served with its one image from another site (the
Redocly logo in its menu, from cdn.redoc.ly) taken out: the browser requests nothing there.

The pages name the schema and these files relative to their own address (``openapi.json``,
``docs-assets/...``), so they also work behind a reverse proxy that serves the app under a sub-path
(``https://host/mmnet/docs``). Swagger UI gets no OAuth2 redirect page: the API has no login to redirect to.

``/docs/licences``, linked from both pages, says under which licences those scripts are (Swagger UI: Apache-2.0,
ReDoc: MIT) and where their texts are published: fastapi-offline ships no licence file of theirs, so the page shows
the section of mmnet's THIRD-PARTY-NOTICES.md about them, read from the installed distribution's metadata.
"""

from __future__ import annotations

import html
import importlib.metadata
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from ..errors import install_hint

__all__ = ["ASSETS_URL", "LICENCES_URL", "docs_assets", "add_docs", "scripts_notice"]

ASSETS_URL = "/docs-assets"
LICENCES_URL = "/docs/licences"
NOTICES = "THIRD-PARTY-NOTICES.md"
_NOTICES_SECTION = "## Scripts the web page serves"
# what the page says when the notices cannot be read (an installation without its metadata)
_NOTICES_MISSING = ("Swagger UI (/docs) is under the Apache-2.0 licence (https://github.com/swagger-api/swagger-ui) "
                    "and ReDoc (/redoc) under the MIT licence (https://github.com/Redocly/redoc), each with the "
                    f"libraries bundled into it; mmnet's {NOTICES} says more.")
# /docs and /redoc are at the root: relative to them, these name the root's files under a proxy's sub-path too
_PAGE_ASSETS = ASSETS_URL.removeprefix("/")
_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")
# ReDoc's menu shows this logo from Redocly's CDN; an empty data URL fails to decode, and ReDoc then drops the image.
_REDOC_LOGO = ('src:"https://cdn.redoc.ly/redoc/logo-mini.svg"', 'src:"data:,"')
# Nothing from another site, even what a script would ask for (Swagger UI's pages need inline scripts and styles).
DOCS_HEADERS = {"Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; "
                                           "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                                           "font-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'",
                "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def docs_assets() -> Path | None:
    """The folder of the documentation pages' scripts, or None when the package that ships them is missing."""
    try:
        import fastapi_offline
    except ImportError:
        return None
    folder = Path(fastapi_offline.__file__).parent / "static"
    return folder if all((folder / name).is_file() for name in _FILES) else None


def _notices_text() -> str | None:
    """mmnet's THIRD-PARTY-NOTICES.md: in the installed distribution's metadata (``license-files``), else in the
    source checkout this module is run from (an editable install made before the file was listed there)."""
    try:
        text = importlib.metadata.distribution("mmnet").read_text(f"licenses/{NOTICES}")
    except importlib.metadata.PackageNotFoundError:
        text = None
    checkout = Path(__file__).resolve().parents[3] / NOTICES
    if text is None and checkout.is_file():
        text = checkout.read_text(encoding="utf-8")
    return text


def scripts_notice() -> str:
    """The notices' section about the documentation pages' scripts (``_NOTICES_MISSING`` when it is not found)."""
    text = _notices_text() or ""
    start = text.find(_NOTICES_SECTION)
    if start < 0:
        return _NOTICES_MISSING
    end = text.find("\n## ", start + len(_NOTICES_SECTION))
    return text[start:end if end >= 0 else None].strip()


def _licences_page(title: str) -> HTMLResponse:
    body = (f"<!doctype html><html><head><meta charset='utf-8'><title>Licences: {title}</title></head><body>"
            f"<h1>Licences of the documentation pages' scripts</h1><p>From mmnet's {NOTICES}:</p>"
            f"<pre style='white-space:pre-wrap'>{html.escape(scripts_notice())}</pre>"
            "<p><a href='../docs'>Back to /docs</a>, <a href='../redoc'>/redoc</a>.</p></body></html>")
    return HTMLResponse(body, headers=DOCS_HEADERS)


def _with_licences_link(response: HTMLResponse) -> HTMLResponse:
    """The page with a link to its scripts' licences at its end (relative: it stays under a proxy's sub-path)."""
    # at the right: ReDoc's menu covers the foot's left part
    link = ("<p style='font:12px sans-serif;margin:1em;text-align:right'>"
            f"<a href='{LICENCES_URL.removeprefix('/')}'>Licences of this page's scripts</a></p>")
    page = response.body.decode("utf-8").replace("</body>", f"{link}</body>", 1)
    return HTMLResponse(page, status_code=response.status_code, headers=DOCS_HEADERS)


def _missing_page(title: str) -> HTMLResponse:
    hint = install_hint("serve").replace("&", "&amp;").replace("<", "&lt;")
    body = (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body>"
            f"<h1>{title}</h1><p>This server has no copy of the documentation pages' scripts (the package "
            f"<code>fastapi-offline</code> is missing), and it never loads them from another site. "
            f"Install the serve extra again and restart <code>mmnet serve</code>: <code>{hint}</code>.</p>"
            "<p>The API's schema is at <a href='openapi.json'>/openapi.json</a>; the endpoints are described "
            "in mmnet's docs/serve.md.</p></body></html>")
    return HTMLResponse(body, status_code=501, headers=DOCS_HEADERS)


def add_docs(app: FastAPI) -> None:
    """Add ``/docs`` and ``/redoc`` to ``app`` (created with ``docs_url=None, redoc_url=None``)."""
    assets = docs_assets()
    redoc_js = "redoc.local.js"
    title = f"{app.title} API"
    openapi_url = app.openapi_url.removeprefix("/")
    if assets is not None:
        redoc_script: list[bytes] = []  # read once, at the first request

        @app.get(f"{ASSETS_URL}/{redoc_js}", include_in_schema=False)
        async def redoc_without_remote_logo():
            if not redoc_script:
                redoc_script.append((assets / "redoc.standalone.js").read_text(encoding="utf-8")
                                    .replace(*_REDOC_LOGO).encode())
            return Response(redoc_script[0], media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=3600", **DOCS_HEADERS})

        app.mount(ASSETS_URL, StaticFiles(directory=assets), name="docs-assets")  # after that route: it would take it

    def page(build) -> HTMLResponse:
        """The page ``build`` makes from the local assets, or the page saying they are missing."""
        if assets is None:
            return _missing_page(title)
        return _with_licences_link(build())

    @app.get(LICENCES_URL, include_in_schema=False)
    async def licences():
        return _licences_page(title)

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui():
        return page(lambda: get_swagger_ui_html(
            openapi_url=openapi_url, title=title, swagger_js_url=f"{_PAGE_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{_PAGE_ASSETS}/swagger-ui.css", swagger_favicon_url=f"{_PAGE_ASSETS}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None}))  # no badge from validator.swagger.io

    @app.get("/redoc", include_in_schema=False)
    async def redoc():
        return page(lambda: get_redoc_html(
            openapi_url=openapi_url, title=title, redoc_js_url=f"{_PAGE_ASSETS}/{redoc_js}",
            redoc_favicon_url=f"{_PAGE_ASSETS}/favicon.png", with_google_fonts=False))
