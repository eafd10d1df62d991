"""A model keeps what it was trained on, and the licence note, wherever it goes: fold models record it in their
header, a copied final model folder is read through its model card, converted authors' weights record their
source, and an ONNX export carries it. Checkpoints of earlier versions still load and say "not recorded"."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mmnet.cli import main
from mmnet.infer.provenance import LICENCE_NOT_RECORDED, training_caption, training_record
from mmnet.model import CheckpointInfo, MMNet, load_checkpoint, read_checkpoint

from .test_final_fit import _card_run


def _task(tmp_path, *, final: bool = False):
    """A fold of two CASME II subjects and a SAMM one (the third held out unless ``final``), on real-looking data
    folders (no synthetic marker)."""
    from mmnet.config import ExperimentConfig
    from mmnet.train.tasks import FoldTask

    for part in ("casme2", "samm"):
        (tmp_path / "data" / part).mkdir(parents=True)
    cfg = ExperimentConfig()
    cfg.data.dataset = "composite"
    cfg.data.root = f"casme2={tmp_path / 'data' / 'casme2'},samm={tmp_path / 'data' / 'samm'}"
    cfg.data.image_size, cfg.data.classes = 32, ["a", "b"]  # as the models these tests save
    rows = np.zeros(5, dtype=np.int64)
    datasets = ["casme2", "casme2", "casme2", "samm", "samm"]
    subjects = ["01", "01", "02", "01", "07"]
    return FoldTask(out_dir=str(tmp_path / "run"), config=cfg, seed=0, fold="final" if final else "samm_07",
                    train_idx=[0, 1, 2, 3, 4] if final else [0, 1, 2, 3], test_idx=[] if final else [4],
                    frames_path="", onset_rows=rows, apex_rows=rows, onset_exact=rows, apex_exact=rows,
                    labels=[0, 1, 0, 1, 0], sample_ids=[f"s{i}" for i in range(5)], subjects=subjects,
                    datasets=datasets, final=final)


def test_every_saved_model_records_its_training_data_subjects_and_licence(tmp_path):
    # a fold model (train.save_models) held config.json and weights only: no data, no subjects, no licence
    from mmnet.train.fold import _checkpoint_info
    from mmnet.train.model_card import _licence

    info = _checkpoint_info(_task(tmp_path))
    training = info.training
    assert training["dataset"] == "composite" and training["synthetic"] is False
    assert training["datasets"]["casme2"] == {"samples": 3, "subjects": ["01", "02"]}
    assert training["datasets"]["samm"]["subjects"] == ["01"] and training["held_out"] == {"samm": ["07"]}
    assert training["licence"] == _licence(training["datasets"], False, True)  # the card's note, word for word
    assert "CASME II" in training["licence"] and "SAMM" in training["licence"]
    MMNet(2, image_size=32).save_pretrained(tmp_path / "fold-model", info)
    _, meta = read_checkpoint(tmp_path / "fold-model")
    assert meta["training"] == training  # in the header: the weights file alone keeps it
    final = _checkpoint_info(_task(tmp_path / "f", final=True)).training
    assert final["held_out"] == {} and final["datasets"]["samm"]["subjects"] == ["01", "07"]


def _provenance(info_out: str) -> str:
    """`mmnet info`'s output but its alignment line, which says whether the clips' alignment is recorded: a record
    of its own (tests/test_alignment_shown.py)."""
    return "\n".join(line for line in info_out.splitlines() if not line.startswith("alignment:"))


def test_a_copied_fold_model_says_what_it_was_trained_on_and_its_licence(tmp_path, capsys):
    from mmnet.train.fold import _checkpoint_info

    torch.manual_seed(0)
    info = _checkpoint_info(_task(tmp_path))
    MMNet(2, image_size=32).save_pretrained(tmp_path / "shipped", info)
    record = training_record(tmp_path / "shipped")
    assert record["recorded_in"] == "checkpoint" and record["dataset"] == "composite"
    assert training_caption(tmp_path / "shipped") == ("Model trained on composite (recorded in the checkpoint, "
                                                      "data.dataset=composite, 74 epochs).")
    assert main(["info", str(tmp_path / "shipped")]) == 0
    out = capsys.readouterr().out
    assert "not recorded" not in _provenance(out) and f"licence:       {info.training['licence']}\n" in out
    # mmnet explain prints the same licence note under its caption
    from .test_inference import synthetic_clip, write_frames

    clip = write_frames(tmp_path / "clip", synthetic_clip(8, 5))
    assert main(["explain", "--checkpoint", str(tmp_path / "shipped"), str(clip), "--out", str(tmp_path / "f.png"),
                 "--dpi", "30"]) == 0
    out = capsys.readouterr().out
    assert "Model trained on composite (recorded in the checkpoint" in out
    assert f"licence: {info.training['licence']}\n" in out


def test_a_copied_final_model_folder_is_read_through_its_model_card(tmp_path, capsys):
    # `mmnet info shipped/` said "not recorded (the checkpoint is not inside its run folder)" with the card beside it
    from mmnet.train.model_card import write_model_card

    run = _card_run(tmp_path)
    (run / "env.json").write_text("{}")
    card = write_model_card(run, None)
    shipped = Path(shutil.copytree(run / "final" / "model", tmp_path / "shipped"))
    record = training_record(shipped)
    assert record["recorded_in"] == "model card" and record["licence"] == card["licence"]
    assert training_caption(shipped) == "Model trained on casme2 (model card beside the weights, " \
                                        "data.dataset=casme2, 1 epoch)."
    assert main(["info", str(shipped)]) == 0
    out = capsys.readouterr().out
    assert f"licence:       {card['licence']}\n" in out and "not recorded" not in _provenance(out)
    # a card of other weights describes nothing here: the weights are not the ones it names
    torch.manual_seed(1)
    MMNet(2, image_size=32).save_pretrained(shipped, CheckpointInfo(["a", "b"]))
    assert training_record(shipped) == {}
    assert main(["info", str(shipped)]) == 0
    assert f"licence:       {LICENCE_NOT_RECORDED}" in capsys.readouterr().out


def test_a_checkpoint_of_an_earlier_version_loads_and_is_not_recorded(tmp_path, capsys):
    torch.manual_seed(0)
    MMNet(2, image_size=32).save_pretrained(tmp_path / "old", CheckpointInfo(["a", "b"]))
    _, meta = read_checkpoint(tmp_path / "old")
    assert "training" not in meta  # the header an earlier mmnet wrote, key for key
    assert load_checkpoint(tmp_path / "old")[1].training is None
    assert main(["info", str(tmp_path / "old")]) == 0
    out = capsys.readouterr().out
    assert "training:      Model: what it was trained on is not recorded" in out
    assert f"licence:       {LICENCE_NOT_RECORDED}" in out


def test_converted_authors_weights_record_their_source_and_licence(tmp_path, capsys):
    from .test_convert import _fake_official_state_dict

    torch.save(_fake_official_state_dict(), tmp_path / "CASME2_5class_fold1.pth")
    assert main(["convert", str(tmp_path / "CASME2_5class_fold1.pth"), str(tmp_path / "out")]) == 0
    capsys.readouterr()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["config.json", "model.safetensors"]
    assert main(["info", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    sha = hashlib.sha256((tmp_path / "CASME2_5class_fold1.pth").read_bytes()).hexdigest()
    assert (f"source:        CASME2_5class_fold1.pth (SHA-256 {sha}), the MMNet authors' released code "
            "(muse1998/MMNet; no licence stated in that repository)") in out
    assert "training:      Model converted from 'CASME2_5class_fold1.pth'" in out
    assert "trained there on CASME II, scheme casme2-5class." in out and "may be untrained" not in out
    licence = next(line for line in out.splitlines() if line.startswith("licence:"))
    assert "states no licence" in licence and "needs their permission" in licence and "CASME II" in licence
    # predict does not warn that the converted model may be untrained
    from mmnet.infer.provenance import label_warning

    assert label_warning(tmp_path / "out") is None
    assert main(["convert", str(tmp_path / "CASME2_5class_fold1.pth"), str(tmp_path / "out"), "--force"]) == 0


def test_converted_weights_name_casme2_only_for_the_authors_layout_else_what_is_given(tmp_path, capsys):
    # every authors'-format .pth was recorded as trained on CASME II, 3-class and renamed classes too
    from .test_convert import _fake_official_state_dict

    sd = _fake_official_state_dict()
    torch.save(sd, tmp_path / "five.pth")
    sd["main_branch.fc.weight"], sd["main_branch.fc.bias"] = torch.zeros(3, 100352), torch.zeros(3)
    torch.save(sd, tmp_path / "three.pth")
    for pth, extra in (("three.pth", []), ("five.pth", ["--class-names", "a,b,c,d,e"])):
        out = tmp_path / f"{pth}-{len(extra)}"
        assert main(["convert", str(tmp_path / pth), str(out), *extra]) == 0
        record = training_record(out)
        assert record["dataset"] is None and record["scheme"] is None and "synthetic" not in record
        assert main(["info", str(out)]) == 0
        info = capsys.readouterr().out
        assert "trained there on data not stated." in info and "CASME II" not in info
        assert "not stated: check it, and its licence" in info
    assert main(["convert", str(tmp_path / "three.pth"), str(tmp_path / "samm"), "--trained-on", "samm"]) == 0
    assert training_record(tmp_path / "samm")["dataset"] == "samm"
    assert main(["info", str(tmp_path / "samm")]) == 0
    info = capsys.readouterr().out
    assert "trained there on SAMM." in info and "SAMM: see the licence agreement" in info and "CASME II" not in info
    assert main(["convert", str(tmp_path / "five.pth"), str(tmp_path / "authors"),
                 "--class-names", "happiness,repression,disgust,surprise,others"]) == 0
    assert training_record(tmp_path / "authors")["scheme"] == "casme2-5class"  # the authors' names: their layout


def test_the_docs_say_the_authors_weights_carry_no_licence():
    text = (Path(__file__).resolve().parents[1] / "docs" / "inference.md").read_text()
    section = text[text.index("`mmnet convert AUTHORS.pth OUT/`"):]
    section = section[:section.index("\n\n", section.index("muse1998/MMNet"))]
    assert "no licence" in section and "licence-gated" in section and "permission" in section


@pytest.fixture
def onnx_module():
    pytest.importorskip("onnx")
    from mmnet.infer import export

    return export


def test_an_onnx_export_carries_the_model_cards_provenance(tmp_path, onnx_module):
    # the export held mmnet_version, classes, preprocessing and config: no dataset, licence or card hash
    import onnx

    from mmnet.train.model_card import write_model_card

    run = _card_run(tmp_path)
    (run / "env.json").write_text("{}")
    card = write_model_card(run, None)
    shipped = Path(shutil.copytree(run / "final" / "model", tmp_path / "shipped"))
    model, info = load_checkpoint(shipped)
    path = onnx_module.export_onnx(model, tmp_path / "m.onnx", info, checkpoint=shipped)
    meta = onnx_module.read_onnx_metadata(path)
    assert meta["licence"] == card["licence"] and "licence-gated" in meta["licence"]
    assert meta["weights_sha256"] == card["weights"]["sha256"]
    assert meta["model_card_sha256"] == hashlib.sha256((shipped / "model_card.json").read_bytes()).hexdigest()
    assert meta["intended_use"] == card["intended_use"] and meta["limits"] == card["limits"]
    assert meta["training_data"]["dataset"] == "casme2" and meta["training_data"]["recorded_in"] == "model card"
    assert meta["training_data"]["datasets"]["casme2"]["subjects"] == ["01"]
    assert "Trained on CASME II; licence note in metadata 'licence'" in onnx.load(str(path)).doc_string


def test_an_onnx_export_without_a_card_carries_the_header_or_says_not_recorded(tmp_path, onnx_module):
    import onnx

    from mmnet.train.fold import _checkpoint_info

    torch.manual_seed(0)
    MMNet(2, image_size=32).save_pretrained(tmp_path / "fold", _checkpoint_info(_task(tmp_path)))
    model, info = load_checkpoint(tmp_path / "fold")
    meta = onnx_module.read_onnx_metadata(onnx_module.export_onnx(model, tmp_path / "f.onnx", info,
                                                                  checkpoint=tmp_path / "fold"))
    assert meta["training_data"]["recorded_in"] == "checkpoint" and meta["licence"] == info.training["licence"]
    assert meta["training_data"]["datasets"]["samm"]["subjects"] == ["01"] and "held_out" not in meta["training_data"]
    MMNet(2, image_size=32).save_pretrained(tmp_path / "old", CheckpointInfo(["a", "b"]))
    model, info = load_checkpoint(tmp_path / "old")
    path = onnx_module.export_onnx(model, tmp_path / "o.onnx", info, checkpoint=tmp_path / "old")
    meta = onnx_module.read_onnx_metadata(path)
    assert meta["training_data"] == onnx_module.TRAINING_NOT_RECORDED and meta["licence"] == LICENCE_NOT_RECORDED
    assert "Training data not recorded" in onnx.load(str(path)).doc_string
    # the same checkpoint of an earlier mmnet inside its run folder: the run folder names its data, not its licence
    model_dir = tmp_path / "run" / "seed-0" / "fold-x" / "model"
    shutil.copytree(tmp_path / "old", model_dir)
    (tmp_path / "run" / "config.yaml").write_text("data:\n  dataset: casme2\ntrain:\n  epochs: 3\n")
    (tmp_path / "run" / "env.json").write_text("{}")
    meta = onnx_module.read_onnx_metadata(onnx_module.export_onnx(model, tmp_path / "r.onnx", info,
                                                                  checkpoint=model_dir))
    assert meta["training_data"] == {"dataset": "casme2", "epochs": 3, "recorded_in": "run folder", "run": "run"}
    assert meta["licence"] == LICENCE_NOT_RECORDED


def test_mmnet_export_passes_the_checkpoint_for_its_card(tmp_path, onnx_module, capsys):
    from mmnet.train.model_card import write_model_card

    run = _card_run(tmp_path)
    (run / "env.json").write_text("{}")
    card = write_model_card(run, None)
    assert main(["export", "--checkpoint", str(run / "final" / "model"), "--onnx", str(tmp_path / "c.onnx")]) == 0
    assert json.loads(json.dumps(onnx_module.read_onnx_metadata(tmp_path / "c.onnx")))["licence"] == card["licence"]


def test_a_malformed_model_card_beside_the_weights_counts_as_none_and_info_names_it(tmp_path, capsys):
    # a card with non-object fields raised AttributeError in info, explain, serve and export
    from mmnet.infer.export import provenance_metadata
    from mmnet.infer.provenance import card_problem, model_card_beside
    from mmnet.train.fold import _checkpoint_info

    torch.manual_seed(0)
    info = _checkpoint_info(_task(tmp_path))
    shipped = tmp_path / "shipped"
    MMNet(2, image_size=32).save_pretrained(shipped, info)
    sha = hashlib.sha256((shipped / "model.safetensors").read_bytes()).hexdigest()
    card = shipped / "model_card.json"
    for bad, why in (({"weights": "model.safetensors"}, "its 'weights' is not an object"),
                     ({"weights": {"sha256": sha}, "training": "casme2"}, "its 'training' is not an object"),
                     ({"weights": {"sha256": sha}, "classes": ["a", "b"]}, "its 'classes' is not an object"),
                     ({"weights": {"sha256": sha}, "recipe_values": 3}, "its 'recipe_values' is not an object"),
                     (["a card?"], "holds a JSON list, not a model card")):
        card.write_text(json.dumps(bad))
        assert model_card_beside(shipped) is None and why in card_problem(shipped)
        record = training_record(shipped)  # read from the checkpoint's header instead
        assert record["recorded_in"] == "checkpoint" and record["dataset"] == "composite"
        assert json.loads(provenance_metadata(shipped, info)["training_data"])["recorded_in"] == "checkpoint"
        assert main(["info", str(shipped)]) == 0
        out = capsys.readouterr().out
        assert f"note:          '{card}' " in out and why in out and "it is ignored" in out
    card.unlink()
    assert card_problem(shipped) is None


def test_every_reader_finds_a_checkpoints_weights_by_the_one_rule(tmp_path, monkeypatch):
    # the rule "a folder -> its model.safetensors" had a copy in each reader; they now ask model.checkpoint
    from mmnet.infer.export import provenance_metadata
    from mmnet.infer.kept_classification import classifier_identity
    from mmnet.infer.provenance import header_training, model_card_beside
    from mmnet.model import checkpoint
    from mmnet.spotting.provenance import spot_provenance

    torch.manual_seed(0)
    MMNet(2, image_size=32).save_pretrained(tmp_path / "m", CheckpointInfo(["a", "b"]))
    (tmp_path / "m" / "model.safetensors").rename(tmp_path / "m" / "renamed.safetensors")
    monkeypatch.setattr(checkpoint, "WEIGHTS_NAME", "renamed.safetensors")  # the rule changed in its one place
    sha = hashlib.sha256((tmp_path / "m" / "renamed.safetensors").read_bytes()).hexdigest()
    (tmp_path / "m" / "model_card.json").write_text(json.dumps({"weights": {"sha256": sha}}))
    assert read_checkpoint(tmp_path / "m")[1]["class_names"] == ["a", "b"]
    assert model_card_beside(tmp_path / "m") is not None and header_training(tmp_path / "m") == {}
    assert provenance_metadata(tmp_path / "m")["weights_sha256"] == sha

    class Predictor:
        preprocessing = type("P", (), {"image_size": 32, "mean": [0.5], "std": [0.5]})()
        class_names, device, cpu_routes = ["a", "b"], "cpu", {}

    assert classifier_identity(tmp_path / "m", Predictor())["weights_sha256"] == sha
    clip = tmp_path / "clip"
    clip.mkdir()
    Image.new("RGB", (8, 8)).save(clip / "img001.jpg")
    models = spot_provenance(clip, models={"classifier": tmp_path / "m"})["models"]
    assert models["classifier"]["sha256"] == sha
