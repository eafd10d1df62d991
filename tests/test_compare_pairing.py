"""compare's McNemar pairs equal seeds first, in numeric order, and prints p-values as the report does."""

from mmnet.report.compare import compare_runs, seed_pairs
from mmnet.report.compare_text import _p, render_compare_markdown

from .fake_runs import make_samples, write_run


def _right_but_one(seed, epoch, s):
    return s["class_index"] if s["clip"] != "EP00" else (s["class_index"] + 1) % 3


def test_equal_seeds_are_paired_and_the_rest_sorted_as_numbers():
    assert seed_pairs(["0", "1", "2", "10"], ["0", "1", "2"]) == (
        [("0", "0"), ("1", "1"), ("2", "2")], {"reference": ["10"], "run": []})
    assert seed_pairs(["10", "2"], ["3", "4", "2"]) == ([("2", "2"), ("10", "3")], {"reference": [], "run": ["4"]})


def test_compare_leaves_out_the_unmatched_seed_not_seed_2(tmp_path):
    samples = make_samples({"1": [0, 1, 2], "2": [2, 1, 0], "3": [1, 0, 2]})
    ref = write_run(tmp_path / "ref", samples, _right_but_one, seeds=(0, 1, 2, 10))
    run = write_run(tmp_path / "run", samples, _right_but_one, seeds=(0, 1, 2))
    c = compare_runs([ref, run], resamples=200)["comparisons"][0]
    assert [(t["reference_seed"], t["seed"]) for t in c["mcnemar"]] == [("0", "0"), ("1", "1"), ("2", "2")]
    assert c["mcnemar_unpaired_seeds"] == {"reference": ["10"], "run": []}
    md = render_compare_markdown(compare_runs([ref, run], resamples=200))
    assert "| 2, 2 |" in md and "| 10, 2 |" not in md


def test_p_values_keep_their_side_of_the_level():
    assert _p(0.049983) == "0.04998"  # not "0.0500"
    assert _p(0.25) == "0.25" and _p(0.0020) == "0.0020"
    assert _p(0.0002, 0.0002) == "≤ 0.0002"
