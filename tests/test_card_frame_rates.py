"""The model card's frame-rate failure mode names the rates of the data the model learnt from: a composite's
SMIC part is 100 fps, a CAS(ME)^3 model's data 30 fps, a lab's own clips a rate mmnet is not told."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from mmnet.model_use import failure_modes

from .fake_runs import CLASSES, make_samples, write_run


def _rate_line(modes):
    (line,) = [m for m in modes if m.startswith("frame rates")]
    return line


def _final_model(run, dataset):
    from mmnet.model import MMNet
    from mmnet.model.mmnet import CheckpointInfo

    cfg = yaml.safe_load((run / "config.yaml").read_text())
    cfg["data"]["dataset"] = dataset
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    (run / "final").mkdir()
    (run / "final" / "done.json").write_text(json.dumps({"epochs": 1, "seed": 0}))
    torch.manual_seed(0)
    MMNet(3, image_size=32).save_pretrained(run / "final" / "model", CheckpointInfo(CLASSES))


def test_a_composite_card_names_smics_100_fps_beside_casme2_and_samms_200(tmp_path):
    from mmnet.train.model_card import write_model_card

    samples = [s for ds in ("casme2", "samm", "smic") for s in make_samples({"s1": [0, 1], "s2": [2, 0]}, ds)]
    run = write_run(tmp_path / "run", samples, lambda seed, epoch, s: s["class_index"], epochs=1)
    _final_model(run, "composite")
    line = _rate_line(write_model_card(run, None)["failure_modes"])
    assert "(SMIC: 100 fps; CASME II and SAMM: 200 fps)" in line  # not "CASME II and SAMM: 200 fps" alone
    assert line in (run / "final" / "MODEL_CARD.md").read_text()


@pytest.mark.parametrize("dataset, said", [("casme3", "CAS(ME)^3: 30 fps"), ("smic-vis", "SMIC-VIS: 25 fps"),
                                           ("table", "your own clips: the rate it was recorded at")])
def test_a_card_of_slower_or_own_data_is_not_told_its_data_was_200_fps(tmp_path, dataset, said):
    from mmnet.train.model_card import write_model_card

    key = "smic" if dataset.startswith("smic") else dataset  # SMIC's samples say smic whichever part
    run = write_run(tmp_path / "run", make_samples({"s1": [0, 1, 2]}, key), lambda seed, e, s: 0, epochs=1)
    _final_model(run, dataset)
    line = _rate_line(write_model_card(run, None)["failure_modes"])
    assert said in line and "200" not in line and "25 or 30 fps video" not in line


def test_the_rates_are_grouped_and_synthetic_faces_have_none():
    assert "(MMEW: 90 fps; CASME II: 200 fps)" in _rate_line(failure_modes(["casme2", "mmew"]))
    drawn = _rate_line(failure_modes(["casme2"], synthetic=True))
    assert "fps" not in drawn and "synthetic faces are drawn frames" in drawn
    assert len(failure_modes(["samm"])) == len(failure_modes([])) == 7
