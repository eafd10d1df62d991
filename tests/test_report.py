import errno
import json
import shutil

import numpy as np
import pytest
import yaml

from mmnet.cli import main
from mmnet.report import REPORT_FILES, RunFolderError, build_report, compute_report, format_results_table, summarize_run
from mmnet.report.metrics import accuracy, uar, uf1
from mmnet.report.selection import OPTIMISTIC_LABEL, PAPER_KEY
from mmnet.report.verdict import TRAIN_CONTROL, chance_verdict

from .fake_runs import make_samples, write_run

SUBJECTS = {"1": [0, 0, 1, 2], "2": [1, 1, 2], "10": [0, 2, 2, 1]}


def _predict(seed, epoch, s):
    """Deterministic: right unless (clip number + subject + epoch + seed) is divisible by 3."""
    k = int(s["clip"][2:]) + int(s["subject"]) + epoch + seed
    return s["class_index"] if k % 3 else (s["class_index"] + 1) % 3


# Crafted two-subject run (classes 0..2), epoch -> predictions in sample order:
#   A true [0,0,1]: e1 [0,0,1] (3 correct, fold F1 1), e2 [0,1,1] (2), e3 [1,1,1] (1)
#   B true [1,2,2]: e1 [1,1,1] (1, F1 1/4),  e2 [1,2,0] (2, F1 5/9), e3 [2,2,2] (2, F1 2/5)
CRAFTED = {"A": {1: [0, 0, 1], 2: [0, 1, 1], 3: [1, 1, 1]}, "B": {1: [1, 1, 1], 2: [1, 2, 0], 3: [2, 2, 2]}}


def _crafted_predict(seed, epoch, s):
    return CRAFTED[s["subject"]][epoch][int(s["clip"][2:])]


@pytest.fixture
def crafted_run(tmp_path):
    samples = make_samples({"A": [0, 0, 1], "B": [1, 2, 2]})
    return write_run(tmp_path / "crafted", samples, _crafted_predict, epochs=3, selection="paper")


def test_crafted_run_last_and_paper_numbers(crafted_run):
    r = build_report(crafted_run)
    last = r["headline"]["per_seed"]["0"]
    # epoch 3 pooled: true [0,0,1,1,2,2], pred [1,1,1,2,2,2]
    assert (last["n"], last["correct"]) == (6, 3)
    assert last["uf1"] == pytest.approx((0 + 2 / 5 + 4 / 5) / 3)
    assert last["uar"] == pytest.approx((0 + 1 / 2 + 1) / 3)
    paper = r[PAPER_KEY]
    assert paper["label"] == OPTIMISTIC_LABEL
    p = paper["per_seed"]["0"]
    # accuracy: A epoch 1 (3 correct, first max), B epoch 2 (2, first of the tie 2/3); F1: A e1, B e2
    assert p["correct"] == 5 and p["acc"] == pytest.approx(5 / 6)
    assert p["uf1"] == pytest.approx((4 / 5 + 1 + 2 / 3) / 3)
    assert p["uar"] == pytest.approx((1 + 1 + 1 / 2) / 3)
    folds = r["seeds"]["0"][PAPER_KEY]["folds"]
    assert [(f["fold"], f["acc_epoch"], f["f1_epoch"]) for f in folds] == [("fold-A", 1, 1), ("fold-B", 2, 2)]
    md = (crafted_run / "report.md").read_text()
    assert f"## Paper selection — {OPTIMISTIC_LABEL}" in md
    assert md.index("## Headline") < md.index("## Paper selection")  # honest first, paper beside it
    log = (crafted_run / "megc_log.txt").read_text()
    assert "Fold 1: fold-A" in log and "A,EP00,negative,positive" in log


def test_last_selection_matches_metrics_on_pooled_last_epoch(tmp_path):
    samples = make_samples(SUBJECTS)
    run = write_run(tmp_path / "run", samples, _predict, epochs=4)
    r = build_report(run)
    t = [s["class_index"] for s in samples]
    p = [_predict(0, 4, s) for s in samples]
    h = r["headline"]["per_seed"]["0"]
    assert h["acc"] == pytest.approx(accuracy(t, p))
    assert h["uf1"] == pytest.approx(uf1(t, p, 3))
    assert h["uar"] == pytest.approx(uar(t, p, 3))
    assert r["complete"] and PAPER_KEY not in r and r["selection"] == "last" and r["selections_included"] == ["last"]
    subjects = r["seeds"]["0"]["last"]["per_subject"]
    assert [s["subject"] for s in subjects] == ["1", "2", "10"]  # natural order, ids kept as text
    assert sum(s["n"] for s in subjects) == len(samples)
    assert np.array(r["seeds"]["0"]["last"]["confusion"]).sum() == len(samples)
    md = (run / "report.md").read_text()
    assert "**Status: complete**" in md and "pooled over all finished folds (not averaged per fold)" in md
    assert "sha1:feed" in md and "git_revision: abc123" in md and OPTIMISTIC_LABEL not in md
    for name in REPORT_FILES:
        assert (run / name).is_file(), name
    for name in ("confusion_matrix.png", "learning_curves.png"):
        assert (run / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    written = json.loads((run / "report.json").read_text())
    assert written["headline"]["per_seed"]["0"]["uf1"] == pytest.approx(h["uf1"]) and written["written"] is True


def test_partial_run_is_flagged_and_scores_finished_folds_only(tmp_path):
    samples = make_samples(SUBJECTS)
    run = write_run(tmp_path / "run", samples, _predict, epochs=3, unfinished=("10",))
    r = build_report(run)
    assert not r["complete"]
    assert r["status"]["unfinished_folds"] == [{"seed": 0, "fold": "fold-10"}]
    assert r["status"]["untested"]["0"] == {"samples": 4, "subjects": ["casme2/10"]}
    assert r["headline"]["per_seed"]["0"]["n"] == 7 and r["n_folds"] == {"0": 2}
    md = (run / "report.md").read_text()
    assert "PARTIAL" in md and "fold-10" in md
    assert "PARTIAL" in format_results_table(r)


def test_missing_seed_makes_the_run_partial(tmp_path):
    run = write_run(tmp_path / "run", make_samples(SUBJECTS), _predict, seeds=(0,), config_seeds=(0, 1))
    r = compute_report(run)
    assert not r["complete"] and r["status"]["missing_seeds"] == [1]


def test_rebuild_is_byte_identical(tmp_path):
    run = write_run(tmp_path / "run", make_samples(SUBJECTS), _predict, epochs=3, seeds=(0, 1), selection="paper")
    build_report(run)
    first = {n: (run / n).read_bytes() for n in REPORT_FILES}
    # Rebuild a copy in another place, over the old report files: no path, time or state leaks in.
    other = tmp_path / "elsewhere" / "run"
    shutil.copytree(run, other)
    build_report(other)
    assert {n: (other / n).read_bytes() for n in REPORT_FILES} == first


def test_multi_seed_mean_and_sample_std(tmp_path):
    run = write_run(tmp_path / "run", make_samples(SUBJECTS), _predict, epochs=3, seeds=(0, 1, 2))
    r = compute_report(run)
    h = r["headline"]
    assert h["n_seeds"] == 3 and h["std_ddof"] == 1
    for k in ("acc", "uf1", "uar"):
        vals = [h["per_seed"][s][k] for s in ("0", "1", "2")]
        assert h["mean"][k] == pytest.approx(np.mean(vals))
        assert h["std"][k] == pytest.approx(np.std(vals, ddof=1))
    assert len({h["per_seed"][s]["acc"] for s in ("0", "1", "2")}) > 1  # the seeds really differ
    table = format_results_table(r)
    assert "mean±std" in table and "ddof=1" in table


def test_single_seed_has_no_std(tmp_path):
    r = compute_report(write_run(tmp_path / "run", make_samples(SUBJECTS), _predict))
    assert r["headline"]["std"] == {"acc": None, "uf1": None, "uar": None}


def test_composite_reports_each_dataset(tmp_path):
    samples = make_samples({"1": [0, 1, 2], "2": [2, 1]}, "casme2") + make_samples({"006": [0, 1, 2, 0]}, "samm")
    run = write_run(tmp_path / "run", samples, _predict, epochs=2)
    r = build_report(run)
    parts = r["headline"]["per_dataset"]
    assert set(parts) == {"casme2", "samm"}
    assert parts["casme2"]["per_seed"]["0"]["n"] == 5 and parts["samm"]["per_seed"]["0"]["n"] == 4
    samm = [s for s in samples if s["dataset"] == "samm"]
    assert parts["samm"]["mean"]["uf1"] == pytest.approx(
        uf1([s["class_index"] for s in samm], [_predict(0, 2, s) for s in samm], 3))
    assert "## Per dataset" in (run / "report.md").read_text()


def test_a_part_without_some_class_is_named_beside_its_scores(tmp_path):
    # smic had no surprise sample: its UF1 and UAR counted surprise as 0 (at most 0.67) and nothing said so
    samples = (make_samples({"1": [0, 1, 2], "2": [2, 1]}, "casme2")
               + make_samples({"s1": [0, 1], "s2": [1, 0]}, "smic"))
    run = write_run(tmp_path / "run", samples, lambda seed, epoch, s: s["class_index"])
    r = build_report(run)
    assert r["absent_classes_per_dataset"] == {"smic": ["surprise"]}
    assert r["headline"]["per_dataset"]["smic"]["mean"]["uf1"] == pytest.approx(2 / 3)  # the 0 is kept
    assert any(i.startswith("smic has no samples of class(es) ['surprise']") and "as 0" in i for i in r["issues"])
    md = (run / "report.md").read_text()
    per_dataset = md[md.index("## Per dataset"):md.index("## Seed 0")]
    assert "smic has no samples of surprise: its UF1 and UAR above count their F1 and recall as 0" in per_dataset
    assert "casme2 has no samples" not in md


def test_summarize_run_writes_nothing(tmp_path):
    run = write_run(tmp_path / "run", make_samples(SUBJECTS), _predict, seeds=(0, 1), selection="paper")
    before = sorted(p.name for p in run.iterdir())
    s = summarize_run(run)
    assert sorted(p.name for p in run.iterdir()) == before
    assert set(s["per_seed"]) == {"0", "1"} and s["complete"] and s["std_ddof"] == 1
    assert s[PAPER_KEY]["label"] == OPTIMISTIC_LABEL
    # what a sweep's summary says of its numbers, from this one function (the sweep kept a copy of it)
    assert (s["n_subjects"], s["ci_rough"], s["chance"]) == (len(SUBJECTS), len(SUBJECTS) < 10, 1 / 3)
    assert s["ci_method"].startswith("percentile bootstrap over subjects, ")


def test_inconsistent_true_label_is_an_error(tmp_path):
    run = write_run(tmp_path / "run", make_samples(SUBJECTS), _predict)
    pred = run / "seed-0" / "fold-1" / "predictions.csv"
    lines = pred.read_text().splitlines()
    fields = lines[1].split(",")
    fields[4] = str((int(fields[4]) + 1) % 3)
    pred.write_text("\n".join([lines[0], ",".join(fields), *lines[2:]]) + "\n")
    with pytest.raises(RunFolderError, match="samples.csv says"):
        compute_report(run)


def test_sample_tested_in_two_folds_is_an_error(tmp_path):
    run = write_run(tmp_path / "run", make_samples(SUBJECTS), _predict)
    extra = (run / "seed-0" / "fold-1" / "predictions.csv").read_text().splitlines()[1:]
    with open(run / "seed-0" / "fold-2" / "predictions.csv", "a") as f:
        f.write("\n".join(extra) + "\n")
    with pytest.raises(RunFolderError, match="tested in both"):
        compute_report(run)


def test_cli_report(tmp_path, capsys):
    run = write_run(tmp_path / "run", make_samples(SUBJECTS), _predict)
    assert main(["report", str(run), "--selection", "paper"]) == 0
    out = capsys.readouterr().out
    assert "paper*" in out and OPTIMISTIC_LABEL in out
    report = json.loads((run / "report.json").read_text())
    # "selection" alone read as the headline's, which is always "last": the selections the report holds are listed
    assert report["selection"] == "paper" and report["selections_included"] == ["last", "paper"]
    assert report["headline"]["selection"] == "last"
    # after the scores, what chance is and report.md's verdict (only mmnet demo said them); not synthetic faces
    verdict = chance_verdict(report)
    assert f"\nchance: a UAR of 0.33 for 3 classes (UF1's chance level depends on how the predictions spread over " \
           f"the classes: the permuted-label control's UF1 shows it, {TRAIN_CONTROL})\nverdict: {verdict}\n" in out
    assert f"**Verdict: {verdict}.**" in (run / "report.md").read_text() and "synthetic" not in out
    assert main(["report", str(tmp_path / "missing")]) == 3
    assert capsys.readouterr().err.startswith("error: Run folder")


def test_done_json_epochs_must_match_predictions(tmp_path):
    run = write_run(tmp_path / "run", make_samples(SUBJECTS), _predict, epochs=3)
    done = run / "seed-0" / "fold-2" / "done.json"
    done.write_text(json.dumps({**json.loads(done.read_text()), "epochs": 5}))
    with pytest.raises(RunFolderError, match="epochs=5"):
        compute_report(run)


def test_missing_history_is_reported_not_fatal(tmp_path):
    run = write_run(tmp_path / "run", make_samples(SUBJECTS), _predict)
    (run / "seed-0" / "fold-2" / "history.csv").unlink()
    r = compute_report(run)
    assert r["complete"] and any("fold-2: history.csv is missing" in i for i in r["issues"])


def test_merged_labels_use_config_class_names(tmp_path):
    samples = make_samples(SUBJECTS)
    samples[0]["label"] = "fear"  # annotated emotion of a merged class: class 0 stays "negative"
    r = compute_report(write_run(tmp_path / "run", samples, _predict))
    assert r["classes"] == ["negative", "positive", "surprise"]


@pytest.mark.parametrize("value", ["nan", "1.5", "high"])
def test_a_damaged_probability_is_named_by_file_row_and_column(tmp_path, value):
    run = write_run(tmp_path / "run", make_samples(SUBJECTS), _predict)
    pred = run / "seed-0" / "fold-1" / "predictions.csv"
    lines = pred.read_text().splitlines()
    header = lines[0].split(",")
    fields = lines[2].split(",")
    fields[header.index("prob_1")] = value
    pred.write_text("\n".join([lines[0], lines[1], ",".join(fields), *lines[3:]]) + "\n")
    with pytest.raises(RunFolderError, match=r"predictions.csv' row 3: column 'prob_1' holds .*not a class score"):
        compute_report(run)


def test_a_damaged_fold_says_how_to_redo_it(tmp_path):
    run = write_run(tmp_path / "run", make_samples(SUBJECTS), _predict)
    pred = run / "seed-0" / "fold-1" / "predictions.csv"
    lines = pred.read_text().splitlines()
    pred.write_text("\n".join([*lines, lines[1]]) + "\n")  # a row written twice
    with pytest.raises(RunFolderError, match=r"two rows for sample .* delete its done.json and rerun the same"):
        compute_report(run)


def test_table_of_a_long_video_run_gives_its_spotting_and_str_scores(tmp_path):
    r = compute_report(write_run(tmp_path / "run", make_samples(SUBJECTS), _predict))
    assert "Spot then recognise" not in format_results_table(r)  # a clip dataset: the table is the result
    f1 = {"micro": 0.25, "macro": 0.75, "overall": 0.5}
    r["spot_then_recognise"] = {"per_seed": [{"seed": 0, "spotting": {t: {"f1": v} for t, v in f1.items()},
                                              "str": {"strs": 0.125}}]}
    table = format_results_table(r)
    assert "recognition of the annotated micro-expressions" in table and "'Spot then recognise'" in table
    assert "seed 0: spotting F1 micro 0.2500, macro 0.7500, overall 0.5000; STRS 0.1250" in table


def test_a_class_untested_in_a_partial_run_is_named(tmp_path):
    # B's fold holds both samples of class 2: the per-class table showed n(true) 0 and recall 0, nothing said
    samples = make_samples({"A": [0, 0, 1], "B": [1, 2, 2]})
    run = write_run(tmp_path / "run", samples, _crafted_predict, epochs=3, unfinished=("B",))
    r = build_report(run)
    name = r["classes"][2]
    assert r["untested_classes"] == {"0": [name]}
    note = [i for i in r["issues"] if "no tested sample" in i]
    assert note == [f"class(es) ['{name}'] have no tested sample in the scored folds (seed 0; their subjects' folds "
                    "are unfinished): UF1 and UAR count their F1 and recall as 0 (averaged in, not left out), so both "
                    "are lower than over the classes tested."]
    assert note[0] in (run / "report.md").read_text()
    assert json.loads((run / "report.json").read_text())["untested_classes"] == {"0": [name]}
    complete = build_report(write_run(tmp_path / "full", samples, _crafted_predict, epochs=3))
    assert "untested_classes" not in complete and not any("no tested sample" in i for i in complete["issues"])


def test_a_finished_fold_that_lost_a_samples_rows_is_called_damaged(tmp_path):
    # was "PARTIAL ... 1 sample(s) not tested yet", which reads as an unfinished run
    samples = make_samples(SUBJECTS)
    run = write_run(tmp_path / "run", samples, _predict, epochs=3)
    pred_file = run / "seed-0" / "fold-2" / "predictions.csv"
    lines = pred_file.read_text().splitlines(keepends=True)
    lost = samples[5]["sample_id"]
    assert samples[5]["subject"] == "2"
    pred_file.write_text("".join(line for line in lines if f",{lost}," not in line))
    r = build_report(run)
    assert not r["complete"] and r["status"]["untested"] == {}
    assert r["status"]["damaged_folds"] == [{"seed": 0, "fold": "fold-2", "file": str(pred_file), "samples": [lost]}]
    md = (run / "report.md").read_text()
    assert "not tested yet" not in md
    assert (f"finished fold with a damaged predictions file: seed 0 fold-2 has done.json but '{pred_file}' has no "
            f"rows for 1 sample(s) of its test subjects ({lost}). To redo this fold, delete its done.json") in md
    assert f"DAMAGED: '{pred_file}' of a finished fold has no rows for 1 sample(s)" in format_results_table(r)


@pytest.mark.parametrize("predict, verdict", [
    (lambda seed, epoch, s: s["class_index"], "above chance: the 95% CI of UAR [1.00, 1.00]"),
    (lambda seed, epoch, s: 0, "not shown to be above chance: the 95% CI of UAR [0.33, 0.33]"),
])
def test_the_headline_says_whether_the_model_learned(tmp_path, predict, verdict):
    # neither report.md nor the demo said whether the scores beat chance: a reader had to work it out from the CI
    run = write_run(tmp_path / "run", make_samples({str(k): [0, 1, 2] for k in range(1, 11)}), predict)
    build_report(run)
    md = (run / "report.md").read_text()
    headline = md[md.index("## Headline"):md.index("## Seed 0")]
    assert f"**Verdict: {verdict}" in headline and "chance (0.33)" in headline


def test_few_subjects_are_judged_by_the_permutation_test_not_the_bootstrap(tmp_path):
    # 2 subjects, 4 of 6 right (exact binomial p ~ 0.10): the bootstrap over 2 subjects (3 distinct resamples)
    # cannot judge; shuffling the labels within each subject scores as high with probability 1/6 (subject 2's
    # identity order; subject 1's constant predictions score the same whatever the order). 6 x 6 = 36 distinct
    # arrangements, fewer than the 10,000 shuffles: all are scored, and p is exact
    samples = make_samples({"1": [0, 1, 2], "2": [0, 1, 2]})
    run = write_run(tmp_path / "run", samples, lambda seed, epoch, s: 0 if s["subject"] == "1" else s["class_index"])
    report = build_report(run)
    test = report["headline"]["chance_test"]
    assert test["n_subjects"] == 2 and test["p_value"] == pytest.approx(1 / 6)
    assert test["exact"] and test["distinct_arrangements"] == test["permutations"] == 36 and test["can_decide"]
    md = (run / "report.md").read_text()
    verdict = next(line for line in md.splitlines() if line.startswith("**Verdict"))
    assert verdict.startswith("**Verdict: not shown to be above chance by a permutation test: UAR 0.67 (UF1 0.67) "
                              "against chance (0.33), p = 0.17 with the labels shuffled within each of the 2 subjects "
                              "(exact: 6 of all 36 distinct arrangements, the real one included, score as high: UAR")
    assert "too few subjects (2) for the bootstrap: its 95% CI of UAR [0.33, 1.00] is rough" in verdict


def test_few_subjects_that_are_recognised_get_a_verdict(tmp_path):
    # the demo (5 subjects) gave no verdict at all: the bootstrap over 5 subjects has 126 distinct resamples
    samples = make_samples({str(k): [0, 1, 2, 0, 1, 2] for k in range(1, 6)})
    run = write_run(tmp_path / "run", samples, lambda seed, epoch, s: s["class_index"])
    build_report(run)
    md = (run / "report.md").read_text()
    verdict = next(line for line in md.splitlines() if line.startswith("**Verdict"))
    assert verdict.startswith("**Verdict: above chance by a permutation test: UAR 1.00 (UF1 1.00) against chance "
                              "(0.33), p = 0.0001 with the labels shuffled within each of the 5 subjects "
                              "(10,000 shuffles, none as high: UAR 0.")


def test_a_report_without_the_permutation_test_gives_no_verdict_from_few_subjects():
    # report.json of an older mmnet: no chance_test; the bootstrap alone must not give a verdict
    from mmnet.report.render import chance_verdict
    ci = {"subjects": {"per_seed": {"0": {"uar": [0.52, 0.71]}}, "mean": None, "n_units": {"0": 5}}}
    report = {"classes": list("abcde"), "headline": {"n_seeds": 1, "ci": ci,
                                                     "per_seed": {"0": {"uar": 0.61, "uf1": 0.58}}}}
    assert chance_verdict(report).startswith("too few subjects (5) to judge: the 95% CI of UAR [0.52, 0.71]")


def _verdict(run):
    md = (run / "report.md").read_text()
    return next(line for line in md.splitlines() if line.startswith("**Verdict"))


def test_the_permutation_test_cannot_decide_when_every_subject_holds_one_class(tmp_path):
    # each subject's clips of one class: no shuffle within subjects changes anything, every shuffle scored the real
    # UAR and p = 1.00 gave "not shown to be above chance" to perfect predictions
    samples = make_samples({f"s{k:02d}": [k % 3] * 2 for k in range(1, 7)})
    run = write_run(tmp_path / "run", samples, lambda seed, epoch, s: s["class_index"], epochs=1)
    test = build_report(run)["headline"]["chance_test"]
    assert (test["distinct_arrangements"], test["one_class_subjects"], test["p_floor"]) == (1, 6, 1.0)
    assert not test["can_decide"] and test["exact"]
    verdict = _verdict(run)
    assert verdict.startswith("**Verdict: too few subjects (6) to judge: the permutation test cannot decide (all 6 "
                              "subjects' clips hold one class each, so shuffling the labels within subjects changes "
                              "nothing: its p-value cannot fall below 1.00, which is not below 0.05), and the 95% CI "
                              "of UAR [1.00, 1.00]")
    assert "above chance by" not in verdict and "p = " not in verdict
    # from 10 subjects the interval decides, and the line says the test could not
    samples = make_samples({f"s{k:02d}": [k % 3] * 2 for k in range(1, 13)})
    run = write_run(tmp_path / "run12", samples, lambda seed, epoch, s: s["class_index"], epochs=1)
    build_report(run)
    verdict = _verdict(run)
    assert verdict.startswith("**Verdict: above chance: the 95% CI of UAR [1.00, 1.00]")
    assert verdict.endswith("; the permutation test cannot decide (all 12 subjects' clips hold one class each, so "
                            "shuffling the labels within subjects changes nothing: its p-value cannot fall below "
                            "1.00, which is not below 0.05), so the interval alone decides.**")
    assert "p = " not in verdict


def test_the_permutation_test_counts_the_arrangements_of_subjects_with_several_classes(tmp_path):
    # 5 one-class subjects and 2 with two classes: 2 x 2 = 4 arrangements, so p >= 1/4 whatever the predictions
    subjects = {**{f"s{k:02d}": [k % 3] * 2 for k in range(1, 6)}, "s06": [0, 1], "s07": [1, 2]}
    run = write_run(tmp_path / "run", make_samples(subjects), lambda seed, epoch, s: s["class_index"], epochs=1)
    test = build_report(run)["headline"]["chance_test"]
    assert (test["distinct_arrangements"], test["one_class_subjects"], test["p_value"]) == (4, 5, 0.25)
    assert "the permutation test cannot decide (5 of the 7 subjects' clips hold one class each, so shuffling the " \
           "labels within subjects gives only 4 distinct arrangements of the labels: its p-value cannot fall below " \
           "0.25, which is not below 0.05)" in _verdict(run)


def test_few_distinct_arrangements_are_all_scored_for_an_exact_p_value():
    import itertools

    import pandas as pd

    from mmnet.report.bootstrap import permutation_test
    rng = np.random.default_rng(5)
    subject = np.repeat([1, 2, 3], 4)
    for _ in range(5):
        true = rng.integers(0, 3, 12)
        pred = np.where(rng.random(12) < 0.6, true, rng.integers(0, 3, 12))
        frame = pd.DataFrame({"sample_id": [f"s{i}" for i in range(12)], "subject": subject, "dataset": "d",
                              "true": true, "pred": pred})
        # by brute force: every distinct order of each subject's labels, all combinations
        orders = [sorted(set(itertools.permutations(true[subject == k]))) for k in (1, 2, 3)]
        scores = [uar(np.concatenate(a), pred, 3) for a in itertools.product(*orders)]
        as_high = sum(s >= uar(true, pred, 3) - 1e-12 for s in scores)
        test = permutation_test({"0": frame}, 3)
        assert test["exact"] and test["distinct_arrangements"] == test["permutations"] == len(scores) <= 10_000
        assert test["p_value"] == pytest.approx(as_high / len(scores)) and test["as_high"] == as_high
        assert test["p_floor"] == pytest.approx(1 / len(scores))
    # more arrangements than shuffles: random shuffles, the Monte-Carlo p-value, its floor 1 / (1 + shuffles)
    test = permutation_test({"0": frame}, 3, permutations=len(scores) - 1)
    assert not test["exact"] and test["p_floor"] == pytest.approx(1 / len(scores))
    assert test["p_value"] == pytest.approx((1 + test["as_high"]) / len(scores))


def test_the_arrangements_of_many_subjects_are_counted_without_overflow():
    import pandas as pd

    from mmnet.report.bootstrap import permutation_test
    n = 60 * 40  # 60 subjects of 40 clips: about 10^1000 arrangements, past any float
    frame = pd.DataFrame({"sample_id": [f"s{i}" for i in range(n)], "subject": np.repeat(np.arange(60), 40),
                          "dataset": "d", "true": np.arange(n) % 4, "pred": np.arange(n) % 4})
    test = permutation_test({"0": frame}, 4, permutations=200)
    assert test["distinct_arrangements"] is None and not test["exact"] and test["can_decide"]
    assert test["p_floor"] == pytest.approx(1 / 201) and test["p_value"] == pytest.approx(1 / 201)


def test_permutation_test_is_calibrated_and_needs_the_same_samples_in_every_seed():
    import pandas as pd

    from mmnet.report.bootstrap import permutation_test
    rng = np.random.default_rng(3)
    p_values = []
    for k in range(100):  # predictions unrelated to the labels: p-values spread over (0, 1]
        true, pred = rng.integers(0, 4, 60), rng.integers(0, 4, 60)
        frame = pd.DataFrame({"sample_id": [f"s{i}" for i in range(60)], "subject": np.repeat([1, 2, 3], 20),
                              "dataset": "d", "true": true, "pred": pred})
        p_values.append(permutation_test({"0": frame}, 4, permutations=200, seed=k)["p_value"])
    assert 0.0 <= np.mean(np.array(p_values) < 0.05) <= 0.12 and 0.35 < np.median(p_values) < 0.65
    other = frame.iloc[:-1]
    assert permutation_test({"0": frame, "1": other}, 4) is None
    assert permutation_test({"0": frame, "1": frame.assign(true=(frame["true"] + 1) % 4)}, 4) is None
    # several seeds: their mean UAR, the same shuffles applied to each; the order of the rows does not matter
    shuffled_rows = frame.sample(frac=1, random_state=0)
    assert permutation_test({"0": frame, "1": shuffled_rows}, 4) == permutation_test({"0": frame, "1": frame}, 4)


def test_report_says_how_to_reproduce_the_run_with_its_realised_numerics(tmp_path):
    # report.md had no command to train the run again, and "auto" precision and layout in config.yaml
    # would resolve afresh on another machine; its data line led with the paths-and-mtimes fingerprint
    run = write_run(tmp_path / "run", make_samples(SUBJECTS), _predict)
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    cfg["train"].update(precision="auto", memory_format="auto", device="cpu")
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    env = json.loads((run / "env.json").read_text())
    env.update(precision="bf16", memory_format="channels_last", torch_threads=2, frames_digest="pixels123")
    (run / "env.json").write_text(json.dumps(env))
    r = build_report(run)
    command = "mmnet train --config run/config.yaml --out run-again --set train.precision=bf16 " \
              "--set train.memory_format=channels_last"
    assert r["reproduce"]["command"] == command  # device is set in config: not repeated
    assert "OMP_NUM_THREADS=2" in r["reproduce"]["note"]
    md = (run / "report.md").read_text()
    assert f"Reproduce: `{command}`. Run it from the folder above this run's" in md
    digest, fingerprint = md.index("- Frames digest: pixels123 ("), md.index("- Dataset fingerprint: sha1:feed (")
    assert digest < fingerprint and "identifies this copy on this machine" in md[fingerprint:]


def test_the_reproduce_command_quotes_a_run_folder_with_a_space_for_the_users_shell(tmp_path, monkeypatch):
    import functools

    from mmnet.report import scores
    from mmnet.shell_words import shell_quote

    run = write_run(tmp_path / "my run", make_samples(SUBJECTS), _predict)
    assert build_report(run)["reproduce"]["command"].startswith(
        "mmnet train --config 'my run/config.yaml' --out 'my run-again'")
    # cmd.exe and PowerShell do not read single quotes: there, the double quotes of the other printed commands
    monkeypatch.setattr(scores, "shell_quote", functools.partial(shell_quote, windows=True))
    assert build_report(run)["reproduce"]["command"].startswith(
        'mmnet train --config "my run/config.yaml" --out "my run-again"')


def test_the_reproduce_line_names_the_folds_resumed_with_another_thread_count_or_layout(tmp_path):
    # a resume under 1 thread (env.json, written at the start, said 2) gave "OMP_NUM_THREADS=2" for every fold,
    # and done.json did not record the layout: the report fell back to env.json's
    run = write_run(tmp_path / "run", make_samples(SUBJECTS), _predict, seeds=(0, 1))
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    cfg["train"].update(precision="auto", memory_format="auto", device="auto")
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    env = json.loads((run / "env.json").read_text())
    env.update(device="cpu", memory_format="contiguous", torch_threads=2)
    (run / "env.json").write_text(json.dumps(env))
    folds = [run / "seed-1" / name for name in ("fold-1", "fold-2", "fold-10")]  # as the report orders them
    for i, fold in enumerate(folds):  # seed 1 resumed with 1 thread; seed 0's done.json from before the record
        done = json.loads((fold / "done.json").read_text())
        done.update(device="cpu", precision="fp32", memory_format="channels_last" if i == 0 else "contiguous",
                    torch_threads=1)
        (fold / "done.json").write_text(json.dumps(done))
    r = build_report(run)
    note = r["reproduce"]["note"]
    assert "OMP_NUM_THREADS=2" not in note and "2 here" not in note
    assert "the torch thread count: the folds ran with 1 (seed 1: all finished folds), 2 (seed 0: all finished " \
           "folds)" in note
    others = ", ".join(f.name for f in folds[1:])
    assert f"train.memory_format: the folds ran with channels_last (seed 1: {folds[0].name}), contiguous (seed 0: " \
           f"all finished folds; seed 1: {others})" in note
    assert r["reproduce"]["command"] == "mmnet train --config run/config.yaml --out run-again " \
                                        "--set train.device=cpu --set train.precision=fp32"
    assert r["reproduce"]["env_differs"] == ["memory_format", "torch_threads"]
    md = (run / "report.md").read_text()
    assert "folds resumed later trained with another memory_format, torch_threads" in md
    # every fold under one thread count: that one, though env.json says another
    for fold in run.glob("seed-0/fold-*"):
        done = json.loads((fold / "done.json").read_text())
        (fold / "done.json").write_text(json.dumps({**done, "torch_threads": 1}))
    assert "(1 here: OMP_NUM_THREADS=1 for a local run" in build_report(run)["reproduce"]["note"]


@pytest.mark.parametrize("p, printed, verdict", [(0.0496, "p = 0.0496", "above chance"),
                                                 (0.0504, "p = 0.05", "not shown to be above chance"),
                                                 (0.2, "p = 0.20", "not shown to be above chance")])
def test_the_printed_p_value_never_contradicts_the_verdict(p, printed, verdict):
    # p = 0.0496 was printed "p = 0.05" beside "above chance", whose rule is p < 0.05
    from mmnet.report.render import chance_verdict
    ci = {"subjects": {"per_seed": {"0": {"uar": [0.3, 0.5]}}, "mean": None, "n_units": {"0": 5}}}
    test = {"p_value": p, "permutations": 10_000, "n_subjects": 5, "shuffled_mean": 0.2}
    line = chance_verdict({"classes": list("abcde"), "headline": {
        "n_seeds": 1, "ci": ci, "chance_test": test, "per_seed": {"0": {"uar": 0.4, "uf1": 0.38}}}})
    assert line.startswith(f"{verdict} by a permutation test") and f"{printed} with the labels" in line


@pytest.mark.parametrize("dtype", [object, "string", "str"])
def test_pooled_predictions_sort_text_naturally_whatever_its_dtype(dtype):
    import pandas as pd

    from mmnet.report.render import natural_order

    frame = pd.DataFrame({"fold": ["s10", "s2", "s1", "s11"], "epoch": [3, 1, 2, 4]}).astype({"fold": dtype})
    assert list(frame.sort_values("fold", key=natural_order)["fold"]) == ["s1", "s2", "s10", "s11"]
    assert list(frame.sort_values("epoch", key=natural_order)["epoch"]) == [1, 2, 3, 4]


def test_pooled_predictions_csv_lists_the_folds_in_natural_order(tmp_path):
    import pandas as pd

    run = write_run(tmp_path / "run", make_samples(SUBJECTS), _predict, epochs=2)
    build_report(run)
    folds = pd.read_csv(run / "pooled_predictions.csv", dtype=str)["fold"].drop_duplicates().tolist()
    assert folds == ["fold-1", "fold-2", "fold-10"]


@pytest.mark.parametrize("fmt", [[], ["--json"]])
def test_a_partial_run_is_a_warning_on_stderr_in_every_format(tmp_path, capsys, fmt):
    # `report --json` of a partial run exited 0 with nothing on stderr: only "complete": false inside the JSON
    run = write_run(tmp_path / "run", make_samples(SUBJECTS), _predict, epochs=3, unfinished=("10",))
    assert main(["report", str(run), *fmt]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: the run is partial: 2 of 3 folds finished") and len(err.splitlines()) == 1
    assert main(["report", str(run), *fmt, "--strict"]) == 1
    assert "(--strict: exit code 1)" in capsys.readouterr().err
    complete = write_run(tmp_path / "complete", make_samples(SUBJECTS), _predict, epochs=3)
    assert main(["report", str(complete), *fmt]) == 0 and capsys.readouterr().err == ""


def test_folds_never_started_count_in_the_warning(tmp_path, capsys):
    # "1 of 2 folds finished" with 3 subjects: a fold that never started has no folder, and was not counted
    import shutil

    run = write_run(tmp_path / "run", make_samples(SUBJECTS), _predict, epochs=3, unfinished=("10",))
    never = [f for f in (run / "seed-0").iterdir() if f.is_dir() and not (f / "done.json").exists()]
    finished = [f for f in (run / "seed-0").iterdir() if f.is_dir() and (f / "done.json").exists()]
    shutil.rmtree(finished[0])  # one finished, one interrupted, one never started
    assert main(["report", str(run), "--json"]) == 0
    assert capsys.readouterr().err.startswith("warning: the run is partial: 1 of 3 folds finished") and never


def test_a_seed_not_started_counts_its_folds_in_the_warning(tmp_path, capsys):
    run = write_run(tmp_path / "run", make_samples(SUBJECTS), _predict, seeds=(0,), config_seeds=(0, 1))
    assert main(["report", str(run), "--json"]) == 0
    assert "3 of 6 folds finished; seed(s) 1 not started" in capsys.readouterr().err
    (run / "seed-1").mkdir()  # an empty seed folder: "3 of 3 folds finished; 12 sample(s) not tested"
    assert main(["report", str(run), "--json"]) == 0
    err = capsys.readouterr().err
    assert "3 of 6 folds finished; seed(s) 1 not started." in err and "not tested" not in err


def _unwritable(run):
    """``replace_files_together`` as in a run folder of another user (read-only to this one)."""
    def refuse(folder, files, remove=()):
        raise PermissionError(errno.EACCES, "Permission denied", str(folder / next(iter(files))))
    return refuse


@pytest.mark.parametrize("fmt", [[], ["--json"]])
def test_a_run_folder_that_cannot_be_written_gets_its_report_printed(tmp_path, capsys, monkeypatch, fmt):
    # a teaching assistant scoring a student's read-only run got "error: ...: Permission denied", exit code 3
    import mmnet.report.build as build

    run = write_run(tmp_path / "run", make_samples(SUBJECTS), _predict, epochs=3)
    monkeypatch.setattr(build, "replace_files_together", _unwritable(run))
    assert main(["report", str(run), *fmt]) == 1  # printed, but its files are not there: not done
    out, err = capsys.readouterr()
    assert err.splitlines() == [f"warning: the report files were not written: '{run}' cannot be written (Permission "
                                "denied); the report is printed only. To keep its files, copy the run folder to one "
                                "of yours and run `mmnet report` on the copy."]
    if fmt:  # it listed report.json, report.md, ... as its files
        printed = json.loads(out)
        assert printed["complete"] is True and printed["files"] == [] and printed["written"] is False
    else:
        assert "UF1" in out and "report written" not in out
    assert not [name for name in REPORT_FILES if (run / name).exists()]


def test_a_partial_run_that_cannot_be_written_points_at_the_printed_status(tmp_path, capsys, monkeypatch):
    import mmnet.report.build as build

    run = write_run(tmp_path / "run", make_samples(SUBJECTS), _predict, epochs=3, unfinished=("10",))
    monkeypatch.setattr(build, "replace_files_together", _unwritable(run))
    assert main(["report", str(run), "--json"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "the report's status (--json) lists what is missing" in err[1]


def test_a_failed_report_in_a_folder_that_cannot_be_written_says_why_it_failed(tmp_path, monkeypatch):
    import pathlib

    run = write_run(tmp_path / "run", make_samples(SUBJECTS), _predict, epochs=3)
    build_report(run)
    (run / "samples.csv").unlink()

    def refuse(path, missing_ok=False):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(pathlib.Path, "unlink", refuse)  # the old report cannot be removed: not the news
    with pytest.raises(RunFolderError):
        build_report(run)


def test_report_names_the_labels_digest_and_annotation_files_and_says_not_recorded_for_older_runs(tmp_path):
    # "the same digest means the same input data" was said of a digest that does not cover the labels
    run = write_run(tmp_path / "run", make_samples(SUBJECTS), _predict)
    env = json.loads((run / "env.json").read_text())
    (run / "env.json").write_text(json.dumps({**env, "frames_digest": "pixels123"}))  # an older mmnet's record
    r = build_report(run)
    assert r["labels_digest"] is None and r["annotation_sha256"] is None
    md = (run / "report.md").read_text()
    assert "same input data" not in md and "it does not cover the labels" in md
    assert "- Labels digest: not recorded (an older mmnet trained this run)" in md
    assert "- Annotation files (sha256): not recorded (an older mmnet trained this run)" in md
    # only the frames digest recorded: the note asked to check a labels digest the report says is not there
    assert "check that the new run's frames digest is this one's, and compare the two runs' samples.csv" in \
        r["reproduce"]["note"]
    (run / "env.json").write_text(json.dumps(env))  # neither recorded
    assert "compare the two runs' samples.csv (this run, of an earlier mmnet, recorded no frames or labels digest)" \
        in build_report(run)["reproduce"]["note"]
    env.update(frames_digest="pixels123", labels_digest="labels456", annotation_sha256={"coding.xlsx": "ab12"})
    (run / "env.json").write_text(json.dumps(env))
    r = build_report(run)
    assert (r["labels_digest"], r["annotation_sha256"]) == ("labels456", {"coding.xlsx": "ab12"})
    md = (run / "report.md").read_text()
    assert "check that the new run's frames digest and labels digest are this one's" in r["reproduce"]["note"]
    assert "- Labels digest: labels456 (a hash of every sample's id, label and class index" in md
    assert "- Annotation files (sha256): coding.xlsx ab12" in md
    (run / "env.json").write_text(json.dumps({**env, "annotation_sha256": {}}))  # SMIC: labels are folder names
    build_report(run)
    assert "- Annotation files (sha256): none (labels from folder names)" in (run / "report.md").read_text()


def test_the_reproduce_note_names_the_instruction_set_cuda_and_the_cache_folder(tmp_path):
    # the note named only torch and threads, though AVX2 and AVX-512 (native bf16) give other numbers; it said
    # nothing of CUDA's autotuning, nor of a config's cache_dir (a folder of this machine)
    run = write_run(tmp_path / "run", make_samples(SUBJECTS), _predict)
    env = json.loads((run / "env.json").read_text())
    env.update(cpu_capability="AVX512", cpu_bf16_flags=["amx_bf16", "avx512_bf16"], torch_threads=2,
               mmnet_version="0.2.0", code_digest="sha256:a3f06d06fd52ad1151c84e4ca876709b9ab0ea51")
    (run / "env.json").write_text(json.dumps(env))
    note = build_report(run)["reproduce"]["note"]
    # the code is among what bit-identical numbers need, named as `mmnet --version` names it
    assert "Bit-identical numbers need the same mmnet code (mmnet 0.2.0, code sha256:a3f06d06fd52 here, as " \
           "`mmnet --version` names it) and data. On CPU" in note
    assert "same torch version, thread count (2 here: OMP_NUM_THREADS=2" in note
    assert "and instruction set (AVX512, with native bf16: amx_bf16, avx512_bf16 here)." in note
    assert "CUDA" not in note and "data.cache_dir" not in note
    env.update(cpu_capability="AVX2", cpu_bf16_flags=[], isa_caps={"ONEDNN_MAX_CPU_ISA": "AVX2"})
    (run / "env.json").write_text(json.dumps(env))
    assert "instruction set (AVX2, without native bf16, capped by ONEDNN_MAX_CPU_ISA=AVX2 here)" in \
        build_report(run)["reproduce"]["note"]
    env.update(device="cuda:0 (NVIDIA H100)", cuda_version="12.4", cudnn_version=90100, cuda_driver="550.54")
    (run / "env.json").write_text(json.dumps(env))
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    cfg["data"]["cache_dir"] = "/scratch/me/cache"
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    note = build_report(run)["reproduce"]["note"]
    assert "On CUDA the numbers are not expected to be bit-identical: cuDNN's autotuning" in note
    assert "(cuda_version 12.4, cudnn_version 90100, cuda_driver 550.54)" in note
    assert "add --set data.root=PATH and --set data.cache_dir=PATH (this run's frame cache, /scratch/me/cache," in note
    env = {k: v for k, v in env.items() if k not in ("cpu_capability", "cpu_bf16_flags", "isa_caps")}
    (run / "env.json").write_text(json.dumps(env))  # an older run: the condition without the values
    assert "thread count (2 here: OMP_NUM_THREADS=2 for a local run, --cpus-per-fold 2 under Ray or SLURM) and " \
           "instruction set." in build_report(run)["reproduce"]["note"]


def test_per_subject_keeps_one_subject_name_of_two_datasets_apart(tmp_path):
    # subject "01" of casme2 (all right) and "01" of samm (all wrong) are two subjects, two folds, two rows
    samples = make_samples({"01": [0, 1, 2]}, "casme2") + make_samples({"01": [0, 0]}, "samm")
    run = write_run(tmp_path / "run", samples, lambda seed, epoch, s: s["class_index"] if s["dataset"] == "casme2"
                    else 1, epochs=1)
    rows = compute_report(run)["seeds"]["0"]["last"]["per_subject"]
    assert [(r["dataset"], r["subject"], r["fold"], r["n"], r["correct"], r["acc"]) for r in rows] == [
        ("casme2", "01", "fold-casme2_01", 3, 3, 1.0), ("samm", "01", "fold-samm_01", 2, 0, 0.0)]


def test_report_json_names_its_schema_writer_and_run_and_pooled_probabilities_are_plain_decimals(tmp_path):
    # report.json named no mmnet that wrote it, and its "run" was only the folder's name ("run" for every demo);
    # keys added leave "schema" at 1 (docs/reports.md), so that a reader of schema 1 reads the report;
    # pooled_predictions.csv wrote a small probability as 2e-06
    import pandas as pd

    from mmnet import __version__

    run = write_run(tmp_path / "run", make_samples(SUBJECTS), _predict, epochs=2)
    fold = next(run.glob("seed-0/fold-*/predictions.csv"))
    table = pd.read_csv(fold, dtype={"subject": str})
    table["prob_0"] = 2e-06
    table.to_csv(fold, index=False)
    build_report(run)
    report = json.loads((run / "report.json").read_text())
    assert (report["schema"], report["mmnet_version"]) == (1, __version__)
    assert (report["run"], report["started_at"]) == ("run", "2025-01-01T00:00:00")  # env.json's
    text = (run / "pooled_predictions.csv").read_text()
    assert "e-0" not in text and ",0.000002," in text
    pooled = pd.read_csv(run / "pooled_predictions.csv")
    assert set(pooled.loc[pooled["fold"] == fold.parent.name, "prob_0"]) == {2e-06}  # the value recorded
