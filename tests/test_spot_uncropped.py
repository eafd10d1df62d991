"""`--no-align` (face.mode=none) takes each whole frame as the face crop: where the first frame shows a face far
narrower than the frame (one detector pass), the spotter says the frames look uncropped; a face crop gets no note."""

from __future__ import annotations

import json

import numpy as np

from mmnet.spotting.config import spot_config
from mmnet.spotting.face_track import FaceTrack

from .preprocess_helpers import face_frame, skip_without_face_extra

CFG = spot_config("casme2", ["face.mode=none"])


def _notes(frames) -> tuple[list[str], FaceTrack]:
    track = FaceTrack(CFG, 30, None)
    for pos, frame in enumerate(frames):
        track.crop(pos, pos + 5, np.ascontiguousarray(frame.mean(axis=2).astype(np.uint8)))
    return track.notes("rec.mp4"), track


def test_whole_frames_with_a_small_face_are_said_to_look_uncropped():
    skip_without_face_extra()
    frame = face_frame((640, 480))
    (note,), track = _notes([frame, frame])
    assert note.startswith("rec.mp4: --no-align (face.mode=none) takes each whole frame as the face crop, but frame 5 "
                           "(640x480 px) shows a face only ") and "the frames look uncropped" in note
    assert "Spot without --no-align" in note
    meta, arrays = track.state()
    resumed = FaceTrack(CFG, 30, None)
    resumed.restore(FaceTrack.parse_state(json.loads(json.dumps(meta)), arrays))
    assert resumed.notes("rec.mp4") == [note]
    del meta["whole"]  # a state an older mmnet kept: nothing to say, and no second look
    resumed = FaceTrack(CFG, 30, None)
    resumed.restore(FaceTrack.parse_state(meta, arrays))
    resumed.crop(2, 7, frame[..., 0].copy())
    assert resumed.notes("rec.mp4") == []


def test_face_crops_get_no_note():
    skip_without_face_extra()
    from mmnet.preprocess.face import FaceAligner

    frame = face_frame((640, 480))
    crop = FaceAligner().estimate(frame).apply(frame)  # 280 x 340, as mmnet prepare writes it
    assert _notes([crop, crop])[0] == []
    assert _notes([np.full((480, 640, 3), 90, np.uint8)])[0] == []  # no face found: nothing is said
