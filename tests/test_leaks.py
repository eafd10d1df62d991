"""No test subject's data reaches training: spies on what the training loop and the spotters' fit() receive."""

from __future__ import annotations

import pytest


def test_a_fold_trains_only_on_its_training_subjects(monkeypatch, tmp_path):
    from mmnet import synth
    from mmnet.config import load_config
    from mmnet.train import fold
    from mmnet.train.prepare import fold_tasks, prepare_run

    root = synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=2, seed=0)
    cfg = load_config(None, [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", "train.epochs=1",
                             "data.image_size=32", "model.image_size=32", "train.batch_size=4", "train.device=cpu",
                             "train.precision=fp32"])
    subsets, trained, tested = [], [], []
    real_frames, real_train, real_eval = fold.DeviceFrames, fold.train_one_epoch, fold.evaluate

    def frames(*a, subset=None, **k):
        subsets.append(list(subset))
        return real_frames(*a, subset=subset, **k)

    def train(net, data, idx, *a, **k):
        trained.append([subsets[-1][i] for i in idx.tolist()])  # positions in the fold's subset -> sample indices
        return real_train(net, data, idx, *a, **k)

    def evaluate(net, data, idx, *a, **k):
        tested.append([subsets[-1][i] for i in idx.tolist()])
        return real_eval(net, data, idx, *a, **k)

    monkeypatch.setattr(fold, "DeviceFrames", frames)
    monkeypatch.setattr(fold, "train_one_epoch", train)
    monkeypatch.setattr(fold, "evaluate", evaluate)
    task = fold_tasks(prepare_run(cfg, tmp_path / "run", progress=False))[0]
    fold.run_fold(task, progress=False)
    held_out = {(task.datasets[i], task.subjects[i]) for i in task.test_idx}
    assert len(held_out) == 1 and len(trained) == 1 and len(tested) == 1
    assert sorted(trained[0]) == sorted(task.train_idx) and sorted(tested[0]) == sorted(task.test_idx)
    seen = {(task.datasets[i], task.subjects[i]) for i in trained[0]}
    assert len(seen) == 1 and not seen & held_out
