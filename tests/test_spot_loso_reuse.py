"""`train-spotter --loso` run again with the same settings and data reuses every finished fold (no video is
collected, fitted or spotted for them, and the result is the same); with other settings it computes them again."""

from __future__ import annotations

import json

import pytest

from mmnet.cli import main
from mmnet.spotting.learned import LearnedSpotter

from .fakes_long import tiny_recordings

pytest.importorskip("cv2")

SETS = ["--set", "face.mode=none", "--set", "face.width=80", "--set", "face.height=96", "--set", "learned.epochs=1"]


def _train(root, model, *extra) -> int:
    return main(["train-spotter", "casme-sq", "--root", str(root), "--out", str(model), "--loso", *SETS, *extra,
                 "--no-progress"])


def _scores(model) -> dict:
    data = json.loads(model.with_name(model.name + ".loso.json").read_text())
    data.pop("time_s")
    return data


@pytest.mark.slow  # three LOSO trainings of the learned spotter on two tiny subjects
def test_a_rerun_reuses_every_fold_and_other_settings_reuse_none(tmp_path, capsys, monkeypatch):
    root, _ = tiny_recordings(tmp_path / "set", subjects=2, minutes=0.25, seed=2)
    model = tmp_path / "run" / "spotter.pt"
    assert _train(root, model) == 0
    first = _scores(model)
    assert "LOSO: 2 folds to compute" in capsys.readouterr().err

    calls = []
    for name in ("collect", "fit_collected", "spot"):
        method = getattr(LearnedSpotter, name)
        monkeypatch.setattr(LearnedSpotter, name,
                            lambda self, *a, _name=name, _method=method, **kw: calls.append(_name) or _method(self, *a,
                                                                                                               **kw))
    assert _train(root, model) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert f"LOSO: 2 of 2 folds reused from {model.with_name('spotter.pt.loso')}, 0 to compute" in err
    assert "spot" not in calls and calls.count("fit_collected") == 1  # only the final model, fitted on every video
    assert _scores(model) == first

    calls.clear()
    assert _train(root, model, "--seed", "1") == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "LOSO: 2 folds to compute" in err
    assert "2 fold record(s)" in err and "(seed differ)" in err and "not reused" in err
    assert calls.count("spot") >= 2 and calls.count("fit_collected") == 3  # both folds, then the final model
    records = model.with_name("spotter.pt.loso")
    assert {json.loads(p.read_text())["settings"]["seed"] for p in records.iterdir()} == {1}
