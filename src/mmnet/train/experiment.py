"""One experiment, end to end: prepare the run, run its unfinished folds, build the report."""

from __future__ import annotations

from pathlib import Path

from ..config import ExecutorConfig, ExperimentConfig
from ..progress import write_line
from ..report import build_report
from ..runtime import check_device
from .executors import run_tasks
from .prepare import fold_tasks, prepare_run
from .spot_recognise import run_spot_recognise

__all__ = ["run_experiment"]


def run_experiment(cfg: ExperimentConfig, out_dir: str | Path, *, executor: ExecutorConfig | None = None,
                   progress: bool = True) -> dict:
    """Train every unfinished (seed, fold) of ``cfg`` into ``out_dir`` and write the report.

    Rerunning into the same folder resumes (the config must be the same). Returns the report dict.
    """
    if executor is None or executor.executor == "local":  # Ray workers decide their own device
        check_device(cfg.train.device)
    run = prepare_run(cfg, out_dir, progress=progress)
    tasks = fold_tasks(run)
    total = len(run.cfg.seeds) * len(run.folds)
    if not tasks:
        write_line(f"{total}/{total} folds already finished; report rebuilt")
    elif len(tasks) < total:
        write_line(f"{total - len(tasks)}/{total} folds already finished; running the other {len(tasks)}")
    run_tasks(tasks, executor, progress=progress, finished=total - len(tasks))
    if run.long_videos is not None:  # spot then recognise: every finished fold's recordings (spots.csv)
        run_spot_recognise(run)
    return build_report(run.out_dir)
