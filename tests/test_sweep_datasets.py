"""A sweep's table of composite and LODO settings says each row's protocol and the datasets it tested, and gives
each held-out dataset's scores (summary_per_dataset.csv, summary.md's "Per dataset"); summary.csv's earlier
columns keep their names and order."""

from __future__ import annotations

import csv
import shutil

from mmnet.train.sweep import format_summary_table, summarize_sweep

from .test_compare_protocols import _composite_run, _lodo, _loso

#: summary.csv's columns before protocol and tested_on were added: scripts read them by name and position
EARLIER = ["setting", "overrides", "complete", "status", "n_seeds", "n_samples", "acc_mean", "acc_std", "uf1_mean",
           "uf1_std", "uar_mean", "uar_std", "acc_ci_low", "acc_ci_high", "uf1_ci_low", "uf1_ci_high", "uar_ci_low",
           "uar_ci_high", "parameters", "gflop", "n_subjects", "selection", "chance", "ci_rough"]


def _read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_lodo_settings_name_their_held_out_datasets(tmp_path):
    _composite_run(tmp_path / "cde", _loso, "loso")
    _composite_run(tmp_path / "lodo", _lodo, "lodo")
    one_way = _composite_run(tmp_path / "to_samm", _lodo, "lodo")
    for fold in [*one_way.glob("seed-*/fold-smic_*"), *one_way.glob("seed-*/fold-casme2_*")]:
        shutil.rmtree(fold)  # only the fold tested on SAMM ran (mmnet train --folds samm)
    rows = summarize_sweep(tmp_path, ["cde", "lodo", "to_samm", "later"])
    summary = _read(tmp_path / "summary.csv")
    assert list(summary[0]) == [*EARLIER, "protocol", "tested_on", "vs_chance"]
    assert [(r["protocol"], r["tested_on"]) for r in summary] == [
        ("loso", "smic+casme2+samm"), ("lodo", "smic+casme2+samm"), ("lodo", "samm"), ("", "")]
    per = _read(tmp_path / "summary_per_dataset.csv")
    assert [(r["setting"], r["tested_on"], r["trained_on"]) for r in per] == [
        ("cde", "smic", ""), ("cde", "casme2", ""), ("cde", "samm", ""),
        ("lodo", "smic", "casme2+samm"), ("lodo", "casme2", "smic+samm"), ("lodo", "samm", "smic+casme2"),
        ("to_samm", "samm", "smic+casme2")]
    # a LODO fold's scores are its held-out dataset's: wrong on every other sample of SAMM's 16
    samm = next(r for r in per if r["setting"] == "to_samm")
    assert samm["n_samples"] == "16" and float(samm["acc_mean"]) == 0.5
    assert summary[2]["status"] == "partial"  # n_samples: samples.csv's 48
    md = (tmp_path / "summary.md").read_text()
    assert "| vs chance | protocol: tested on |" in md and "| LODO: samm |" in md and "## Per dataset" in md
    assert "| to_samm | LODO | samm | smic+casme2 | 1 | 16 | 50.00 |" in md
    assert "| cde | LOSO | casme2 | every dataset's other subjects |" in md
    table = format_summary_table(rows)
    assert table.splitlines()[0].endswith("protocol: tested on") and "LODO: samm" in table
    assert "each dataset's scores: summary.md, summary_per_dataset.csv" in table


def test_runs_of_one_dataset_keep_their_table(tmp_path):
    from .fake_runs import make_samples, write_run

    samples = make_samples({str(i): [0, 1, 2] for i in range(1, 4)})
    write_run(tmp_path / "a", samples, lambda seed, epoch, s: s["class_index"])
    rows = summarize_sweep(tmp_path, ["a"])
    assert (rows[0]["protocol"], rows[0]["tested_on"]) == ("loso", "casme2")
    assert not (tmp_path / "summary_per_dataset.csv").exists() and "## Per dataset" not in (
        tmp_path / "summary.md").read_text()
    assert "tested on" not in format_summary_table(rows)


def test_compare_names_each_runs_protocol_and_scores_per_held_out_dataset(tmp_path, capsys):
    import json

    from mmnet.cli import main
    from mmnet.report.compare import compare_runs, render_compare_markdown

    loso, lodo = _composite_run(tmp_path / "cde", _loso, "loso"), _composite_run(tmp_path / "lodo", _lodo, "lodo")
    r = compare_runs([loso, lodo], resamples=200)
    assert [(x["protocol"], x["tested_on"]) for x in r["runs"]] == [("loso", ["smic", "casme2", "samm"])] + [
        ("lodo", ["smic", "casme2", "samm"])]
    samm = r["runs"][1]["per_dataset"]["samm"]
    assert samm["trained_on"] == ["smic", "casme2"] and samm["n"] == 16 and samm["mean"]["acc"] == 0.5
    assert r["runs"][0]["per_dataset"]["samm"]["trained_on"] is None
    md = render_compare_markdown(r)
    header = next(line for line in md.splitlines() if line.startswith("| run | seeds"))
    assert header.endswith("| parameters | protocol: tested on |")  # appended: the earlier columns as they were
    assert f"| {lodo} | samm | smic+casme2 | 16 | 50.00 |" in md
    assert f"| {loso} | casme2 | every dataset's other subjects | 16 | 75.00 |" in md
    assert "| LODO: smic+casme2+samm |" in md
    assert main(["compare", str(loso), str(lodo), "--resamples", "200", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["runs"][1]["per_dataset"]["casme2"]["trained_on"] == ["smic", "samm"]
