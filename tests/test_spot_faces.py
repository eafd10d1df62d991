"""A recording with two people in view: the spotter follows one face, never compares two."""

from __future__ import annotations

import numpy as np
import pytest

from mmnet.errors import ConfigError, PreprocessError
from mmnet.preprocess.face import FaceDetection, followed_face, same_face
from mmnet.spotting.config import spot_config
from mmnet.spotting.flow_spotter import NO_ALIGN, extract_motion
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


def test_the_only_face_in_view_is_the_followed_one_however_far_it_moved():
    moved, other = FaceDetection((184, 60, 304, 180), 1.0), FaceDetection((420, 60, 540, 180), 1.5)
    followed = (100, 60, 220, 180)
    assert followed_face([moved], followed) is moved  # 0.7 box widths: a head moving, not another person
    assert followed_face([moved, other], followed) is None  # with another face in view, it may be that one's
    # alone now, but where the other person's face was at the last look: the followed one left
    assert followed_face([moved], followed, others=((190, 60, 310, 180),)) is None
    assert followed_face([], followed) is None


def _face_points(box):
    """(68, 2) landmarks of a face in ``box``: eyes, brows, nose ridge and mouth where a face has them."""
    left, top = box[:2]
    width = box[2] - box[0]
    points = np.zeros((68, 2))
    points[17:22] = [(x, 0.3) for x in np.linspace(0.15, 0.4, 5)]
    points[22:27] = [(x, 0.3) for x in np.linspace(0.6, 0.85, 5)]
    points[27:31] = [(0.5, y) for y in np.linspace(0.4, 0.6, 4)]
    points[31:36] = [(x, 0.65) for x in np.linspace(0.4, 0.6, 5)]
    ring = np.linspace(0, 2 * np.pi, 6, endpoint=False)
    points[36:42] = np.c_[0.3 + 0.07 * np.cos(ring), 0.4 + 0.03 * np.sin(ring)]
    points[42:48] = np.c_[0.7 + 0.07 * np.cos(ring), 0.4 + 0.03 * np.sin(ring)]
    ring = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    points[48:68] = np.c_[0.5 + 0.15 * np.cos(ring), 0.8 + 0.05 * np.sin(ring)]
    return points * width + (left, top)


def _stub_aligner(cfg, looks):
    """An aligner whose detector finds ``looks[k]`` (a list of boxes) at its k-th check (the last one after)."""
    from mmnet.preprocess.face import CropGeometry, FaceAligner

    aligner = FaceAligner.__new__(FaceAligner)  # dlib's detector and landmarks stood in for
    aligner.geometry = CropGeometry(cfg.face.width, cfg.face.height)
    checks = iter(looks)
    last = []

    def detect(image):
        last[:] = next(checks, last)
        return [FaceDetection(box, 1.0) for box in last]

    aligner.detect = detect
    aligner.landmarks = lambda image, face: _face_points(face.box)
    return aligner


def _stub_curves(looks):
    cfg = spot_config("casme2")
    frames = ((n, np.zeros((240, 640), np.uint8)) for n in range(FRAMES))
    return extract_motion(frames, 30.0, cfg, aligner=_stub_aligner(cfg, looks), source="one.mp4")


def test_one_face_that_moved_far_between_checks_is_realigned_not_taken_for_another():
    curves = _stub_curves([[(100, 60, 220, 180)], [(184, 60, 304, 180)]])  # 0.7 box widths a second later
    assert not curves.gaps
    assert curves.realignments[:2] == [0, 30]
    assert curves.face_at(30) == (184, 60, 304, 180)
    assert not any("another face" in n for n in curves.notes), curves.notes


def test_two_other_faces_where_the_followed_one_was_is_a_gap():
    curves = _stub_curves([[(100, 60, 220, 180)], [(300, 60, 420, 180), (460, 60, 580, 180)]])
    assert curves.gaps == [(1, 29)]
    assert any("the followed face was not found again at frame(s) 30, where another face was" in n
               for n in curves.notes), curves.notes


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
    gone = "no face found near the one followed at \\[300, 60, 420, 180\\]"
    with pytest.raises(PreprocessError, match=gone) as raised:
        read_pairs(tmp_path, [(1, 2)], aligner, near=lambda number: (300, 60, 420, 180))
    assert NO_ALIGN not in str(raised.value)  # faces are in view: the frames are not face crops
    aligner.detect = lambda image: [left]  # the one face in view, 0.7 box widths from where it was followed
    ((onset, apex),) = read_pairs(tmp_path, [(1, 2)], aligner, near=lambda number: (184, 60, 304, 180))
    assert onset.max() == apex.max() == 0


def test_a_micro_interval_where_the_followed_face_is_gone_is_listed_unclassified_not_an_error(tmp_path):
    # two people in view and neither near the followed face at one interval's onset: the whole recording failed
    # (spot --checkpoint and the server), losing every other interval's class
    from types import SimpleNamespace

    from PIL import Image

    from mmnet.commands.spot import format_text
    from mmnet.infer.recordings import classify_micro
    from mmnet.preprocess.face import CropGeometry, FaceAligner
    from mmnet.spotting.intervals import Interval

    for n in range(1, 9):
        Image.fromarray(np.full((240, 640, 3), 20 * n, np.uint8)).save(tmp_path / f"img{n}.png")
    left, right = FaceDetection((100, 60, 220, 180), 0.5), FaceDetection((420, 60, 540, 180), 1.5)
    eyes = np.zeros((68, 2))
    eyes[36:42], eyes[42:48] = (35, 45), (85, 45)
    aligner = FaceAligner.__new__(FaceAligner)  # dlib's detector and landmarks stood in for
    aligner.geometry = CropGeometry(64, 64)
    aligner.detect = lambda image: [right, left]
    aligner.landmarks = lambda image, face: eyes + face.box[:2]

    class Predictor:
        class_names = ("negative", "positive")

        def predict_frames(self, onsets, apexes):
            return np.array([[0.25, 0.75]] * len(onsets))

    # followed on the left until frame 4, then somewhere neither face is
    curves = SimpleNamespace(face_at=lambda number: (110, 70, 230, 190) if number < 5 else (300, 0, 400, 100))
    result = SimpleNamespace(source=str(tmp_path), fps=30.0, frames=8, gaps=[], curves=curves,
                             intervals=[Interval(1, 2, 3, "micro", score=1.0), Interval(5, 6, 7, "micro", score=1.0),
                                        Interval(5, 6, 8, "macro", score=1.0)])
    pairs = classify_micro(result, Predictor(), aligner, draw=3)  # the server draws macro intervals too
    kept, gone, macro = result.intervals
    assert pairs[2] is None and macro.note.startswith("at its onset (frame 5) no face found near")  # not "no face"
    assert kept.label == "positive" and kept.note is None and pairs[0] is not None
    assert gone.label is None and gone.probabilities is None and pairs[1] is None
    assert gone.note.startswith("at its onset (frame 5) no face found near the one followed at [300, 0, 400, 100]")
    assert "another person" in gone.note
    assert "note: the micro interval 5-7 is not classified: at its onset (frame 5)" in format_text(result)


def test_a_landmark_count_given_as_text_is_kept_as_the_number():
    # FaceConfig(landmarks="5") was checked but kept as text: the 5-point aligner (5 != "5") was refused and
    # config_key kept "68", so saved work never matched
    from mmnet.spotting.config import FaceConfig, SpotConfig, config_key

    assert FaceConfig(landmarks="5").landmarks == 5
    assert FaceConfig(landmarks=" 68").landmarks == 68
    assert "landmarks" not in config_key(SpotConfig(face=FaceConfig(landmarks="68")))["face"]
    with pytest.raises(ConfigError, match="face.landmarks '6' is not a landmark model"):
        FaceConfig(landmarks="6")
