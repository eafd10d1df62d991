"""`mmnet.infer.recordings.recording_aligners` keeps its public call forms: `recording_aligners(config)` gives both
aligners (the classifier's with the default crop) and `classify=False` leaves the classifier's out."""

from __future__ import annotations

import copy

import pytest

from mmnet.errors import PreprocessError
from mmnet.preprocess.face import CropGeometry


class _Aligner:
    """A stand-in for FaceAligner that loads nothing."""

    def __init__(self, geometry: CropGeometry | None = None, *, landmarks: int = 68, **kwargs):
        self.geometry, self.points = geometry or CropGeometry(), landmarks

    def cropping(self, geometry):  # as FaceAligner's: the same settings and model, another crop
        twin = copy.copy(self)
        twin.geometry = geometry
        return twin

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


def _classifier_aligner_used(monkeypatch, predictor, **kwargs):
    """The aligner ``spot_and_classify(..., predictor, **kwargs)`` crops the classifier's intervals with."""
    import types

    import mmnet.infer.recordings as recordings

    used = []
    monkeypatch.setattr(recordings, "spot_recording", lambda source, config, **kw: types.SimpleNamespace())
    monkeypatch.setattr(recordings, "classify_micro", lambda result, predictor, aligner, **kw: used.append(aligner))
    recordings.spot_and_classify("recording.mp4", predictor, **kwargs)
    return used[0]


def test_python_callers_crop_with_the_checkpoints_recorded_model_unless_they_choose_one(monkeypatch):
    import types

    from mmnet.infer.alignment import TrainingAlignment
    from mmnet.spotting.config import spot_config

    geometry = CropGeometry(200, 240, 0.36)
    five = types.SimpleNamespace(alignment=TrainingAlignment(5, geometry, recorded=True))
    aligner = _classifier_aligner_used(monkeypatch, five)  # the config's default face.landmarks is 68
    assert aligner.points == 5 and aligner.geometry == geometry  # as `mmnet spot --checkpoint` crops
    assert _classifier_aligner_used(monkeypatch, five, classifier_landmarks=68).points == 68  # chosen
    # a checkpoint that records none: the config's model, as before
    unrecorded = types.SimpleNamespace()
    assert _classifier_aligner_used(monkeypatch, unrecorded, config=spot_config("casme2", ["face.landmarks=5"])
                                    ).points == 5


def test_shared_aligners_reuse_only_what_aligns_alike():
    from mmnet.infer.recordings import SharedAligners

    clip = _Aligner(CropGeometry(), landmarks=5)
    shared = SharedAligners(clip, object())  # an object that does not say its model and crop is not kept
    assert shared.aligner(CropGeometry(), 5) is clip
    spotter = shared.aligner(CropGeometry(140, 170), 5)
    assert spotter is not clip and spotter.geometry == CropGeometry(140, 170) and spotter.points == 5
    assert shared.aligner(CropGeometry(140, 170), 5) is spotter and shared.aligner(CropGeometry(), 68) is not clip
    fussy = _Aligner(CropGeometry())
    fussy.upsample = 1  # finds other faces than the default detector settings: neither it nor its model is reused
    assert getattr(SharedAligners(fussy).aligner(CropGeometry(), 68), "upsample", 0) == 0
    assert getattr(SharedAligners(fussy).aligner(CropGeometry(140, 170), 68), "upsample", 0) == 0
