"""What a model was trained on is read from every record there is: a demo model whose run folder lost its data
folder is still a demo model (its checkpoint says so), one whose data cannot be told real or synthetic is never
named after a dataset, records that disagree are said, and permuted labels are warned about like synthetic faces.
What it is worth (title, synthetic, permuted labels, note, performance) travels with `mmnet predict --json` and
`spot.json`; the performance line says how the recipe did on unseen people and that the scores are no
probabilities."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from types import SimpleNamespace

import pytest
import yaml

from mmnet.cli import main
from mmnet.infer.model_summary import model_summary, performance, with_note_column
from mmnet.infer.provenance import label_warning, training_caption, training_record
from mmnet.serve.model_info import describe_checkpoint, provenance

from .test_inference import write_frames
from .test_spot_str_csv import faked  # noqa: F401  (a fixture)
from .test_spotting import synthetic_clip

torch = pytest.importorskip("torch")

CLASSES = ["negative", "positive", "surprise"]
PREDICTOR = SimpleNamespace(class_names=CLASSES, preprocessing=SimpleNamespace(image_size=32))


def _model(run, *, header: dict | None, data: str = "missing", permute: bool = False, env: dict | None = None):
    """RUN/seed-0/fold-sub01/model of a run whose config names ``RUN/../<data>`` as its data root (``missing``: not
    there; ``real``: a folder without synth.json), its checkpoint header's training record ``header``."""
    from mmnet.model import CheckpointInfo, MMNet

    model = run / "seed-0" / "fold-sub01" / "model"
    root = run.parent / data
    if data != "missing":
        root.mkdir(parents=True, exist_ok=True)
    (run / "seed-0").mkdir(parents=True)
    config = {"data": {"dataset": "casme2", "root": str(root), "permute_labels": permute}, "train": {"epochs": 1}}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    (run / "env.json").write_text(json.dumps(env or {}))
    torch.manual_seed(0)
    MMNet(len(CLASSES), image_size=32).save_pretrained(
        model, CheckpointInfo(list(CLASSES), {"image_size": 32}, training=header))
    return model


SYNTHETIC_HEADER = {"dataset": "casme2", "epochs": 1, "synthetic": True}


def test_a_demo_model_whose_data_folder_is_gone_is_still_a_demo_model(tmp_path, capsys):
    # it was titled "CASME II model", summarised as "real or synthetic is unknown", with no warning anywhere
    model = _model(tmp_path / "run", header=SYNTHETIC_HEADER)
    record = training_record(model)
    assert record["synthetic"] is True and record["recorded_in"] == "run folder" and "conflicts" not in record
    info = describe_checkpoint(model, PREDICTOR)
    assert info["title"].startswith("Demo model (synthetic faces)") and info["synthetic"] is True
    assert "CASME II" not in info["title"] and "unknown" not in info["summary"]
    assert "synthetic faces" in info["note"] and provenance(info)["note"] == info["note"]
    assert "synthetic faces only" in label_warning(model)
    # the server's note speaks to the page's user, who has no README nor training to hand; the CLI's keeps its own
    assert "ask the person who runs this server for a model trained on real faces" in info["note"]
    assert "README" not in info["note"] and "README, 'Using it on real data'" in label_warning(model)
    assert main(["info", str(model)]) == 0
    out = capsys.readouterr().out
    assert "training:      Model trained on synthetic faces only" in out and "unknown" not in out


def test_env_json_says_synthetic_when_the_checkpoint_does_not(tmp_path):
    model = _model(tmp_path / "run", header=None, env={"synthetic_data": {"generator": "mmnet synth"}})
    assert training_record(model)["synthetic"] is True
    assert describe_checkpoint(model, PREDICTOR)["title"].startswith("Demo model")


def test_unknown_provenance_is_not_named_after_the_dataset_and_is_warned_about(tmp_path, capsys):
    model = _model(tmp_path / "run", header={"dataset": "casme2", "epochs": 1})  # an earlier record: no synthetic
    info = describe_checkpoint(model, PREDICTOR)
    assert info["synthetic"] is None
    assert info["title"].startswith("Model of unknown data provenance") and "CASME II model" not in info["title"]
    assert not info["summary"].startswith("Trained on") and "unknown data provenance" in info["summary"].lower()
    assert "real or synthetic" in info["note"] and "real or synthetic" in label_warning(model)
    assert training_caption(model, by_name=True).startswith("Model of unknown data provenance")
    clip = write_frames(tmp_path / "clip", synthetic_clip(10, 4))
    assert main(["predict", "--checkpoint", str(model), str(clip)]) == 0
    assert "note: whether the model was trained on real or synthetic faces is unknown" in capsys.readouterr().err


def test_records_that_disagree_are_said_and_the_warning_kept(tmp_path, capsys):
    # the run's data folder is real (no synth.json), the checkpoint says synthetic: neither is hidden
    model = _model(tmp_path / "run", header=SYNTHETIC_HEADER, data="real")
    record = training_record(model)
    assert record["synthetic"] is True and len(record["conflicts"]) == 1
    assert "the checkpoint's header says synthetic" in record["conflicts"][0]
    assert "data folder says real" in record["conflicts"][0]
    assert "records disagree" in label_warning(model)
    assert main(["info", str(model)]) == 0
    assert "note:          the records disagree" in capsys.readouterr().out


def test_a_permuted_label_control_is_titled_summarised_and_warned_as_such(tmp_path):
    # its summary said just "Trained on CASME II.", and the page warned only on synthetic
    model = _model(tmp_path / "run", header={"dataset": "casme2", "epochs": 1, "synthetic": False}, data="real",
                   permute=True)
    info = describe_checkpoint(model, PREDICTOR)
    assert info["permuted_labels"] is True and info["synthetic"] is False
    assert info["title"].startswith("Permuted-label control model")
    assert "permuted labels" in info["summary"] and "chance by design" in info["summary"]
    assert "permuted labels" in info["note"] and provenance(info)["permuted_labels"] is True
    real = _model(tmp_path / "real-run", header={"dataset": "casme2", "epochs": 1, "synthetic": False}, data="real2")
    info = describe_checkpoint(real, PREDICTOR)
    assert info["title"].startswith("CASME II model") and info["note"] is None and not info["permuted_labels"]


def _report(uar: float) -> dict:
    return {"classes": ["a", "b", "c", "d", "e"], "complete": True, "protocol": {"protocol": "loso"},
            "headline": {"n_seeds": 1, "per_seed": {"0": {"uar": uar, "uf1": 0.11}},
                         "ci": {"subjects": {"n_units": {"0": 3}, "per_seed": {"0": {"uar": [0.09, 0.2]}}}}}}


def test_performance_comes_from_the_run_report_or_the_model_card_else_is_not_recorded(tmp_path):
    model = _model(tmp_path / "run", header=SYNTHETIC_HEADER)
    assert performance(model)["source"] is None
    assert performance(model)["line"].startswith("Performance not recorded")
    (tmp_path / "run" / "report.json").write_text(json.dumps(_report(0.148)))
    found = performance(model)
    assert found["source"] == "report.json" and found["chance"] == pytest.approx(0.2) and found["subjects"] == 3
    assert found["line"].startswith("Cross-validated on unseen people: UAR 0.15, UF1 0.11 (chance 0.20; too few "
                                    "subjects (3) to judge; 3 subjects).")
    assert found["line"].endswith("Scores are softmax outputs, not calibrated probabilities.")
    # a model folder copied out of its run: its card's cross-validation
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    (shipped / "model.safetensors").write_bytes((model / "model.safetensors").read_bytes())
    (shipped / "config.json").write_bytes((model / "config.json").read_bytes())
    sha = hashlib.sha256((shipped / "model.safetensors").read_bytes()).hexdigest()
    card = {"weights": {"sha256": sha}, "classes": {"names": CLASSES}, "training": {"subjects": 4},
            "loso": {"available": True, "mean": {"uar": 0.3, "uf1": 0.25}}}
    (shipped / "model_card.json").write_text(json.dumps(card))
    line = performance(shipped)["line"]
    assert line.startswith("Cross-validated on unseen people: UAR 0.30, UF1 0.25 (chance 0.33; not above chance; "
                           "4 subjects)")
    assert describe_checkpoint(shipped, PREDICTOR)["performance"]["source"] == "model card"
    # a damaged report does not stop predictions: it is passed over
    damaged = _report(0.2)
    damaged["headline"]["chance_test"] = {"can_decide": True}  # its p-value lost
    (tmp_path / "run" / "report.json").write_text(json.dumps(damaged))
    assert performance(model)["source"] is None


def test_a_final_fit_only_models_card_is_found_and_says_it_has_no_scores(tmp_path):
    # the card beside the weights was there but held no LOSO scores: the line said no card was found
    model = _model(tmp_path / "run", header=SYNTHETIC_HEADER)
    sha = hashlib.sha256((model / "model.safetensors").read_bytes()).hexdigest()
    card = {"weights": {"sha256": sha}, "classes": {"names": CLASSES},
            "loso": {"available": False, "protocol": "loso", "note": "no cross-validation fold was run"}}
    (model / "model_card.json").write_text(json.dumps(card))
    found = performance(model)
    assert found["source"] == "model card" and "no model card" not in found["line"]
    assert "the model card records no cross-validation scores (trained with --final-fit-only" in found["line"]
    assert found["line"].endswith("Scores are softmax outputs, not calibrated probabilities.")


def test_predict_json_and_footer_carry_what_the_model_is_worth(tmp_path, capsys):
    # the JSON's model block had path, file and sha256 only; the note went to stderr alone
    model = _model(tmp_path / "run", header=SYNTHETIC_HEADER)
    (tmp_path / "run" / "report.json").write_text(json.dumps(_report(0.148)))
    clip = write_frames(tmp_path / "clip", synthetic_clip(10, 4))
    assert main(["predict", "--checkpoint", str(model), str(clip), "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    block = entry["model"]
    assert block["synthetic"] is True and block["permuted_labels"] is False
    assert block["title"].startswith("Demo model (synthetic faces)") and "synthetic faces" in block["note"]
    assert block["sha256"] == hashlib.sha256((model / "model.safetensors").read_bytes()).hexdigest()
    assert block["performance"].startswith("Cross-validated on unseen people: UAR 0.15")
    assert main(["predict", "--checkpoint", str(model), str(clip)]) == 0
    footer = capsys.readouterr().out.splitlines()[-1]
    assert footer.startswith("model: Cross-validated on unseen people: UAR 0.15, UF1 0.11 (chance 0.20")
    assert footer.endswith("Scores are softmax outputs, not calibrated probabilities.")


def test_the_note_column_is_added_last_on_every_row():
    text = "video,onset,note\nv,1,\nv,,a note\n"
    assert with_note_column(text, "=synthetic") == ("video,onset,note,model_note\nv,1,,'=synthetic\n"
                                                    "v,,a note,'=synthetic\n")
    assert with_note_column(text, None).splitlines()[1] == "v,1,,"


@pytest.mark.usefixtures("faked")  # the spotting faked: no face extra, no decoding
def test_spot_json_and_intervals_csv_carry_the_classifiers_note(tmp_path):
    # spot.json's models.classifier had path and sha256 only, intervals.csv no word of a synthetic model
    model = _model(tmp_path / "run", header=SYNTHETIC_HEADER)
    video = tmp_path / "006_1.mp4"
    video.write_bytes(b"a recording")
    out = tmp_path / "spots"
    assert main(["spot", str(video), "--no-progress", "--out", str(out), "--checkpoint", str(model)]) == 0
    classifier = json.loads((out / "spot.json").read_text())["provenance"]["models"]["classifier"]
    assert classifier["synthetic"] is True and classifier["title"].startswith("Demo model")
    assert "synthetic faces" in classifier["note"] and classifier["permuted_labels"] is False
    assert "sha256" in classifier and classifier["performance"].startswith("Performance not recorded")
    rows = list(csv.reader(io.StringIO((out / "intervals.csv").read_text())))
    assert rows[0][-1] == "model_note" and len(rows) > 1 and all(row[-1] == classifier["note"] for row in rows[1:])
    assert main(["spot", str(video), "--no-progress", "--out", str(out)]) == 0  # no classifier: no such column
    assert "model_note" not in (out / "intervals.csv").read_text()
    assert model_summary(model, CLASSES)["note"] == classifier["note"]

