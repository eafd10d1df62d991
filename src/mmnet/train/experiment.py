"""One experiment, end to end: prepare the run, run its unfinished folds, build the report."""

from __future__ import annotations

from pathlib import Path

from ..config import ExecutorConfig, ExperimentConfig
from ..progress import write_line
from ..report import build_report
from ..runtime import check_device
from .executors import run_tasks
from .prepare import fold_tasks, prepare_run

__all__ = ["run_experiment"]


def run_experiment(cfg: ExperimentConfig, out_dir: str | Path, *, executor: ExecutorConfig | None = None,
                   progress: bool = True) -> dict | None:
    """Train every unfinished (seed, fold) of ``cfg`` into ``out_dir`` and write the report.

    Rerunning into the same folder resumes (the config must be the same). Returns the report dict,
    or None when the folds were only submitted (SLURM with ``no_wait``).
    """
    if executor is None or executor.executor == "local":  # Ray workers and SLURM jobs decide their own device
        check_device(cfg.train.device)
    run = prepare_run(cfg, out_dir, progress=progress)
    tasks = fold_tasks(run)
    total = len(run.cfg.seeds) * len(run.folds)
    if not tasks:
        write_line(f"{total}/{total} folds already finished; report rebuilt")
    elif len(tasks) < total:
        write_line(f"{total - len(tasks)}/{total} folds already finished; running the other {len(tasks)}")
    run_tasks(tasks, executor, progress=progress, finished=total - len(tasks))
    if tasks and executor is not None and executor.no_wait:
        return None
    return build_report(run.out_dir)
