"""The machine-readable ``code`` of every error the server answers: ``{"error", "status", "code"[, "field"]}``.

``error`` is a sentence for a person and may be reworded in any release; ``code`` is for programs and stays the same
within an ``api_version`` (docs/serve.md, Compatibility). Codes are only added, never renamed or removed.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

from ..infer.clips import CHOOSE_FACE_FRAMES, ONSET_FACE
from ..media import EXTRACT_FRAMES, EXTRACT_THE_FRAMES, GIVE_VIDEO_OR_FRAMES
from ..spotting.flow_spotter import NO_ALIGN, NO_RATE
from ..spotting.peaks import FACE_VISIBLE, PREDICT_INSTEAD

__all__ = ["ErrorCode", "CODES", "CODE_MEANINGS", "error_body", "code_of", "field_of", "by_status"]

ErrorCode = Literal[
    "bad_host", "unauthorized", "forbidden_origin", "not_found", "method_not_allowed", "bad_request",
    "field_invalid", "fps_required", "upload_too_large", "too_many_entries", "too_many_pixels", "unsupported_type",
    "undecodable", "no_face", "too_few_frames", "not_analysable", "job_unknown", "job_deleted", "job_expired",
    "job_evicted", "job_failed", "job_not_finished", "busy", "server_stopping", "job_timeout", "out_of_memory",
    "no_room", "spotting_unavailable", "internal",
]
CODES: tuple[str, ...] = get_args(ErrorCode)

#: What each code means (docs/serve.md lists them; a test keeps both in step).
CODE_MEANINGS: dict[str, str] = {
    "bad_host": "400: the Host header names a site this server does not answer",
    "unauthorized": "401: the access token is missing or wrong, or was put in the query",
    "forbidden_origin": "403: an upload or delete from a page of another origin not listed with --allow-origin",
    "not_found": "404: no such endpoint, or no such picture of a job",
    "method_not_allowed": "405: the endpoint does not take this method (the Allow header lists those it takes)",
    "bad_request": "400: a malformed request, an empty file, more than one file in `file`, or an unsafe or unreadable "
                   "zip archive (one cut short or damaged too)",
    "field_invalid": "422: a form field or query parameter is not what it takes (`field` names it)",
    "fps_required": "422: a zip of frames, or a video that does not state its rate, needs the form field fps",
    "upload_too_large": "413: the upload is larger than --max-upload-mb (or expands to more than allowed)",
    "too_many_entries": "413: the zip archive holds more files (or entries in all) than the server accepts",
    "too_many_pixels": "413: a frame has more pixels than the server accepts",
    "unsupported_type": "415: the file is neither a video nor a zip of frames (an image, an animation, a PDF, text, "
                        "...), or a video whose first frame cannot be decoded",
    "undecodable": "422: the video or a frame cannot be decoded",
    "no_face": "422: no face was found where one is needed",
    "too_few_frames": "422: too few frames to analyse (a clip sent as a recording, or a recording without a face "
                      "long enough)",
    "not_analysable": "422: the upload cannot be analysed for another reason (the sentence says why)",
    "job_unknown": "404: no such job (never created here, or forgotten long ago or by a restart)",
    "job_deleted": "404: the job was deleted",
    "job_expired": "404: the job's result expired (--result-ttl)",
    "job_evicted": "404: the job's result was removed to make room (--max-results, --max-results-mb)",
    "job_failed": "409: GET .../result of a job that failed; `failed_status` and `failed_code` say why",
    "job_not_finished": "409: GET .../result of a job still queued or running (see Retry-After)",
    "busy": "503: every worker and queue place is taken: try again after Retry-After seconds",
    "server_stopping": "503: the server is stopping; the job was stopped",
    "job_timeout": "504: the analysis took longer than --job-timeout (not a proxy time-out: do not retry as is)",
    "out_of_memory": "507: the analysis ran out of memory",
    "no_room": "507: the server has no room to store the upload (its disk filled up, as it arrived or was analysed)",
    "spotting_unavailable": "501: this server cannot spot expressions in long recordings",
    "internal": "500: a bug in the server (the details are in its log)",
}

_BY_STATUS = {400: "bad_request", 401: "unauthorized", 403: "forbidden_origin", 404: "not_found",
              405: "method_not_allowed", 409: "job_not_finished", 413: "upload_too_large", 415: "unsupported_type",
              422: "not_analysable", 501: "spotting_unavailable", 503: "busy", 504: "job_timeout",
              507: "out_of_memory"}

# Markers of the command line's messages (their constants: a rewording there carries over), first match wins
_MARKERS: tuple[tuple[str, str], ...] = (
    (NO_RATE, "fps_required"),
    (ONSET_FACE, "no_face"), (CHOOSE_FACE_FRAMES, "no_face"), (NO_ALIGN, "no_face"), (FACE_VISIBLE, "no_face"),
    (PREDICT_INSTEAD, "too_few_frames"), ("needs at least 2 frames", "too_few_frames"),
    (GIVE_VIDEO_OR_FRAMES, "undecodable"), (EXTRACT_FRAMES, "undecodable"), (EXTRACT_THE_FRAMES, "undecodable"),
)
_FRAME_FIELD = re.compile(r"\b(Onset|Apex) frame -?\d+")


def by_status(status: int) -> str:
    """The code of an error known only by its status."""
    return _BY_STATUS.get(status, "internal")


def field_of(message: str) -> str | None:
    """The form field a command line message is about: ``onset`` or ``apex`` for a frame the clip does not hold."""
    found = _FRAME_FIELD.search(message)
    return found.group(1).lower() if found else None


def code_of(message: str, status: int = 422) -> str:
    """The code of an analysis error, from the command line's message (before ``messages.for_web`` rewords it)."""
    if status == 422:
        for marker, code in _MARKERS:
            if marker in message:
                return code
        if field_of(message):
            return "field_invalid"
    return by_status(status)


def error_body(message: str, status: int, code: str | None = None, field: str | None = None, **extra) -> dict:
    """An error's JSON body; ``code`` defaults to the status's (``by_status``)."""
    body = {"error": message, "status": status, "code": code or by_status(status)}
    if field is not None:
        body["field"] = field
    return {**body, **extra}
