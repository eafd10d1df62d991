"""train.tensorboard: TensorBoard event files beside the run folder (off by default), on tiny synthetic LOSO."""

import csv
import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from mmnet.cli import main
from mmnet.config import load_config
from mmnet.errors import ConfigError
from mmnet.report.metrics import uar, uf1
from mmnet.train import run_experiment
from mmnet.train.fold import run_fold
from mmnet.train.prepare import fold_tasks, prepare_run
from mmnet.train.tb_log import EPOCH_TAGS, FoldLog

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader  # noqa: E402

TINY = ["train.epochs=2", "data.image_size=32", "train.batch_size=4"]
FOLDS = ("fold-casme2_01", "fold-casme2_02", "fold-casme2_03")


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    from mmnet import synth

    return synth.write_dataset(tmp_path_factory.mktemp("synth") / "data", subjects=3, clips_per_subject=4, seed=0)


def _cfg(root, cache, *extra):
    return load_config(None, [f"data.root={root}", f"data.cache_dir={cache}", *TINY, *extra])


@pytest.fixture(scope="module")
def on_run(synth_root, tmp_path_factory):
    """A tiny LOSO with train.tensorboard=true: (folder, report)."""
    base = tmp_path_factory.mktemp("runs")
    report = run_experiment(_cfg(synth_root, base / "cache", "train.tensorboard=true"), base / "on", progress=False)
    return base / "on", report


@pytest.fixture(scope="module")
def off_run(synth_root, on_run):
    """The same LOSO with the default (no logging), beside it."""
    base = on_run[0].parent
    return base / "off", run_experiment(_cfg(synth_root, base / "cache"), base / "off", progress=False)


def _rows(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def _raw_steps(folder: Path) -> dict[str, list[int]]:
    """Every scalar value in every event file of ``folder`` (EventAccumulator would hide duplicates)."""
    steps: dict[str, list[int]] = {}
    for path in sorted(folder.glob("events.out.tfevents.*")):
        for event in EventFileLoader(str(path)).Load():
            for value in event.summary.value:
                if value.tag.startswith(("train/", "test/")):
                    steps.setdefault(value.tag, []).append(event.step)
    return steps


def test_off_by_default_writes_nothing(synth_root, tmp_path):
    cfg = _cfg(synth_root, tmp_path / "cache", "train.epochs=1")
    assert cfg.train.tensorboard is False and load_config(None, []).train.tensorboard is False
    task = fold_tasks(prepare_run(cfg, tmp_path / "run", progress=False))[0]
    run_fold(task, progress=False)
    assert (task.fold_dir / "done.json").is_file()
    assert not (tmp_path / "run" / "tensorboard").exists()
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["train"]["tensorboard"] is False


def test_each_fold_logs_one_value_per_epoch_equal_to_history(on_run):
    run, _ = on_run
    for fold in FOLDS:
        history = _rows(run / "seed-0" / fold / "history.csv")
        scalars = _scalars(run / "tensorboard" / "seed-0" / fold)
        assert set(scalars) == {*EPOCH_TAGS, "test/uf1", "test/uar"}
        for tag, column in EPOCH_TAGS.items():
            assert [s for s, _ in scalars[tag]] == [1, 2], tag
            assert [v for _, v in scalars[tag]] == pytest.approx([float(r[column]) for r in history], rel=1e-6), tag
        preds = _rows(run / "seed-0" / fold / "predictions.csv")
        for step, value in scalars["test/uf1"]:
            rows = [r for r in preds if int(r["epoch"]) == step]
            truth, pred = [int(r["true"]) for r in rows], [int(r["pred"]) for r in rows]
            assert value == pytest.approx(uf1(truth, pred, 5), abs=1e-6)
            assert dict(scalars["test/uar"])[step] == pytest.approx(uar(truth, pred, 5), abs=1e-6)


def test_summary_holds_the_reports_headline_and_settings(on_run):
    run, on = on_run
    summary = run / "tensorboard" / "summary"
    scalars = _scalars(summary)
    report = json.loads((run / "report.json").read_text())
    assert report["headline"] == on["headline"]
    for m in ("acc", "uf1", "uar"):
        assert scalars[f"summary/{m}"] == [(2, pytest.approx(report["headline"]["mean"][m], rel=1e-6))]
        assert scalars[f"summary/seed-0/{m}"][0][1] == pytest.approx(report["headline"]["per_seed"]["0"][m], rel=1e-6)
    acc = EventAccumulator(str(summary))
    acc.Reload()
    assert "_hparams_/session_start_info" in acc.PluginTagToContent("hparams")


@pytest.mark.slow
def test_logging_does_not_change_the_numbers(on_run, off_run):
    (on_dir, on), (off_dir, off) = on_run, off_run
    for fold in FOLDS:
        assert ((off_dir / "seed-0" / fold / "predictions.csv").read_text()
                == (on_dir / "seed-0" / fold / "predictions.csv").read_text())
    assert off["headline"]["mean"] == on["headline"]["mean"]
    assert not (off_dir / "tensorboard").exists()


@pytest.mark.slow
def test_turning_it_on_for_a_finished_run_is_not_a_new_experiment(off_run, synth_root, tmp_path):
    run = tmp_path / "off"
    shutil.copytree(off_run[0], run)
    run_experiment(_cfg(synth_root, off_run[0].parent / "cache", "train.tensorboard=true"), run, progress=False)
    assert (run / "tensorboard" / "summary").is_dir()
    assert not (run / "tensorboard" / "seed-0").exists()  # finished folds are not trained again


def test_resumed_fold_has_one_value_per_epoch(synth_root, tmp_path, monkeypatch):
    """Stopped after epoch 2 was logged (and its resume state written): the rerun logs 1..3 once each."""
    cfg = _cfg(synth_root, tmp_path / "cache", "train.epochs=3", "train.tensorboard=true")
    task = fold_tasks(prepare_run(cfg, tmp_path / "run", progress=False))[0]
    logged = FoldLog.epoch

    def stop_after_epoch_2(self, row, predictions):
        logged(self, row, predictions)
        if row["epoch"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(FoldLog, "epoch", stop_after_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        run_fold(task, progress=False)
    monkeypatch.setattr(FoldLog, "epoch", logged)
    folder = tmp_path / "run" / "tensorboard" / "seed-0" / "fold-casme2_01"
    assert _raw_steps(folder)["train/loss"] == [1, 2]
    run_fold(task, progress=False)
    raw = _raw_steps(folder)
    assert raw and all(steps == [1, 2, 3] for steps in raw.values()), raw
    history = _rows(task.fold_dir / "history.csv")
    assert [v for _, v in _scalars(folder)["train/loss"]] == pytest.approx([float(r["train_loss"]) for r in history])


def test_missing_package_is_a_named_error_before_training(synth_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # `import tensorboard` raises ImportError
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match=r'tensorboard.*pip install -e "\.\[tensorboard\]"'):
        run_experiment(_cfg(synth_root, tmp_path / "cache", "train.tensorboard=true"), out, progress=False)
    assert not out.exists()  # nothing was read, cached or trained
    args = ["train", "--dataset", "casme2", "--root", str(synth_root), "--out", str(out), "--no-progress",
            "--tensorboard", "--set", f"data.cache_dir={tmp_path / 'cache'}"]
    assert main(args) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "[tensorboard]" in err[0], err
    assert not out.exists()


def test_print_config_and_flags(capsys):
    assert main(["train", "--print-config"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["train"]["tensorboard"] is False
    assert main(["train", "--print-config", "--set", "train.tensorboard=true"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["train"]["tensorboard"] is True
    assert main(["train", "--print-config", "--tensorboard"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["train"]["tensorboard"] is True
