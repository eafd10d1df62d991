"""A sweep's "vs chance" column is each setting's own verdict, as its report.md gives it."""

import csv
import io
from pathlib import Path

from mmnet.report import build_report
from mmnet.train.sweep import format_summary_table, summarize_sweep

from .fake_runs import make_samples, write_run


def _four_of_six(seed, epoch, s):
    return s["class_index"] if s["clip"] != "EP00" else (s["class_index"] + 1) % 3


def test_few_subjects_follow_the_permutation_test_not_the_rough_interval(tmp_path: Path):
    samples = make_samples({"1": [0, 1, 2], "2": [0, 1, 2]})  # 2 subjects x 3 clips, 4 of 6 right
    for name in ("a", "b"):
        write_run(tmp_path / name, samples, _four_of_six)
    rows = summarize_sweep(tmp_path, ["a", "b"])
    md = (tmp_path / "summary.md").read_text()
    assert "[0.6667, 0.6667] (rough) | not shown above chance |" in md  # was "above chance"
    assert "| above chance |" not in md
    assert "no setting is shown above chance, so their order ranks nothing" in md
    assert "UAR not shown above chance: a, b" in format_summary_table(rows)
    table = {r["setting"]: r for r in csv.DictReader(io.StringIO((tmp_path / "summary.csv").read_text()))}
    assert table["a"]["vs_chance"] == "not shown above chance"
    report = build_report(tmp_path / "a")  # the report says the same
    assert "**Verdict: not shown to be above chance by a permutation test" in (tmp_path / "a" / "report.md").read_text()
    assert report["headline"]["chance_test"]["p_value"] > 0.05


def test_a_setting_without_an_interval_has_no_verdict_not_above_chance(tmp_path: Path):
    samples = make_samples({str(k): [0, 1, 2] for k in range(1, 12)})  # 11 subjects
    write_run(tmp_path / "part", samples, _four_of_six, seeds=(0, 1))
    for f in (tmp_path / "part" / "seed-1" / "fold-3").iterdir():
        f.unlink()
    (tmp_path / "part" / "seed-1" / "fold-3").rmdir()
    rows = summarize_sweep(tmp_path, ["part"])
    assert rows[0]["uar_ci_low"] is None and rows[0]["vs_chance"] == "no verdict"
    assert "(no interval)" not in (tmp_path / "summary.md").read_text()
