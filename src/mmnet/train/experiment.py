"""One experiment, end to end: prepare the run, run its unfinished folds (and the final fit, when
asked for), build the report, write the final model's card."""

from __future__ import annotations

from pathlib import Path

from .. import run_folder as rf
from ..config import ExecutorConfig, ExperimentConfig
from ..progress import write_line
from ..report import build_report
from ..runtime import check_device
from .executors import run_tasks_keeping_failure
from .faults import add_to_message
from .model_card import write_model_card
from .prepare import check_out_apart, fold_tasks, prepare_run, resume_line, task_count
from .run_lock import driver_lock
from .spot_recognise import folds_to_spot, run_spot_recognise
from .tb_log import write_summary

__all__ = ["run_experiment"]


def run_experiment(cfg: ExperimentConfig, out_dir: str | Path, *, executor: ExecutorConfig | None = None,
                   progress: bool = True, source: str | None = None) -> dict | None:
    """Train every unfinished (seed, fold) of ``cfg`` into ``out_dir`` and write the report.

    With ``train.final_fit`` the final model (every subject, ``train.epochs``, no test subject) is
    trained after the folds into ``out_dir/final``, with its model card; ``final_fit: only`` trains
    it without the folds. ``source`` names the configuration for the card (a recipe or a file).

    Rerunning into the same folder resumes (the config must be the same). Returns the report dict
    (with ``final_model`` when a final model exists; None when the folds were only submitted: SLURM
    with ``no_wait``); without any finished fold (``final_fit:
    only``) the report is ``{"complete": True, "final_model": ...}`` and no report files are written.
    When folds fail, the report of those that finished is written before the error is raised.
    """
    if executor is None or executor.executor == "local":  # Ray workers and SLURM jobs decide their own device
        check_device(cfg.train.device)
    check_out_apart(out_dir, cfg)  # before the lock file is written into it
    with driver_lock(out_dir):  # a second command on the folder would train every fold again
        return _run(cfg, out_dir, executor, progress, source)


def _run(cfg: ExperimentConfig, out_dir: str | Path, executor: ExecutorConfig | None, progress: bool,
         source: str | None) -> dict | None:
    run = prepare_run(cfg, out_dir, progress=progress)
    tasks = fold_tasks(run)
    total = task_count(run)
    what = "folds" if not run.cfg.train.final_fit else "tasks (folds and the final fit)"
    # spot then recognise: trained folds may still lack their spots.csv (an interrupted run); say what is left
    unspotted = len(folds_to_spot(run)) if run.long_videos is not None else 0
    if (line := resume_line(total, len(tasks), unspotted, what=what)) is not None:
        write_line(line)
    # a failure of folds is raised after the report of the folds that finished
    failure = run_tasks_keeping_failure(tasks, executor, progress=progress, finished=total - len(tasks))
    if tasks and executor is not None and executor.no_wait:
        return None
    out = Path(out_dir)
    loso = any(out.glob(f"seed-*/fold-*/{rf.DONE}"))
    if failure is not None and not loso:
        raise failure
    if run.long_videos is not None:  # spot then recognise: every finished fold's recordings (spots.csv)
        run_spot_recognise(run)
    report = build_report(out) if loso or run.cfg.train.final_fit != "only" else {"complete": True}
    if run.cfg.train.tensorboard:
        write_summary(out, run.cfg, report)
    if failure is not None:
        raise add_to_message(failure, f"The report of the finished folds (PARTIAL) is in {out / 'report.md'}; "
                                      f"`mmnet report {out}` rebuilds it.")
    if (out / rf.FINAL / rf.DONE).is_file():
        card = write_model_card(out, report if loso else None, source=source)
        report = {**report, "final_model": {"path": str(out / rf.FINAL / rf.MODEL),
                                            "card": str(out / rf.FINAL / rf.MODEL_CARD),
                                            "sha256": card["weights"]["sha256"]}}
    return report
