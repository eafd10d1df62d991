"""One experiment, end to end: prepare the run, run its unfinished folds, build the report."""

from __future__ import annotations

from pathlib import Path

from ..config import ExecutorConfig, ExperimentConfig
from ..report import build_report
from .executors import run_tasks
from .prepare import fold_tasks, prepare_run

__all__ = ["run_experiment"]


def run_experiment(cfg: ExperimentConfig, out_dir: str | Path, *, executor: ExecutorConfig | None = None,
                   progress: bool = True) -> dict:
    """Train every unfinished (seed, fold) of ``cfg`` into ``out_dir`` and write the report.

    Rerunning into the same folder resumes (the config must be the same). Returns the report dict.
    """
    run = prepare_run(cfg, out_dir, progress=progress)
    run_tasks(fold_tasks(run), executor, progress=progress)
    return build_report(run.out_dir)
