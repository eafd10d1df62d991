"""The demo and its control, reduced: labels permuted across samples must leave nothing to learn."""

import csv
import importlib.util
import json

import pytest

from mmnet.cli import main

REDUCED = ["--subjects", "3", "--clips-per-subject", "5", "--no-progress",
           "--set", "train.epochs=2", "--set", "data.image_size=48", "--set", "model.image_size=48"]


def _class_indices(path):
    with open(path) as f:
        return {row["sample_id"]: int(row["class_index"]) for row in csv.DictReader(f)}


@pytest.mark.slow
def test_demo_and_permuted_label_control(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), *REDUCED]) == 0
    assert main(["demo", "--out", str(out), "--permute-labels", *REDUCED]) == 0
    printed = capsys.readouterr().out
    assert "UF1" in printed and "report:" in printed

    honest = _class_indices(out / "run" / "samples.csv")
    permuted = _class_indices(out / "run-permuted-labels" / "samples.csv")
    # Same samples and the same class counts, but labels moved between samples.
    assert honest.keys() == permuted.keys()
    assert sorted(honest.values()) == sorted(permuted.values())
    assert any(honest[k] != permuted[k] for k in honest)
    # The permuted labels are what training and scoring used.
    with open(out / "run-permuted-labels" / "pooled_predictions.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(int(r["true"]) == permuted[r["sample_id"]] for r in rows)
    report = json.loads((out / "run-permuted-labels" / "report.json").read_text())
    assert report["complete"] is True


TINY = ["--subjects", "2", "--clips-per-subject", "3", "--no-progress", "--set", "train.epochs=1",
        "--set", "data.image_size=32", "--set", "train.batch_size=4"]


@pytest.mark.slow
def test_demo_seeds_with_control_write_a_summary(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--seeds", "0", "1", "--with-control", *TINY]) == 0
    printed = capsys.readouterr().out
    assert "| seed | honest UF1 | UAR | Acc % | permuted-label UF1 |" in printed
    assert f"summary: {out / 'summary.md'}" in printed
    with open(out / "summary.csv") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == ["seed", "uf1", "uar", "acc", "control_uf1", "seconds", "control_seconds", "machine"]
    assert [r["seed"] for r in rows] == ["0", "1"]
    for r in rows:
        assert all(0.0 <= float(r[k]) <= 1.0 for k in ("uf1", "uar", "acc", "control_uf1"))
        assert int(r["seconds"]) >= 0 and int(r["control_seconds"]) >= 0 and "threads" in r["machine"]
    # each seed's runs are where a single-seed demo puts them, the control beside the honest run
    for base in (out, out / "seed-1"):
        assert (base / "run" / "report.json").is_file() and (base / "run-permuted-labels" / "report.json").is_file()
    md = (out / "summary.md").read_text()
    assert md.count("\n| ") == 3 and "median" in md and "machine:" in md


def test_demo_permute_labels_and_with_control_conflict(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--seeds", "0", "--with-control", "--permute-labels"]) != 0
    assert "--with-control" in capsys.readouterr().err


@pytest.mark.slow  # two tiny LOSO runs, ~15 s on 2 cores
def test_demo_says_what_next_and_restart_keeps_the_models(tmp_path, capsys, monkeypatch):
    # the path of a newcomer: the quick-start demo, then the models for `mmnet serve`, which
    # another configuration in the same folder refuses until --restart moves the first run aside
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "demo-run"
    assert main(["demo", "--out", str(out), *TINY]) == 0
    printed = capsys.readouterr().out
    assert "chance: a UF1 and UAR of about 0.20 for 5 classes" in printed
    assert "--restart --set train.save_models=true" in printed
    save = ["--set", "train.save_models=true"]
    assert main(["demo", "--out", str(out), *TINY, *save]) == 3
    assert "--restart" in capsys.readouterr().err
    assert main(["demo", "--out", str(out), *TINY, *save, "--restart"]) == 0
    printed = capsys.readouterr().out
    assert f"restart: the earlier run in {out / 'run'} was moved to" in printed
    assert len(list(out.glob("run.old-*"))) == 1 and (out / "run" / "report.json").is_file()
    saved = list((out / "run" / "seed-0").glob("fold-*/model/model.safetensors"))
    assert len(saved) == len(list((out / "run" / "seed-0").glob("fold-*")))
    # predict and spot are pointed at the model `mmnet serve` picks, so all three answer alike
    model = max(saved, key=lambda p: (p.stat().st_mtime, str(p))).parent
    assert "next: mmnet serve  (a web page)" in printed and f"mmnet predict --checkpoint {model} CLIP" in printed
    if importlib.util.find_spec("fastapi") is not None:
        from mmnet.serve.model_info import find_demo_checkpoint

        assert find_demo_checkpoint(tmp_path) == model
