"""A recording with two people in view: the spotter follows one face, never compares two."""

from __future__ import annotations

import numpy as np
import pytest

from mmnet.errors import PreprocessError
from mmnet.preprocess.face import FaceDetection, same_face
from mmnet.spotting.config import spot_config
from mmnet.spotting.flow_spotter import extract_motion
from mmnet.synth.long import LongConfig, plan_recording, recording_face, render_frames

pytest.importorskip("cv2")
face_extra = pytest.mark.skipif(
    __import__("importlib").util.find_spec("dlib") is None, reason="needs the face extra (dlib)")

# Two still faces (no expression before 5 s, no blinks) large enough for dlib's HOG, side by side.
STILL = LongConfig(frame_size=(320, 240), face_size=(140, 170), blinks_per_min=0.0, gap_s=(10.0, 10.0))
FRAMES = 70  # face checks at frames 0, 30 and 60


def test_the_face_nearest_the_followed_one_is_taken_if_it_can_be_the_same_face():
    here, there = FaceDetection((100, 60, 220, 180), 0.5), FaceDetection((420, 60, 540, 180), 1.5)
    assert same_face([there, here], (110, 70, 230, 190)) is here  # nearest, not best-scoring
    assert same_face([there], (110, 70, 230, 190)) is None  # moved by over 2 box widths: another face
    assert same_face([FaceDetection((90, 50, 290, 250), 1.0)], (110, 70, 230, 190)) is None  # 5/3 the size
    assert same_face([], (110, 70, 230, 190)) is None


@pytest.fixture(scope="module")
def two_faces():
    left, right = (list(render_frames(0, subject, 1, plan_recording(0, subject, 1, FRAMES, STILL), STILL))
                   for subject in (1, 2))
    _, background = recording_face(0, 1, STILL)
    empty = np.full_like(left[0], np.uint8(np.median(background[:8, :8])))
    return left, right, empty


def _flipping_aligner(cfg):
    """dlib's aligner whose best-scoring face alternates between the two people, check after check, as on a
    real recording of two (the full frame searched: shrunk, the second face is too small to be found)."""
    from mmnet.preprocess.face import CropGeometry, FaceAligner

    class Flipping(FaceAligner):
        checks = 0

        def detect(self, image):
            faces = super().detect(image)
            self.checks += 1
            return faces if self.checks % 2 else faces[::-1]

    return Flipping(CropGeometry(cfg.face.width, cfg.face.height), detect_side=None)


@face_extra
def test_two_faces_in_view_the_first_is_followed_and_nothing_is_spotted(two_faces):
    left, right, _ = two_faces
    cfg = spot_config("casme2")
    curves = extract_motion(enumerate(np.hstack(pair) for pair in zip(left, right)), 30.0, cfg,
                            aligner=_flipping_aligner(cfg), source="two.mp4")
    # Taking the best-scoring face re-aligned onto the other person at every check and compared the two faces'
    # crops: scores of 80-180 px. Both faces are still.
    for scale in ("micro", "macro"):
        assert np.nanmax(curves.scores[scale]) < 2.0, scale
    assert not curves.gaps
    (note,) = curves.notes
    assert note.startswith("two.mp4: 2 faces in view from frame 0; the spotter followed one, the one at [")
    followed = [int(v) for v in note.split("[")[1].split("]")[0].split(",")]
    assert followed[2] < 320  # the left face: the best-scoring on the first check
    assert [n for n, _ in curves.faces] == [0, 30, 60] and all(box[2] < 320 for _, box in curves.faces)


@face_extra
def test_the_followed_face_gone_and_another_in_view_is_a_gap_not_a_realignment(two_faces):
    left, right, empty = two_faces
    cfg = spot_config("casme2")
    frames = (np.hstack([empty if i >= 45 else a, b]) for i, (a, b) in enumerate(zip(left, right)))
    curves = extract_motion(enumerate(frames), 30.0, cfg, aligner=_flipping_aligner(cfg), source="two.mp4")
    assert curves.gaps == [(31, 59)]  # between the last check that saw the left face and the one that did not
    assert 60 in curves.realignments  # the right face, from there on
    assert curves.face_at(59)[2] < 320 < curves.face_at(60)[0]  # a spotted interval is classified on its face
    for scale in ("micro", "macro"):  # no pair compares the left face's crops with the right one's
        assert np.nanmax(curves.scores[scale]) < 2.0, scale
    assert any("the followed face was not found again at frame(s) 60, where another face was" in n
               for n in curves.notes), curves.notes


def test_the_classifier_crops_the_face_the_spotter_followed_not_the_best_scoring(tmp_path):
    from PIL import Image

    from mmnet.infer.recordings import read_pairs
    from mmnet.preprocess.face import CropGeometry, FaceAligner

    frame = np.zeros((240, 640, 3), np.uint8)
    frame[:, 320:] = 200  # the left person in the dark, the right one in the light
    for n in (1, 2):
        Image.fromarray(frame).save(tmp_path / f"img{n}.png")
    left, right = FaceDetection((100, 60, 220, 180), 0.5), FaceDetection((420, 60, 540, 180), 1.5)
    eyes = np.zeros((68, 2))
    eyes[36:42], eyes[42:48] = (35, 45), (85, 45)  # in the box; the other points do not matter to the alignment
    aligner = FaceAligner.__new__(FaceAligner)  # dlib's detector and landmarks stood in for
    aligner.geometry = CropGeometry(64, 64)
    aligner.detect = lambda image: [right, left]
    aligner.landmarks = lambda image, face: eyes + face.box[:2]
    ((onset, _),) = read_pairs(tmp_path, [(1, 2)], aligner)
    assert onset.mean() > 150  # alone, the best-scoring face is taken
    ((onset, apex),) = read_pairs(tmp_path, [(1, 2)], aligner, near=lambda number: (110, 70, 230, 190))
    assert onset.max() == apex.max() == 0  # the followed face's crop
    with pytest.raises(PreprocessError, match="no face found near the one followed at \\[300, 60, 420, 180\\]"):
        read_pairs(tmp_path, [(1, 2)], aligner, near=lambda number: (300, 60, 420, 180))
