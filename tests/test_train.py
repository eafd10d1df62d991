"""End-to-end LOSO on tiny synthetic data: run folder, resume after SIGKILL, bad input."""

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from mmnet.cli import main
from mmnet.config import load_config
from mmnet.errors import DataError
from mmnet.report.verdict import chance_lines, chance_verdict
from mmnet.train import run_experiment

TINY = ["train.epochs=2", "data.image_size=32", "model.image_size=32", "train.batch_size=4"]


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    from mmnet import synth

    return synth.write_dataset(tmp_path_factory.mktemp("synth") / "data", subjects=3, clips_per_subject=4, seed=0)


def _cfg(root, tmp_path, *extra):
    return load_config(None, [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", *TINY, *extra])


def _read(path: Path) -> str:
    return path.read_text()


@pytest.mark.slow
def test_run_folder_is_complete(synth_root, tmp_path):
    report = run_experiment(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False)
    run = tmp_path / "run"
    for name in ("config.yaml", "env.json", "samples.csv", "report.md", "report.json", "megc_log.txt",
                 "confusion_matrix.png", "learning_curves.png"):
        assert (run / name).exists(), name
    folds = sorted(p.name for p in (run / "seed-0").iterdir())
    assert folds == ["fold-casme2_01", "fold-casme2_02", "fold-casme2_03"]
    env = json.loads(_read(run / "env.json"))
    assert env["dataset_fingerprint"] and env["torch_version"]
    cfg = yaml.safe_load(_read(run / "config.yaml"))
    assert cfg["data"]["classes"] == ["happiness", "repression", "disgust", "surprise", "others"]
    # every sample tested exactly once per epoch
    lines = _read(run / "samples.csv").strip().splitlines()[1:]
    tested = []
    for fold in folds:
        preds = _read(run / "seed-0" / fold / "predictions.csv").strip().splitlines()[1:]
        tested += [row.split(",")[1] for row in preds if row.startswith("2,")]
    assert sorted(tested) == sorted(line.split(",")[0] for line in lines)
    assert report is not None
    # the same command again does nothing new and gives the same report
    before = _read(run / "report.json")
    run_experiment(_cfg(synth_root, tmp_path), run, progress=False)
    assert _read(run / "report.json") == before


@pytest.mark.slow
def test_cache_is_reused_and_invalidated(synth_root, tmp_path):
    run_experiment(_cfg(synth_root, tmp_path, "train.epochs=1"), tmp_path / "a", progress=False)
    caches = sorted((tmp_path / "cache").glob("frames-*.npy"))
    run_experiment(_cfg(synth_root, tmp_path, "train.epochs=1"), tmp_path / "b", progress=False)
    assert sorted((tmp_path / "cache").glob("frames-*.npy")) == caches
    run_experiment(_cfg(synth_root, tmp_path, "train.epochs=1", "data.image_size=48", "model.image_size=48"),
                   tmp_path / "c", progress=False)
    assert len(list((tmp_path / "cache").glob("frames-*.npy"))) == len(caches) + 1


def test_changed_config_into_same_folder_is_refused(synth_root, tmp_path, capsys):
    args = ["train", "--dataset", "casme2", "--root", str(synth_root), "--out", str(tmp_path / "r"), "--no-progress",
            "--set", f"data.cache_dir={tmp_path / 'cache'}"] + [x for s in TINY for x in ("--set", s)]
    assert main(args + ["--set", "train.epochs=1"]) == 0
    assert main(args + ["--set", "train.epochs=3"]) == 3
    assert "different configuration" in capsys.readouterr().err


def test_scoring_and_the_same_device_resume_a_finished_run(synth_root, tmp_path, capsys):
    # --selection paper (how the recorded predictions are scored) and --device cpu (what auto picks on this machine)
    # were refused as another experiment, pointing to --restart (retraining)
    import torch

    here = "cuda" if torch.cuda.is_available() else "cpu"
    args = ["train", "--dataset", "casme2", "--root", str(synth_root), "--out", str(tmp_path / "r"), "--no-progress",
            "--set", f"data.cache_dir={tmp_path / 'cache'}", "--set", "train.epochs=1", "--json"]
    args += [x for s in TINY[1:] for x in ("--set", s)]
    assert main(args) == 0
    done = tmp_path / "r" / "seed-0" / "fold-casme2_01" / "done.json"
    stamp = done.stat().st_mtime_ns
    capsys.readouterr()
    assert main(args + ["--selection", "paper", "--device", here]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["selection"] == "paper" and done.stat().st_mtime_ns == stamp  # re-scored, not retrained
    assert yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())["eval"]["selection"] == "paper"


def test_saved_models_are_named_after_the_report(synth_root, tmp_path, capsys):
    args = ["train", "--dataset", "casme2", "--root", str(synth_root), "--no-progress",
            "--set", f"data.cache_dir={tmp_path / 'cache'}"] + [x for s in TINY for x in ("--set", s)]
    out = tmp_path / "mes données" / "run Søren"  # the printed command still pastes as one path
    assert main(args + ["--out", str(out), "--set", "train.epochs=1", "--set", "train.save_models=true"]) == 0
    printed = capsys.readouterr().out
    # the chance and verdict lines after the scores, as mmnet demo prints them and report.md says (they were missing)
    report = json.loads((out / "report.json").read_text())
    lines = printed.splitlines()
    chance = next(k for k, line in enumerate(lines) if line.startswith("chance: "))
    assert lines[chance:chance + 2] == chance_lines(report) and lines[chance + 1].startswith("verdict: ")
    assert lines[chance].endswith("data.permute_labels=true); the scores are on synthetic faces")  # synth.json's
    assert lines[chance + 1] == f"verdict: {chance_verdict(report)}" and lines[chance + 2].startswith("report: ")
    first = out / "seed-0" / "fold-casme2_01" / "model"
    assert (first / "model.safetensors").is_file()
    assert f"models: {out}/seed-*/fold-*/model" in printed
    example = printed[printed.index("e.g. mmnet predict"):].splitlines()[0]
    assert shlex.split(example) == ["e.g.", "mmnet", "predict", "--checkpoint", str(first), "CLIP"]


@pytest.mark.slow
def test_resume_after_sigkill_equals_uninterrupted(synth_root, tmp_path):
    cmd = [sys.executable, "-m", "mmnet", "train", "--dataset", "casme2", "--root", str(synth_root), "--no-progress",
           "--set", f"data.cache_dir={tmp_path / 'cache'}", "--set", "train.epochs=3", "--set", "data.image_size=32",
           "--set", "model.image_size=32", "--set", "train.batch_size=4", "--set", "train.state_every_s=0"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(cmd + ["--out", str(tmp_path / "full")], check=True, env=env, capture_output=True)

    out = tmp_path / "killed"
    kills = 0
    # Kill twice: once inside the first fold (after its first epoch checkpoint), once in a later fold.
    for marker in (out / "seed-0" / "fold-casme2_01" / "state.pt", out / "seed-0" / "fold-casme2_02" / "history.csv"):
        proc = subprocess.Popen(cmd + ["--out", str(out)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.time() + 300
        while not marker.exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
    assert kills >= 1
    subprocess.run(cmd + ["--out", str(out)], check=True, env=env, capture_output=True)
    for fold in ("fold-casme2_01", "fold-casme2_02", "fold-casme2_03"):
        for name in ("predictions.csv",):
            assert _read(out / "seed-0" / fold / name) == _read(tmp_path / "full" / "seed-0" / fold / name), fold
        assert not (out / "seed-0" / fold / "state.pt").exists()
    # The reports are equal but for wall-clock timings and the folder's name (also in the Reproduce command).
    full = _without_timings(json.loads(_read(tmp_path / "full" / "report.json")))
    resumed = _without_timings(json.loads(_read(out / "report.json")))
    assert full == resumed


def _without_timings(obj):
    if isinstance(obj, dict):
        # "reproduce" names the run folder in its command, as "run" does
        return {k: _without_timings(v) for k, v in obj.items()
                if k not in ("seconds", "started_at", "run", "reproduce", "wall_time")}
    if isinstance(obj, list):
        return [_without_timings(v) for v in obj]
    return obj


# -- bad input --------------------------------------------------------------------------------

@pytest.fixture
def broken_root(tmp_path):
    from mmnet import synth

    return synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=3, seed=1)


def _first_clip(root: Path) -> Path:
    return sorted((root / "Cropped" / "sub01").iterdir())[0]


@pytest.mark.slow
def test_missing_apex_frame_names_the_sample(broken_root, tmp_path):
    from mmnet.data import load_dataset

    samples = load_dataset("casme2", broken_root).samples
    # a sample whose class has another sample: skipping a class's only sample stops training (its own test)
    sample = next(s for s in samples if s.subject == "01" and sum(t.label == s.label for t in samples) > 1)
    sample.frame_path(sample.apex).unlink()
    with pytest.raises(DataError, match=f"{sample.sample_id}.*apex frame {sample.apex} is not on disk"):
        run_experiment(_cfg(broken_root, tmp_path), tmp_path / "run", progress=False)
    # with the explicit option the sample is skipped and listed
    run_experiment(_cfg(broken_root, tmp_path, "data.on_bad_sample=skip", "train.epochs=1"), tmp_path / "skip",
                   progress=False)
    assert sample.sample_id in _read(tmp_path / "skip" / "skipped.csv")
    assert sample.sample_id not in _read(tmp_path / "skip" / "samples.csv")
    # or clamped to the nearest frame, and the substitution recorded
    run_experiment(_cfg(broken_root, tmp_path, "data.on_bad_sample=nearest", "train.epochs=1"), tmp_path / "near",
                   progress=False)
    assert sample.sample_id in _read(tmp_path / "near" / "frame_notes.csv")


@pytest.mark.slow
def test_unreadable_frame_names_the_sample(broken_root, tmp_path):
    from mmnet.data import load_dataset

    sample = next(s for s in load_dataset("casme2", broken_root).samples if s.subject == "02")
    sample.frame_path(sample.onset).write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match=sample.sample_id):
        run_experiment(_cfg(broken_root, tmp_path), tmp_path / "run", progress=False)
    assert not list((tmp_path / "cache").glob("frames-*.npy")), "no partial cache may be left"
    run_experiment(_cfg(broken_root, tmp_path, "data.on_bad_sample=skip", "train.epochs=1"), tmp_path / "skip",
                   progress=False)
    assert sample.sample_id in _read(tmp_path / "skip" / "skipped.csv")


def test_missing_root_is_a_clear_cli_error(tmp_path, capsys):
    code = main(["train", "--dataset", "casme2", "--root", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r")])
    assert code == 3
    err = capsys.readouterr().err
    assert "nowhere" in err and "Traceback" not in err


@pytest.mark.slow
def test_optical_flow_main_input(synth_root, tmp_path):
    pytest.importorskip("cv2")
    report = run_experiment(_cfg(synth_root, tmp_path, "model.main_input=flow", "data.flow_method=dis",
                                 "train.epochs=1", "data.image_size=64", "model.image_size=64"),
                            tmp_path / "flow", progress=False)
    assert report is not None
    assert list((tmp_path / "cache").glob("flows-*-dis.npy"))


def test_memory_format_follows_device_and_precision(monkeypatch):
    import torch

    from mmnet.runtime import resolve_memory_format

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    # fp32 on an AVX2 CPU: NCHW (oneDNN's channels_last backward is slower there); on AVX-512, bf16
    # and CUDA: channels_last.
    for capability, expected in (("AVX2", torch.contiguous_format), ("AVX512", torch.channels_last)):
        monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda c=capability: c)
        assert resolve_memory_format("auto", cpu, "fp32") == expected
        assert resolve_memory_format("auto", cuda, "fp32") == torch.channels_last
    assert resolve_memory_format("auto", cpu, "bf16") == torch.channels_last
    assert resolve_memory_format("auto", cuda, "fp32") == torch.channels_last
    assert resolve_memory_format("channels_last", cpu, "fp32") == torch.channels_last
    assert resolve_memory_format("contiguous", cuda, "bf16") == torch.contiguous_format


@pytest.mark.slow
def test_training_results_do_not_depend_on_memory_format(tmp_path):
    """Layout is a speed setting only: both layouts give the same predictions on CPU."""
    import numpy as np
    import torch

    from mmnet.config import AugmentConfig
    from mmnet.data.batches import DeviceFrames
    from mmnet.data.cache import CachedFrames
    from mmnet.model import MMNet
    from mmnet.train.loop import evaluate, train_one_epoch

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (8 * 2, 48, 48, 3), dtype=np.uint8)
    base = np.arange(8) * 2
    cache = CachedFrames(frames, np.stack([base, base + 1], 1), np.stack([base + 1, base + 2], 1), base, base + 1,
                         tmp_path / "memory")
    data = DeviceFrames(cache, [i % 3 for i in range(8)])
    idx = torch.arange(8)
    probs = {}
    for fmt in (torch.channels_last, torch.contiguous_format):
        torch.manual_seed(0)
        model = MMNet(num_classes=3, image_size=48).to(memory_format=fmt)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        gen = torch.Generator().manual_seed(1)
        train_one_epoch(model, data, idx, opt, batch_size=4, augment=AugmentConfig(), generator=gen,
                        precision="fp32", memory_format=fmt)
        probs[fmt], _ = evaluate(model, data, idx, precision="fp32", memory_format=fmt)
    assert torch.allclose(probs[torch.channels_last], probs[torch.contiguous_format], atol=1e-4)


def test_dataset_name_is_checked_before_anything_is_read(tmp_path):
    from mmnet.config import load_config
    from mmnet.errors import ConfigError, DatasetNotFoundError
    from mmnet.train import prepare_run

    with pytest.raises(ConfigError, match="Unknown data.dataset 'casme'"):
        prepare_run(load_config(None, ["data.dataset=casme", f"data.root={tmp_path}"]), tmp_path / "run")
    # a long-video dataset is spot then recognise (tests/test_spot_recognise.py): its files are read first
    with pytest.raises(DatasetNotFoundError, match="SAMM"):
        prepare_run(load_config(None, ["data.dataset=samm-long", f"data.root={tmp_path}"]), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_resume_state_keeps_the_cuda_random_state_on_cuda(monkeypatch):
    # On CUDA the stochastic depth masks come from the device's default generator: a resume must restore it.
    import torch

    from mmnet.train import fold

    cuda_state = torch.arange(16, dtype=torch.uint8)
    restored = []
    monkeypatch.setattr(torch.cuda, "get_rng_state", lambda device="cuda": cuda_state.clone())
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda state, device="cuda": restored.append((state, device)))
    cuda = torch.device("cuda")
    saved = fold._global_rng(cuda)
    assert torch.equal(saved["cuda_rng"], cuda_state) and "cuda_rng" not in fold._global_rng(torch.device("cpu"))
    fold._set_global_rng(saved, cuda)
    assert len(restored) == 1 and torch.equal(restored[0][0], cuda_state) and restored[0][1] == cuda
    fold._set_global_rng({"torch_rng": saved["torch_rng"]}, cuda)  # a state without it (written on the CPU)
    assert len(restored) == 1


def _trained_copy(synth_root, tmp_path):
    """A copy of the synthetic set (to change or move) and a run of one epoch trained on it."""
    import shutil

    root, run = tmp_path / "data", tmp_path / "run"
    shutil.copytree(synth_root, root)
    run_experiment(_cfg(root, tmp_path, "train.epochs=1"), run, progress=False)
    return root, run


@pytest.mark.slow
def test_a_moved_dataset_resumes_without_retraining_finished_folds(synth_root, tmp_path):
    """The same frames in another folder (a cluster's mount, a copy without file times) are the same data."""
    import shutil

    root, run = _trained_copy(synth_root, tmp_path)
    (run / "seed-0" / "fold-casme2_03" / "done.json").unlink()  # as an interrupted run
    finished = run / "seed-0" / "fold-casme2_01" / "done.json"
    stamp = finished.stat().st_mtime_ns
    moved = tmp_path / "elsewhere" / "CASME II"
    shutil.copytree(root, moved)  # new paths and file times, the same pixels
    shutil.rmtree(root)
    report = run_experiment(_cfg(moved, tmp_path, "train.epochs=1"), run, progress=False)
    assert report["complete"] and (run / "seed-0" / "fold-casme2_03" / "done.json").exists()
    assert finished.stat().st_mtime_ns == stamp  # not trained again
    assert yaml.safe_load((run / "config.yaml").read_text())["data"]["root"] == str(moved)


@pytest.mark.slow
def test_resuming_on_changed_data_is_refused(synth_root, tmp_path):
    """Folds trained on the old frames or labels must not be pooled with folds trained on new ones."""

    from mmnet import run_folder as rf
    from mmnet.errors import ConfigError

    root, run = _trained_copy(synth_root, tmp_path)
    frames = sorted(root.glob("Cropped/sub01/*/*.jpg"))
    os.utime(frames[0], ns=(frames[0].stat().st_atime_ns, frames[0].stat().st_mtime_ns + 10**9))  # copied anew
    (run / "seed-0" / "fold-casme2_03" / "done.json").unlink()  # as an interrupted run
    assert run_experiment(_cfg(root, tmp_path, "train.epochs=1"), run, progress=False)["complete"]  # same pixels
    (run / "seed-0" / "fold-casme2_03" / "done.json").unlink()
    frames[0].write_bytes(frames[-1].read_bytes())  # a re-crop: other pixels
    with pytest.raises(ConfigError, match=r"trained on other data: the frames differ .* Use --restart "
                                          r"\(restart=True from Python"):
        run_experiment(_cfg(root, tmp_path, "train.epochs=1"), run, progress=False)
    assert not (run / "seed-0" / "fold-casme2_03" / "done.json").exists()  # nothing retrained
    # samples.csv: labels edited, samples added or gone
    rows = [[r["sample_id"], r["dataset"], r["subject"], r["clip"], r["label"], r["class_index"]]
            for r in __import__("csv").DictReader((run / "samples.csv").open())]
    env = json.loads((run / "env.json").read_text())
    fingerprint = env["dataset_fingerprint"]
    assert rf.data_changes(run, fingerprint, rows) == []
    assert rf.data_changes(run, "moved", rows, env["frames_digest"]) == []  # located elsewhere, same frames
    edited = next(i for i, r in enumerate(rows) if r[4] != "happiness")
    gone = next(i for i in range(len(rows)) if i != edited)
    changed = [r[:4] + ["happiness", "0"] if i == edited else r for i, r in enumerate(rows) if i != gone]
    changed.append(["casme2/09/EP01", "casme2", "09", "EP01", "others", "4"])
    assert rf.data_changes(run, fingerprint, changed) == [
        "1 samples added (e.g. casme2/09/EP01)", f"1 samples gone (e.g. {rows[gone][0]})",
        f"1 samples relabelled (e.g. {rows[edited][0]})"]


def test_a_failing_fold_stops_the_local_run_naming_it_and_the_finished_folds_are_reported(synth_root, tmp_path,
                                                                                           monkeypatch):
    from mmnet.train import executors

    real, calls = executors.run_fold, []

    def second_fails(task, **kw):
        calls.append(task.fold)
        if len(calls) == 2:
            raise DataError(f"'{tmp_path}/cache/frames.npy' is damaged")  # a message that names a file only
        return real(task, **kw)

    monkeypatch.setattr(executors, "run_fold", second_fails)
    out = tmp_path / "run"
    with pytest.raises(DataError) as info:
        run_experiment(_cfg(synth_root, tmp_path, "train.epochs=1"), out, progress=False)
    message = str(info.value)
    assert f"run seed 0 fold {calls[1]}: '{tmp_path}/cache/frames.npy' is damaged" in message
    assert "stops at the first failing fold (1 other fold(s) not run)" in message and len(calls) == 2
    assert f"`mmnet report {out}`" in message  # the finished fold's report was written: PARTIAL
    assert "PARTIAL" in (out / "report.md").read_text()
    assert json.loads((out / "report.json").read_text())["complete"] is False


def test_a_fold_start_clears_stale_temporaries_and_a_finished_fold_is_not_trained_again(synth_root, tmp_path,
                                                                                         monkeypatch):
    from mmnet.train import fold, fold_tasks, prepare_run
    from mmnet.train.fold import run_fold

    task = fold_tasks(prepare_run(_cfg(synth_root, tmp_path, "train.epochs=1"), tmp_path / "run", progress=False))[0]
    task.fold_dir.mkdir(parents=True)
    stale = task.fold_dir / ".state.pt.0123456789ab.tmp"  # what a SIGKILL during an atomic write leaves
    stale.write_bytes(b"half")
    os.utime(stale, (time.time() - 60, time.time() - 60))
    others = [task.fold_dir / "notes.tmp", task.fold_dir / ".state.pt.later.tmp"]  # not atomic-write temporaries
    for path in others:
        path.write_text("kept")
    done = run_fold(task, progress=False)
    assert not stale.exists() and all(p.exists() for p in others)

    monkeypatch.setattr(fold, "train_one_epoch", lambda *a, **k: pytest.fail("a finished fold was trained again"))
    assert run_fold(task, progress=False) == done == json.loads((task.fold_dir / "done.json").read_text())


@pytest.mark.slow
def test_seeds_may_be_added_to_a_run_not_removed(synth_root, tmp_path):
    from mmnet.errors import ConfigError

    out = tmp_path / "run"
    run_experiment(_cfg(synth_root, tmp_path, "train.epochs=1", "seeds=1"), out, progress=False)
    started = json.loads((out / "env.json").read_text())["started_at"]
    first = {p: p.read_text() for p in out.glob("seed-0/fold-*/predictions.csv")}
    report = run_experiment(_cfg(synth_root, tmp_path, "train.epochs=1", "seeds=2"), out, progress=False)
    assert report["complete"] and report["headline"]["n_seeds"] == 2
    assert {p: p.read_text() for p in out.glob("seed-0/fold-*/predictions.csv")} == first  # seed 0 kept
    assert yaml.safe_load((out / "config.yaml").read_text())["seeds"] == [0, 1]
    assert json.loads((out / "env.json").read_text())["started_at"] == started  # the first start's record
    with pytest.raises(ConfigError, match=r"seeds: \[0, 1\] -> \[0\] \(seeds may be added to a run, not removed: "
                                          r"to resume it, give its seeds \(--set 'seeds=\[0, 1\]'"):
        run_experiment(_cfg(synth_root, tmp_path, "train.epochs=1", "seeds=1"), out, progress=False)


def test_env_follows_the_data_until_a_fold_has_trained(synth_root, tmp_path):
    """Before any epoch finished, another data folder is the run's data: its digest is recorded (else the first
    resume after training would be refused as trained on other data)."""
    import shutil

    from mmnet.train import prepare_run
    from mmnet.train.resume_rules import resume_changes

    first, second = tmp_path / "a", tmp_path / "b"
    shutil.copytree(synth_root, first)
    shutil.copytree(synth_root, second)
    frames = sorted(second.glob("Cropped/sub01/*/*.jpg"))
    frames[0].write_bytes(frames[-1].read_bytes())
    run = tmp_path / "run"
    prepare_run(_cfg(first, tmp_path), run, progress=False)
    digest = json.loads((run / "env.json").read_text())["frames_digest"]
    prepare_run(_cfg(second, tmp_path), run, progress=False)
    assert json.loads((run / "env.json").read_text())["frames_digest"] not in ("", digest)
    # a run whose config.yaml lists seeds [0] (train.seed: 5 did not choose them before) says how to resume it
    (change,) = resume_changes({"seeds": [0], "train": {"seed": 5}}, {"seeds": [5], "train": {"seed": 5}})
    assert "seeds may be added to a run, not removed" in change and "--set 'seeds=[0]'" in change


def test_a_run_without_a_frames_digest_is_compared_by_paths_and_says_so(tmp_path):
    from mmnet import run_folder as rf

    (tmp_path / "env.json").write_text(json.dumps({"dataset_fingerprint": "old-path"}))  # an earlier mmnet's run
    (change,) = rf.data_changes(tmp_path, "new-path", [], "pixels")
    assert "frame files differ" in change and "no frames digest" in change and "a moved copy differs" in change


def test_config_changes_write_values_as_the_config_does():
    # "(train.save_models: False -> True)" where the config and --set say true/false
    from mmnet.train.resume_rules import config_changes

    changes = config_changes({"train": {"save_models": False, "device": "auto", "lr": 0.001, "x": None}, "seeds": [0]},
                             {"train": {"save_models": True, "device": "cpu", "lr": 0.0005, "x": 1}, "seeds": [0, 1]})
    assert changes == ["train.save_models: false -> true", "train.device: auto -> cpu", "train.lr: 0.001 -> 0.0005",
                       "train.x: null -> 1", "seeds: [0] -> [0, 1]"]


@pytest.mark.slow
def test_relabelled_data_keep_the_frames_digest_and_change_the_labels_digest(synth_root, tmp_path):
    """The frames digest hashes pixels and windows only: a run on the same frames with one label changed had the
    same digest, and nothing in env.json or report.md told the two annotations apart."""
    import shutil

    from openpyxl import load_workbook

    root, run = _trained_copy(synth_root, tmp_path)
    relabelled, other_run = tmp_path / "data2", tmp_path / "run2"
    shutil.copytree(root, relabelled)
    (coding,) = relabelled.glob("CASME2-coding-*.xlsx")
    book = load_workbook(coding)
    sheet = book.active
    emotion = [c.value for c in sheet[1]].index("Estimated Emotion") + 1
    sheet.cell(row=2, column=emotion).value = "others" if sheet.cell(row=2, column=emotion).value != "others" \
        else "happiness"
    book.save(coding)
    run_experiment(_cfg(relabelled, tmp_path, "train.epochs=1"), other_run, progress=False)
    first, second = (json.loads((r / "env.json").read_text()) for r in (run, other_run))
    assert first["frames_digest"] == second["frames_digest"]
    assert first["labels_digest"] != second["labels_digest"] and len(first["labels_digest"]) == 20
    assert list(first["annotation_sha256"]) == [coding.name]
    assert first["annotation_sha256"][coding.name] != second["annotation_sha256"][coding.name]
    md = (run / "report.md").read_text()
    assert f"- Labels digest: {first['labels_digest']} (" in md
    assert f"- Annotation files (sha256): {coding.name} {first['annotation_sha256'][coding.name]}" in md
    assert "frames digest and labels digest are this one's" in md
    # the set is mmnet's synthetic one: its settings travel with the run, and the command that writes it again
    written = json.loads((synth_root / "synth.json").read_text())
    assert first["synthetic_data"] == {k: v for k, v in written.items() if k != "written"}
    assert first["synthetic_command"] == "mmnet synth DATA --subjects 3 --clips-per-subject 4 --seed 0 " \
                                         "--amplitude 0.5 3"
    assert f"`{first['synthetic_command']}` writes it again" in md
    # the relabelled copy is no longer what synth wrote: no command, and both report.md's banner and note say so
    assert "synthetic_command" not in second and coding.name in second["synthetic_modified"]
    assert "modified after `mmnet synth` wrote it" in (other_run / "report.md").read_text()
    # the config's frame cache is a folder of this machine: the Reproduce line says to set it elsewhere
    assert f"--set data.cache_dir=PATH (this run's frame cache, {tmp_path / 'cache'}, is a folder" in md
