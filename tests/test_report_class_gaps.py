"""Classes a run's data leaves out, said beside the headline: a class no sample has (UF1/UAR over all classes, and
over the classes present), and a fold that trained without a class its test subject holds."""

import pytest

from mmnet.report import build_report

from .fake_runs import make_samples, write_run

SUBJECTS = {str(k): [0, 0, 1, 1] for k in range(1, 7)}  # no surprise (class 2)


def _predict(seed, epoch, s):
    """Right for the even clips of every subject, else the other of negative/positive."""
    return s["class_index"] if int(s["clip"][2:]) % 2 == 0 else 1 - min(s["class_index"], 1)


def _headline(md: str) -> str:
    start = md.index("## Headline")
    return md[start:md.index("\n## ", start + 1)]


def test_a_class_without_samples_is_said_beside_the_headline(tmp_path):
    run = write_run(tmp_path / "run", make_samples(SUBJECTS), _predict)
    r = build_report(run)
    seed = r["headline"]["per_seed"]["0"]
    gaps = r["absent_classes"]
    assert gaps["classes"] == ["surprise"] and (gaps["n_classes"], gaps["n_present"]) == (3, 2)
    assert seed["uar"] == pytest.approx(0.5 * 2 / 3)  # the headline stays over all 3 classes, surprise as 0
    over = gaps["over_present"]["per_seed"]["0"]
    assert over["uar"] == pytest.approx(0.5) and over["uf1"] == pytest.approx(seed["uf1"] * 3 / 2)
    assert gaps["chance_present"] == pytest.approx(0.5) and gaps["chance"] == pytest.approx(1 / 3)
    headline = _headline((run / "report.md").read_text())
    assert "**Classes without samples: surprise.**" in headline
    assert "over all 3 classes of the scheme" in headline and "so neither can exceed 0.67" in headline
    assert "Over the 2 classes present: UF1 0.5000, UAR 0.5000, against chance 0.50 there" in headline
    assert "folds_without_class" not in r  # every subject holds both classes present


def test_a_fold_training_without_a_class_is_said_beside_the_headline(tmp_path):
    subjects = {**SUBJECTS, "7": [0, 2, 1]}  # surprise in subject 7 only: its fold trains without it
    run = write_run(tmp_path / "run", make_samples(subjects), _predict)
    r = build_report(run)
    assert r["folds_without_class"] == {"casme2/7": ["surprise"]}
    assert "absent_classes" not in r
    headline = _headline((run / "report.md").read_text())
    assert "**1 fold(s) trained without a class their test samples hold** (every sample of it is in the left-out " \
           "part): casme2/7 (surprise)" in headline


def test_a_run_holding_every_class_in_every_fold_has_no_note(tmp_path):
    subjects = {str(k): [0, 1, 2, 1] for k in range(1, 5)}
    run = write_run(tmp_path / "run", make_samples(subjects), _predict)
    r = build_report(run)
    assert "absent_classes" not in r and "folds_without_class" not in r
    md = (run / "report.md").read_text()
    assert "Classes without samples" not in md and "trained without a class" not in md
