"""A recording's spotter and classifier crop differently but may align with one landmark model: it is loaded once
(about 100 MB, a second or more), and each crop is exactly the one an aligner of its own would give."""

from __future__ import annotations

import numpy as np
import pytest

from mmnet.infer.alignment import TrainingAlignment
from mmnet.preprocess.face import CropGeometry
from mmnet.preprocess.landmarks import landmark_model_path
from tests.preprocess_helpers import face_frame

pytest.importorskip("cv2")
dlib = pytest.importorskip("dlib")
pytestmark = pytest.mark.skipif(landmark_model_path(68) is None or landmark_model_path(5) is None,
                                reason="the landmark models (face extra) are not installed")


@pytest.fixture
def loads(monkeypatch):
    """The landmark models loaded, by file name, while the test runs."""
    loaded, load = [], dlib.shape_predictor

    def counted(path):
        loaded.append(path.rsplit("/", 1)[-1])
        return load(path)

    monkeypatch.setattr(dlib, "shape_predictor", counted)
    return loaded


def _crop(aligner, frame):
    alignment = aligner.estimate(frame)
    return alignment.matrix, alignment.landmarks, alignment.apply(frame)


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def test_one_model_serves_both_crops_and_each_crops_as_its_own_aligner(loads):
    from mmnet.infer.recordings import recording_aligners
    from mmnet.preprocess.face import FaceAligner
    from mmnet.spotting.config import spot_config

    config = spot_config("casme2")
    spotter, classifier = recording_aligners(config)
    assert loads == ["shape_predictor_68_face_landmarks.dat"]
    frame = face_frame((480, 400), scale=1.3)
    own_spotter = FaceAligner(CropGeometry(config.face.width, config.face.height))
    own_classifier = FaceAligner(CropGeometry())
    assert _crop(spotter, frame)[2].shape == (config.face.height, config.face.width, 3)
    assert _same(_crop(spotter, frame), _crop(own_spotter, frame))
    assert _same(_crop(classifier, frame), _crop(own_classifier, frame))  # bit for bit
    assert _crop(classifier, frame)[2].shape == (340, 280, 3)


def test_two_models_are_two_loads(loads):
    import types

    from mmnet.infer.recordings import recording_aligners
    from mmnet.spotting.config import spot_config

    five = types.SimpleNamespace(alignment=TrainingAlignment(5, CropGeometry(200, 240, 0.36), recorded=True))
    spotter, classifier = recording_aligners(spot_config("casme2"), five)
    assert (spotter.points, classifier.points) == (68, 5) and sorted(loads) == [
        "shape_predictor_5_face_landmarks.dat", "shape_predictor_68_face_landmarks.dat"]
