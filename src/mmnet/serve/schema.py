"""What ``/openapi.json`` says the API answers: the bodies of its answers, their media types, and every
error status each endpoint can give.

FastAPI would document a 422 of its own shape (``HTTPValidationError``, ``{"detail": [...]}``) on every
endpoint with a parameter; this server answers every error as ``ErrorBody`` (``{"error", "status", "code"}``).
``errors(...)`` declares an endpoint's error statuses with that body; ``install_openapi`` takes
FastAPI's validation schemas out of the document. The answer models list the main fields only
(``extra="allow"``): they document, they are not used to filter what is sent.
"""

from __future__ import annotations

from typing import Literal

from fastapi import FastAPI
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ..infer.attribution import FAITHFUL_FLOOR, FAITHFUL_RATIO
from .codes import CODE_MEANINGS, ErrorCode

__all__ = ["ErrorBody", "Prediction", "JobState", "RecordingResult", "Health", "ModelInfo", "EventStream", "PNG",
           "errors", "install_openapi", "JOB_EVENTS", "PICTURE", "RESULT"]

_MEANING = {
    400: "a malformed request or an unsafe zip archive (code bad_request), or a Host header naming a site this "
         "server does not answer (code bad_host)",
    401: "this server needs its access token (mmnet serve --token) as 'Authorization: Bearer TOKEN', which the "
         "request did not bring (or it put a token in the query, where it would be logged)",
    403: "an upload or delete sent by a page of another site or port (its Origin header)",
    404: "no such job: unknown, deleted, expired or removed to make room (the sentence says which)",
    409: "GET .../result of a job not finished yet (code job_not_finished; poll again after Retry-After seconds) "
         "or of a job that failed (code job_failed: it will never have a result; failed_status and failed_code "
         "say why)",
    413: "an upload over a limit of this server (size, entries, pixels)",
    415: "a file that is neither a video nor a zip of frames",
    422: "a clip or recording that cannot be analysed, or a request with a field that is not what it takes",
    500: "a bug in the server (the details are in its log)",
    501: "this server cannot spot expressions in long recordings",
    503: "every worker and queue place is taken (try again later), or the server is stopping (the job was stopped)",
    504: "the analysis took longer than the server's --job-timeout",
    507: "the analysis ran out of memory, or the server has no room to store the upload",
}


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorBody(BaseModel):
    """Every error: a sentence for a person (never a traceback), the HTTP status, and a code for programs."""

    model_config = ConfigDict(extra="allow")
    error: str = Field(description="what went wrong and what to do, for a person: its wording may change in any "
                                   "release; programs read `code`")
    status: int = Field(description="the HTTP status of the answer")
    code: ErrorCode = Field(description="what went wrong, for programs: stable within an api_version (codes are "
                                        "only added). " + "; ".join(f"`{c}`: {m}" for c, m in CODE_MEANINGS.items()))
    field: str | None = Field(None, description="the form field or query parameter at fault (field_invalid)")
    failed_status: int | None = Field(None, description="job_failed only: the status the job failed with")
    failed_code: ErrorCode | None = Field(None, description="job_failed only: the code the job failed with")
    request_id: str | None = Field(None, description="this request's id (also the `X-Request-ID` header of every "
                                                     "answer): the server's log names it on its lines about it")


class ModelRef(_Open):
    """Which model gave a result (the same object in /api/model), to compare results of different servers."""

    title: str | None = Field(description="the model in words")
    name: str | None = Field(description="its checkpoint folder (its last parts, never a path on the server)")
    sha256: str | None = Field(description="the sha256 of its weights file (model.safetensors); null when unknown")
    classes: list[str]
    synthetic: bool | None = Field(description="trained on synthetic faces: its results mean nothing on real faces; "
                                               "null when its training data is not recorded (unknown)")
    permuted_labels: bool = Field(False, description="trained with permuted labels (a control): its classes are "
                                                     "chance by design")
    note: str | None = Field(None, description="what its classes are worth when that needs saying (synthetic faces, "
                                               "permuted labels, training data unknown); also last in a result's "
                                               "`warnings` and in the CSVs' `model_note` column")
    mmnet_version: str | None = Field(description="the mmnet version that saved the checkpoint, when recorded")
    served_by: str = Field(description="the mmnet version of the server that computed the result")


class DeletionCheck(_Open):
    """The deletion check of an attention figure's Grad-CAM map (docs/inference.md, Is the Grad-CAM map faithful?):
    how much the class's score drops when the motion is removed in the map's top k cells, in k random cells
    and in its k lowest cells. A server started with --no-deletion-check skips it: ``skipped`` true and a ``note``."""

    skipped: bool = Field(description="true: not made (mmnet serve --no-deletion-check), the map is not tested for "
                                      "faithfulness; the other fields but note are then absent")
    note: str | None = Field(None, description="skipped only: the sentence the page shows under the figure")
    cells: int | None = Field(None, description="k, the cells deleted each time")
    of: int | None = Field(None, description="the map's cells")
    probability: float | None = Field(None, description="the class's score before any deletion")
    drop_top: float | None = Field(None, description="its drop with the motion removed in the map's top k cells")
    drop_random: float | None = Field(None, description="the mean drop over random_draws sets of k random cells")
    drop_lowest: float | None = Field(None, description="the drop with the map's k lowest cells")
    drop_top_motion_part: float | None = Field(None, description="the drop with the top k cells of the map's "
                                                                 "motion-branch part")
    faithful: bool | None = Field(None, description=f"true: the top cells' drop is more than {FAITHFUL_RATIO} times "
                                                    "the random and the lowest cells' drops, and above "
                                                    f"{FAITHFUL_FLOOR:g}: the map points at the motion behind this "
                                                    "prediction; false: it does not clearly")
    verdict: str | None = Field(None, description="that reading as the figure's heading says it")


class FigureText(_Open):
    """What the attention figure gives as pixels only, as text: the page writes it beside the picture."""

    heading: str | None = Field(None, description="the Grad-CAM row's heading as the figure writes it: the class, "
                                                  "the branches' shares of its positive attribution, the deletion "
                                                  "check's numbers and reading")
    gradcam_shares: dict[str, float] | None = Field(None, description="the motion (or main) branch's and the PC "
                                                                      "branch's shares of the map's positive "
                                                                      "attribution ({'motion', 'pc'}, adding up to "
                                                                      "1); null for a map zero everywhere")
    gradcam_cells: list[int] | None = Field(None, description="the Grad-CAM map's cells (rows, columns)")
    titles: list[str] = Field([], description="the panels' titles: Grad-CAM's, then each attention stage's")
    gates_heading: str | None = Field(None, description="the attention row's heading")
    gate_ranges: list[list[float]] = Field([], description="each attention stage's map: [min, max]")


_FACES = "the pictures show the upload's faces: publish them only as the agreement covering the recordings allows"


class Prediction(_Open):
    """A clip's class: the fields of `mmnet predict --json`, plus where its pictures are."""

    source: str = Field(description="the uploaded file's name")
    onset: int
    apex: int
    apex_spotted: bool
    label: str
    probabilities: dict[str, float] = Field(description="by class")
    aligned: bool = Field(False, description="the faces were detected, cropped and aligned (`mmnet serve --align`)")
    face_score: float | None = Field(None, description="the lower face detector score of the onset and apex frames "
                                                       "(aligned clips only)")
    warning: str | None = Field(None, description="the notes of `warnings`, joined by '; '")
    warnings: list[str] = []
    recording_warning: str | None = Field(None, description="the clip looks like a long recording")
    id: str | None = Field(None, description="the job's id (POST /api/predict only)")
    files: dict[str, str] = Field(description="picture name -> its URL (onset.png, apex.png, attention.png)")
    note: str | None = Field(None, description="why a picture is missing; a classified clip misses none (a model "
                                               "without attention blocks has its attention figure too: the inputs "
                                               "and Grad-CAM, a note in place of the attention gates)")
    deletion_check: DeletionCheck | None = Field(None, description="with the attention figure: its Grad-CAM map's "
                                                                   "deletion check, or that it was skipped")
    figure_text: FigureText | None = Field(None, description="with the attention figure: what it gives as pixels "
                                                             "only, as text")
    faces_note: str | None = Field(None, description=_FACES)
    model: ModelRef


class JobState(_Open):
    """A job's state; ``urls`` where to follow it and fetch its result."""

    id: str
    kind: Literal["clip", "recording"]
    name: str = Field(description="the uploaded file's name")
    status: Literal["queued", "running", "done", "failed"]
    progress: float | None = Field(description="0-1, or null when unknown")
    eta_s: float | None = Field(None, description="seconds left, estimated from the progress so far; null until "
                                                  "known (after some seconds of work) and once the job ended")
    stage: str
    error: str | None = Field(None, description="why the job failed")
    error_status: int | None = Field(None, description="the HTTP status of the failure (failed jobs only)")
    error_code: ErrorCode | None = Field(None, description="the code of the failure, as ErrorBody's (failed jobs "
                                                           "only)")
    urls: dict[str, str] = Field({}, description="state, events, result, csv")


class Interval(_Open):
    onset: int
    apex: int
    offset: int
    onset_s: float = Field(description="the onset frame's start in seconds from the recording's first frame (as "
                                       "`mmnet spot`; a video's frame presentation times), to the millisecond "
                                       "rounded up, so that a player sought to it shows that frame")
    apex_s: float | None = Field(description="the apex frame's start in seconds from the first frame")
    offset_s: float = Field(description="the offset frame's start in seconds from the first frame")
    end_s: float | None = Field(None, description="the offset frame's end (the next frame's start): the interval "
                                                  "covers onset_s up to end_s, end_s excluded")
    type: Literal["micro", "macro"]
    score: float | None
    label: str | None = Field(description="null for a macro-expression or an interval without motion")
    probabilities: dict[str, float] | None
    note: str | None = None
    files: dict[str, str] = Field({}, description="picture name -> its URL")
    deletion_check: DeletionCheck | None = Field(None, description="an interval drawn with an attention figure: as "
                                                                   "a clip's")
    figure_text: FigureText | None = Field(None, description="an interval drawn with an attention figure: as a "
                                                             "clip's")


class Curve(BaseModel):
    frames: list[int]
    score: list[float | None] = Field(description="null where no motion was measured")
    macro: list[float | None] | None = Field(None, description="the macro-expression scale's motion curve, beside "
                                                               "the micro-expression scale's `score`")
    seconds: list[float | None] | None = Field(None, description="a video's frame times (presentation times), "
                                                                 "where its frame rate may vary")


class Gap(BaseModel):
    first: int
    last: int
    first_s: float | None = Field(None, description="the first frame's start in seconds, as the intervals' onset_s")
    last_s: float | None = Field(None, description="the last frame's start in seconds")
    end_s: float | None = Field(None, description="the last frame's end in seconds, as the intervals' end_s")
    reason: str = Field(description="why nothing was spotted there, e.g. 'no face'")


class RecordingResult(_Open):
    """A recording's intervals: the fields of `mmnet spot --json`, plus its curve and pictures."""

    source: str
    fps: float
    frames: int
    intervals: list[Interval]
    thresholds: dict[str, float | None]
    notes: list[str] = []
    warnings: list[str] = Field([], description="the model's note (`model.note`), when it has one")
    frame_numbering: str = Field(description="how the frame numbers count: a video's from 0, a zip's by its file "
                                             "names; onset, apex and offset are inclusive (the CSV's "
                                             "frame_numbering column: video_from_0 or file_number)")
    gaps: list[Gap] = Field([], description="frame ranges without a detected face, where nothing was spotted")
    faces_note: str | None = Field(None, description=_FACES + " (with intervals drawn)")
    time_base: str | None = Field(None, description="what the seconds are: presentation_time (a video's own frame "
                                                    "times) or frame_number_over_fps")
    strides: dict[str, int] = Field(description="micro and macro: the frames between the two compared by the "
                                                "motion measure")
    config: dict = Field(description="the spotter's settings (`mmnet spot`'s SpotConfig)")
    curve: Curve | None = Field(None, description="the motion curve, at most 2,000 points")
    files: dict[str, str] = Field({}, description="timeline.png -> its URL")
    note: str | None = Field(None, description="set when only the first intervals' pictures are drawn (200)")
    model: ModelRef


class Health(_Open):
    status: Literal["ok"]
    version: str
    model: str | None
    spotting: bool
    jobs: dict[str, int] | None = Field(None, description="jobs by status; on a server with a token, absent for a "
                                                          "caller that does not send it")
    load: dict[str, dict[str, int]] | None = Field(None, description="clip and recording: active, capacity; on a "
                                                                     "server with a token, absent for a caller that "
                                                                     "does not send it")


class Limits(_Open):
    """What the server accepts and keeps (`mmnet serve` options), for clients to plan with."""

    max_upload_mb: float = Field(description="largest upload (413 upload_too_large beyond)")
    max_zip_entries: int = Field(description="files in a zip of frames, folders and macOS metadata not counted "
                                               "(413 too_many_entries beyond)")
    max_unzipped_mb: float = Field(description="a zip's size once expanded")
    max_megapixels: float = Field(description="pixels of one frame, in millions (413 too_many_pixels beyond)")
    job_timeout_s: float = Field(description="seconds one analysis may take (job_timeout beyond)")
    result_ttl_s: float = Field(description="seconds a result is kept after it is ready (then job_expired)")
    max_results: int = Field(description="finished results kept; beyond, the oldest goes (job_evicted)")
    max_results_mb: float = Field(description="MB of pictures those results may hold (job_evicted beyond)")
    workers: int = Field(description="clips, and recordings, analysed at the same time (each)")
    queue: int = Field(description="uploads waiting beyond those (each); more are answered 503 busy")
    poll_interval_s: float = Field(description="seconds between two polls of a job's state that clients should "
                                               "keep to")


class ModelInfo(_Open):
    title: str = Field(description="the model in words: what it was trained on and its classes")
    name: str | None = Field(None, description="its folder (e.g. seed-0/fold-sub01/model)")
    sha256: str | None = Field(None, description="the sha256 of its weights file (model.safetensors)")
    model: ModelRef = Field(description="the object every result carries as its `model`")
    classes: list[str]
    image_size: int
    main_input: str | None = Field(None, description="the motion input the model was trained on, when recorded")
    attention: bool = Field(True, description="the model has the attention blocks whose gates the attention "
                                              "figure's lower row shows (false: a note stands there)")
    mmnet_version: str | None = Field(None, description="the mmnet version that saved the checkpoint, when recorded")
    training: dict = Field({}, description="what it was trained on, as recorded in its run (dataset, synthetic, ...)")
    synthetic: bool | None = Field(None, description="trained on synthetic faces (mmnet demo): its predictions "
                                                     "mean nothing on real faces; null when its training data is "
                                                     "not recorded (unknown)")
    permuted_labels: bool = Field(False, description="trained with permuted labels (a control)")
    note: str | None = Field(None, description="what its classes are worth when that needs saying (the page's warning)")
    performance: dict = Field({}, description="how its recipe did on people it had not seen (`uar`, `uf1`, `chance`, "
                                              "`subjects`, `verdict`, `source`: model card or report.json, null when "
                                              "neither is found) and `line`, a sentence for people. The class "
                                              "scores are softmax outputs, not calibrated probabilities")
    summary: str | None = Field(None, description="what it was trained on, in a sentence for the page")
    caption: str = Field(description="the caption under every attention figure")
    spotting: bool
    deletion_check: bool = Field(True, description="attention figures make the deletion check of their Grad-CAM "
                                                   "map; false: this server skips it (mmnet serve "
                                                   "--no-deletion-check), and results say so")
    api_version: str = Field(description="the API's version: within it fields and error codes are only added "
                                         "(docs/serve.md, Compatibility)")
    max_upload_mb: float
    result_ttl_s: float
    limits: Limits


class EventStream(StreamingResponse):
    media_type = "text/event-stream"


class PNG(Response):
    media_type = "image/png"


def errors(*codes: int) -> dict:
    """The ``responses`` entries of these error statuses, and 500 (a bug can happen anywhere), as ErrorBody."""
    answers = {code: {"description": _MEANING[code],
                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
               for code in sorted({*codes, 500})}
    for status in (409, 503):
        if status in answers:
            answers[status]["headers"] = {"Retry-After": {"description": "seconds to wait before trying again",
                                                          "schema": {"type": "integer"}}}
    return answers


JOB_EVENTS = {200: {"description": "one event per change of the job, until it ends (status done or failed): "
                                   "`data: <the job's state as JSON>`, as GET /api/jobs/{id} answers it, `urls` "
                                   "included; a comment line (`: keep-alive`) after 15 s without a change",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}}}}
PICTURE = {200: {"description": "the picture", "content": {"image/png": {"schema": {"type": "string",
                                                                                   "format": "binary"}}}}}
RESULT = {200: {"description": "a clip's prediction or a recording's intervals (JSON), or with ?format=csv their CSV",
                "model": Prediction | RecordingResult,
                "content": {"text/csv": {"schema": {"type": "string"}}}}}


def install_openapi(app: FastAPI, *, login: bool = False) -> None:
    """Make ``app.openapi()`` document ErrorBody, never FastAPI's validation error (which this server never sends);
    with ``login`` (an access token), 401 on every operation but the health check, which need the bearer token
    (Swagger UI's "Authorize" then sends it); 403 on those that change something (``OriginCheck``)."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = build()
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            schemas["ErrorBody"] = ErrorBody.model_json_schema()
            for path, operations in schema["paths"].items():
                for method, operation in operations.items():
                    responses = operation.get("responses", {})
                    for code in [c for c, r in responses.items() if "HTTPValidationError" in str(r)]:
                        del responses[code]  # added by FastAPI where an endpoint takes no field that can fail
                    if path != "/api/health":  # HostCheck answers every other request (health probes pass)
                        responses.setdefault("400", errors(400)[400])
                    if login and path != "/api/health":
                        responses["401"] = errors(401)[401]
                        operation["security"] = [{"token": []}]
                    if method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
                        responses["403"] = errors(403)[403]
            if login:
                schema["components"]["securitySchemes"] = {"token": {
                    "type": "http", "scheme": "bearer",
                    "description": "the access token `mmnet serve --token` printed (after #token= in its address)"}}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
