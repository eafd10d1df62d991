"""What a report says its intervals resample: within each dataset for a composite, and LODO's own words."""

import yaml

from mmnet import run_folder as rf
from mmnet.report import build_report, summarize_run

from .fake_runs import make_samples, write_run


def _mostly_right(seed, epoch, s):
    return s["class_index"] if s["clip"] != "EP00" else (s["class_index"] + 1) % 3


def _composite(path, protocol):
    samples = (make_samples({"1": [0, 1, 2], "2": [2, 1, 0]}, "casme2") + make_samples({"006": [0, 1, 2]}, "samm")
               + make_samples({"s1": [0, 1, 2], "s2": [1, 2, 0]}, "smic"))
    run = write_run(path, samples, _mostly_right, selection="paper")
    cfg = yaml.safe_load((run / rf.CONFIG).read_text())
    cfg["data"].update(dataset="composite", scheme="composite-3class", protocol=protocol)
    (run / rf.CONFIG).write_text(yaml.safe_dump(cfg))
    return run


def test_lodo_report_speaks_of_held_out_datasets(tmp_path):
    run = _composite(tmp_path / "lodo", "lodo")
    report = build_report(run, selection="paper")
    assert report["headline"]["ci"]["subjects"]["stratified_by"] == "dataset"
    assert report["paper_selection_optimistic"]["label"].startswith("optimistic: epoch chosen on the held-out")
    md = (run / "report.md").read_text()
    assert "on the test subject" not in md  # LODO's epoch is chosen on a whole held-out dataset
    assert "epoch chosen on the held-out test dataset" in md
    assert "it selects on the held-out dataset and is not a valid estimate" in md
    assert "conditional on these held-out datasets and their models, and say nothing about" in md
    assert "the LOSO unit" not in md
    assert "stratified by dataset" in md
    assert "stratified by dataset" in summarize_run(run)["ci_method"]


def test_loso_composite_is_stratified_and_one_dataset_is_not(tmp_path):
    md = (build_report(_composite(tmp_path / "loso", "loso")) and (tmp_path / "loso" / "report.md").read_text())
    assert "(the LOSO unit: samples of one subject are not independent) within each dataset" in md
    one = write_run(tmp_path / "one", make_samples({"1": [0, 1, 2], "2": [2, 1, 0]}), _mostly_right,
                    selection="paper")
    report = build_report(one, selection="paper")
    assert report["headline"]["ci"]["subjects"]["stratified_by"] is None
    md = (one / "report.md").read_text()
    assert "stratified" not in md and "epoch chosen on the test subject" in md
