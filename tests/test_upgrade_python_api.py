"""Programs written against mmnet 0.1.0's Python API: its moved modules still import for one minor version (a
DeprecationWarning naming the new home and the version that removes them), its old executor calls either work
through those modules or are refused with the way they are written now."""

from __future__ import annotations

import importlib
import re
import sys
import warnings

import pytest

from mmnet.config import ExecutorConfig, ExperimentConfig
from mmnet.errors import ConfigError
from mmnet.executor_config import executor_of_old_call
from mmnet.lazy_names import RUN_FOLDER_MOVED

MOVED = {  # module of 0.1.0 -> (where its names are now, names it had)
    "mmnet.explain": ("mmnet.infer", ["explain_clip", "Explanation", "render_explanation"]),
    "mmnet.metrics": ("mmnet.report.metrics", ["uf1", "uar", "accuracy", "confusion_matrix"]),
    "mmnet.selection": ("mmnet.report.selection", ["choose_epochs", "FoldChoice", "SELECTIONS"]),
    "mmnet.sweep": ("mmnet.train.sweep", ["load_sweep", "summarize_sweep", "Sweep"]),
    "mmnet.experiment": ("mmnet.train", ["prepare_run", "fold_tasks", "run_fold", "PreparedRun", "FoldTask"]),
    "mmnet.inference": ("mmnet.infer", ["Predictor", "load_clip"]),
    "mmnet.export": ("mmnet.infer", ["export_onnx", "read_onnx_metadata", "DEFAULT_OPSET"]),
    "mmnet.video": ("mmnet.media", ["read_video_frames", "is_video", "VIDEO_SUFFIXES"]),
}


def _import_fresh(name: str):
    sys.modules.pop(name, None)
    with pytest.warns(DeprecationWarning) as record:
        module = importlib.import_module(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sys.modules.pop(name, None)
    return module, " ".join(str(w.message) for w in record)


@pytest.mark.parametrize("old", sorted(MOVED))
def test_a_moved_module_warns_where_its_names_are_and_when_it_goes(old):
    new, names = MOVED[old]
    module, message = _import_fresh(old)
    assert f"{old} moved to {new}" in message
    assert "removed in mmnet 0.3.0" in message
    home = importlib.import_module(new)
    for name in names:
        assert getattr(module, name) is getattr(home, name)
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018


def test_run_folder_load_run_of_0_1_0_warns_and_is_the_reports():
    import mmnet.report
    import mmnet.run_folder

    with pytest.warns(DeprecationWarning, match=r"run_folder\.load_run moved to mmnet\.report:.*0\.3\.0"):
        assert mmnet.run_folder.load_run is mmnet.report.load_run
    with pytest.raises(AttributeError):
        mmnet.run_folder.no_such_name  # noqa: B018


def test_run_experiment_refuses_an_executor_given_by_name_and_says_how_to_give_it(tmp_path):
    from mmnet.train import run_experiment

    with pytest.raises(ConfigError, match=r"got executor='local': write executor=ExecutorConfig\(executor='local'\)"):
        run_experiment(ExperimentConfig(), tmp_path / "run", executor="local")  # type: ignore[arg-type]
    assert not (tmp_path / "run").exists()


def test_run_sweep_refuses_an_executor_given_by_name(tmp_path):
    from mmnet.train.sweep import run_sweep

    with pytest.raises(ConfigError, match=r"run_sweep takes executor=ExecutorConfig"):
        run_sweep(None, tmp_path / "sweep", executor="ray")  # type: ignore[arg-type]


def test_run_tasks_refuses_the_old_order_and_a_name_for_the_options():
    from mmnet.train import run_tasks

    with pytest.raises(ConfigError, match=r"run_tasks\(tasks, ExecutorConfig\(executor='local'\)\)"):
        run_tasks("local", [])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"got executor='ray'"):
        run_tasks([], "ray")  # type: ignore[arg-type]
    assert run_tasks([], ExecutorConfig(), progress=False) == []


def test_an_old_executor_call_becomes_its_executor_config():
    options = executor_of_old_call("ray", {"address": "auto", "gpus_per_fold": 0.25, "max_retries": 3}, "run_tasks")
    assert options == ExecutorConfig(executor="ray", address="auto", gpus_per_fold=0.25, max_retries=3)
    # 0.1.0 took the Ray options' defaults with a local run too
    assert executor_of_old_call("local", {"max_retries": 3, "transport": "object-store"}, "x") == ExecutorConfig()
    given = ExecutorConfig(executor="ray")
    assert executor_of_old_call(given, {}, "x") is given
    with pytest.raises(ConfigError, match=r"run_tasks: unknown option\(s\) gpus; the executor's options are address"):
        executor_of_old_call("ray", {"gpus": 1}, "run_tasks")


def test_the_old_modules_run_calls_as_0_1_0_wrote_them(monkeypatch):
    import mmnet.train
    import mmnet.train.sweep

    calls = []
    monkeypatch.setattr(mmnet.train, "run_experiment", lambda cfg, out, **kw: calls.append(("experiment", kw)))
    monkeypatch.setattr(mmnet.train.sweep, "run_sweep", lambda sweep, out, **kw: calls.append(("sweep", kw)))
    monkeypatch.setattr(mmnet.train, "run_tasks", lambda tasks, options, **kw: calls.append(("tasks", options)))
    experiment, _ = _import_fresh("mmnet.experiment")
    sweep, _ = _import_fresh("mmnet.sweep")
    executors, message = _import_fresh("mmnet.executors")
    assert "mmnet.executors moved to mmnet.train" in message and "0.3.0" in message
    experiment.run_experiment("cfg", "out", executor="ray", executor_options={"address": "auto"}, progress=False)
    sweep.run_sweep("sweep", "out")
    executors.run_tasks("ray", [], gpus_per_fold=0.25)
    assert calls == [("experiment", {"executor": ExecutorConfig(executor="ray", address="auto"), "progress": False}),
                     ("sweep", {"executor": ExecutorConfig(), "progress": True}),
                     ("tasks", ExecutorConfig(executor="ray", gpus_per_fold=0.25))]


def _homes_named(message: str, old: str) -> list[str]:
    """The modules a deprecation message names (``mmnet.report.run_reader``, ...), the old module left out."""
    return [m for m in re.findall(r"\bmmnet(?:\.[a-z_]+)+", message) if m != old and not m.startswith(f"{old}.")]


def _assert_each_name_imports_from_a_named_home(names, message: str, old: str) -> None:
    homes = [importlib.import_module(m) for m in _homes_named(message, old)]
    for name in names:
        assert any(hasattr(home, name) for home in homes), f"{old}.{name}: not in {_homes_named(message, old)}"


@pytest.mark.parametrize("old", sorted([*MOVED, "mmnet.executors"]))
def test_each_name_of_a_moved_module_imports_from_a_home_its_warning_names(old):
    module, message = _import_fresh(old)
    _assert_each_name_imports_from_a_named_home(module.__all__, message, old)


@pytest.mark.parametrize("name", sorted(RUN_FOLDER_MOVED))
def test_each_moved_name_of_run_folder_imports_from_the_home_its_warning_names(name):
    import mmnet.run_folder

    with pytest.warns(DeprecationWarning) as record:
        getattr(mmnet.run_folder, name)
    _assert_each_name_imports_from_a_named_home([name], str(record[0].message), "mmnet.run_folder")
