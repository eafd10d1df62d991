"""report.md ends with what of a run folder may be shared: the scores and figures, not the per-clip files that
carry the dataset's annotations (docs/reports.md, "Sharing a run")."""

from pathlib import Path

from mmnet.report import build_report

from .fake_runs import make_samples, write_run
from .test_report import _predict


def test_report_md_ends_with_how_its_run_may_be_shared(tmp_path):
    run = write_run(tmp_path / "run", make_samples({"1": [0, 1, 2], "2": [2, 1, 0]}), _predict, epochs=2)
    build_report(run)
    last = (run / "report.md").read_text(encoding="utf-8").rstrip("\n").splitlines()[-1]
    assert last.startswith("Sharing: the scores and figures may be shared")
    for name in ("samples.csv", "predictions.csv", "issues.csv", "megc_log.txt"):
        assert name in last
    assert "share them only as its agreement allows" in last
    docs = (Path(__file__).resolve().parents[1] / "docs" / "reports.md").read_text(encoding="utf-8")
    assert "### Sharing a run" in docs and "only as the dataset's agreement allows" in docs
