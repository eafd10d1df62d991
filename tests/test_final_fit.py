"""The final fit: one model on every subject, saved with a model card; predict loads it; resume."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch
import yaml

from mmnet.cli import main

TINY = ["data.image_size=32", "train.batch_size=4", "train.device=cpu", "train.precision=fp32",
        "train.state_every_s=0"]  # a resume state after every epoch: a test interrupts one


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    from mmnet import synth

    return synth.write_dataset(tmp_path_factory.mktemp("synth") / "data", subjects=2, clips_per_subject=3, seed=0)


def _args(root, out, cache, *extra, epochs=1):
    sets = [x for s in [*TINY, f"train.epochs={epochs}"] for x in ("--set", s)]
    return ["train", "--dataset", "casme2", "--root", str(root), "--out", str(out), "--no-progress",
            "--set", f"data.cache_dir={cache}", *sets, *extra]


def _card(run):
    return json.loads((run / "final" / "model_card.json").read_text())


@pytest.mark.slow
def test_final_fit_only_writes_model_and_card_and_predict_loads_it(synth_root, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(_args(synth_root, run, tmp_path / "cache", "--final-fit-only")) == 0
    assert "final model:" in capsys.readouterr().out
    assert not list(run.glob("seed-*")) and not (run / "report.json").exists()  # no cross-validation
    final = run / "final"
    done = json.loads((final / "done.json").read_text())
    assert done["train_samples"] == 6 and done["train_subjects"] == ["01", "02"] and done["test_subjects"] == []
    assert done["test_acc"] is None and done["epochs"] == 1
    card = _card(run)
    weights = final / "model" / "model.safetensors"
    assert card["weights"]["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert card["training"]["samples"] == 6 and card["training"]["datasets"]["casme2"]["subjects"] == ["01", "02"]
    assert card["classes"]["scheme"] == "casme2-5class"
    assert card["classes"]["names"] == ["happiness", "repression", "disgust", "surprise", "others"]
    assert sum(card["classes"]["samples_per_class"].values()) == 6
    assert card["preprocessing"]["image_size"] == 32 and card["preprocessing"]["mean"]
    # every non-default value of the recipe, and no local path
    assert card["recipe_values"] == {"data.image_size": 32, "train.epochs": 1, "train.batch_size": 4,
                                     "train.precision": "fp32", "train.device": "cpu"}
    assert card["loso"]["available"] is False and "not known" in card["loso"]["note"]
    assert card["software"]["mmnet_version"] and "git_revision" in card["software"]
    assert card["synthetic_data"] is True
    env = json.loads((run / "env.json").read_text())
    assert card["training"]["dataset_fingerprint"] == env["dataset_fingerprint"] and env["dataset_fingerprint"]
    assert _card(run) == json.loads((final / "model" / "model_card.json").read_text())  # travels with the model
    md = (final / "MODEL_CARD.md").read_text()
    for text in ("NOT measured", card["weights"]["sha256"], "Intended use", "Limits", "Licence",
                 "synthetic faces", "Do not use this model on people", "has seen no person", "`train.epochs`: `1`",
                 "; 1 epoch (train.epochs: a fixed count, none chosen on a test subject)"):
        assert text in md, text
    assert "1 epochs" not in md
    # the final model is an ordinary checkpoint: predict loads it
    clip = next(p for p in sorted((synth_root / "Cropped" / "sub01").iterdir()) if p.is_dir())
    assert main(["predict", "--checkpoint", str(final / "model"), str(clip), "--json"]) == 0
    pred = json.loads(capsys.readouterr().out)
    assert pred[0]["label"] in card["classes"]["names"]


@pytest.mark.slow
def test_final_fit_added_to_a_finished_run_and_its_card_holds_the_run_scores(synth_root, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(_args(synth_root, run, tmp_path / "cache", "--config", "casme2_5class")) == 0
    folds_before = {p: p.read_text() for p in run.glob("seed-0/*/predictions.csv")}
    assert not (run / "final").exists()
    # the same run with --final-fit continues it: the folds are kept, only the final model trains
    assert main(_args(synth_root, run, tmp_path / "cache", "--config", "casme2_5class", "--final-fit")) == 0
    assert {p: p.read_text() for p in run.glob("seed-0/*/predictions.csv")} == folds_before
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["final_fit"] is True
    report = json.loads((run / "report.json").read_text())
    card = _card(run)
    assert card["loso"]["available"] and card["loso"]["complete"]
    assert card["loso"]["mean"] == report["headline"]["mean"]
    assert card["source"].startswith("recipe casme2_5class")
    assert "train.final_fit" not in card["recipe_values"]
    # another setting is still refused once trained
    assert main(_args(synth_root, run, tmp_path / "cache", "--final-fit", epochs=2)) == 3
    assert "different configuration" in capsys.readouterr().err


@pytest.mark.slow
def test_an_interrupted_final_fit_resumes_to_the_same_model(synth_root, tmp_path, monkeypatch):
    from mmnet.model import load_checkpoint
    from mmnet.train import fold as fold_module

    args = ("--final-fit-only",)
    assert main(_args(synth_root, tmp_path / "full", tmp_path / "cache", *args, epochs=2)) == 0

    real, calls = fold_module.train_one_epoch, []

    def stop_in_epoch_two(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(fold_module, "train_one_epoch", stop_in_epoch_two)
    cut = tmp_path / "cut"
    assert main(_args(synth_root, cut, tmp_path / "cache", *args, epochs=2)) == 130
    assert (cut / "final" / "state.pt").is_file() and not (cut / "final" / "done.json").exists()
    monkeypatch.setattr(fold_module, "train_one_epoch", real)
    assert main(_args(synth_root, cut, tmp_path / "cache", *args, epochs=2)) == 0
    assert not (cut / "final" / "state.pt").exists()
    history = (cut / "final" / "history.csv").read_text().splitlines()
    assert len(history) == 3  # header + 2 epochs, the first from before the interruption
    a, _ = load_checkpoint(tmp_path / "full" / "final" / "model")
    b, _ = load_checkpoint(cut / "final" / "model")
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name


def _trained_dataset_keys() -> set[str]:
    """The dataset keys a run's samples.csv can hold: the clip datasets' (an SMIC variant's samples are "smic")
    and the key each long-video loader writes (casme2-long's samples are "casme-sq")."""
    from mmnet.data import DATASETS, LONG_VIDEO_DATASETS

    from .test_long_video_registry import sample_key

    clips = {k for k in DATASETS if k != "composite" and not k.startswith("smic-")}
    return clips | {sample_key(name) for name in LONG_VIDEO_DATASETS}


def test_the_licence_note_names_each_datasets_owner_and_agreement():
    from mmnet.train.model_card import DATASET_OWNERS, _licence

    # CAS(ME)^2 had no entry (the card said "casme-sq: its owners"), SAMM Long Videos was filed under SAMM
    assert sorted(_trained_dataset_keys() - set(DATASET_OWNERS)) == [], (
        "DATASET_OWNERS in src/mmnet/train/model_card.py is made from RELEASES in src/mmnet/data/releases.py: add "
        "the dataset's Release there (docs/contributing.md, \"Registering a clip dataset\")")
    from mmnet.train.model_card import DATASET_RELEASES, OWN_CLIPS, OWN_CLIPS_TERMS

    # a lab's own clips: no owner's agreement to point to, the consent of the people filmed instead
    own = _licence({OWN_CLIPS: {"owner": DATASET_OWNERS[OWN_CLIPS]}})
    assert OWN_CLIPS_TERMS in own and "licence-gated" not in own
    assert OWN_CLIPS_TERMS in _licence({OWN_CLIPS: {}, "casme2": {}}) and "Chinese Academy" in _licence(
        {OWN_CLIPS: {}, "casme2": {}})
    from mmnet.train.model_card import OWN_DATA_TERMS, OWN_RECORDINGS

    # a lab's own long recordings (table-long) likewise: their consent, no owner's agreement
    assert _licence({OWN_RECORDINGS: {}}).startswith("Trained on your own recordings (the table-long dataset)")
    assert "licence-gated" not in _licence({OWN_RECORDINGS: {}})
    for key in _trained_dataset_keys() - set(OWN_DATA_TERMS):
        name, owner, page = DATASET_RELEASES[key]
        note = _licence({key: {"owner": DATASET_OWNERS[key]}})
        assert f"{name}: see the licence agreement of {owner}" in note, key
        assert page is None or f"({page})" in note
        assert "its owners" not in note and "usually" not in note
    assert DATASET_RELEASES["samm-long"][0] == "SAMM Long Videos" and DATASET_RELEASES["casme-sq"][0] == "CAS(ME)^2"
    assert "dpailab.com" in _licence({"mmew": {}})  # where MMEW's agreement is, as the MMEW loader's error says
    parts = {d: {"owner": DATASET_OWNERS[d]} for d in ("casme2", "samm", "smic")}
    assert "no dataset licence applies" in _licence(parts, synthetic=True)


def _card_run(tmp_path, samples: str = "casme2/01/a,casme2,01,0\n"):
    """A hand-made run folder for the model card: config (classes a, b), final/done.json, samples.csv, and a
    tiny network saved in final/model."""
    from mmnet.config import ExperimentConfig, config_to_dict
    from mmnet.model import MMNet
    from mmnet.model.mmnet import CheckpointInfo

    run = tmp_path / "run"
    cfg = config_to_dict(ExperimentConfig())
    cfg["data"]["classes"] = ["a", "b"]
    (run / "final").mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    (run / "final" / "done.json").write_text(json.dumps({"epochs": 1, "seed": 0}))
    (run / "samples.csv").write_text("sample_id,dataset,subject,class_index\n" + samples)
    torch.manual_seed(0)
    MMNet(2, image_size=32).save_pretrained(run / "final" / "model", CheckpointInfo(["a", "b"]))
    return run


def test_card_holds_the_dataset_fingerprint_and_travels_with_the_model_folder(tmp_path):
    """A hand-made run folder with a tiny network: the card is written to final/ and to final/model/."""
    from mmnet.train.model_card import write_model_card

    run = _card_run(tmp_path, "casme2/01/a,casme2,01,0\ncasme2/02/b,casme2,02,1\n")
    (run / "env.json").write_text(json.dumps({"dataset_fingerprint": "0123456789abcdef0123", "python": "3"}))
    card = write_model_card(run, None)
    assert card["training"]["dataset_fingerprint"] == "0123456789abcdef0123"
    for folder in (run / "final", run / "final" / "model"):
        assert json.loads((folder / "model_card.json").read_text()) == json.loads(json.dumps(card))
        assert "Dataset fingerprint: `0123456789abcdef0123`" in (folder / "MODEL_CARD.md").read_text()
    assert (run / "final" / "MODEL_CARD.md").read_bytes() == (run / "final" / "model" / "MODEL_CARD.md").read_bytes()
    # a copy of the model folder alone keeps its card and still loads
    import shutil

    from mmnet.model import load_checkpoint

    copy = shutil.copytree(run / "final" / "model", tmp_path / "elsewhere")
    assert (copy / "MODEL_CARD.md").is_file() and load_checkpoint(copy)[1].class_names == ["a", "b"]


def test_card_names_a_damaged_run_file_and_tolerates_a_missing_env_json(tmp_path):
    """The card reads the run's files as the report does: a damaged one is an error naming it (env.json holding
    a list used to fail with an AttributeError), a missing env.json leaves its values unknown."""
    from mmnet.report.run_reader import RunFolderError
    from mmnet.train.model_card import write_model_card

    run = _card_run(tmp_path)
    card = write_model_card(run, None)
    assert card["training"]["dataset_fingerprint"] is None
    assert card["training"]["datasets"]["casme2"]["subjects"] == ["01"]  # read as text, as the report reads it
    (run / "env.json").write_text("[]")
    with pytest.raises(RunFolderError, match=r"env\.json' must hold a JSON object"):
        write_model_card(run, None)
    (run / "env.json").write_text("{}")
    (run / "samples.csv").write_text("sample_id,dataset\ncasme2/01/a,casme2\n")
    with pytest.raises(RunFolderError, match=r"samples\.csv' lacks column\(s\) \['subject', 'class_index'\]"):
        write_model_card(run, None)


def test_card_counts_the_samples_the_list_leaves_out_apart_from_those_skipped(tmp_path):
    from mmnet.train.model_card import write_model_card

    run = _card_run(tmp_path)
    (run / "skipped.csv").write_text("sample_id,reason\ncasme2/01/b,not in combined_3class_gt.csv\n"
                                     "casme2/01/c,not in combined_3class_gt.csv\ncasme2/02/d,frame 3 cannot be read\n")
    card = write_model_card(run, None)
    assert card["training"]["skipped_samples"] == 1
    assert card["training"]["not_listed"] == {"combined_3class_gt.csv": 2}
    assert ("(1 left out, listed in skipped.csv; 2 not in combined_3class_gt.csv, left out by the protocol's list)"
            in (run / "final" / "MODEL_CARD.md").read_text())


def test_card_of_a_composite_with_a_synthetic_part_says_synthetic_as_serve_and_explain_do(tmp_path, monkeypatch):
    """One rule for "trained on synthetic data?": any synthetic part (the card asked for all of them, so a
    composite with one synthetic part was real on MODEL_CARD.md and synthetic on `mmnet explain`'s figure);
    relative data folders are found from the run folder, as `mmnet explain` finds them."""
    from mmnet.config import ExperimentConfig, config_to_dict
    from mmnet.infer.provenance import training_caption, training_record
    from mmnet.model import MMNet
    from mmnet.model.mmnet import CheckpointInfo
    from mmnet.train.model_card import write_model_card

    run = tmp_path / "run"
    for part in ("casme2", "samm"):
        (tmp_path / "data" / part).mkdir(parents=True)
    (tmp_path / "data" / "samm" / "synth.json").write_text("{}")
    cfg = config_to_dict(ExperimentConfig())
    cfg["data"].update(classes=["a", "b"], dataset="composite", root="casme2=data/casme2,samm=data/samm")
    (run / "final").mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    (run / "env.json").write_text("{}")
    (run / "final" / "done.json").write_text(json.dumps({"epochs": 1, "seed": 0}))
    (run / "samples.csv").write_text("sample_id,dataset,subject,class_index\ncasme2/01/a,casme2,01,0\n"
                                     "samm/02/b,samm,02,1\n")
    torch.manual_seed(0)
    MMNet(2, image_size=32).save_pretrained(run / "final" / "model", CheckpointInfo(["a", "b"]))
    monkeypatch.chdir(run / "final")  # the relative roots are not under the current folder
    card = write_model_card(run, None)
    assert training_record(run / "final" / "model")["synthetic"] is True
    assert "Model trained on synthetic faces in part (" in training_caption(run / "final" / "model")
    assert card["synthetic_data"] is True
    assert "partly on mmnet's synthetic faces" in card["licence"] and "CASME II" in card["licence"]
