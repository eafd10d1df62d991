"""A fold's predictions.csv while it trains: each epoch's rows are appended, not every epoch's rewritten (which cost
the square of the epochs), and a fold stopped and resumed ends with the bytes of an uninterrupted one."""

from __future__ import annotations

import pytest

from mmnet import run_folder as rf
from mmnet.config import load_config
from mmnet.train import fold
from mmnet.train.prepare import fold_tasks, prepare_run

pytestmark = pytest.mark.slow  # real folds trained: seconds each
EPOCHS = 3


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from mmnet import synth

    folder = tmp_path_factory.mktemp("predictions")
    synth.write_dataset(folder / "data", subjects=2, clips_per_subject=3, seed=0)
    return folder


def _task(folder, out):
    cfg = load_config(None, [f"data.root={folder / 'data'}", f"data.cache_dir={folder / 'cache'}",
                             f"train.epochs={EPOCHS}", "data.image_size=32", "model.image_size=32",
                             "train.batch_size=4", "train.state_every_s=0"])
    return fold_tasks(prepare_run(cfg, out, progress=False))[0]


class _Stopped(Exception):
    """A kill after an epoch's files were written."""


def _after_each_epoch(monkeypatch, task, seen: list, stop_after: int | None = None) -> None:
    """Record predictions.csv (inode, bytes) after each epoch's files; stop the fold after epoch ``stop_after``."""
    path = task.fold_dir / rf.PREDICTIONS

    class Watched(fold.EpochProgress):
        def update(self, epoch, *args):
            seen.append((path.stat().st_ino, path.read_bytes()))
            if epoch == stop_after:
                raise _Stopped
            super().update(epoch, *args)

    monkeypatch.setattr(fold, "EpochProgress", Watched)


@pytest.fixture(scope="module")
def uninterrupted(folder):
    """The first fold of a run trained without a stop: its task, the epochs of the rows formatted for its
    predictions.csv, and the file after each epoch."""
    task = _task(folder, folder / "full")
    formatted, seen = [], []
    with pytest.MonkeyPatch.context() as m:
        real = fold._prediction_cells
        m.setattr(fold, "_prediction_cells", lambda row: formatted.append(row[0]) or real(row))
        _after_each_epoch(m, task, seen)
        fold.run_fold(task, progress=False)
    return task, formatted, seen


def test_each_epoch_appends_its_rows_and_formats_no_earlier_one_again(uninterrupted):
    task, formatted, seen = uninterrupted
    tested = len(task.test_idx)
    # every row formatted once: rewritten whole, epoch e formatted e x tested rows (1 + 2 + ... + EPOCHS in all)
    assert sorted(formatted) == [e for e in range(1, EPOCHS + 1) for _ in range(tested)]
    assert len(seen) == EPOCHS and len({inode for inode, _ in seen}) == 1  # the same file, never replaced
    for (_, before), (_, after) in zip(seen, seen[1:]):
        assert after.startswith(before) and after[len(before):].count(b"\n") == tested  # the epoch's rows added
    assert seen[-1][1] == (task.fold_dir / rf.PREDICTIONS).read_bytes()


@pytest.mark.parametrize("saved, stop_after", [({1}, 2), (set(), 1)])
def test_a_stopped_fold_resumes_to_the_uninterrupted_file(folder, uninterrupted, tmp_path, monkeypatch, saved,
                                                          stop_after):
    # rows appended after the last resume state (and a line the kill cut short) are trained again, not kept twice
    full = uninterrupted[0]
    task = _task(folder, tmp_path / "stopped")
    with monkeypatch.context() as m:
        real = fold.atomic_torch_save
        m.setattr(fold, "atomic_torch_save", lambda state, path: state["epoch"] in saved and real(state, path))
        _after_each_epoch(m, task, [], stop_after=stop_after)
        with pytest.raises(_Stopped):
            fold.run_fold(task, progress=False)
    path = task.fold_dir / rf.PREDICTIONS
    assert path.read_bytes().count(b"\n") == 1 + stop_after * len(task.test_idx)  # what a report would not read
    with open(path, "ab") as f:
        f.write(b"2,casme2/sub01/EP0")  # cut short by the kill
    assert (task.fold_dir / rf.STATE).is_file() == bool(saved)
    fold.run_fold(task, progress=False)
    assert path.read_bytes() == (full.fold_dir / rf.PREDICTIONS).read_bytes()
    assert not (task.fold_dir / rf.STATE).exists()


@pytest.mark.parametrize("change", ["removed", "saved by another program"])
def test_a_file_changed_while_the_fold_trains_is_written_whole_again(folder, uninterrupted, tmp_path, monkeypatch,
                                                                     change):
    # appended to as it was, a removed file would go on without its header, a file saved again with other bytes
    # would mix them with the fold's rows
    task = _task(folder, tmp_path / "changed")
    path = task.fold_dir / rf.PREDICTIONS

    class Changed(fold.EpochProgress):
        def update(self, epoch, *args):
            if epoch == 1 and change == "removed":
                path.unlink()
            elif epoch == 1:
                path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
            super().update(epoch, *args)

    monkeypatch.setattr(fold, "EpochProgress", Changed)
    fold.run_fold(task, progress=False)
    assert path.read_bytes() == (uninterrupted[0].fold_dir / rf.PREDICTIONS).read_bytes()


def test_done_json_says_when_the_fold_finished_and_env_json_the_libraries(uninterrupted):
    # the report's wall time runs from env.json's started_at to the last done.json's finished_at; env.json names the
    # libraries the frames and annotations went through beside torch and numpy
    import json
    from datetime import datetime
    from pathlib import Path

    import PIL

    task = uninterrupted[0]
    done = json.loads((task.fold_dir / rf.DONE).read_text())
    assert datetime.strptime(done["finished_at"], "%Y-%m-%dT%H:%M:%S%z")
    assert "tf32" not in done  # a CPU fold: TF32 does not apply
    env = json.loads((Path(task.out_dir) / rf.ENV).read_text())
    assert env["libraries"]["pillow"] == PIL.__version__ and "opencv" in env["libraries"]


def test_done_json_records_the_cuda_of_the_machine_the_fold_trained_on(folder, tmp_path, monkeypatch):
    # under Ray or SLURM a fold trains on another machine than the one env.json describes: its done.json has its own
    import json

    asked = []
    facts = {"cuda_version": "12.4", "cudnn_version": 90100, "cudnn_benchmark": True, "cuda_driver": "550.54.15"}
    monkeypatch.setattr(fold, "cuda_record", lambda device_type: asked.append(device_type) or facts)
    task = _task(folder, tmp_path / "elsewhere")
    fold.run_fold(task, progress=False)
    done = json.loads((task.fold_dir / rf.DONE).read_text())
    assert asked == ["cpu"] and {k: done[k] for k in facts} == facts  # asked of the device the fold trained on
