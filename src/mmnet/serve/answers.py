"""How the application answers errors: every one as ``{"error", "status", "code"[, "field"]}`` (``serve.codes``),
never a traceback (that goes to the server's log), with the headers HTTP asks for (``Allow`` on a 405,
``Retry-After`` on a 503).

A bug (an exception no handler takes) is answered 500 ``internal`` by ``InternalErrors``, a middleware inside the
CORS one: Starlette calls a handler of ``Exception`` from its outermost layer, outside every middleware, so that
answer would reach a page of an ``--allow-origin`` without the CORS headers, and the browser would hide it."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..errors import MMNetError
from .codes import code_of, error_body, field_of
from .jobs import RETRY_AFTER_S, Busy
from .messages import SEND_FILE, for_web, invalid_request
from .request_context import current_request_id, of_request
from .root_path import prefix_of
from .spotting import SpottingUnavailable
from .uploads import UploadError, is_no_room, no_room
from .watched_send import WatchedSend

__all__ = ["ApiError", "InternalErrors", "INTERNAL_ERROR", "busy_response", "error_response", "install_error_handlers"]

log = logging.getLogger("mmnet.serve")
INTERNAL_ERROR = ("The server failed because of an internal error; the details are in the server's log, on the "
                  "lines naming this answer's request_id.")


class ApiError(Exception):
    """An error an endpoint answers with: its sentence, status, code, and any more fields or headers."""

    def __init__(self, message: str, status: int, code: str, *, headers: dict | None = None, **extra):
        super().__init__(message)
        self.status, self.code, self.headers, self.extra = status, code, headers or {}, extra


def error_response(message: str, status: int, code: str | None = None, field: str | None = None,
                   headers: dict | None = None, **extra) -> JSONResponse:
    return JSONResponse(error_body(message, status, code, field, **extra), status_code=status, headers=headers)


def busy_response(exc: Busy) -> JSONResponse:
    """503 busy, with "Try again in a minute" in words and in Retry-After, for clients that retry by themselves."""
    return error_response(str(exc), 503, "busy", headers={"Retry-After": str(RETRY_AFTER_S)})


def _field(errors: list[dict]) -> str | None:
    """The first field a validation error names (a form field or a query parameter)."""
    for error in errors:
        loc = tuple(error.get("loc", ()))
        if len(loc) > 1:
            return str(loc[-1])
    return None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request, exc: ApiError):
        return error_response(str(exc), exc.status, exc.code, headers=exc.headers, **exc.extra)

    @app.exception_handler(UploadError)
    async def _upload_error(_request, exc: UploadError):
        return error_response(str(exc), exc.status, exc.code, exc.field)

    @app.exception_handler(Busy)
    async def _busy(_request, exc: Busy):
        return busy_response(exc)

    @app.exception_handler(SpottingUnavailable)
    async def _unavailable(_request, exc: SpottingUnavailable):
        return error_response(str(exc), 501, "spotting_unavailable")

    @app.exception_handler(MMNetError)
    async def _mmnet_error(_request, exc: MMNetError):
        code = code_of(str(exc))
        return error_response(for_web(str(exc)), 422, code, field_of(str(exc)) if code == "field_invalid" else None)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request, exc: RequestValidationError):
        errors = exc.errors()  # the page's field names, and the API's
        return error_response(invalid_request(errors), 422, "field_invalid", _field(errors))

    @app.exception_handler(HTTPException)
    async def _http(request, exc: HTTPException):
        if is_no_room(exc.__cause__):  # the form's file did not fit where it is spooled (FastAPI says 400)
            return await _upload_error(request, no_room(Path(tempfile.gettempdir())))
        path, root = request.url.path[:100], prefix_of(request.scope)
        if exc.status_code == 404 and exc.detail == "Not Found":  # no route (the API's own 404s say more)
            return error_response(f"There is nothing at {path}. {_where_the_page_is(root)}", 404, "not_found")
        hint = {405: f" {path} does not take {request.method}: see {root}/docs for what each endpoint takes.",
                400: f" {SEND_FILE}" if request.method == "POST" else ""}.get(exc.status_code, "")
        detail = str(exc.detail)
        # exc.headers: the Allow header of a 405, which HTTP requires and clients read
        return error_response(f"{detail}{'' if not hint or detail.endswith('.') else '.'}{hint}", exc.status_code,
                              headers=exc.headers)

    @app.exception_handler(Exception)  # a bug in the outermost middleware (InternalErrors answers the others')
    async def _internal(_request, exc: Exception):
        log.error("internal error", exc_info=exc)
        return error_response(INTERNAL_ERROR, 500, "internal")


def _where_the_page_is(root: str) -> str:
    """Where the page and /docs are; under --root-path both through the proxy and at the server's own address,
    which cannot be told apart (uvicorn adds the prefix to every request's path)."""
    if not root:
        return "The page is at /; the API's endpoints are listed at /docs."
    return (f"The page is at {root}/ and the API's endpoints are listed at {root}/docs through the proxy; at the "
            f"server's own address (not through the proxy) they are at / and /docs, without {root}.")


class InternalErrors:
    """ASGI middleware: an exception escaping what it wraps is logged with its traceback and answered 500
    ``internal`` (no traceback, no path: a path may hold a job id, the key to a result). When the answer had
    already begun (a stream), nothing else can be sent: the exception goes on, and the server closes the
    connection."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        watched = WatchedSend(send)
        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            if watched.started:
                raise
            log.error("%sinternal error", of_request(current_request_id()), exc_info=exc)
            await error_response(INTERNAL_ERROR, 500, "internal")(scope, receive, send)
