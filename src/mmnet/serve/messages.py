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

from ..infer.clips import CHOOSE_FACE_FRAMES, ONSET_FACE
from ..infer.predictor import FACE_NOT_CHECKED, NOT_CHECKED
from ..infer.recordings import SPOT_INSTEAD
from ..media import EXTRACT_FRAMES, EXTRACT_THE_FRAMES, GIVE_VIDEO_OR_FRAMES
from ..spotting.flow_spotter import NO_ALIGN, NO_RATE
from ..spotting.peaks import FACE_VISIBLE, PREDICT_INSTEAD

__all__ = ["for_web", "WEB_WORDING", "SERVE_NOT_CHECKED"]

# NOT_CHECKED says "use --align", an option of the command line; here only the server's operator can choose it
SERVE_NOT_CHECKED = FACE_NOT_CHECKED + "; this server checks faces when started with `mmnet serve --align`"

_FIELDS = "the page's \"Onset frame\" and \"Apex frame\" fields (the API's form fields 'onset' and 'apex')"
# recordings are always aligned on the server (as `mmnet spot --checkpoint`): no option turns that off
_RECORDING_FACE = ("This server finds and crops the face in every recording: upload a recording in which a face is "
                   "visible, seen from the front.")

#: (the command line's words, the server's), applied in this order; each left-hand side is the constant its
#: module says it with, so a rewording there carries over here.
WEB_WORDING: tuple[tuple[str, str], ...] = (
    (NOT_CHECKED, SERVE_NOT_CHECKED),  # predictor: the note on a clip without --align
    (ONSET_FACE,  # clips.align_clip
     "The onset must show a face: give in the page's \"Onset frame\" field (the API's form field 'onset') a frame "
     "that shows it"),
    (CHOOSE_FACE_FRAMES, f"Choose, in {_FIELDS}, frames that show the face"),  # clips.Clip.read
    (NO_ALIGN, _RECORDING_FACE),  # flow_spotter and recordings: no face
    (SPOT_INSTEAD,  # recordings: a long clip
     "upload it as a recording: on the page, choose \"A long recording\"; in the API, send it to /api/recordings."),
    (NO_RATE,  # flow_spotter: a video without a rate
     "does not state its frame rate: give it in the page's frame-rate field (the API's form field 'fps')."),
    (PREDICT_INSTEAD,  # peaks: a clip given as a recording
     "upload it as a clip: on the page, choose \"A short clip\"; in the API, send it to /api/predict"),
    (FACE_VISIBLE,  # peaks: no face long enough
     "upload a recording in which a face is visible, seen from the front"),
    (GIVE_VIDEO_OR_FRAMES, "upload a video file, or a zip of its frames."),  # media: no video stream
    (EXTRACT_FRAMES, "upload a zip of its frames"),  # media: an undecodable video
    (EXTRACT_THE_FRAMES, "upload a zip of the frames"),  # media: no video decoder installed
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
