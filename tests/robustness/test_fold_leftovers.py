"""A fold killed between writing done.json and removing its resume state: the ~100 MB state.pt (and half-written
temporaries, damaged resume states set aside) beside a finished fold are removed when the fold is next looked at,
not kept forever."""

from __future__ import annotations

import pytest

from mmnet.config import load_config
from mmnet.train import run_experiment
from mmnet.train.fold import run_fold
from mmnet.train.prepare import fold_tasks, prepare_run

from .helpers import TINY


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    from mmnet import synth

    return synth.write_dataset(tmp_path_factory.mktemp("synth") / "data", subjects=2, clips_per_subject=2, seed=0)


def _leftovers(fold_dir):
    state = fold_dir / "state.pt"
    state.write_bytes(b"\0" * 1000)  # what the kill left: done.json is already valid
    temporary = fold_dir / ".history.csv.0123456789ab.tmp"
    temporary.write_text("half")
    for aside in ("state.pt.corrupt", "state.pt.corrupt2"):  # damaged resume states set aside while it trained
        (fold_dir / aside).write_bytes(b"\0" * 1000)
    return state, temporary


def test_a_finished_folds_resume_state_is_removed_by_a_rerun(root, tmp_path):
    cfg = load_config(None, [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", *TINY])
    out = tmp_path / "run"
    run_experiment(cfg, out, progress=False)
    fold_dir = next(out.glob("seed-0/fold-*"))
    state, _ = _leftovers(fold_dir)
    run_experiment(cfg, out, progress=False)  # nothing left to train
    assert not list(fold_dir.glob("state.pt*"))


def test_a_job_run_again_on_a_finished_fold_removes_its_leftovers(root, tmp_path):
    # a SLURM job submitted twice, or a retry after the fold's end: run_fold returns the recorded result
    cfg = load_config(None, [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", *TINY])
    task = fold_tasks(prepare_run(cfg, tmp_path / "run", progress=False))[0]
    record = run_fold(task, progress=False)
    state, temporary = _leftovers(task.fold_dir)
    assert run_fold(task, progress=False) == record
    assert not list(task.fold_dir.glob("state.pt*")) and not temporary.exists()


def test_a_flipped_byte_in_a_fold_model_is_named_and_the_fold_trained_again(root, tmp_path, caplog):
    # a bit flipped inside the weights kept the file loadable: predict, the model card and a resumed run used it
    from mmnet.errors import CheckpointError
    from mmnet.model import load_checkpoint

    cfg = load_config(None, [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", *TINY,
                             "train.save_models=true"])
    out = tmp_path / "run"
    run_experiment(cfg, out, progress=False)
    model = next(out.glob("seed-0/fold-*/model"))
    weights = model / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0x01  # inside the last tensor's values: still a valid safetensors file
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="is damaged: its sha256") as info:
        load_checkpoint(model)
    assert f"'{weights}'" in str(info.value)
    run_experiment(cfg, out, progress=False)
    assert "damaged" in caplog.text and (model.parent / "model.corrupt").exists()
    load_checkpoint(model)  # trained again


@pytest.mark.parametrize("every, writes", [(0, 2 * 2), (3600, 0)])  # 2 folds x the 2 epochs before the last
def test_the_resume_state_is_written_at_most_every_state_every_s(root, tmp_path, monkeypatch, every, writes):
    from mmnet.train import fold

    saved = []
    real = fold.atomic_torch_save
    monkeypatch.setattr(fold, "atomic_torch_save",
                        lambda state, path: saved.append(state["epoch"]) or real(state, path))
    cfg = load_config(None, [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", *TINY, "train.epochs=3",
                             f"train.state_every_s={every}"])
    run_experiment(cfg, tmp_path / "run", progress=False)
    assert len(saved) == writes and all(e < 3 for e in saved)


def test_state_every_s_is_not_part_of_the_experiment(root, tmp_path):
    out = tmp_path / "run"
    cfg = load_config(None, [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", *TINY])
    run_experiment(cfg, out, progress=False)
    resumed = load_config(None, [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", *TINY,
                                 "train.state_every_s=120"])
    run_experiment(resumed, out, progress=False)  # a resume may change it: not refused
    with pytest.raises(Exception, match="state_every_s"):
        load_config(None, ["train.state_every_s=-1"])
