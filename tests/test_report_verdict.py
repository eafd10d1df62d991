"""The verdict line against chance, its p-value as printed, and the interval note of report.md."""

import pytest

from mmnet.report import build_report
from mmnet.report.render import chance_verdict

from .fake_runs import make_samples, write_run

# Three kinds of subject, two of each: every prediction follows the subject's labels (a clip of the first class is
# right, the second class's clips are all taken for one other class), so shuffling the labels within subjects
# scores lower (p ~ 0.0007), yet UAR is 0.25, below chance (1/3).
_KINDS = {"A": ([0] * 4 + [1] * 4, [0, 2, 2, 2, 1, 2, 2, 2]),
          "B": ([2] * 4 + [0] * 4, [2, 1, 1, 1, 0, 1, 1, 1]),
          "C": ([1] * 4 + [2] * 4, [1, 0, 0, 0, 2, 0, 0, 0])}
_SUBJECTS = {"s1": "A", "s2": "A", "s3": "B", "s4": "B", "s5": "C", "s6": "C"}


def _verdict(run) -> str:
    return next(line for line in (run / "report.md").read_text().splitlines() if line.startswith("**Verdict"))


def test_a_significant_permutation_test_with_a_uar_below_chance_is_not_above_chance(tmp_path):
    # the verdict said "above chance ... UAR 0.25 against chance (0.33), p = 0.0007": the test's null (labels
    # shuffled within subjects) does not score 1/3 on average, so p < 0.05 alone does not put UAR above chance
    samples = make_samples({s: _KINDS[k][0] for s, k in _SUBJECTS.items()})
    preds = {f"casme2/{s}/EP{i:02d}": p for s, k in _SUBJECTS.items() for i, p in enumerate(_KINDS[k][1])}
    run = write_run(tmp_path / "run", samples, lambda seed, epoch, smp: preds[smp["sample_id"]], epochs=1)
    test = build_report(run, resamples=2000)["headline"]["chance_test"]
    assert test["observed"] == pytest.approx(0.25) and test["p_value"] < 0.05 and test["can_decide"]
    verdict = _verdict(run)
    assert verdict.startswith("**Verdict: not shown to be above chance: UAR 0.25 (UF1 0.25) is not above chance "
                              "(0.33), though a permutation test finds that the predictions are associated with the "
                              "labels within subjects: p = ")
    assert "above chance by" not in verdict


def _report(uar: float, ci: list[float], subjects: int, **test) -> dict:
    ci_block = {"subjects": {"per_seed": {"0": {"uar": ci}}, "mean": None, "n_units": {"0": subjects}}}
    chance_test = {"permutations": 10_000, "n_subjects": subjects, "shuffled_mean": 0.2, **test}
    return {"classes": list("abc"), "headline": {"n_seeds": 1, "ci": ci_block, "chance_test": chance_test,
                                                 "per_seed": {"0": {"uar": uar, "uf1": uar}}}}


@pytest.mark.parametrize("uar, p, reading", [
    (0.25, 0.001, "the predictions are associated with the labels within subjects, but UAR is not above chance"),
    (0.50, 0.001, "the predictions are associated with the labels within subjects"),
    (0.30, 0.2, "no association of the predictions with the labels within subjects shown"),
])
def test_from_ten_subjects_the_p_value_comes_with_its_reading(uar, p, reading):
    # from 10 subjects the interval decides and the line appended "permutation test: p = 0.0010 ..." with no reading:
    # beside "lies below chance" it read as evidence of learning
    line = chance_verdict(_report(uar, [uar - 0.05, uar + 0.05], 12, p_value=p))
    assert line.endswith(f"UAR 0.20 on average): {reading}")


def test_a_p_value_below_four_decimals_is_never_printed_as_zero():
    # `mmnet report RUN --resamples 100000` printed "p = 0.0000" for the smallest p-value, 1 / 100,001
    line = chance_verdict(_report(0.9, [0.8, 1.0], 5, p_value=1 / 100_001, permutations=100_000))
    assert "p = 1.0e-05 with the labels shuffled" in line and "100,000 shuffles, none as high" in line
    assert "0.0000" not in line
    exact = chance_verdict(_report(0.9, [0.8, 1.0], 5, p_value=1 / 117_649, exact=True, as_high=1,
                                   permutations=117_649))
    assert "p = 8.5e-06 with the labels shuffled" in exact
    # 10,000 shuffles: 1 / 10,001 reads 0.0001 as before
    assert "p = 0.0001 with" in chance_verdict(_report(0.9, [0.8, 1.0], 5, p_value=1 / 10_001))


@pytest.mark.parametrize("subjects, noted", [(10, True), (26, True), (30, False)])
def test_the_interval_note_says_the_percentile_bootstrap_is_approximate_with_few_subjects(tmp_path, subjects, noted):
    # percentile intervals over 10-26 subjects covered the true value 88-93 % of the time, not 95 %
    run = write_run(tmp_path / "run", make_samples({str(k): [0, 1, 2] for k in range(1, subjects + 1)}),
                    lambda seed, epoch, s: s["class_index"] if int(s["clip"][2:]) else 0, epochs=1)
    build_report(run, resamples=200)
    md = (run / "report.md").read_text()
    note = (f"The percentile bootstrap over {subjects} subjects is approximate: below about 30 subjects its "
            "intervals tend to be too narrow")
    assert (note in md) == noted
