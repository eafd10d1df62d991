"""One rule for what counts as another face in view (``face_watch.other_faces``), for prepare's ``several_faces``
warning and record and for spot's note; the note names the other faces' boxes and scores and how many face checks
saw several, so that a face-like pattern (a badge on a suit: 0.21 beside 1.23, at a few checks) can be told from a
second person."""

from __future__ import annotations

import json

import numpy as np

from mmnet.preprocess.face import FaceDetection
from mmnet.preprocess.face_watch import other_faces
from mmnet.spotting.config import spot_config
from mmnet.spotting.face_track import FaceTrack

from .preprocess_helpers import face_frame, skip_without_face_extra

FACE = FaceDetection((237, 83, 323, 170), 1.23)
PATCH = FaceDetection((181, 330, 284, 434), 0.21)  # a mission patch on the astronaut's suit


class _StandIn:
    """The detector's faces at each check; landmarks with the eyes placed in the box."""

    points = 68

    def __init__(self, looks):
        self.looks = iter(looks)

    def detect(self, grey):
        return list(next(self.looks))

    def landmarks(self, grey, face):
        left, top, right, bottom = face.box
        pts = np.tile([(left + right) / 2, (top + bottom) / 2], (68, 1))
        pts[36:42], pts[42:48] = [left + 0.3 * (right - left), top + 30], [left + 0.7 * (right - left), top + 30]
        return pts


def test_spot_names_the_other_faces_box_and_score_and_the_checks_that_saw_several():
    track = FaceTrack(spot_config("casme2", []), 30, _StandIn([[FACE, PATCH], [FACE], [FACE], [FACE, PATCH]]))
    for pos in (0, 30, 60, 90):
        track.crop(pos, pos, np.zeros((480, 640), np.uint8))
    (note,) = track.notes("astro.mp4")
    assert note == ("astro.mp4: 2 faces in view from frame 0; the spotter followed one, the one at [237, 83, 323, 170] "
                    "(left, top, right, bottom in pixels; detector score 1.23) on that frame, and ignored the others: "
                    "score 0.21 at [181, 330, 284, 434]; 2 of the 4 face checks saw several")
    meta, arrays = track.state()
    resumed = FaceTrack(spot_config("casme2", []), 30, _StandIn([]))
    resumed.restore(FaceTrack.parse_state(json.loads(json.dumps(meta)), arrays))
    assert resumed.notes("astro.mp4") == [note]
    meta["crowd"] = meta["crowd"][:3]  # kept by an mmnet that noted no scores
    del meta["crowded"]
    resumed.restore(FaceTrack.parse_state(meta, arrays))
    assert resumed.notes("astro.mp4") == [note.split(" (left")[0] + " (left, top, right, bottom in pixels) on that "
                                          "frame, and ignored the others"]


def test_prepare_and_spot_count_the_same_detections_as_other_faces():
    assert other_faces([FACE, PATCH], FACE) == (PATCH,) and other_faces([FACE], FACE) == ()
    skip_without_face_extra()
    from mmnet.preprocess.face import FaceAligner
    from mmnet.preprocess.face_watch import several_faces_warning

    class WithBadge(FaceAligner):  # the detector also finds a weak face-like pattern
        def detect(self, image):
            return [*super().detect(image), PATCH]

    alignment = WithBadge().estimate(face_frame())
    assert alignment.other_faces == (PATCH,) and "0.21 at [181, 330, 284, 434]" in several_faces_warning(alignment)
    track = FaceTrack(spot_config("casme2", []), 30, WithBadge())
    track.crop(0, 0, face_frame()[..., 0])
    (note,) = track.notes("clip.mp4")
    assert "ignored the others: score 0.21 at [181, 330, 284, 434]; 1 of the 1 face checks saw several" in note
