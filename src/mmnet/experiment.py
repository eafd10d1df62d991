"""The module ``mmnet.experiment`` of mmnet 0.1.0, kept for programs written against it: its names now live in
:mod:`mmnet.train`. Importing it warns (DeprecationWarning) and forwards each name on first use; its
``run_experiment`` takes the old ``executor="ray", executor_options={...}`` and makes the new call (an
:class:`~mmnet.config.ExecutorConfig`). Removed in mmnet 0.3.0."""

from __future__ import annotations

from pathlib import Path

from .executor_config import ExecutorConfig, executor_of_old_call
from .lazy_names import lazy_name, warn_moved

warn_moved("mmnet.experiment", "mmnet.train (run_experiment(cfg, out, executor=ExecutorConfig(executor=...)))")

_HOME = {name: "train" for name in ("PreparedRun", "FoldTask", "prepare_run", "fold_tasks", "run_fold")}

__all__ = sorted([*_HOME, "run_experiment"])


def run_experiment(cfg: object, out_dir: str | Path, *, progress: bool = True,
                   executor: str | ExecutorConfig = "local", executor_options: dict | None = None) -> dict | None:
    """mmnet 0.1.0's call: ``run_experiment(cfg, out, executor="ray", executor_options={"address": "auto"})`` is
    ``mmnet.train.run_experiment(cfg, out, executor=ExecutorConfig(executor="ray", address="auto"))``."""
    from .train import run_experiment as run  # torch, imported only when called

    options = executor_of_old_call(executor, executor_options or {}, "run_experiment")
    return run(cfg, out_dir, executor=options, progress=progress)  # type: ignore[arg-type]


def __getattr__(name: str) -> object:
    return lazy_name("mmnet", _HOME, name)
