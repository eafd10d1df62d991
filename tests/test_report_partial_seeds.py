"""A partial run whose seeds tested different subjects: no verdict, said with why, and a mean marked as mixed."""

from pathlib import Path

from mmnet.report import build_report
from mmnet.report.render import format_results_table
from mmnet.report.verdict import chance_lines, chance_standing

from .fake_runs import make_samples, write_run


def _mostly_right(seed, epoch, s):
    return s["class_index"] if s["clip"] != "EP00" else (s["class_index"] + 1) % 3


def _partial(tmp_path: Path) -> Path:
    run = write_run(tmp_path / "part", make_samples({str(k): [0, 1, 2] for k in range(1, 12)}), _mostly_right,
                    seeds=(0, 1))
    fold = run / "seed-1" / "fold-3"  # seed 1 has not tested subject 3
    for f in fold.iterdir():
        f.unlink()
    fold.rmdir()
    return run


def test_seeds_that_tested_different_subjects_give_no_verdict_and_say_why(tmp_path):
    run = _partial(tmp_path)
    report = build_report(run)
    assert report["headline"]["ci"]["subjects"]["mean"] is None
    lines = chance_lines(report)
    assert lines[-1].startswith("verdict: no verdict: the seeds tested different subjects (a partial run: samples "
                                "scored per seed: seed 0 33, seed 1 30)")
    assert chance_standing(report) == "no verdict"
    md = (run / "report.md").read_text()
    assert "**Verdict: no verdict: the seeds tested different subjects" in md
    assert "mean ± std (ddof=1, 2 seeds; the seeds tested different samples: a partial run)" in md
    assert "the seeds tested different samples (a partial run): mean±std mixes them" in format_results_table(report)


def test_seeds_that_tested_the_same_subjects_keep_their_verdict(tmp_path):
    run = write_run(tmp_path / "full", make_samples({str(k): [0, 1, 2] for k in range(1, 12)}), _mostly_right,
                    seeds=(0, 1))
    report = build_report(run)
    assert chance_standing(report) == "above chance"
    md = (run / "report.md").read_text()
    assert "different samples" not in md and "mean ± std (ddof=1, 2 seeds)" in md
