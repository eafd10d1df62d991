"""A resume under other numerics (thread count, device, precision, memory format) than the run recorded: each fold's
done.json records its own, the resume says what differs (not refused), the report names which folds used which."""

import json
import logging

import pytest
import torch

from mmnet import run_folder as rf
from mmnet.config import load_config
from mmnet.train import run_experiment
from mmnet.train.resume_env import numerics_changes

TINY = ["train.epochs=1", "data.image_size=32", "model.image_size=32", "train.batch_size=4"]
ENV = {"device": "cpu", "precision": "fp32", "memory_format": "contiguous", "torch_threads": 2}


def _fold(run, name, done=None, *, seed=0):
    fold = run / f"seed-{seed}" / f"fold-{name}"
    fold.mkdir(parents=True)
    (fold / rf.HISTORY).write_text("epoch\n1\n")
    if done is not None:
        (fold / rf.PREDICTIONS).write_text("epoch\n")
        (fold / rf.DONE).write_text(json.dumps({"fold": name, **done}))


def test_a_resume_names_what_differs_from_the_finished_folds_or_env_json(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / rf.ENV).write_text(json.dumps({**ENV, "device": "cpu (x86_64)"}))
    assert numerics_changes(run, {**ENV, "torch_threads": 1}) == []  # nothing trained: a fresh start
    _fold(run, "a")  # an epoch trained, no fold finished: env.json is the record
    assert numerics_changes(run, ENV) == []
    (line,) = numerics_changes(run, {**ENV, "torch_threads": 1})
    assert line.startswith("resuming with torch threads 1, but the run's start (env.json) trained with 2: the folds "
                           "trained now will not be bit-identical to an uninterrupted run's. To match, stop and resume "
                           "with OMP_NUM_THREADS=2")
    # a finished fold from before done.json recorded them: as env.json says; another's own values count
    _fold(run, "b", {"device": "cpu", "precision": "fp32"})
    _fold(run, "c", {"device": "cpu", "precision": "fp32", "memory_format": "channels_last", "torch_threads": 2})
    lines = numerics_changes(run, {"device": "cuda", "precision": "bf16", "memory_format": "contiguous",
                                   "torch_threads": 1})
    assert [line.split(":")[0] for line in lines] == [
        "resuming with device cuda, but the run's finished folds trained with cpu",
        "resuming with precision bf16, but the run's finished folds trained with fp32",
        "resuming with memory format contiguous, but the run's finished folds trained with channels_last"]
    assert "CUDA_VISIBLE_DEVICES=" in lines[0]  # a GPU fold does not depend on the thread count: not said
    assert "train.memory_format=auto resolves to channels_last, or train every fold again with " \
           "--set train.memory_format=channels_last and another --out" in lines[2]
    # Ray and SLURM workers decide their device: only their thread count (--cpus-per-fold) is compared
    (line,) = numerics_changes(run, {"torch_threads": 4})
    assert line.startswith("resuming with torch threads 4, but the run's finished folds trained with 2")


@pytest.mark.slow
def test_seeds_added_under_another_thread_count_are_recorded_warned_and_reported(tmp_path, caplog):
    # run3/run4 of the review: seeds added with OMP_NUM_THREADS=1 to a run trained with 2 threads were accepted
    # silently, and env.json and the report's Reproduce line said 2 threads for every fold
    from mmnet import synth

    root = synth.write_dataset(tmp_path / "data", subjects=3, clips_per_subject=4, seed=0)
    out = tmp_path / "run"
    before = torch.get_num_threads()

    def cfg(seeds):
        return load_config(None, [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", *TINY, seeds])

    try:
        torch.set_num_threads(2)
        run_experiment(cfg("seeds=1"), out, progress=False)
        torch.set_num_threads(1)
        with caplog.at_level(logging.WARNING, logger="mmnet.train"):
            report = run_experiment(cfg("seeds=2"), out, progress=False)
    finally:
        torch.set_num_threads(before)
    assert {json.loads(p.read_text())["torch_threads"] for p in out.glob("seed-0/fold-*/done.json")} == {2}
    assert {json.loads(p.read_text())["torch_threads"] for p in out.glob("seed-1/fold-*/done.json")} == {1}
    assert all(json.loads(p.read_text())["memory_format"] in ("contiguous", "channels_last")
               for p in out.glob("seed-*/fold-*/done.json"))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [w for w in warnings if w.startswith("resuming with torch threads 1, but the run's finished folds trained "
                                                "with 2") and "OMP_NUM_THREADS=2" in w]
    note = report["reproduce"]["note"]
    assert "2 here" not in note
    assert "the torch thread count: the folds ran with 1 (seed 1: all finished folds), 2 (seed 0: all finished " \
           "folds)" in note
