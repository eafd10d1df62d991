"""The Ray executor on a real local Ray instance: same numbers as the local loop, a killed worker's fold
is retried and resumes, finished folds are not redone, clear errors. One Ray instance per module."""

import copy
import sys
from pathlib import Path

import pytest
import torch
import yaml

from mmnet.config import ExecutorConfig, load_config
from mmnet.errors import ConfigError, ExecutorError
from mmnet.train import fold_tasks, prepare_run, run_experiment, run_tasks
from mmnet.train.ray_executor import CRASH_ENV

RAY = ExecutorConfig(executor="ray")

# CPU, fp32, one torch thread on both sides: the Ray run must equal the local one bit for bit.
# state_every_s=0: a resume state after every epoch, which the tests wait for before they kill or preempt a fold
TINY = ["train.epochs=2", "data.image_size=32", "model.image_size=32", "train.batch_size=4",
        "train.precision=fp32", "train.device=cpu", "train.state_every_s=0"]


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")  # the Ray tests need the extra; the rest of this file does not
    # Loopback only: the test cluster must not listen on or talk to any other address.
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    from mmnet import synth

    return synth.write_dataset(tmp_path_factory.mktemp("synth") / "data", subjects=2, clips_per_subject=3, seed=0)


@pytest.fixture(scope="module")
def local_run(synth_root, tmp_path_factory):
    """The reference: the same experiment with the local executor."""
    tmp = tmp_path_factory.mktemp("local")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        report = run_experiment(_cfg(synth_root, tmp), tmp / "run", progress=False)
    finally:
        torch.set_num_threads(threads)
    return tmp / "run", report


def _cfg(root, tmp, *extra):
    return load_config(None, [f"data.root={root}", f"data.cache_dir={tmp / 'cache'}", *TINY, *extra])


def _fold_files(run: Path, name: str) -> dict[str, str]:
    return {str(p.relative_to(run)): p.read_text() for p in sorted(run.glob(f"seed-*/fold-*/{name}"))}


@pytest.mark.slow
def test_ray_equals_local_and_survives_a_killed_worker(ray_local, synth_root, local_run, tmp_path, monkeypatch):
    marker = tmp_path / "worker-killed"
    monkeypatch.setenv(CRASH_ENV, str(marker))  # the first fold to checkpoint epoch 1 kills its worker once
    out = tmp_path / "run"
    report = run_experiment(_cfg(synth_root, tmp_path), out, progress=False, executor=RAY)

    assert marker.exists(), "no worker was killed: the retry path was not exercised"
    reference, ref_report = local_run
    expected = _fold_files(reference, "predictions.csv")
    assert len(expected) == 2
    assert _fold_files(out, "predictions.csv") == expected  # every fold, every epoch, every probability
    assert sorted(_fold_files(out, "done.json")) == sorted(_fold_files(reference, "done.json"))
    assert not list(out.glob("seed-*/fold-*/state.pt"))  # the retried fold finished and cleaned up
    assert report["headline"]["per_seed"] == ref_report["headline"]["per_seed"]
    assert report["complete"]


@pytest.mark.slow
def test_finished_folds_are_not_resubmitted_and_shared_fs_transport(ray_local, synth_root, local_run, tmp_path,
                                                                     monkeypatch):
    cfg = _cfg(synth_root, tmp_path)
    run = prepare_run(cfg, tmp_path / "run", progress=False)
    tasks = fold_tasks(run)
    shared_fs = ExecutorConfig(executor="ray", transport="shared-fs")
    first = run_tasks(tasks[:1], shared_fs, progress=False)
    assert first[0]["fold"] == tasks[0].fold
    assert [t.fold for t in fold_tasks(run)] == [t.fold for t in tasks[1:]]  # the finished fold is left out
    submitted = []
    real = run_tasks

    def spy(tasks, options, **kw):
        submitted.extend(t.fold for t in tasks)
        return real(tasks, options, **kw)

    monkeypatch.setattr("mmnet.train.executors.run_tasks", spy)
    report = run_experiment(cfg, tmp_path / "run", progress=False, executor=shared_fs)
    assert submitted == [t.fold for t in tasks[1:]]
    assert _fold_files(tmp_path / "run", "predictions.csv") == _fold_files(local_run[0], "predictions.csv")
    assert report["complete"]


def test_fold_that_no_node_can_run_is_refused(ray_local, synth_root, tmp_path):
    run = prepare_run(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False)
    with pytest.raises(ExecutorError, match="No Ray node can run a fold"):
        run_tasks(fold_tasks(run), ExecutorConfig(executor="ray", cpus_per_fold=64), progress=False)
    with pytest.raises(ExecutorError, match="No Ray node can run a fold"):
        run_tasks(fold_tasks(run), ExecutorConfig(executor="ray", gpus_per_fold=1), progress=False)  # CI: no GPU


def test_failing_fold_is_reported_and_others_finish(ray_local, synth_root, tmp_path, capsys):
    run = prepare_run(_cfg(synth_root, tmp_path, "train.epochs=1"), tmp_path / "run", progress=False)
    tasks = fold_tasks(run)
    tasks[0].config = copy.deepcopy(tasks[0].config)
    tasks[0].config.model.num_classes = 1  # a deterministic error on the worker: reported, not retried
    with pytest.raises(ExecutorError, match=r"1 of 2 fold\(s\) failed") as info:
        run_tasks(tasks, RAY, progress=False)
    assert "model.num_classes must be an integer >= 2" in str(info.value)  # the worker's own message comes through
    assert "rerun the same command" in str(info.value)
    assert (tasks[1].fold_dir / "done.json").exists()
    # one lasting line per fold on stderr, also without progress bars: k/N, epochs, time, test score
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("[fold ")]
    assert sorted(x[:10] for x in lines) == ["[fold 1/2]", "[fold 2/2]"]
    assert any(f"FAILED {tasks[0].label}" in x for x in lines)
    assert any(f"{tasks[1].label}: 1 epoch in " in x and "test acc" in x for x in lines)


def test_options_are_checked_before_ray_is_needed(synth_root, tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="Unknown executor"):
        ExecutorConfig(executor="dask")
    with pytest.raises(ConfigError, match="Unknown transport"):
        ExecutorConfig(executor="ray", transport="nfs")
    with pytest.raises(ConfigError, match="cpus-per-fold"):
        ExecutorConfig(executor="ray", cpus_per_fold=0)
    with pytest.raises(ConfigError, match="--address only applies with --executor ray"):
        ExecutorConfig(address="auto")
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    with pytest.raises(ExecutorError, match=r'pip install -e "\.\[ray\]"'):
        run_tasks([], RAY)


def test_device_rules_under_ray(synth_root, tmp_path):
    from mmnet.train.ray_executor import _fold_device

    run = prepare_run(_cfg(synth_root, tmp_path), tmp_path / "run", progress=False)
    task = fold_tasks(run)[0]
    task.config = copy.deepcopy(task.config)
    task.config.train.device = "cuda:1"
    with pytest.raises(ConfigError, match="Ray assigns each fold its GPU"):
        _fold_device(task, 1.0)
    task.config.train.device = "cuda"
    with pytest.raises(ConfigError, match="--gpus-per-fold"):
        _fold_device(task, 0.0)
    task.config.train.device = "auto"
    assert _fold_device(task, 0.0) == "cpu" and _fold_device(task, 0.5) is None


@pytest.mark.slow
def test_cli_train_and_sweep_on_ray(ray_local, synth_root, local_run, tmp_path, capsys):
    from mmnet.cli import main

    sets = [f"data.cache_dir={tmp_path / 'cache'}", *TINY]
    train = ["train", "--dataset", "casme2", "--root", str(synth_root), "--out", str(tmp_path / "train"),
             "--no-progress", "--executor", "ray", "--cpus-per-fold", "1"] + [x for s in sets for x in ("--set", s)]
    assert main(train) == 0
    expected = _fold_files(local_run[0], "predictions.csv")
    assert _fold_files(tmp_path / "train", "predictions.csv") == expected

    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text(yaml.safe_dump({"set": sets, "seeds": 1,
                                          "settings": {"paper": {}, "no_pc": {"model.use_pc": False}}}))
    out = tmp_path / "sweep"
    assert main(["sweep", str(sweep_file), "--out", str(out), "--root", str(synth_root), "--no-progress",
                 "--executor", "ray", "--transport", "shared-fs", "--max-retries", "1"]) == 0
    assert _fold_files(out / "paper", "predictions.csv") == expected  # a sweep setting == mmnet train
    assert len(_fold_files(out / "no_pc", "done.json")) == 2
    assert "no_pc" in capsys.readouterr().out and (out / "summary.md").exists()


def test_unreachable_address_fails_fast():
    import socket

    from mmnet.train.ray_executor import _check_reachable

    with socket.socket() as s:  # a port bound and not listening: refused, and no other program can take it meanwhile
        s.bind(("127.0.0.1", 0))
        with pytest.raises(ExecutorError, match="No Ray cluster answers"):
            _check_reachable(f"127.0.0.1:{s.getsockname()[1]}")
    with socket.socket() as s:  # a listening port passes
        s.bind(("127.0.0.1", 0))
        s.listen()
        _check_reachable(f"127.0.0.1:{s.getsockname()[1]}")
    for address in (None, "auto", "ray://head:10001"):
        _check_reachable(address)  # left to ray.init


def test_a_refused_connection_names_the_token_and_the_auth_mode(synth_root, tmp_path, monkeypatch):
    # with ~/.ray/auth_token present but RAY_AUTH_MODE unset, Ray refuses an explicit address ("mode is
    # 'disabled'"): the message named only the token, which was there
    ray = pytest.importorskip("ray")
    import mmnet.train.ray_executor as ray_executor

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", lambda **kw: (_ for _ in ()).throw(ConnectionError("auth mode is 'disabled'")))
    monkeypatch.setattr(ray_executor, "_check_reachable", lambda address: None)
    run = prepare_run(load_config(None, [f"data.root={synth_root}", f"data.cache_dir={tmp_path / 'c'}",
                                         "data.image_size=32", "train.epochs=1"]), tmp_path / "run", progress=False)
    with pytest.raises(ExecutorError, match=r"Cannot connect to the Ray cluster at 'head:6379'.*auth_token.*"
                                            r"RAY_AUTH_MODE=token"):
        run_tasks(fold_tasks(run)[:1], ExecutorConfig(executor="ray", address="head:6379"), progress=False)


@pytest.mark.parametrize("address", [None, "head:6379"])
def test_a_ray_that_fails_to_start_is_one_line_saying_what_to_do(synth_root, tmp_path, monkeypatch, address):
    # only ConnectionError was caught: a local node whose dashboard failed to start printed Ray's raw traceback
    ray = pytest.importorskip("ray")
    import mmnet.train.ray_executor as ray_executor

    calls = []

    def init(**kw):
        calls.append(kw)
        raise RuntimeError("Failed to start the dashboard\nlong Ray log")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray_executor, "_check_reachable", lambda address: None)
    run = prepare_run(load_config(None, [f"data.root={synth_root}", f"data.cache_dir={tmp_path / 'c'}",
                                         "data.image_size=32", "train.epochs=1"]), tmp_path / "run", progress=False)
    where = "start or join a Ray instance on this machine" if address is None else "join the cluster at 'head:6379'"
    with pytest.raises(ExecutorError, match=rf"Ray could not {where} \(RuntimeError: Failed to start the dashboard\)"
                                            r"\. .*(ray start --head|ray status)") as err:
        run_tasks(fold_tasks(run)[:1], ExecutorConfig(executor="ray", address=address), progress=False)
    assert "long Ray log" not in str(err.value) and err.value.__cause__ is None
    # mmnet does not use the dashboard: a private local Ray starts without it; a cluster's address gets no option
    assert calls == [{"address": None, "include_dashboard": False} if address is None else {"address": address}]


def test_relative_out_and_cache_reach_workers_as_absolute_paths(synth_root, tmp_path, monkeypatch):
    """A worker's cwd (a raylet's, a SLURM job's) is not the command's: relative paths would land elsewhere."""
    monkeypatch.chdir(tmp_path)
    cfg = load_config(None, [f"data.root={synth_root}", "data.cache_dir=cache", *TINY])
    tasks = fold_tasks(prepare_run(cfg, Path("run"), progress=False))
    assert tasks and {t.out_dir for t in tasks} == {str(tmp_path / "run")}
    assert all(Path(t.frames_path).is_absolute() and Path(t.frames_path).parent == tmp_path / "cache" for t in tasks)
    monkeypatch.chdir("/")
    assert all(t.fold_dir.parent.parent == tmp_path / "run" and Path(t.frames_path).is_file() for t in tasks)


def test_a_missing_ray_is_said_before_the_run_folder_is_written(synth_root, tmp_path, monkeypatch):
    from mmnet.train import train_experiment

    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    with pytest.raises(ExecutorError, match=r'needs Ray, an optional extra: pip install .*-e "\.\[ray\]"'):
        train_experiment(_cfg(synth_root, tmp_path), tmp_path / "run", executor=RAY, progress=False)
    assert not (tmp_path / "run").exists() and not (tmp_path / "cache").exists()  # nothing prepared nor measured
