"""`mmnet spot --spotter-model FLOW --checkpoint CK`: a saved flow spotter spots with its own landmark model, and
the intervals it finds are cropped for the classifier with the model CK's checkpoint records, as a learned spotter's
and the server's are (docs/inference.md, "Face crops and --align")."""

from __future__ import annotations

import pytest

from mmnet.cli import main
from mmnet.model import CheckpointInfo
from tests.preprocess_helpers import NoFaceAligner

pytest.importorskip("av")

FIVE = {"clips": "mmnet prepare", "landmarks": 5, "size": [200, 240], "eye_y": 0.36, "iod": 0.42}


@pytest.fixture
def five_point_model(tmp_path):
    """A tiny untrained checkpoint recording training on 5-point clips, and a saved flow spotter (68 points)."""
    import torch

    from mmnet import MMNet
    from mmnet.spotting.config import spot_config
    from mmnet.spotting.spotters import make_spotter

    torch.manual_seed(0)
    MMNet(num_classes=3, image_size=32).save_pretrained(tmp_path / "model", CheckpointInfo(
        class_names=["a", "b", "c"], preprocessing={"image_size": 32},
        training={"dataset": "casme2", "alignment": FIVE}))
    spotter = make_spotter(spot_config("casme2", ["method=flow"]))
    assert spotter.config.face.landmarks == 68
    spotter.save(tmp_path / "flow.pt")
    return tmp_path / "model", tmp_path / "flow.pt"


class _Classified(Exception):
    """Raised where the spotted intervals would be classified, carrying the aligner given to crop them."""


@pytest.mark.parametrize("out", [False, True], ids=["spot", "spot-out"])
def test_a_saved_flow_spotters_intervals_are_cropped_with_the_checkpoints_model(five_point_model, tmp_path,
                                                                                 monkeypatch, out):
    import types

    import mmnet.infer.kept_classification as kept
    import mmnet.infer.recordings as recordings
    import mmnet.preprocess.face as face

    def classify(result, predictor, aligner, *args, **kwargs):
        raise _Classified(aligner)

    model, spotter = five_point_model
    NoFaceAligner.built = []
    monkeypatch.setattr(face, "FaceAligner", NoFaceAligner)
    # what the spotter finds does not matter here: the aligner the classifying is given does
    monkeypatch.setattr(recordings, "spot_recording", lambda source, config, **kw: types.SimpleNamespace())
    monkeypatch.setattr(recordings, "classify_micro", classify)
    monkeypatch.setattr(kept, "classify_kept", classify)
    video = tmp_path / "rec.mp4"
    video.write_bytes(b"not read")
    extra = ["--out", str(tmp_path / "out")] if out else []
    with pytest.raises(_Classified) as classified:
        main(["spot", str(video), "--spotter-model", str(spotter), "--checkpoint", str(model), "--no-progress",
              *extra])
    aligner = classified.value.args[0]
    assert aligner.points == 5 and (aligner.geometry.width, aligner.geometry.height) == (200, 240)
    # the spotter keeps its own model, and one aligner each
    assert [a.points for a in NoFaceAligner.built if a is not aligner] == [68]
