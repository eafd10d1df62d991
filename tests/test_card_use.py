"""What a model card, a report and an ONNX export say about how far the model can be trusted and what it is for:
the run's chance level, verdict and intervals beside its scores, the spread over subjects, who was recorded, the
failure modes, a contact, and a banner on anything trained on mmnet's synthetic faces."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from mmnet.report import build_report

from .fake_runs import CLASSES, make_samples, write_run

# A: recall 1 (class 0) and 0 (class 1): UAR 0.5; B: recalls 1 and 0.5: UAR 0.75; C: nothing right: UAR 0
SUBJECTS = {"A": [0, 0, 1], "B": [1, 2, 2], "C": [0, 2]}
PREDICTED = {"A": [0, 0, 0], "B": [1, 2, 0], "C": [1, 1]}
SPREAD = ("Across 3 subjects: median UAR 0.50, worst 0.00 (subject C, n=2, its chance 0.50 = 1/2), 2 subjects at or "
          "below their own chance; a subject's UAR is the mean recall over the classes its clips hold (2 here), so "
          "its chance is 1 / those classes, not 0.33 (1/3, the whole set's).")


def _predict(seed, epoch, s):
    return PREDICTED[s["subject"]][int(s["clip"][2:])]


@pytest.fixture
def run(tmp_path):
    return write_run(tmp_path / "run", make_samples(SUBJECTS), _predict, epochs=1)


def _final_model(run, *, root=None, contact=None, **model):
    """Give the fake run a final model (a tiny network) and, optionally, a data root and a card contact."""
    from mmnet.model import MMNet
    from mmnet.model.mmnet import CheckpointInfo

    cfg = yaml.safe_load((run / "config.yaml").read_text())
    if root is not None:
        cfg["data"]["root"] = str(root)
    if contact is not None:
        cfg["train"]["card_contact"] = contact
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    (run / "final").mkdir()
    (run / "final" / "done.json").write_text(json.dumps({"epochs": 1, "seed": 0}))
    torch.manual_seed(0)
    MMNet(3, image_size=32, **model).save_pretrained(run / "final" / "model", CheckpointInfo(CLASSES))


def _synthetic_root(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    (root / "synth.json").write_text(json.dumps({"generator": "mmnet synth", "layout": "casme2"}))
    return root


def test_report_gives_each_subjects_uar_over_its_own_classes_and_the_spread_under_the_verdict(run):
    # per_subject held n, correct and acc only: a subject whose clips are mostly one class looked fine by accuracy
    report = build_report(run)
    rows = report["seeds"]["0"]["last"]["per_subject"]
    assert [(r["subject"], r["n"], r["correct"], r["classes"], r["uar"]) for r in rows] == [
        ("A", 3, 2, 2, 0.5), ("B", 3, 2, 2, 0.75), ("C", 2, 0, 2, 0.0)]
    assert {"dataset", "subject", "fold", "n", "correct", "acc"} <= set(rows[0])  # the keys readers already use
    spread = report["headline"]["subject_spread"]
    # every subject holds 2 of the 3 classes: its chance is 1/2, and A (UAR 0.5) is at it, not above 1/3
    assert (spread["n_subjects"], spread["median_uar"], spread["at_or_below_chance"]) == (3, 0.5, 2)
    assert spread["worst"] == {"dataset": "casme2", "subject": "C", "n": 2, "uar": 0.0, "classes": 2, "chance": 0.5}
    assert spread["chance"] == pytest.approx(1 / 3) and spread["subject_classes"] == [2, 2]
    md = (run / "report.md").read_text()
    assert SPREAD in md and md.index("**Verdict:") < md.index(SPREAD) < md.index("| seed | n | correct")
    assert "| subject | fold | n | correct | acc % | classes | UAR (its classes) |" in md
    assert "| C | fold-C | 2 | 0 | 0.00 | 2 | 0.0000 |" in md


def _chance_ticks(ax) -> list[float]:
    """The x of each subject's chance tick in the per-subject figure (one vertical segment per bar)."""
    (ticks,) = [c for c in ax.collections if c.get_label() == "chance UAR (1 / its classes)"]
    return [float(seg[0][0]) for seg in ticks.get_segments()]


def test_the_per_subject_figure_draws_each_subjects_own_chance_and_uar(run):
    from mmnet.report.figures import _per_subject
    from mmnet.report.scores import compute_report

    ax = _per_subject(compute_report(run)).axes[0]
    # one line at 1/3 (the set's classes) put subject A's UAR 0.5 above chance; it holds 2 classes: chance 1/2
    assert not [line for line in ax.lines if line.get_label().startswith("chance")]
    assert _chance_ticks(ax) == pytest.approx([50, 50, 50])
    dots = next(line for line in ax.lines if line.get_label() == "UAR (its classes)")
    assert list(dots.get_xdata()) == pytest.approx([50, 75, 0])


def test_a_model_answering_one_class_is_at_chance_on_every_subject_and_warned_of(tmp_path):
    # a model predicting one class for everything looked above chance on the subjects of fewer classes
    from mmnet.report.figures import _per_subject

    subjects = {"1": [0, 1, 0, 1], "2": [0, 0, 1], "3": [0, 1, 2], "4": [1, 2, 2]}
    run = write_run(tmp_path / "run", make_samples(subjects), lambda seed, epoch, s: 0, epochs=1)
    report = build_report(run)
    spread = report["headline"]["subject_spread"]
    assert spread["at_or_below_chance"] == 4 and spread["subject_classes"] == [2, 3]
    md = (run / "report.md").read_text()
    assert "4 subjects at or below their own chance" in md and "(2 to 3 here)" in md
    assert ("**Warning:** 4 folds predicted one class for every one of their test clips (last epoch): seed 0 fold 1 "
            "('negative' for all 4), seed 0 fold 2 ('negative' for all 3), seed 0 fold 3 ('negative' for all 3), "
            "seed 0 fold 4 ('negative' for all 3). Those models have not learned to tell the classes apart: on each "
            "of their subjects") in md  # was the folder, fold-1, and 'its subjects'
    assert md.index("**Warning:**") < md.index("| selection | seed | n | correct")
    assert _chance_ticks(_per_subject(report).axes[0]) == pytest.approx([50, 50, 100 / 3, 50])


def test_only_the_folds_that_gave_one_class_to_every_clip_are_warned_of(run):
    report = build_report(run)  # A: 0, 0, 0; B: 1, 2, 0; C: 1, 1
    assert [f["one_class"] for f in report["seeds"]["0"]["last"]["folds"]] == [0, None, 1]
    md = (run / "report.md").read_text()
    assert ("**Warning:** 2 folds predicted one class for every one of their test clips (last epoch): seed 0 fold A "
            "('negative' for all 3), seed 0 fold C ('positive' for all 2).") in md


def test_a_report_of_synthetic_faces_says_so_under_its_status_line(run):
    env = json.loads((run / "env.json").read_text())
    build_report(run)
    assert "synthetic faces" not in (run / "report.md").read_text()
    env["synthetic_data"] = {"generator": "mmnet synth", "layout": "casme2"}
    (run / "env.json").write_text(json.dumps(env))
    build_report(run)
    lines = (run / "report.md").read_text().splitlines()
    assert lines[2].startswith("**Status: complete**")
    assert lines[4] == ("**Demo run on mmnet's synthetic faces in the CASME II file layout: not results on any real "
                        "dataset, and they say nothing about real faces.**")


def test_the_card_quotes_the_reports_chance_verdict_intervals_spread_and_per_class_scores(run):
    from mmnet.report.verdict import chance_verdict
    from mmnet.train.model_card import write_model_card

    report = build_report(run)
    _final_model(run)
    loso = write_model_card(run, report)["loso"]
    ci = report["headline"]["ci"]["subjects"]["per_seed"]["0"]
    assert loso["chance"] == pytest.approx(1 / 3) and loso["verdict"] == chance_verdict(report)
    assert loso["ci_subjects"] == ci and loso["subject_spread"] == report["headline"]["subject_spread"]
    last = report["seeds"]["0"]["last"]
    assert loso["per_class"] == {c: {"f1": last["f1"][i], "recall": last["recall"][i]} for i, c in enumerate(CLASSES)}
    md = (run / "final" / "MODEL_CARD.md").read_text()
    assert f"| UAR | {last['uar']:.4f} | {ci['uar'][0]:.4f} – {ci['uar'][1]:.4f} |" in md
    assert "Chance: UAR 0.33 (1 / 3 classes" in md and f"**Verdict: {chance_verdict(report)}.**" in md
    assert SPREAD in md and f"| surprise | {last['f1'][2]:.4f} | {last['recall'][2]:.4f} |" in md


def test_the_card_says_who_was_recorded_what_breaks_it_whom_to_ask_and_under_which_terms(run):
    from mmnet.model_use import FAILURE_MODES, SUBGROUPS, WHO_RECORDED
    from mmnet.train.model_card import write_model_card

    _final_model(run)
    card = write_model_card(run, None)
    md = (run / "final" / "MODEL_CARD.md").read_text()
    assert card["training"]["datasets"]["casme2"]["recorded"] == WHO_RECORDED["casme2"]
    assert f"- `casme2`: {WHO_RECORDED['casme2']}" in md and SUBGROUPS in md
    for words in ("head motion", "lighting", "glasses", "compression", "frame rates", "posed", "speech and blinks"):
        assert any(words in m for m in FAILURE_MODES) and words in md, words
    assert card["contact"] == "not given" and "Contact: not given." in md
    assert "non-commercial research" in card["licence"] and "weights derive from that data" in card["licence"]
    assert "Institute of Psychology" in card["licence"]


@pytest.mark.parametrize("model, variant", [({}, "MMNet"), ({"use_pc": False}, "MMNet without PC"),
                                            ({"use_ca": False, "use_pc": False}, "MMNet without CA and PC"),
                                            ({"main_input": "apex"}, "MMNet, main input: apex")])
def test_the_card_and_info_name_an_ablated_variant(run, capsys, model, variant):
    # a no-PC model's card said "Architecture: MMNet (Li et al., IJCAI 2022)", use_pc: False only further down
    from mmnet.cli import main
    from mmnet.train.model_card import write_model_card

    _final_model(run, **model)
    card = write_model_card(run, None)
    md = (run / "final" / "MODEL_CARD.md").read_text()
    assert card["model"]["variant"] == variant and md.startswith(f"# Model card: {variant} micro-expression")
    named = "MMNet (Li et al., IJCAI 2022)" if not model else f"{variant} (a variant of MMNet, Li et al., IJCAI 2022)"
    assert card["model"]["architecture"] == named and f"Architecture: {named}." in md
    assert main(["info", str(run / "final" / "model")]) == 0
    assert f"network:       {variant}\n" in capsys.readouterr().out
    assert main(["info", str(run / "final" / "model"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["variant"] == variant


def test_the_card_names_the_contact_of_train_card_contact(run, tmp_path):
    from mmnet.config import load_config
    from mmnet.train.model_card import write_model_card

    assert load_config(None, ["train.card_contact=ml-lab@example.org"]).train.card_contact == "ml-lab@example.org"
    _final_model(run, contact="ml-lab@example.org")
    card = write_model_card(run, None)
    assert card["contact"] == "ml-lab@example.org" and "train.card_contact" not in card["recipe_values"]
    assert "Contact: ml-lab@example.org." in (run / "final" / "MODEL_CARD.md").read_text()


def test_a_card_of_synthetic_faces_credits_no_dataset_owner(run, tmp_path):
    # the demo's card listed "`casme2`: 18 samples" with CASME II's owner, as if it were a model of CASME II
    from mmnet.model_use import SYNTHETIC_LIMITS
    from mmnet.train.model_card import write_model_card

    _final_model(run, root=_synthetic_root(tmp_path))
    card = write_model_card(run, None)
    banner = ("Demo model trained on mmnet's synthetic faces in the CASME II file layout: not a model of any real "
              "dataset.")
    assert card["synthetic_banner"] == banner and card["limits"] == SYNTHETIC_LIMITS
    entry = card["training"]["datasets"]["casme2"]
    assert entry["owner"] is None and entry["synthetic"] is True and "nobody" in entry["recorded"]
    md = (run / "final" / "MODEL_CARD.md").read_text()
    assert md.splitlines()[2] == f"**{banner}**"
    assert "- synthetic (`casme2` layout, no owner): 8 samples" in md
    assert "Institute of Psychology" not in md + json.dumps(card)


def test_an_onnx_export_of_synthetic_faces_says_so_first_and_a_fold_model_carries_the_use_texts(run, tmp_path):
    from mmnet.infer.onnx_metadata import doc_string, provenance_metadata
    from mmnet.model import CheckpointInfo
    from mmnet.model_use import INTENDED_USE, LIMITS, SYNTHETIC_LIMITS
    from mmnet.train.model_card import write_model_card

    _final_model(run, root=_synthetic_root(tmp_path))
    write_model_card(run, None)
    text = doc_string(provenance_metadata(run / "final" / "model"))
    assert text.startswith("Demo model trained on mmnet's synthetic faces in the CASME II file layout")
    assert "Trained on CASME II" not in text
    # a fold model has no card: its export carries the built-in texts instead of none
    fold = provenance_metadata(None, CheckpointInfo(CLASSES, training={"dataset": "samm", "synthetic": False}))
    assert (fold["intended_use"], fold["limits"]) == (INTENDED_USE, LIMITS)
    drawn = provenance_metadata(None, CheckpointInfo(CLASSES, training={"dataset": "casme2", "synthetic": True}))
    assert drawn["limits"] == SYNTHETIC_LIMITS
    assert doc_string(drawn).startswith("Demo model trained on mmnet's synthetic faces in the CASME II file layout")


def test_an_onnx_export_names_a_dataset_only_when_its_record_says_the_data_was_real():
    from mmnet.infer.model_summary import model_title
    from mmnet.infer.onnx_metadata import doc_string, provenance_metadata
    from mmnet.model import CheckpointInfo

    def text(**training):
        return doc_string(provenance_metadata(None, CheckpointInfo(CLASSES, training=training)))

    unknown = text(dataset="casme2")  # no synthetic key: the data may have been synthetic faces in its layout
    assert "CASME II" not in unknown and "Model of unknown data provenance: see metadata 'training_data'" in unknown
    assert model_title(CLASSES, {"dataset": "casme2"}).startswith("Model of unknown data provenance")  # alike
    assert "Trained on SAMM; licence note" in text(dataset="samm", synthetic=False)
    control = text(dataset="samm", synthetic=False, permuted_labels=True)
    assert control.endswith("Trained with permuted labels (a control): its predictions are chance by design.")
    assert "permuted" not in text(dataset="samm", synthetic=False)
    assert "permuted labels" in text(dataset="casme2", synthetic=True, permuted_labels=True)


def test_the_demo_names_its_configuration_on_the_card(tmp_path, monkeypatch):
    # `mmnet demo --set train.final_fit=true` wrote "Configuration: not recorded (the Python API was called ...)"
    import argparse

    import mmnet.train
    from mmnet.commands import demo

    seen = {}

    class Stop(Exception):
        pass

    def fake(cfg, out, **kw):
        seen.update(kw)
        raise Stop

    monkeypatch.setattr(mmnet.train, "train_experiment", fake)
    args = argparse.Namespace(out=tmp_path, subjects=2, clips_per_subject=2, amplitude=None,
                              overrides=["train.final_fit=true"],
                              restart=False, no_progress=True, tensorboard=False)
    with pytest.raises(Stop):
        demo._run_seed(args, 0, permute=False)
    assert seen["source"] == ("recipe synth_demo (shipped with mmnet), through mmnet demo with "
                              "--set train.final_fit=true")


def test_a_run_in_another_precision_than_the_authors_fp32_says_so_in_report_and_card(run):
    # train.precision=auto trains in bf16 where the hardware has it: the report's Configuration and the card's
    # Recipe listed every difference from the authors' recipe but this one
    from mmnet.choices import AUTHORS_FP32
    from mmnet.train.model_card import write_model_card

    line = AUTHORS_FP32  # fp32 as the authors ran it: PyTorch's defaults, TF32 convolutions on recent GPUs
    assert "PyTorch's TF32 defaults" in line and "`--set train.tf32=false`: strict fp32" in line
    build_report(run)
    assert line not in (run / "report.md").read_text()  # the fake run trained in fp32
    env = json.loads((run / "env.json").read_text())
    (run / "env.json").write_text(json.dumps({**env, "precision": "bf16"}))
    build_report(run)
    assert f"- precision used: bf16 (env.json); {line}" in (run / "report.md").read_text()
    _final_model(run)
    write_model_card(run, None)
    assert line not in (run / "final" / "MODEL_CARD.md").read_text()  # no precision recorded
    (run / "final" / "done.json").write_text(json.dumps({"epochs": 1, "seed": 0, "precision": "bf16"}))
    write_model_card(run, None)
    md = (run / "final" / "MODEL_CARD.md").read_text()
    recipe = md[md.index("## Recipe"):md.index("## How well")]
    assert f"- precision used: `bf16` (the final fit's done.json); {line}" in recipe
    assert "none: the paper's recipe as published" not in recipe


def test_the_card_of_a_gpu_fit_says_its_tf32_flags(run):
    # fp32 on a GPU is TF32 convolutions under PyTorch's defaults: the card says which arithmetic the fit had
    from mmnet.train.model_card import write_model_card

    _final_model(run)
    flags = {"cudnn_allow_tf32": True, "cuda_matmul_allow_tf32": False, "float32_matmul_precision": "highest"}
    (run / "final" / "done.json").write_text(json.dumps({"epochs": 1, "seed": 0, "device": "cuda:0",
                                                         "precision": "fp32", "tf32": flags}))
    card = write_model_card(run, None)
    assert card["training"]["tf32"] == flags
    assert "cuda:0 fp32 (TF32 convolutions, fp32 matrix products)" in (run / "final" / "MODEL_CARD.md").read_text()


@pytest.mark.parametrize(("tf32", "device", "said"), [(False, "cuda:0", True), (False, "cpu", False),
                                                     (None, "cuda:0", False)])
def test_the_card_of_a_strict_fp32_gpu_fit_says_it_differs_from_the_authors(run, tf32, device, said):
    # report.md's Methods summary says it; the card, which travels with the weights, says it in the same words
    from mmnet.report.methods import strict_fp32
    from mmnet.train.model_card import write_model_card

    _final_model(run)
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    cfg["train"]["tf32"] = tf32
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    (run / "final" / "done.json").write_text(json.dumps({"epochs": 1, "seed": 0, "device": device,
                                                         "precision": "fp32"}))
    card = write_model_card(run, None)
    clause = strict_fp32({"train": {"tf32": False}}, {"precision": "fp32", "device": "cuda:0"})  # Methods' words
    assert "unlike the authors" in clause
    md = (run / "final" / "MODEL_CARD.md").read_text()
    recipe = md[md.index("## Recipe"):md.index("## How well")]
    assert (card["training"]["strict_fp32"] == clause) is said
    assert (f"- precision used: `fp32` (the final fit's done.json), {clause}" in recipe) is said


def test_the_recipes_and_docs_say_how_to_train_in_the_authors_fp32():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for recipe in ("casme2_5class", "casme2_3class"):
        text = (root / "src" / "mmnet" / "recipes" / f"{recipe}.yaml").read_text()
        assert "the authors trained in fp32" in text and "--set train.precision=fp32 matches them" in text
        assert "PyTorch's defaults (TF32 convolutions" in text and "train.tf32: false for strict fp32" in text
    row = next(line for line in (root / "docs" / "configuration.md").read_text().splitlines()
               if line.startswith("| `train.precision`"))
    assert "The authors trained in fp32 with PyTorch's TF32 defaults" in row and "before PyTorch 1.12" in row
    assert "`--set train.precision=fp32` matches them (with `train.tf32: false`, strict fp32)" in row


def test_a_subject_of_one_class_is_not_counted_at_its_own_chance(tmp_path):
    # chance 1/1 = 1.0: a subject whose clips hold one class counted "at or below its own chance" even when its every
    # clip was right
    from mmnet.report.figures import _per_subject

    subjects = {"1": [0, 1, 0, 1], "2": [0, 0, 1], "3": [2, 2], "4": [1, 1]}
    run = write_run(tmp_path / "run", make_samples(subjects), lambda seed, epoch, s: s["class_index"], epochs=1)
    report = build_report(run)
    spread = report["headline"]["subject_spread"]
    assert (spread["at_or_below_chance"], spread["one_class_subjects"]) == (0, 2)  # was 2, every clip right
    md = (run / "report.md").read_text()
    assert "0 subjects at or below their own chance; 2 subjects hold one class: not comparable with chance" in md
    ax = _per_subject(report).axes[0]
    assert _chance_ticks(ax) == pytest.approx([50, 50])  # none at 100% for subjects 3 and 4
    assert sorted(t.get_text() for t in ax.texts) == ["n=2, one class", "n=2, one class", "n=3", "n=4"]


def test_the_one_class_warning_names_a_composite_fold_as_the_lines_beside_it(tmp_path):
    # the folder (fold-casme2_01) was named, while the subject line beside it says casme2/01
    samples = make_samples({"01": [0, 1, 0], "02": [1, 0, 1]}) + make_samples({"s1": [0, 1]}, dataset="smic")
    run = write_run(tmp_path / "run", samples, lambda seed, epoch, s: 0 if s["subject"] == "01" else s["class_index"],
                    epochs=1)
    build_report(run)
    md = (run / "report.md").read_text()
    assert ("**Warning:** 1 fold predicted one class for every one of its test clips (last epoch): seed 0 fold "
            "casme2/01 ('negative' for all 3). That model has not learned to tell the classes apart: on each of its "
            "subjects") in md
