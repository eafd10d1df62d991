"""The demo and its control, reduced: labels permuted across samples must leave nothing to learn."""

import csv
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
