"""run_experiment (and run_fold) called from Python (a notebook): the process as it was before, silence with
progress=False, remedies a caller can use, and a config built from the dataclasses as the user writes it."""

from __future__ import annotations

import logging

import pytest
import torch

import mmnet.train.fold as fold_module
from mmnet import runtime
from mmnet.cli import main
from mmnet.config import DataConfig, ExperimentConfig, load_config
from mmnet.errors import ConfigError
from mmnet.train import run_experiment

TINY = ["train.epochs=1", "data.image_size=32", "train.batch_size=4"]


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    from mmnet import synth

    return synth.write_dataset(tmp_path_factory.mktemp("synth") / "data", subjects=3, clips_per_subject=4, seed=0)


def _cfg(root, tmp_path, *extra):
    return load_config(None, [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", *TINY, *extra])


def _flushes_denormals() -> bool:
    return (torch.tensor([1e-40]) * 1.0).item() == 0.0


class _Epochs(list):
    """Whether denormals were flushed in each training epoch; with ``fail`` the first epoch raises."""

    fail = False


@pytest.fixture
def training_numerics(monkeypatch):
    seen, train_one_epoch = _Epochs(), fold_module.train_one_epoch

    def recording(*args, **kwargs):
        seen.append(_flushes_denormals())
        if seen.fail:
            raise RuntimeError("stopped in the test")
        return train_one_epoch(*args, **kwargs)

    monkeypatch.setattr(fold_module, "train_one_epoch", recording)
    return seen


class _FakeGlibc:
    """Records the malloc calls made on it (the process's own malloc is left alone)."""

    def __init__(self):
        self.calls = []

    def mallopt(self, param, value):
        self.calls.append(("mallopt", param, value))
        return 1

    def malloc_trim(self, pad):
        self.calls.append(("malloc_trim", pad))
        return 1


@pytest.mark.parametrize("fails", [False, True])
def test_a_run_sets_back_what_it_changed_in_the_process(synth_root, tmp_path, training_numerics, capfd, fails,
                                                        monkeypatch):
    libc = _FakeGlibc()
    monkeypatch.setattr(runtime, "_freed_memory_kept", False)  # as in a fresh process, whatever ran before
    monkeypatch.setattr(runtime, "_glibc", lambda: libc)
    torch.set_flush_denormal(False)
    torch.manual_seed(1234)
    rng, benchmark, numerics = torch.get_rng_state(), torch.backends.cudnn.benchmark, runtime.cpu_numerics_state()
    training_numerics.fail = fails
    if fails:
        with pytest.raises(RuntimeError, match="stopped in the test"):
            run_experiment(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False)
    else:
        run_experiment(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False)
    assert training_numerics and all(training_numerics)  # training itself flushed denormals, as the command does
    assert not _flushes_denormals()
    assert torch.equal(torch.get_rng_state(), rng)
    assert torch.backends.cudnn.benchmark == benchmark
    assert runtime.cpu_numerics_state() == numerics  # the malloc settings too
    kept, default = runtime._GLIBC_MMAP_THRESHOLD_MAX, runtime._GLIBC_DEFAULT_THRESHOLD
    mmap, trim = runtime._GLIBC_M_MMAP_THRESHOLD, runtime._GLIBC_M_TRIM_THRESHOLD
    run_calls, restore_calls = libc.calls[:-3], libc.calls[-3:]  # the run sets them (once a fold), then undoes
    assert run_calls and set(run_calls) == {("mallopt", mmap, kept), ("mallopt", trim, 2**31 - 1)}
    assert restore_calls == [("mallopt", mmap, default), ("mallopt", trim, default), ("malloc_trim", 0)]
    torch.set_flush_denormal(False)


@pytest.mark.parametrize("keep", [False, True])
def test_one_fold_from_python_sets_back_what_it_changed_unless_told_to_keep_it(synth_root, tmp_path, monkeypatch,
                                                                               training_numerics, keep):
    # run_fold (exported by mmnet.train) left denormals flushed, glibc's thresholds raised and the random state
    # seeded for the rest of the process: later callers (and tests) ran with them
    from mmnet.train import fold_tasks, prepare_run, run_fold

    monkeypatch.setattr(runtime, "_freed_memory_kept", False)  # as in a fresh process, whatever ran before
    monkeypatch.setattr(runtime, "_glibc", lambda: _FakeGlibc())
    torch.set_flush_denormal(False)
    torch.manual_seed(1234)
    rng, numerics = torch.get_rng_state(), runtime.cpu_numerics_state()
    task = fold_tasks(prepare_run(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False))[0]
    try:
        run_fold(task, progress=False, keep_process_settings=keep)
        assert training_numerics and all(training_numerics)  # the fold trained with them
        assert _flushes_denormals() is keep
        assert torch.equal(torch.get_rng_state(), rng) is not keep
        assert (runtime.cpu_numerics_state() == numerics) is not keep
    finally:
        torch.set_flush_denormal(False)


def test_a_command_called_from_python_sets_back_the_process_settings(tmp_path, monkeypatch, capsys):
    # main([...]) in a notebook or a test left denormals flushed and glibc's thresholds raised for good
    from mmnet.train import calibrate as cal_mod

    monkeypatch.setenv("MMNET_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(runtime, "_freed_memory_kept", False)  # as in a fresh process, whatever ran before
    monkeypatch.setattr(runtime, "_glibc", lambda: _FakeGlibc())
    during = []
    monkeypatch.setattr(cal_mod, "calibrate", lambda size, force: during.append(runtime.cpu_numerics_state()))
    torch.set_flush_denormal(False)
    try:
        assert main(["info", "--calibrate", "--image-size", "32"]) == 0
        assert during == [(True, True)]  # the command measured as training runs
        assert runtime.cpu_numerics_state() == (False, False)
    finally:
        torch.set_flush_denormal(False)


def test_progress_false_writes_nothing_and_the_command_still_does(synth_root, tmp_path, capfd):
    cfg = _cfg(synth_root, tmp_path)
    run_experiment(cfg, tmp_path / "run", progress=False)
    run_experiment(cfg, tmp_path / "run", progress=False)  # nothing left to train: the report is rebuilt
    assert capfd.readouterr().err == ""
    args = ["train", "--dataset", "casme2", "--root", str(synth_root), "--out", str(tmp_path / "cli"), "--no-progress",
            "--set", f"data.cache_dir={tmp_path / 'cache'}"] + [x for s in TINY for x in ("--set", s)]
    assert main(args) == 0
    assert "[fold 1/3] cli seed 0 fold casme2/01: 1 epoch in" in capfd.readouterr().err
    assert main(args) == 0
    assert "3/3 folds already finished; rebuilding the report" in capfd.readouterr().err


def test_restart_from_python_moves_the_earlier_run_aside(synth_root, tmp_path):
    run = tmp_path / "run"
    run_experiment(_cfg(synth_root, tmp_path), run, progress=False)
    changed = _cfg(synth_root, tmp_path, "train.lr=0.01")
    with pytest.raises(ConfigError, match=r"different configuration .* --restart \(restart=True from Python\)"):
        run_experiment(changed, run, progress=False)
    report = run_experiment(changed, run, progress=False, restart=True)
    assert report["complete"]
    [aside] = tmp_path.glob("run.old-*")
    assert (aside / "config.yaml").is_file()
    assert load_config(run / "config.yaml").train.lr == 0.01


def test_the_model_follows_the_data_image_size_in_a_config_built_in_python():
    cfg = ExperimentConfig(data=DataConfig(image_size=32))
    assert cfg.model.image_size == 32


def test_a_dataset_load_and_its_samples_show_briefly(synth_root):
    from mmnet.data import load_dataset

    load = load_dataset("casme2", synth_root)
    assert repr(load) == "DatasetLoad(casme2, 12 samples, 3 subjects, 0 issues)"
    sample = load.samples[0]
    assert "frames" not in repr(sample) and str(sample.frames[0][1]) not in repr(sample)
    assert repr(sample).startswith(f"Sample(dataset='casme2', subject='{sample.subject}', clip='{sample.clip}'")


def test_an_explanation_shows_its_prediction_not_its_pixels():
    import numpy as np

    from mmnet.infer.explain import Explanation

    face = np.zeros((64, 64, 3), np.uint8)
    shown = repr(Explanation(face, face, np.zeros((64, 64)), [np.zeros((64, 64))] * 4, "happiness",
                             {"happiness": 0.9, "other": 0.1}, source="clip"))
    assert "array" not in shown and "label='happiness'" in shown and len(shown) < 400  # a line of fields, not pixels


def test_a_learned_spotter_warns_through_the_mmnet_logger(tmp_path, capfd, caplog):
    from PIL import Image

    from mmnet.data.long_video import LongVideo
    from mmnet.spotting.config import spot_config
    from mmnet.spotting.learned import LearnedSpotter
    from mmnet.synth.long import LongConfig, plan_recording, render_frames

    config = LongConfig(frame_size=(140, 170), face_size=(140, 170), weights=(1.0, 0.0, 0.0), blinks_per_min=0.0)
    for n, frame in enumerate(render_frames(0, 1, 1, plan_recording(0, 1, 1, 60, config), config), start=1):
        if n not in (30, 31, 45):  # frames missing from the numbering: a note while collecting
            Image.fromarray(frame).save(tmp_path / f"img{n}.png")
    video = LongVideo("casme-sq", "s15", "15_0101", 30.0, tmp_path, (), ())
    with caplog.at_level(logging.WARNING, logger="mmnet"):
        LearnedSpotter(spot_config("casme2", ["face.mode=none", "learned.size=12"])).collect(video)
    assert capfd.readouterr().err == ""
    [record] = [r for r in caplog.records if r.name.startswith("mmnet.")]
    assert "3 frame(s) missing from the numbering" in record.getMessage()
    assert not record.getMessage().lower().startswith("warning")  # the level is the record's, not in its message


def test_a_command_shows_an_mmnet_warning_with_its_level(monkeypatch, capsys):
    import mmnet.cli as cli_module

    def command(argv):
        logging.getLogger("mmnet.spotting").warning("%s", "clip: 3 frame(s) missing from the numbering")
        return 0

    monkeypatch.setattr(logging.root, "handlers", [])  # no logging set up, as in the command's own process
    monkeypatch.setattr(cli_module, "_run_command", command)
    assert main(["spot"]) == 0
    assert capsys.readouterr().err == "warning: clip: 3 frame(s) missing from the numbering\n"
    logging.getLogger("mmnet.spotting").warning("after the command")  # Python's own last resort again
    assert capsys.readouterr().err == "after the command\n"


def test_read_predictions_keeps_subjects_as_text_to_join_with_the_samples(synth_root, tmp_path):
    from mmnet.data import load_dataset
    from mmnet.report import RunFolderError, read_predictions

    with pytest.raises(RunFolderError, match="build the run's report first"):
        read_predictions(tmp_path / "run")
    run_experiment(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False)
    predictions = read_predictions(tmp_path / "run")
    subjects = {s.sample_id: s.subject for s in load_dataset("casme2", synth_root).samples}
    assert set(predictions["subject"]) == {"01", "02", "03"}
    assert [subjects[i] for i in predictions["sample_id"]] == list(predictions["subject"])
    assert predictions["true"].dtype.kind == "i" and predictions["prob_0"].dtype.kind == "f"


def test_a_sweep_from_python_is_silent_and_sets_the_process_back(synth_root, tmp_path, capfd, training_numerics):
    # run_sweep kept the process settings of training (denormals flushed) and wrote a line per fold with
    # progress=False, as run_experiment did before it set them back
    import yaml

    from mmnet.train.sweep import load_sweep, run_sweep

    sweep_file = tmp_path / "s.yaml"
    sweep_file.write_text(yaml.safe_dump({"seeds": 1, "settings": {"a": {}, "b": {"train.lr": 0.001}}}))
    sweep = load_sweep(sweep_file, [f"data.root={synth_root}", f"data.cache_dir={tmp_path / 'cache'}", *TINY])
    torch.set_flush_denormal(False)
    rows = run_sweep(sweep, tmp_path / "sweep", progress=False)
    assert [r["setting"] for r in rows] == ["a", "b"]
    assert training_numerics and all(training_numerics)  # training flushed them, as the command does
    assert not _flushes_denormals()
    assert capfd.readouterr().err == ""
    torch.set_flush_denormal(False)
