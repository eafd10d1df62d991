"""Damaged files of a run or a cache: detected, named, moved aside (or rebuilt) and recomputed."""

from __future__ import annotations

import json

import pytest

from mmnet.config import load_config
from mmnet.train import run_experiment

from .helpers import TINY, assert_named_error, cli


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    from mmnet import synth

    return synth.write_dataset(tmp_path_factory.mktemp("synth") / "data", subjects=2, clips_per_subject=3, seed=0)


def _cfg(root, tmp_path, *extra):
    return load_config(None, [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", *TINY, "train.epochs=3",
                              *extra])


def _numbers(run) -> dict:
    report = json.loads((run / "report.json").read_text())
    return report["headline"]


def _interrupted_run(root, tmp_path, monkeypatch, out):
    """A run stopped after epoch 1 of the first fold (its state.pt written)."""
    from mmnet.train import fold

    real = fold.train_one_epoch
    calls = {"n": 0}

    def stop_at_second(*a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(fold, "train_one_epoch", stop_at_second)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(_cfg(root, tmp_path), out, progress=False)
    monkeypatch.setattr(fold, "train_one_epoch", real)
    (state,) = out.glob("seed-0/fold-*/state.pt")
    return state


@pytest.fixture(scope="module")
def clean(root, tmp_path_factory):
    out = tmp_path_factory.mktemp("clean")
    run_experiment(_cfg(root, out), out / "run", progress=False)
    return _numbers(out / "run")


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncate", "empty", "flip"])
def test_a_damaged_resume_state_is_moved_aside_and_the_fold_recomputed(root, tmp_path, monkeypatch, damage, caplog,
                                                                       clean):
    out = tmp_path / "run"
    state = _interrupted_run(root, tmp_path, monkeypatch, out)
    data = state.read_bytes()
    if damage == "truncate":
        state.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        state.write_bytes(b"")
    else:
        state.write_bytes(data[:1000] + bytes([data[1000] ^ 0xFF]) + data[1001:])
    run_experiment(_cfg(root, tmp_path), out, progress=False)
    assert "state.pt" in caplog.text and "damaged" in caplog.text and "moved to 'state.pt.corrupt'" in caplog.text
    # kept aside while the fold trained again; removed with the resume state once the fold is done
    assert (state.parent / "done.json").is_file() and not list(state.parent.glob("state.pt*"))
    assert _numbers(out) == clean  # recomputed from epoch 1: the same numbers


@pytest.mark.slow
def test_a_truncated_frame_cache_is_rebuilt(root, tmp_path, caplog):
    run_experiment(_cfg(root, tmp_path, "train.epochs=1"), tmp_path / "a", progress=False)
    (cache,) = (tmp_path / "cache").glob("frames-*.npy")
    cache.write_bytes(cache.read_bytes()[:-100])
    run_experiment(_cfg(root, tmp_path, "train.epochs=1"), tmp_path / "b", progress=False)
    assert "damaged" in caplog.text and cache.name in caplog.text
    assert _numbers(tmp_path / "a") == _numbers(tmp_path / "b")


def test_invalid_yaml_in_config_yaml(root, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    _interrupted_run(root, tmp_path, monkeypatch, out)
    (out / "config.yaml").write_text("model: [unclosed\n")
    code, _, err = cli(capsys, "train", "--root", root, "--out", out, "--set", f"data.cache_dir={tmp_path / 'cache'}",
                       *[x for item in TINY for x in ("--set", item)], "--set", "train.epochs=3")
    assert_named_error(code, err, "config.yaml", "damaged", "another out folder",
                       "--restart (restart=True from Python)")
    code, _, err = cli(capsys, "train", "--root", root, "--out", out, "--restart", "--set",  # the remedy it names
                       f"data.cache_dir={tmp_path / 'cache'}", *[x for item in TINY for x in ("--set", item)])
    assert code == 0, err
    # before any fold started it is moved aside and written again
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "config.yaml").write_text("{{{{")
    run_experiment(_cfg(root, tmp_path, "train.epochs=1"), fresh, progress=False)
    assert (fresh / "config.yaml.corrupt").read_text() == "{{{{"
    assert (fresh / "report.md").exists()


@pytest.mark.slow
def test_a_damaged_saved_model_of_a_finished_fold_is_recomputed(root, tmp_path, caplog):
    out = tmp_path / "run"
    cfg = _cfg(root, tmp_path, "train.epochs=1", "train.save_models=true")
    run_experiment(cfg, out, progress=False)
    model = next(out.glob("seed-0/fold-*/model"))
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:5000])
    run_experiment(cfg, out, progress=False)
    assert (model.parent / "model.corrupt").is_dir() and (model.parent / "done.json.corrupt").exists()
    from mmnet.model import load_checkpoint

    load_checkpoint(model)  # saved again


@pytest.mark.parametrize("cut", [0, 10, 500, -1, -33])
def test_checked_torch_load_refuses_every_damage(tmp_path, cut):
    import torch

    from mmnet.utils import CorruptFile, atomic_torch_save, checked_torch_load

    path = tmp_path / "state.pt"
    atomic_torch_save({"w": torch.arange(100.0), "epoch": 3}, path)
    assert checked_torch_load(path)["epoch"] == 3
    data = path.read_bytes()
    path.write_bytes(data[:cut])
    with pytest.raises(CorruptFile):
        checked_torch_load(path)


def test_the_frame_cache_size_check(tmp_path):
    import numpy as np

    from mmnet.data.cache import npy_intact

    path = tmp_path / "f.npy"
    np.save(path, np.zeros((4, 8, 8, 3), np.uint8))
    assert npy_intact(path, (4, 8, 8, 3)) and not npy_intact(path, (5, 8, 8, 3))
    path.write_bytes(path.read_bytes()[:-1])
    assert not npy_intact(path, (4, 8, 8, 3))
    path.write_bytes(path.read_bytes() + b"\0\0")
    assert not npy_intact(path, (4, 8, 8, 3))


def test_a_cache_folder_that_cannot_be_written_is_named_with_the_setting_to_change(root, tmp_path, capsys):
    # the message was the generic "'PATH/.frames-....npy.N.tmp': Not a directory", naming no setting
    in_the_way = tmp_path / "cache-file"
    in_the_way.write_text("x")
    sets = [x for s in [*TINY, f"data.cache_dir={in_the_way}"] for x in ("--set", s)]
    code, _, err = cli(capsys, "train", "--root", root, "--out", tmp_path / "run", *sets)
    assert_named_error(code, err, "frame cache", f"'{in_the_way}'", "data.cache_dir", "MMNET_CACHE_DIR")
    assert [p.name for p in tmp_path.iterdir()] == ["cache-file"]


@pytest.mark.parametrize("content", ["", "\n", "garbage without a header\n"])
def test_a_damaged_samples_csv_is_named_not_taken_for_other_data(tmp_path, content):
    from mmnet import run_folder as rf
    from mmnet.errors import ConfigError

    (tmp_path / rf.SAMPLES).write_text(content)
    rows = [["casme2/01/EP01", "casme2", "01", "EP01", "happiness", "0"]]
    with pytest.raises(ConfigError, match=r"samples\.csv' is damaged .* --restart") as info:
        rf.data_changes(tmp_path, "fingerprint", rows)
    assert "other data" not in str(info.value) and "added" not in str(info.value)
