"""`mmnet.infer.recordings.recording_aligners` keeps its public call forms: `recording_aligners(config)` gives both
aligners (the classifier's with the default crop) and `classify=False` leaves the classifier's out."""

from __future__ import annotations

import pytest

from mmnet.errors import PreprocessError
from mmnet.preprocess.face import CropGeometry


class _Aligner:
    """A stand-in for FaceAligner that loads nothing."""

    def __init__(self, geometry: CropGeometry | None = None, *, landmarks: int = 68, **kwargs):
        self.geometry, self.points = geometry or CropGeometry(), landmarks

    def estimate(self, image, near=None):
        raise PreprocessError("no face found")


@pytest.fixture(autouse=True)
def stand_in(monkeypatch):
    import mmnet.preprocess.face as face

    monkeypatch.setattr(face, "FaceAligner", _Aligner)


def test_both_aligners_without_a_predictor_and_none_for_the_classifier_when_not_asked():
    from mmnet.infer.recordings import recording_aligners
    from mmnet.spotting.config import spot_config

    config = spot_config("casme2")
    spotter, classifier = recording_aligners(config)
    assert (spotter.geometry.width, spotter.geometry.height) == (config.face.width, config.face.height)
    assert classifier is not None and classifier.geometry == CropGeometry() and classifier.points == 68
    spotter, classifier = recording_aligners(config, classify=False)
    assert spotter is not None and classifier is None
    assert recording_aligners(spot_config("casme2", ["face.mode=none"])) == (None, None)
    assert recording_aligners(config, landmarks=5)[1].points == 5  # the classifier's own model, the spotter's kept
