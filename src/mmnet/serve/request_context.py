"""The request being answered, for the server's log lines: its id (``request_log.RequestLog`` sets it), and what
those lines may not show: the uploads' file names it received (``hidden_name``), whole job ids (``short_id``).
Kept apart from ``request_log`` so that jobs import it without the middleware."""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import PurePosixPath

__all__ = ["Request", "current", "current_request_id", "note_upload_name", "of_request", "short_id", "hidden_name",
           "hide_in_line", "JOB_PLACEHOLDER"]

JOB_PLACEHOLDER = "<job>"  # a job id the client wrote, in a logged path or sentence (access.hide_secrets too)
_JOB_ID = re.compile(r"\b([0-9a-f]{6})[0-9a-f]{26}\b")  # a job's id (uuid4 hex): the key to its result
_JOB_IN_PATH = re.compile(r"/api/jobs/([^/?\s]+)")
_REASON_CHARS = 400  # of an error's sentence in a log line


@dataclass
class Request:
    id: str
    names: set[str] = field(default_factory=set)  # the uploads' file names, to keep out of the log


current: ContextVar[Request | None] = ContextVar("mmnet_serve_request", default=None)


def current_request_id() -> str | None:
    """The id of the request being answered (None outside one: a job's worker thread has its own copy)."""
    request = current.get()
    return None if request is None else request.id


def note_upload_name(name: str) -> None:
    """Keep ``name`` (an upload's file name) out of the log lines of the request being answered."""
    request = current.get()
    if request is not None and name:
        request.names.add(name)


def of_request(request_id: str | None) -> str:
    """What a log line begins with to name its request (nothing outside one)."""
    return f"request {request_id}: " if request_id else ""


def short_id(job_id: str) -> str:
    """A job id as the log shows it: its first 6 characters (the whole one gives access to the result)."""
    return f"{job_id[:6]}..."


def hidden_name(name: str) -> str:
    """An upload's file name as the log shows it: ``<file>`` and its extension (``<file>.mp4``), which tells what
    kind of file came without telling whose."""
    suffix = PurePosixPath(name).suffix
    return f"<file>{suffix}" if re.fullmatch(r"\.[A-Za-z0-9]{1,5}", suffix) else "<file>"


def hide_in_line(text: str, names=(), path: str = "") -> str:
    """``text`` (an error's sentence) as the log may show it: job ids cut, ``names`` and the job id of ``path``
    replaced; on one line, at most ``_REASON_CHARS`` characters."""
    if m := _JOB_IN_PATH.search(path):  # what the client wrote as a job id, whatever its form
        text = text.replace(m.group(1), JOB_PLACEHOLDER)
    for name in sorted(names, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", hidden_name(name), text)
    text = " ".join(_JOB_ID.sub(r"\1...", text).split())
    return text if len(text) <= _REASON_CHARS else f"{text[:_REASON_CHARS - 1]}…"
