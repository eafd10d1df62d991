"""The command line's messages as the server says them: one place for every error and note it shows.

The server runs the command line's code (``mmnet predict``, ``mmnet spot --checkpoint``), whose
errors and notes name its remedies: an option (``--onset``, ``--no-align``, ``--fps``), a folder of
frames, another command. A page user has the page's fields and a zip of frames instead, a program
the API's form fields. ``for_web`` replaces the server's paths by the upload's name and each such
remedy by the server's; ``WEB_WORDING`` is the list of remedies, command line's words first.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..infer.predictor import FACE_NOT_CHECKED, NOT_CHECKED

__all__ = ["for_web", "WEB_WORDING", "SERVE_NOT_CHECKED"]

# NOT_CHECKED says "use --align", an option of the command line; here only the server's operator can choose it
SERVE_NOT_CHECKED = FACE_NOT_CHECKED + "; this server checks faces when started with `mmnet serve --align`"

_FIELDS = "the page's \"Onset frame\" and \"Apex frame\" fields (the API's form fields 'onset' and 'apex')"
# recordings are always aligned on the server (as `mmnet spot --checkpoint`): no option turns that off
_RECORDING_FACE = ("This server finds and crops the face in every recording: upload a recording in which a face is "
                   "visible, seen from the front.")

#: (the command line's words, the server's), applied in this order.
WEB_WORDING: tuple[tuple[str, str], ...] = (
    (NOT_CHECKED, SERVE_NOT_CHECKED),  # predictor: the note on a clip without --align
    ("The onset must show a face: choose --onset at a frame that shows it",  # clips.align_clip
     "The onset must show a face: give in the page's \"Onset frame\" field (the API's form field 'onset') a frame "
     "that shows it"),
    ("Choose --onset/--apex among frames that show the face", f"Choose, in {_FIELDS}, frames that show the face"),
    ("If the frames are already face crops, pass --no-align (face.mode=none).", _RECORDING_FACE),  # flow_spotter
    ("If the frames are face crops already, spot with face.mode=none (`mmnet spot --no-align`).",  # recordings
     _RECORDING_FACE),
    ("use `mmnet spot RECORDING --checkpoint MODEL` (in `mmnet serve`: upload it as a recording).",  # recordings
     "upload it as a recording: on the page, choose \"A long recording\"; in the API, send it to /api/recordings."),
    ("does not state its frame rate; pass --fps.",  # flow_spotter: a video without a rate
     "does not state its frame rate: give it in the page's frame-rate field (the API's form field 'fps')."),
    ("use `mmnet predict` (in `mmnet serve`: upload it as a clip)",  # peaks: a clip given as a recording
     "upload it as a clip: on the page, choose \"A short clip\"; in the API, send it to /api/predict"),
    ("check that the face is visible (or spot with --no-align if the frames are face crops already)",  # peaks
     "upload a recording in which a face is visible, seen from the front"),
    ("give a video file, or its frames in a folder.", "upload a video file, or a zip of its frames."),  # media
    ("extract its frames to a folder", "upload a zip of its frames"),  # media
    ("extract the frames to a folder", "upload a zip of the frames"),  # media: no video decoder installed
)

# A path's last character is none of the punctuation that follows it in a sentence ("'x.mp4': ...", "x.mp4.")
_PATH_TAIL = r"(?:[^\s'\"]*[^\s'\":.,;)])?"


def for_web(message: str, folder: Path | None = None, name: str = "") -> str:
    """``message`` as the server shows it: the paths under ``folder`` (an upload's) replaced by ``name``
    (the upload's name), the command line's remedies by the page's and the API's (``WEB_WORDING``)."""
    if folder is not None:
        message = re.sub(re.escape(str(folder)) + _PATH_TAIL, lambda _: name, message)
    for cli, web in WEB_WORDING:
        message = message.replace(cli, web)
    return message
