"""The module ``mmnet.sweep`` of mmnet 0.1.0 (sweeps), kept for programs written against it: its names now live in
:mod:`mmnet.train.sweep`. Importing it warns (DeprecationWarning) and forwards each name on first use;
``run_sweep`` takes the old ``executor="ray", executor_options={...}``. Removed in mmnet 0.3.0."""

from __future__ import annotations

from pathlib import Path

from .executor_config import ExecutorConfig, executor_of_old_call
from .lazy_names import lazy_name, warn_moved

warn_moved("mmnet.sweep", "mmnet.train.sweep")

_HOME = {name: "train.sweep" for name in (
    "SweepSetting", "Sweep", "load_sweep", "summarize_sweep", "format_summary_table")}

__all__ = sorted([*_HOME, "run_sweep"])


def run_sweep(sweep: object, out_dir: str | Path, *, executor: str | ExecutorConfig = "local",
              executor_options: dict | None = None, progress: bool = True) -> list[dict] | None:
    """mmnet 0.1.0's call: ``run_sweep(sweep, out, executor="ray", executor_options={"address": "auto"})`` is
    ``mmnet.train.sweep.run_sweep(sweep, out, executor=ExecutorConfig(executor="ray", address="auto"))``."""
    from .train.sweep import run_sweep as run  # torch, imported only when called

    options = executor_of_old_call(executor, executor_options or {}, "run_sweep")
    return run(sweep, out_dir, executor=options, progress=progress)  # type: ignore[arg-type]


def __getattr__(name: str) -> object:
    return lazy_name("mmnet", _HOME, name)
