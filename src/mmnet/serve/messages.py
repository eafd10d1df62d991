"""The command line's messages as the server says them: one place for every error and note it shows.

The server runs the command line's code (``mmnet predict``, ``mmnet spot --checkpoint``), whose
errors and notes name its remedies: an option (``--onset``, ``--no-align``, ``--fps``), a folder of
frames, another command. A page user has the page's fields and a zip of frames instead, a program
the API's form fields. ``for_web`` replaces the server's paths by the upload's name and each such
remedy by the server's; ``WEB_WORDING`` is the list of remedies, command line's words first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from ..infer.clips import CHOOSE_FACE_FRAMES, FOLLOW_FACE, ONSET_FACE
from ..infer.predictor import FACE_NOT_CHECKED, NOT_CHECKED
from ..infer.provenance import TRAIN_ON_REAL
from ..infer.recordings import SPOT_INSTEAD
from ..media import EXTRACT_FRAMES, EXTRACT_THE_FRAMES, FRAME_NUMBERING, GIVE_VIDEO_OR_FRAMES
from ..spotting.config import MAX_FPS
from ..spotting.flow_spotter import NO_ALIGN, NO_RATE
from ..spotting.peaks import FACE_VISIBLE, PREDICT_INSTEAD

__all__ = ["for_web", "invalid_request", "frame_numbers", "WEB_WORDING", "SERVE_NOT_CHECKED", "ZIP_WITHOUT_RATE",
           "SEND_FILE", "FORM_FIELDS"]

# NOT_CHECKED says "use --align", an option of the command line; here only the server's operator can choose it
SERVE_NOT_CHECKED = (FACE_NOT_CHECKED + "; to have faces found and checked, ask whoever runs this server to restart "
                     "it with face alignment on (the --align option of mmnet serve)")

_FIELDS = "the \"Onset frame\" and \"Apex frame\" fields under Options (API: form fields 'onset' and 'apex')"
_RATE_FIELD = ("give it in the \"Frame rate\" field under Options (the number of frames per second the camera "
               "recorded; CAS(ME)^2 and CAS(ME)^3: 30, SAMM: 200). API: form field fps.")
#: A recording sent as a zip without ``fps`` (refused with the request: a zip has no frame rate of its own).
ZIP_WITHOUT_RATE = "A zip of frames carries no frame rate: " + _RATE_FIELD
#: How an upload is sent, for a request without one (the multipart form field 'file').
SEND_FILE = "Send the clip or recording as the multipart form field 'file' (curl -F file=@clip.mp4)."
#: The form fields the page fills: (the page's name for it, the rule its value follows).
FORM_FIELDS = {
    "onset": ("Onset frame", "must be a whole number (0 or more)"),
    "apex": ("Apex frame", "must be a whole number (0 or more)"),
    "fps": ("Frame rate",
            f"must be a finite number of frames per second, above 0 and at most {MAX_FPS:g} (e.g. 30)"),
}
# Query parameters, for API clients only (pydantic's words would mislead: "less than or equal to 10000" for nan)
_PARAMETER_RULES = {"format": "must be json or csv"}
# recordings are always aligned on the server (as `mmnet spot --checkpoint`): no option turns that off
_RECORDING_FACE = ("This server finds and crops the face in every recording: upload a recording in which a face is "
                   "visible, seen from the front.")

_NUMBERING = f"Frame numbers: {FRAME_NUMBERING}."


def frame_numbers(media: str | None = None) -> str:
    """What to do about an onset or apex frame a clip does not hold, and how the upload's frames are numbered:
    ``media`` "video" or "frames" (a zip), None when unknown (both rules)."""
    rules = {"video": "a video's first frame is frame 0",
             "frames": "in a zip, a frame's number is the number in its image's file name (img46.jpg is frame 46)"}
    rule = rules.get(media) or "; ".join(rules.values())
    return f"Correct or clear {_FIELDS}: {rule}."


#: (the command line's words, the server's), applied in this order; each left-hand side is the constant its
#: module says it with, so a rewording there carries over here.
WEB_WORDING: tuple[tuple[str, str], ...] = (
    (NOT_CHECKED, SERVE_NOT_CHECKED),  # predictor: the note on a clip without --align
    (ONSET_FACE,  # clips.align_clip
     "The onset must show a face: give in the \"Onset frame\" field under Options (API: form field 'onset') a frame "
     "that shows it"),
    (CHOOSE_FACE_FRAMES, f"Choose, in {_FIELDS}, frames that show the face"),  # clips.Clip.read
    (FOLLOW_FACE,  # clips.Clip.read: the apex's face moved away from the onset's place
     "for a clip in which the head moves, upload it as a recording (choose \"A long recording\"): its face is "
     "followed."),
    (NO_ALIGN, _RECORDING_FACE),  # flow_spotter and recordings: no face
    (SPOT_INSTEAD,  # recordings: a long clip
     "upload it as a recording: choose \"A long recording\" and upload it again (API: /api/recordings)."),
    (NO_RATE, "does not state its frame rate: " + _RATE_FIELD),  # flow_spotter: a video without a rate
    (PREDICT_INSTEAD,  # peaks: a clip given as a recording
     "upload it as a clip: choose \"A short clip\" and upload it again (API: /api/predict)"),
    (FACE_VISIBLE,  # peaks: no face long enough
     "upload a recording in which a face is visible, seen from the front"),
    (GIVE_VIDEO_OR_FRAMES, "upload a video file, or a zip of its frames."),  # media: no video stream
    (EXTRACT_FRAMES, "upload a zip of its frames"),  # media: an undecodable video
    (EXTRACT_THE_FRAMES, "upload a zip of the frames"),  # media: no video decoder installed
    (_NUMBERING, frame_numbers()),  # media.frame_not_there: a clip's onset or apex (for_web: the upload's rule)
    # model_info: the note on a model of synthetic faces
    (TRAIN_ON_REAL, "ask the person who runs this server for a model trained on real faces"),
)

# A path's last character is none of the punctuation that follows it in a sentence ("'x.mp4': ...", "x.mp4.")
_PATH_TAIL = r"(?:[^\s'\"]*[^\s'\":.,;)])?"


def for_web(message: str, folder: Path | None = None, name: str = "", media: str | None = None) -> str:
    """``message`` as the server shows it: the paths under ``folder`` (an upload's) replaced by ``name``
    (the upload's name), the command line's remedies by the page's and the API's (``WEB_WORDING``); ``media``
    is what was uploaded ("video" or "frames"), when known, for the frame-number rule (``frame_numbers``)."""
    if folder is not None:
        message = re.sub(re.escape(str(folder)) + _PATH_TAIL, lambda _: name, message)
    message = message.replace(_NUMBERING, frame_numbers(media))
    for cli, web in WEB_WORDING:
        message = message.replace(cli, web)
    return message


def invalid_request(errors: Iterable[dict]) -> str:
    """The 422 sentence for a request the endpoint's validation refused (FastAPI's ``RequestValidationError``):
    a form field the page fills named as the page names it, with its rule and the API's field name; any
    other problem as the validation says it, with what to send."""
    fields, others, seen = [], [], set()
    for error in errors:
        loc = tuple(error.get("loc", ()))
        field = loc[-1] if loc else None
        if field in seen:  # one sentence per field, however many rules its value broke
            continue
        seen.add(field)
        if field in FORM_FIELDS:
            label, rule = FORM_FIELDS[field]
            given = error.get("input")
            given = "" if given is None else f", not {str(given)[:20]}"
            fields.append(f"{label} {rule}{given} (under Options; API: form field '{field}').")
        else:
            rule = _PARAMETER_RULES.get(field, error.get("msg"))
            others.append(f"{'.'.join(str(p) for p in loc[1:]) or 'request'}: {rule}")
    if not others:
        return " ".join(fields)
    hint = f" {SEND_FILE}" if "file" in seen else ""
    return " ".join([*fields, f"The request is not what this endpoint takes ({'; '.join(others)}).{hint} See /docs."])
