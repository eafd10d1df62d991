"""`mmnet compare` of a LOSO and a LODO run of the same samples: paired by sample, and said so; runs over other
samples are still refused."""

from __future__ import annotations

import json

import pytest
import yaml

from mmnet.cli import main
from mmnet.report.compare import CompareError, compare_runs, render_compare_markdown

from .fake_runs import make_samples, write_run

SUBJECTS = {str(i): [(i + k) % 3 for k in range(4)] for i in range(1, 5)}


def _samples(parts=("smic", "casme2", "samm")):
    return [s for ds in parts for s in make_samples(SUBJECTS, ds)]


def _loso(seed, epoch, s):
    return s["class_index"] if int(s["clip"][2:]) % 4 else (s["class_index"] + 1) % 3


def _lodo(seed, epoch, s):  # worse across datasets: wrong on every other sample
    return s["class_index"] if int(s["clip"][2:]) % 2 else (s["class_index"] + 2) % 3


def _composite_run(path, predict, protocol, samples=None):
    run = write_run(path, samples or _samples(), predict)
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    cfg["data"].update(dataset="composite", protocol=protocol)
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    return run


def test_a_loso_and_a_lodo_run_of_the_same_samples_are_paired_by_sample_and_say_so(tmp_path, capsys):
    loso = _composite_run(tmp_path / "cde", _loso, "loso")
    lodo = _composite_run(tmp_path / "lodo", _lodo, "lodo")
    r = compare_runs([loso, lodo], resamples=200)
    (c,) = r["comparisons"]
    assert c["protocols"]["reference"] == "loso" and c["protocols"]["run"] == "lodo"
    assert c["protocols"]["note"].startswith("protocols differ: LOSO vs LODO; paired by sample")
    assert c["config_differences"]["data.protocol"] == ["loso", "lodo"]
    assert c["paired_bootstrap"]["uar"]["difference"] < 0 and c["mcnemar"][0]["n"] == 48
    assert main(["compare", str(loso), str(lodo), "--resamples", "200"]) == 0
    out = capsys.readouterr().out
    assert "\nProtocols differ: LOSO vs LODO; paired by sample: both runs scored the same samples" in out
    assert main(["compare", str(loso), str(lodo), "--resamples", "200", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["comparisons"][0]["protocols"]["paired"] == "by sample"


def test_runs_of_one_protocol_say_nothing_of_protocols(tmp_path):
    a, b = _composite_run(tmp_path / "a", _loso, "lodo"), _composite_run(tmp_path / "b", _lodo, "lodo")
    assert compare_runs([a, b], resamples=200)["comparisons"][0]["protocols"] is None


def test_a_lodo_run_over_other_samples_is_still_refused(tmp_path):
    loso = _composite_run(tmp_path / "cde", _loso, "loso")
    lodo = _composite_run(tmp_path / "lodo", _lodo, "lodo", _samples(("casme2", "samm")))
    with pytest.raises(CompareError, match=r"scored samples differ \(16 sample\(s\) only in .*cde seed 0"):
        compare_runs([loso, lodo], resamples=200)


def test_a_composites_bootstrap_counts_its_distinct_resamples_within_each_dataset(tmp_path):
    # CASME II's 1 subject is drawn as itself every time, SAMM's 2 in 3 ways: 3 distinct resamples, not C(5, 3)
    samples = [*make_samples({"1": [0, 1, 2, 0]}, "casme2"), *make_samples({"1": [0, 1, 2], "2": [2, 1, 0]}, "samm")]
    a = _composite_run(tmp_path / "a", _loso, "loso", samples)
    b = _composite_run(tmp_path / "b", _lodo, "loso", samples)
    r = compare_runs([a, b], resamples=200)
    boot = r["comparisons"][0]["paired_bootstrap"]
    assert boot["stratified_by"] == "dataset" and "with 3 subjects" in boot["few_subjects"]
    assert "only 3 distinct resamples" in boot["few_subjects"]
    assert r["method"]["ci"].endswith("of the seed mean, stratified by dataset (subjects resampled within each "
                                      "dataset)")
    assert "95 % intervals: percentile bootstrap over subjects of the seed mean, stratified by dataset" in \
        render_compare_markdown(r)
