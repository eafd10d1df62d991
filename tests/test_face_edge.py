"""A face partly outside the picture is cropped with the picture's edge pixels repeated: prepare, predict --align
and spot say how much of it lies outside and at which edge (``preprocess.face_edge``), and nothing of a face in
view."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmnet.preprocess.face_edge import face_outside
from mmnet.spotting.config import spot_config
from mmnet.spotting.face_track import FaceTrack

from .preprocess_helpers import face_frame, save_frames, skip_without_face_extra

SHIFT = 210  # px the astronaut's 480 x 240 frame is moved left by: the detector's box is (-23, 64, 74, 150)


def _half_face() -> np.ndarray:
    full = face_frame((480, 240))
    half = np.full_like(full, 120)
    half[:, :480 - SHIFT] = full[:, SHIFT:]
    return half


def test_the_share_outside_and_its_edges_are_measured():
    out = face_outside((-23, 83, 74, 170), (480, 640, 3))
    assert out.edges == ("left",) and out.share == pytest.approx(23 / 97, abs=1e-3) and out.landmarks == 0
    assert out.describe() == "24 % of the face box lies outside the picture (left edge)"
    corner = face_outside((600, 440, 700, 540), (480, 640))
    assert corner.edges == ("right", "bottom") and "(right and bottom edges)" in corner.describe()
    assert face_outside((237, 83, 323, 170), (480, 640)) is None  # in view
    assert face_outside((-2, 83, 95, 170), (480, 640)) is None  # a detector cell over the edge: within the margin
    # a box in view whose landmarks (the chin) are placed below the picture
    points = np.array([[260.0, 100.0]] * 60 + [[270.0, 490.0]] * 8)
    below = face_outside((237, 383, 323, 470), (480, 640), points)
    assert below.edges == ("bottom",) and below.landmarks == 8 and "(and 8 of its 68 landmarks)" in below.describe()



def test_a_sub_pixel_landmark_on_the_last_pixel_is_inside():
    # the picture spans 0..640 (pixel edges): 639.5 lies on its last pixel, -0.5 and 480.8 within a pixel of an edge
    points = np.array([[300.0, 120.0]] * 2 + [[639.5, 120.0], [-0.5, 130.0], [300.0, 480.8]])
    assert face_outside((237, 83, 323, 170), (480, 640), points) is None
    points[2, 0] = 641.5  # past the margin
    far = face_outside((237, 83, 323, 170), (480, 640), points)
    assert far.share == 0.0 and far.edges == ("right",) and far.landmarks == 1

def test_a_track_notes_the_checks_that_found_the_face_partly_outside_and_keeps_them_when_resumed():
    from mmnet.preprocess.face import FaceDetection

    class StandIn:  # the detector's boxes at each check, no landmarks fitted between realignments
        points = 68

        def __init__(self, boxes):
            self.boxes = iter(boxes)

        def detect(self, grey):
            return [FaceDetection(next(self.boxes), 1.0)]

        def landmarks(self, grey, face):
            left, top, right, bottom = face.box
            pts = np.tile([(left + right) / 2, (top + bottom) / 2], (68, 1))
            pts[36:42], pts[42:48] = [left + 0.3 * (right - left), top + 40], [left + 0.7 * (right - left), top + 40]
            return pts

    cfg = spot_config("casme2", [])
    track = FaceTrack(cfg, 30, StandIn([(237, 83, 323, 170), (-23, 83, 74, 170), (-40, 83, 57, 170)]))
    grey = np.zeros((480, 640), np.uint8)
    for pos in (0, 30, 60):
        track.crop(pos, pos, grey)
    (note,) = track.notes("rec.mp4")
    assert note.startswith("rec.mp4: 41 % of the face box (and ")  # the largest share, landmarks fitted there
    assert "lies outside the picture (left edge) from frame 30 (2 of the 3 face checks" in note
    assert "repeats the picture's edge pixels" in note and "reframe the recording" in note
    meta, arrays = track.state()
    resumed = FaceTrack(cfg, 30, StandIn([]))
    resumed.restore(FaceTrack.parse_state(json.loads(json.dumps(meta)), arrays))
    assert resumed.notes("rec.mp4") == [note]
    del meta["edge"]  # a state kept by an mmnet before this note
    assert FaceTrack.parse_state(meta, arrays)["edge"] is None
    assert FaceTrack(cfg, 30, StandIn([])).notes("rec.mp4") == []


# --------------------------------------------------------------------- the face extra, on real footage


def test_prepare_warns_of_a_face_partly_outside_the_picture(tmp_path, capsys):
    skip_without_face_extra()
    from mmnet.cli import main

    save_frames(tmp_path / "half", {f"img{n}.jpg": _half_face() for n in range(4)})
    save_frames(tmp_path / "whole", {f"img{n}.jpg": face_frame((480, 240)) for n in range(4)})
    for name in ("half", "whole"):
        assert main(["prepare", str(tmp_path / name), "--out", str(tmp_path / f"out_{name}"), "--workers", "1",
                     "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.count("face_edge:") == 1 and "% of the face box" in out and "(left edge)" in out
    record = json.loads((tmp_path / "out_half" / ".mmnet-prepared.json").read_text())["record"]
    (warning,) = [w for w in record["warnings"] if w.startswith("face_edge:")]
    assert "on the onset frame: the crops repeat the picture's edge pixels" in warning
    record = json.loads((tmp_path / "out_whole" / ".mmnet-prepared.json").read_text())["record"]
    assert not any(w.startswith("face_edge") for w in record["warnings"])


def test_an_aligned_video_keeps_its_face_edge_note_when_read_to_its_end(tmp_path):
    skip_without_face_extra()
    pytest.importorskip("av")
    from mmnet.infer.clips import align_clip, load_clip
    from tests.serve_helpers import mp4_bytes

    video = tmp_path / "half.mp4"
    video.write_bytes(mp4_bytes(np.stack([_half_face()] * 6), fps=30))
    clip = align_clip(load_clip(video))
    list(clip.stream())  # the apex spotted: the decoder's notes replace the clip's
    (note,) = clip.notes
    assert "% of the face box" in note and "lies outside the picture (left edge) on the onset frame" in note
