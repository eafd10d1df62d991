"""The HTTP API and the page: one FastAPI application around one loaded model.

Endpoints (OpenAPI at ``/docs``, ``/redoc`` (``mmnet.serve.docs``) and ``/openapi.json``; docs/serve.md):

* ``GET /api/health``, ``GET /api/model``: liveness, load, and which model answers;
* ``POST /api/predict``: a clip (video or zip of frames) -> ``mmnet predict --json``'s fields, plus
  the id under which its pictures can be fetched;
* ``POST /api/recordings``: a long recording -> a job id (202); ``GET /api/jobs/{id}`` (state),
  ``/events`` (server-sent events), ``/result`` (the spot JSON, or CSV), ``/files/{name}`` (PNGs),
  ``DELETE /api/jobs/{id}``.

Every error is ``{"error": message, "status": status, "code": code}`` (``serve.codes``): a sentence for a
person, never a traceback (those go to the server's log), and a stable code for programs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Literal

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from ..errors import MMNetError
from ..infer.model_summary import with_note_column
from ..infer.provenance import UNRECORDED_CAPTION
from ..preprocess.landmarks import DEFAULT_LANDMARKS
from ..spotting.config import MAX_FPS
from ..version import __version__
from . import schema as api
from .access import OriginCheck, TokenCheck, bearer_matches
from .analysis import analyse_clip, analyse_recording, prediction_csv, recording_csv
from .answers import ApiError, InternalErrors, error_response, install_error_handlers
from .codes import code_of
from .cors import Cors
from .cut_off import AnswerWhenCutOff
from .docs import add_docs
from .form_check import check_form
from .freed_memory import release_freed_memory
from .host_check import HostCheck
from .job_store import JobStore
from .jobs import DELETED, EVICTED, EXPIRED, OVER_MEMORY, POLL_S, SERVER_STOPPING, Job, Pool
from .limits import BodyLimit
from .messages import ZIP_WITHOUT_RATE, invalid_request
from .model_info import model_title, provenance, with_model_note
from .queue_watch import BusyFirst, until_answered
from .request_log import RequestLog
from .root_path import file_urls, job_urls, prefix_of, route_path
from .settings import API_VERSION, ServeSettings, server_limits
from .spotting import SharedAligners, flow_spotter, require_spotting, spotting_available
from .upload_root import make_upload_root
from .uploads import (
    UploadError,
    attachment,
    display_name,
    open_upload,
    remove_off_loop,
    save_upload,
    too_large,
    with_ignored_note,
)

__all__ = ["ServeSettings", "create_app", "STATIC"]

log = logging.getLogger("mmnet.serve")
STATIC = Path(__file__).parent / "static"
_ONSET_HELP = ("onset frame number (default: the first frame); a video's frames are counted from 0, a zip's frames "
               "by the number in their file names")
# The page loads nothing from elsewhere, and nothing from here may be framed or sniffed as another type.
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; "
                                           "frame-ancestors 'none'",
                "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
#: Seconds of silence after which an event stream sends a comment (proxies close connections left idle).
KEEPALIVE_S = 15.0
# Results describe faces (pictures of them included): no browser or proxy may keep a copy on its disk
NO_STORE = {"Cache-Control": "no-store"}


def create_app(predictor, *, model_info: dict | None = None, settings: ServeSettings | None = None,
               spotter=None, aligner=None, landmarks: int = DEFAULT_LANDMARKS) -> FastAPI:
    """The application serving ``predictor``.

    Args:
        predictor: a ``mmnet.infer.Predictor`` (loaded once, shared by every request).
        model_info: what ``GET /api/model`` says about it (``model_info.describe_checkpoint``); its
            ``caption`` goes under every attention figure (default: what it was trained on is not recorded).
        settings: limits, and whether attention figures make the deletion check (defaults: ``ServeSettings()``).
        spotter: the long-video spotter (default ``spotting.flow_spotter(landmarks)``: ``spot_recording`` with face
            aligners built once for the server, ``aligner`` among them; see that module).
        landmarks: the landmark model of the server's own spotter (when no ``spotter`` is given); without that
            model installed, recordings are unavailable (501 naming what is missing), never spotted with another.
        aligner: a face aligner for clip uploads that are not face crops (``mmnet.preprocess.FaceAligner``);
            recordings always follow ``mmnet spot --checkpoint`` (faces aligned), whatever it is.
    """
    settings = settings or ServeSettings()
    limits = settings.limits
    can_spot = spotter is not None or spotting_available(landmarks)
    # recordings crop with the clip aligner when it crops as they do (one landmark model loaded, not two)
    spotter = spotter or flow_spotter(landmarks, SharedAligners(*[a for a in (aligner,) if a is not None]))
    held_root, stale_removed = make_upload_root()  # and those of servers killed before they could remove theirs
    root = held_root.path
    store = JobStore(root, ttl_s=settings.result_ttl_s, max_kept=settings.max_kept,
                     max_bytes=int(settings.max_kept_mb * 2**20))
    pools = {"clip": Pool("clip", settings.workers, settings.queue, on_end=store.sweep),
             "recording": Pool("recording", settings.workers, settings.queue, on_end=store.sweep)}
    stop, stopping = threading.Event(), threading.Event()
    info = {"title": model_title(list(predictor.class_names)), "classes": list(predictor.class_names),
            "image_size": predictor.preprocessing.image_size, "caption": UNRECORDED_CAPTION, **(model_info or {})}

    made_by = provenance(info)  # on every result: which model gave it
    # in every attention figure's PNG record: the model by its folder name (never a path on the server) and sha256
    figure_record = {"checkpoint": info.get("name") or "", "checkpoint_sha256": info.get("sha256") or ""}

    def sweeper() -> None:
        released = 0
        while not stop.wait(min(30.0, max(settings.result_ttl_s / 4, 0.05))):
            store.sweep()
            if store.forgotten != released:  # results removed since: their memory goes back to the system
                released = store.forgotten
                release_freed_memory()

    def stop_jobs() -> None:
        """End every waiting and running job (failed, saying the server stops), so that event streams end and
        workers stop now rather than at the jobs' time limit: results live in memory and would be lost anyway.
        Called as the server begins to stop (``serve.server``), before it waits for open connections; from then on
        a request uvicorn cancels (past --shutdown-timeout) is answered 503 (``cut_off``)."""
        stopping.set()
        waiting, running = store.stop_all(SERVER_STOPPING)
        if waiting or running:  # a running one may still end first: its own line says how it ended
            log.warning("stopping: %d waiting analysis job(s) stopped, %d running told to stop at their next frame "
                        "(results are kept in memory only)", waiting, running)

    @asynccontextmanager
    async def lifespan(_app):
        thread = threading.Thread(target=sweeper, name="mmnet-serve-sweeper", daemon=True)
        thread.start()
        try:
            yield
        finally:
            # those that began while the connections closed (their workers would outlive the server); in a thread,
            # as the folders of waiting ones are removed
            await asyncio.to_thread(stop_jobs)
            stop.set()
            for pool in pools.values():
                pool.shutdown()
            held_root.release()

    # servers ".": the API is where /openapi.json is (OpenAPI resolves a relative server against the document), so
    # /docs' "Try it out" stays under a reverse proxy's sub-path; without it Swagger UI calls the host's root
    app = FastAPI(title="mmnet", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  servers=[{"url": ".", "description": "this server, also behind a proxy's sub-path"}],
                  description="Micro-expression recognition with MMNet: classify a clip, spot and classify the "
                              "expressions of a long recording. Errors are `{\"error\": message, \"status\": "
                              "status, \"code\": code}`: programs read `code` (stable), people `error`.")
    app.state.store, app.state.pools, app.state.root, app.state.stop_jobs = store, pools, root, stop_jobs
    app.state.stale_removed = stale_removed
    api.install_openapi(app, login=settings.token is not None)  # every error documented as ErrorBody
    add_docs(app)  # /docs and /redoc from files on this computer, not FastAPI's CDN
    app.add_middleware(BusyFirst, pools=pools)  # a full queue answers before the upload is received
    app.add_middleware(BodyLimit, max_bytes=limits.max_bytes + 2**20,  # + the multipart envelope
                       message=lambda scope: too_large(settings.max_upload_mb, "clip" if route_path(scope)
                                                       .startswith("/api/predict") else "recording"))
    if settings.token is not None:
        app.add_middleware(TokenCheck, token=settings.token)
    # no upload or delete from a page of another port (no CSRF), token or not; a proxy's public name passes
    app.add_middleware(OriginCheck, allowed_hosts=settings.allowed_hosts, allowed_origins=settings.allow_origins)
    # Before everything but CORS: a request naming another site (DNS rebinding) gets 400. A page of another site
    # gets no CORS header on it (only listed origins do), so it reads nothing; a listed origin's page reads why.
    app.add_middleware(HostCheck, allowed_hosts=settings.trusted_hosts)
    app.add_middleware(AnswerWhenCutOff, stopping=stopping)  # inside the request log and CORS, as other answers
    app.add_middleware(InternalErrors)  # a bug's 500 as JSON, inside CORS (Starlette's own is outside it)
    # Outermost but for RequestLog: a preflight brings no token, and every refusal (Host, token, Origin, a bug's
    # 500) carries the CORS headers for a listed origin, whose page would otherwise see a network error instead of
    # the answer
    app.add_middleware(Cors, origins=settings.allow_origins)
    app.add_middleware(RequestLog)  # around everything: every answer, refusals included, carries its request id

    install_error_handlers(app)  # every error as {"error", "status", "code"}

    def _job(job_id: str) -> Job:
        job = store.get(job_id)
        if job is None:
            why = store.why_gone(job_id)
            code = {DELETED: "job_deleted", EXPIRED: "job_expired"}.get(why, "job_evicted" if why else "job_unknown")
            raise ApiError(_gone_message(job_id[:40], why), 404, code)
        return job

    def _gone_message(job_id: str, why: str | None) -> str:
        ask = "Download each result soon after it is ready, or ask whoever runs the server to raise"
        return {
            DELETED: f"Job {job_id} was deleted.",
            EXPIRED: f"The result of job {job_id} has expired: this server keeps results "
                     f"{settings.result_ttl_s / 60:g} minutes after they are ready.",
            EVICTED: f"The result of job {job_id} was removed to make room: this server keeps the last "
                     f"{settings.max_kept} results. {ask} --max-results.",
            OVER_MEMORY: f"The result of job {job_id} was removed to make room: this server keeps at most "
                         f"{settings.max_kept_mb:g} MB of results' pictures. {ask} --max-results-mb.",
        }.get(why, f"There is no job {job_id!r} on this server (results are kept {settings.result_ttl_s / 60:g} "
                   f"minutes after they are ready, the last {settings.max_kept} at most; a restart forgets them).")

    async def _receive(request: Request, file: UploadFile, kind: str, default_name: str) -> tuple[Job, object]:
        """Save and check an upload into a fresh folder; its job (not yet started) and the Upload."""
        await check_form(request)  # settings in the URL, unknown or repeated fields, several files: refused
        folder = store.new_folder()
        job = Job(kind, display_name(file.filename, default_name), folder, settings.job_timeout_s)
        try:
            upload = await run_in_threadpool(lambda: open_upload(save_upload(file.file, folder, limits, kind), limits,
                                                                    job.name, kind))
        except BaseException as exc:  # a bad upload, a bug, a cancelled request: the folder goes in each case
            await remove_off_loop(folder)  # a folder of many frames: not on the event loop
            if isinstance(exc, MMNetError) and not isinstance(exc, UploadError):
                raise UploadError(job.clean_message(str(exc)), code=code_of(str(exc))) from None
            raise
        finally:  # the job has its copy: the spooled form file need not hold the disk while the clip is analysed
            await file.close()
        job.media = upload.kind  # its frame-number rule, for messages (video: from 0; zip: the file names)
        return job, upload

    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache", **PAGE_HEADERS})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/health", summary="Liveness and load", responses={200: {"model": api.Health}, **api.errors()})
    @app.head("/api/health", include_in_schema=False)  # some health probes ask by HEAD
    async def health(request: Request):
        answer = {"status": "ok", "version": __version__, "spotting": can_spot, "model": None}
        # with a token, those without it learn nothing of its folders, jobs and load; those with it do
        if settings.token is None or bearer_matches(request.headers.get("authorization"), settings.token):
            answer.update(model=info.get("name"), jobs=store.counts(),
                          load={k: {"active": p.active, "capacity": p.capacity} for k, p in pools.items()})
        return answer

    @app.get("/api/model", summary="The loaded model and the server's limits",
             responses={200: {"model": api.ModelInfo}, **api.errors()})
    async def model():
        return {**info, "model": made_by, "api_version": API_VERSION, "spotting": can_spot,
                "deletion_check": settings.deletion_check,
                "max_upload_mb": settings.max_upload_mb, "result_ttl_s": settings.result_ttl_s,
                "limits": server_limits(settings)}

    @app.post("/api/predict", summary="Classify one clip (a video, or a zip of its frames)",
              responses={200: {"model": api.Prediction}, **api.errors(400, 413, 415, 422, 503, 504, 507)})
    async def predict(request: Request, response: Response,
                      file: Annotated[UploadFile, File(description="a video, or a zip of the clip's numbered frames")],
                      onset: Annotated[int | None, Form(ge=0, description=_ONSET_HELP)] = None,
                      apex: Annotated[int | None, Form(ge=0, description="apex frame number (default: spotted)")]
                      = None):
        """`mmnet predict --json`'s fields for the clip (`source` is the upload's file name), plus `id`
        and `files`: the URLs of the onset and apex crops and of the attention figure (PNG)."""
        with pools["clip"].slot() as slot:
            job, upload = await _receive(request, file, "clip", "clip")
            await run_in_threadpool(store.add, job)  # the server stopping, it ends the job: its folder removed
            future = slot.submit(job, lambda j: with_model_note(with_ignored_note(
                analyse_clip(j, predictor, upload.path, onset=onset, apex=apex, aligner=aligner,
                             caption=info["caption"], record=figure_record, check_deletion=settings.deletion_check),
                upload, "clip"), info.get("note")))
        if not await until_answered(future, job, request, lambda j: store.remove(j.id)):
            return Response(status_code=499)  # nobody reads it: nginx's "client closed request" in the log
        if job.status != "done":
            await run_in_threadpool(store.remove, job.id)
            return error_response(job.error or "The clip could not be analysed.", job.error_status, job.error_code,
                                  job.error_field)
        response.headers.update(NO_STORE)
        return {**job.result, "id": job.id, "files": file_urls(prefix_of(request.scope), job.id, job.result["files"]),
                "model": made_by}

    @app.post("/api/recordings", status_code=202, summary="Start spotting a long recording",
              responses={202: {"model": api.JobState}, **api.errors(400, 413, 415, 422, 501, 503, 507)})
    async def recordings(request: Request,
                         file: Annotated[UploadFile, File(description="a video, or a zip of numbered frames")],
                         fps: Annotated[float | None, Form(gt=0, le=MAX_FPS,  # as the spotter: no window else
                                                           description="frame rate (a zip of frames needs it)")]
                         = None):
        """Answers 202 with the job's id at once; follow it at `/api/jobs/{id}` or `/api/jobs/{id}/events`,
        then fetch `/api/jobs/{id}/result`. 503 when every worker and queue place is taken."""
        if fps is not None and not math.isfinite(fps):  # pydantic < 2.5 lets nan through gt/le
            raise UploadError(invalid_request([{"loc": ("body", "fps"), "input": fps}]), code="field_invalid",
                              field="fps")
        if not can_spot:
            require_spotting(landmarks)  # 501 naming the face extra (or landmark model) to install
        with pools["recording"].slot() as slot:
            job, upload = await _receive(request, file, "recording", "recording")
            if upload.kind == "frames" and fps is None:  # refused now, not as a failed job naming a CLI option
                await remove_off_loop(job.folder)
                raise UploadError(ZIP_WITHOUT_RATE, code="fps_required", field="fps")
            await run_in_threadpool(store.add, job)
            slot.submit(job, lambda j: with_model_note(with_ignored_note(
                analyse_recording(j, predictor, upload.path, spotter, fps=fps, caption=info["caption"],
                                  record=figure_record, check_deletion=settings.deletion_check), upload, "recording"),
                info.get("note")))
        urls = job_urls(prefix_of(request.scope), job.id)  # under a proxy's prefix (--root-path) too
        return JSONResponse({**job.public(), "urls": urls}, status_code=202, headers={"Location": urls["state"]})

    @app.get("/api/jobs/{job_id}", summary="A job's state and progress",
             responses={200: {"model": api.JobState}, **api.errors(404)})
    async def job_state(job_id: str, request: Request):
        job = _job(job_id)
        return {**job.public(), "urls": job_urls(prefix_of(request.scope), job.id)}

    @app.get("/api/jobs/{job_id}/events", summary="A job's progress as server-sent events (text/event-stream)",
             response_class=api.EventStream, responses={**api.JOB_EVENTS, **api.errors(404)})
    async def job_events(job_id: str, request: Request):
        job = _job(job_id)
        urls = job_urls(prefix_of(request.scope), job.id)

        async def stream():
            seen, sent = -1, time.monotonic()
            while not await request.is_disconnected():
                ended, version = job.ended, job.version
                if version != seen:
                    seen, sent = version, time.monotonic()
                    yield f"data: {json.dumps({**job.public(), 'urls': urls})}\n\n"
                elif time.monotonic() - sent >= KEEPALIVE_S:  # a comment: proxies close connections left silent
                    sent = time.monotonic()
                    yield ": keep-alive\n\n"
                if ended:
                    break
                await asyncio.sleep(0.25)

        # X-Accel-Buffering: nginx would otherwise hold the events back until its buffer fills
        return api.EventStream(stream(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/api/jobs/{job_id}/result", summary="A finished job's result: JSON, or CSV with ?format=csv",
             responses={**api.RESULT, **api.errors(404, 409, 422)})  # 422: a format it does not write
    async def job_result(job_id: str, request: Request, response: Response,
                         format: Literal["json", "csv"] = "json", bom: bool = False):
        job = _job(job_id)
        if job.status == "failed":  # 409, not the failure's own status: a 503 or 504 here would be retried forever
            return error_response(job.error or "The job failed.", 409, "job_failed", failed_status=job.error_status,
                                  failed_code=job.error_code)
        if not job.ended:
            return error_response(f"Job {job.id} is not finished yet ({job.stage}); wait for it at "
                                  f"{prefix_of(request.scope)}/api/jobs/{job.id}.", 409, "job_not_finished",
                                  headers={"Retry-After": str(POLL_S)})
        if format == "csv":
            if job.kind == "clip":
                text = prediction_csv(job.result, info["classes"])
            else:  # the layout of `mmnet spot --out`'s intervals.csv, by the same writer, source for its video
                text = recording_csv(job.result, info["classes"], job.media)
            text = with_note_column(text, info.get("note"))  # the model's note travels with the rows kept
            base = re.sub(r"\.[^.]*$", "", job.name) or job.kind  # named after the upload, as the page's downloads
            # ?bom=1, the page's download: Excel on Windows reads a double-clicked CSV without a BOM in the legacy
            # code page (Zoë as ZoÃ«); a script's csv reader would take the BOM into its first column's name
            return Response(("\ufeff" if bom else "") + text, media_type="text/csv",
                            headers={"Content-Disposition": attachment(f"{base}.csv"), **NO_STORE})
        root = prefix_of(request.scope)
        result = {**job.result, "files": file_urls(root, job.id, job.result.get("files", [])), "model": made_by}
        if job.kind == "recording":
            result["intervals"] = [{**iv, "files": file_urls(root, job.id, iv.get("files", []))}
                                   for iv in result["intervals"]]
        response.headers.update(NO_STORE)
        return result

    @app.get("/api/jobs/{job_id}/files/{name}", summary="A picture of a job (PNG)", response_class=api.PNG,
             responses={**api.PICTURE, **api.errors(404)})
    async def job_file(job_id: str, name: str):
        job = _job(job_id)
        data = job.files.get(name)  # a name from the job's own list: never a path on disk
        if data is None:
            return error_response(f"Job {job.id} has no file {name[:80]!r}.", 404, "not_found")
        return api.PNG(data, headers=NO_STORE)

    @app.delete("/api/jobs/{job_id}", status_code=204,
                summary="Forget a job and its result; a job still waiting or running is cancelled",
                responses={204: {"description": "forgotten"}, **api.errors(404)})
    async def job_delete(job_id: str):
        # a waiting job's folder is removed before the answer, its place freed with it, but off the event loop:
        # many frames take a while, and every other request and event stream would wait for them
        if not await run_in_threadpool(store.remove, job_id):
            _job(job_id)
        return Response(status_code=204)

    return app
