"""predict reads the marker mmnet prepare leaves: crops it wrote were checked for a face, and crops made with other
settings than the model's training crops are a warning naming both."""

from __future__ import annotations

import json

import numpy as np
import torch
from PIL import Image

from mmnet import MMNet
from mmnet.cli import main
from mmnet.model import CheckpointInfo
from mmnet.preprocess.marker import write_marker

DEFAULTS = {"clips": "mmnet prepare", "landmarks": 68, "size": [280, 340], "eye_y": 0.38, "iod": 0.4}


def _model(path, alignment=DEFAULTS):
    torch.manual_seed(0)
    return MMNet(num_classes=3, image_size=32).save_pretrained(path, CheckpointInfo(
        class_names=["a", "b", "c"], preprocessing={"image_size": 32},
        training={"dataset": "casme2", "alignment": alignment}))


def _crops(folder, **settings):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for n in range(3):
        Image.fromarray(rng.integers(0, 255, (40, 34, 3), dtype=np.uint8)).save(folder / f"reg_img{n}.png")
    write_marker(folder, {"size": [280, 340], "eye_y": 0.38, "iod": 0.4, "onset": 0, "quality": 95,
                          "landmarks": 68, **settings}, {"n_frames": 3})
    return folder


def _predict(capsys, model, clip):
    code = main(["predict", "--checkpoint", str(model), str(clip), "--onset", "0", "--apex", "2", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    (row,) = json.loads(captured.out)
    return row, captured.err


def test_crops_prepared_with_the_models_settings_are_said_to_be_prepared(tmp_path, capsys):
    row, err = _predict(capsys, _model(tmp_path / "m"), _crops(tmp_path / "same"))
    assert row["warning"] == "prepared by mmnet prepare (68 points, 280x340, eye_y 0.38, iod 0.4)"
    assert "not checked for a face" not in err and "note: " in err and "prepared by mmnet prepare" in err
    assert "warning:" not in err


def test_crops_prepared_with_other_settings_are_a_warning_naming_both(tmp_path, capsys):
    clip = _crops(tmp_path / "other", landmarks=5, size=[140, 170], eye_y=0.5)
    row, err = _predict(capsys, _model(tmp_path / "m"), clip)
    assert "prepared by mmnet prepare with 5 points, 140x170, eye_y 0.5, iod 0.4" in row["warning"]
    assert "trained on crops of 68 points, 280x340, eye_y 0.38, iod 0.4" in row["warning"]
    assert "--landmarks 68 --size 280x340 --eye-y 0.38 --iod 0.4" in row["warning"]
    assert "warning: " in err and "not checked for a face" not in err


def test_a_model_without_a_record_compares_nothing_and_frames_without_a_marker_are_not_checked(tmp_path, capsys):
    clip = _crops(tmp_path / "other", landmarks=5, size=[140, 170])
    row, _ = _predict(capsys, _model(tmp_path / "m", alignment={"clips": "not recorded", "landmarks": None}), clip)
    assert row["warning"].startswith("prepared by mmnet prepare (5 points, 140x170")
    (clip / ".mmnet-prepared.json").unlink()
    row, err = _predict(capsys, tmp_path / "m", clip)
    assert "not checked for a face" in row["warning"] and "note: input not checked for a face" in err
