"""mmnet 0.1.0's executor calls with executor "local" and a Ray option: 0.1.0 ignored the option, so they still run
here, with a DeprecationWarning naming what is ignored (not the CLI's "--address only applies with --executor ray")."""

from __future__ import annotations

import importlib
import sys
import warnings

import pytest

from mmnet.config import ExecutorConfig
from mmnet.executor_config import executor_of_old_call


def test_a_local_call_drops_the_ray_options_with_a_warning():
    with pytest.warns(DeprecationWarning, match=r"run_tasks: address, gpus_per_fold ignored with executor 'local'"):
        assert executor_of_old_call("local", {"address": "auto", "gpus_per_fold": 0.25}, "run_tasks") == \
            ExecutorConfig()
    with warnings.catch_warnings():  # the defaults 0.1.0's signature filled in: nothing to say
        warnings.simplefilter("error")
        assert executor_of_old_call("local", {"max_retries": 3, "transport": "object-store"}, "x") == ExecutorConfig()


def test_the_old_modules_local_calls_run(monkeypatch):
    import mmnet.train
    import mmnet.train.sweep

    calls = []
    monkeypatch.setattr(mmnet.train.sweep, "run_sweep", lambda sweep, out, **kw: calls.append(kw["executor"]))
    monkeypatch.setattr(mmnet.train, "run_tasks", lambda tasks, options, **kw: calls.append(options))
    modules = {}
    for name in ("mmnet.sweep", "mmnet.executors"):
        sys.modules.pop(name, None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            modules[name] = importlib.import_module(name)
        sys.modules.pop(name, None)
    with pytest.warns(DeprecationWarning, match="gpus_per_fold ignored with executor 'local'"):
        modules["mmnet.sweep"].run_sweep("s", "out", executor="local", executor_options={"gpus_per_fold": 0.25})
    with pytest.warns(DeprecationWarning, match="address, gpus_per_fold ignored"):
        modules["mmnet.executors"].run_tasks("local", [], address="auto", gpus_per_fold=0.25)
    assert calls == [ExecutorConfig(), ExecutorConfig()]
