"""One experiment, end to end: prepare the run, run its unfinished folds (and the final fit, when
asked for), build the report, write the final model's card. :func:`run_prepared` and :func:`finish_run`
are also a sweep's: one rule for counting, resuming, reporting and failing, whichever command runs."""

from __future__ import annotations

from pathlib import Path

from .. import run_folder as rf
from .. import run_log
from ..config import ExecutorConfig, ExperimentConfig
from ..errors import ConfigError
from ..progress import write_line
from ..report import build_report
from ..runtime import check_device
from ..shell_words import shell_quote
from .executors import check_engine, run_tasks_keeping_failure
from .faults import add_to_message
from .memory_fit import warn_if_short
from .model_card import write_model_card
from .network_check import check_network
from .prepare import PreparedRun, check_out_apart, fold_tasks, prepare_run, task_count
from .process_state import called_from_python
from .resolve import resolve_config
from .resume_env import warn_changed_numerics
from .run_lock import abrupt_end_note, driver_lock, restart_lock
from .spot_recognise import folds_to_spot, run_spot_recognise
from .tb_log import write_summary

__all__ = ["run_experiment", "train_experiment", "run_prepared", "finish_run", "has_results", "resume_line"]


def run_experiment(cfg: ExperimentConfig, out_dir: str | Path, *, executor: ExecutorConfig | None = None,
                   progress: bool = True, source: str | None = None, restart: bool = False,
                   folds: list[str] | None = None) -> dict | None:
    """Train every unfinished (seed, fold) of ``cfg`` into ``out_dir`` and write the report.

    With ``train.final_fit`` the final model (every subject, ``train.epochs``, no test subject) is
    trained after the folds into ``out_dir/final``, with its model card; ``final_fit: only`` trains
    it without the folds. ``source`` names the configuration for the card (a recipe or a file).

    Rerunning into the same folder resumes (the config must be the same); ``restart=True`` (the command's
    ``--restart``) first moves an earlier run in ``out_dir`` aside to ``<out_dir>.old-<time>`` (not deleted).
    Returns the report dict (with ``final_model`` when a final model exists; None when the folds were only
    submitted: SLURM with ``no_wait``); without any finished fold (``final_fit: only``) the report is
    ``{"complete": True, "final_model": ...}`` and no report files are written.
    ``folds`` (``--folds``) trains those folds only (LODO: the test datasets, e.g. ``["samm"]`` for CASME II ->
    SAMM; LOSO: ``dataset/subject`` or the subject): the report is PARTIAL, and a later call without ``folds``
    trains the others into the same folder.
    When folds fail, the report of those that finished is written before the error is raised.

    ``progress=False`` writes nothing on stderr: no bars and none of the lines the command writes also with
    ``--no-progress`` (one per finished fold, the resume line). Warnings go to the ``logging`` logger ``mmnet``
    (``mmnet.train``, ``mmnet.data``, ``mmnet.spotting``), where a caller can filter them.

    While it runs, training flushes denormal floats to zero and keeps freed memory in the process (CPU), turns
    cuDNN's autotuning on (CUDA) and seeds torch's global random generators per fold, exactly as ``mmnet
    train`` does. When it returns or raises, these are set back: the denormal mode, ``cudnn.benchmark`` and
    torch's global random state as they were, glibc's malloc thresholds to their defaults (glibc cannot report
    earlier values) with the freed memory returned. numpy's and Python's global generators are not used.
    """
    with called_from_python(progress):
        return train_experiment(cfg, out_dir, executor=executor, progress=progress, source=source, restart=restart,
                                folds=folds)


def train_experiment(cfg: ExperimentConfig, out_dir: str | Path, *, executor: ExecutorConfig | None = None,
                     progress: bool = True, source: str | None = None, restart: bool = False,
                     folds: list[str] | None = None) -> dict | None:
    """:func:`run_experiment` as the ``mmnet`` commands run it: the process settings stay for the whole process
    (it ends after the run), and the lasting lines (one per fold) are written also without ``progress``."""
    check_engine(executor)  # a missing extra (or an executor given as mmnet 0.1.0 did) before anything is read
    cfg = resolve_config(cfg)  # as config.yaml records it (the table dataset's classes: its labels)
    check_network(cfg, executor)  # a wrong model.factory or a replaced MMNet, before the run folder and any fold
    if executor is None or executor.executor == "local":  # Ray workers and SLURM jobs decide their own device
        check_device(cfg.train.device)
    check_out_apart(out_dir, cfg)  # before the lock file is written into it
    if folds is not None and cfg.train.final_fit == "only":
        raise ConfigError("--folds chooses cross-validation folds to train; train.final_fit=only trains none: "
                          "leave one of the two out")
    if restart:  # not while another command drives this run, nor taken by one between the move and the new run
        with restart_lock(out_dir) as moved:  # its SLURM jobs still queued or running are cancelled first
            run_log.open_run_log(out_dir)  # (a command's: its mmnet.log and status.json, in the new folder)
            if moved is not None:
                write_line(f"restart: the earlier run in {out_dir} was moved to {moved}")
            return _run(cfg, out_dir, executor, progress, source, folds)
    with driver_lock(out_dir):  # a second command on the folder would train every fold again
        run_log.open_run_log(out_dir)
        return _run(cfg, out_dir, executor, progress, source, folds)


def _run(cfg: ExperimentConfig, out_dir: str | Path, executor: ExecutorConfig | None, progress: bool,
         source: str | None, folds: list[str] | None = None) -> dict | None:
    run = prepare_run(cfg, out_dir, progress=progress, measure=executor is None or executor.executor == "local",
                      folds=folds)
    submitted, failure = run_prepared([run], executor, progress=progress)
    if submitted:
        return None
    report = finish_run(run, failure)
    out = run.out_dir
    if report is None:  # no fold finished: no report to point to
        raise failure
    if failure is not None:
        raise add_to_message(failure, f"The report of the finished folds (PARTIAL) is in {out / 'report.md'}; "
                                      f"`mmnet report {shell_quote(out)}` rebuilds it.")
    if (out / rf.FINAL / rf.DONE).is_file():
        card = write_model_card(out, report if has_results(out) else None, source=source)
        report = {**report, "final_model": {"path": str(out / rf.FINAL / rf.MODEL),
                                            "card": str(out / rf.FINAL / rf.MODEL_CARD),
                                            "sha256": card["weights"]["sha256"]}}
    return report


def run_prepared(runs: list[PreparedRun], executor: ExecutorConfig | None, *, progress: bool,
                 rebuilt: str = "report") -> tuple[bool, BaseException | None]:
    """Run the unfinished tasks of prepared runs together, after the line a rerun says first (``rebuilt``: what
    a rerun with nothing left to train rebuilds). Returns whether they were only submitted (SLURM with
    ``no_wait``) and the failure of folds, which the caller raises after the reports of what finished
    (:func:`finish_run`)."""
    tasks = [task for run in runs for task in fold_tasks(run)]
    total = sum(task_count(run) for run in runs)
    what = "tasks (folds and the final fit)" if any(run.cfg.train.final_fit for run in runs) else "folds"
    # spot then recognise: trained folds may still lack their spots.csv (an interrupted run); say what is left
    unspotted = sum(len(folds_to_spot(run)) for run in runs if run.long_videos is not None)
    run_log.folds(total, total - len(tasks))
    for run in runs:  # each run's own (a sweep's settings: their folders' status.json)
        own = [task.label for task in tasks if Path(task.out_dir) == run.out_dir.absolute()]
        run_log.folds(task_count(run), task_count(run) - len(own), folder=run.out_dir, labels=own)
    resumed = any((Path(task.fold_dir) / rf.STATE).is_file() for task in tasks)  # each says its epoch (fold.py)
    line = resume_line(total, len(tasks), unspotted, what=what, rebuilt=rebuilt, resumed=resumed)
    abrupt = abrupt_end_note(run.out_dir for run in runs)
    if abrupt:
        line = f"{line}; {abrupt}" if line else abrupt
    if line is not None:
        write_line(line)
    for run in runs:
        if any(Path(task.out_dir) == run.out_dir.absolute() for task in tasks):  # folds left to train here
            warn_changed_numerics(run.out_dir, run.cfg, executor)
    warn_if_short(tasks, executor)  # before the first fold's frames and batches take the memory
    failure = run_tasks_keeping_failure(tasks, executor, progress=progress, finished=total - len(tasks))
    submitted = bool(tasks) and executor is not None and executor.no_wait
    if submitted:
        run_log.submitted()
    return submitted, failure


def finish_run(run: PreparedRun, failure: BaseException | None) -> dict | None:
    """After its tasks ran: spot and recognise (long videos), build the report (PARTIAL when folds failed), write
    the TensorBoard summary. None when folds failed and none of this run finished: nothing to report."""
    out = run.out_dir
    results = has_results(out)
    if failure is not None and not results:
        return None
    if run.long_videos is not None:  # spot then recognise: every finished fold's recordings (spots.csv)
        run_spot_recognise(run)
    report = build_report(out) if results or run.cfg.train.final_fit != "only" else {"complete": True}
    if run.cfg.train.tensorboard:
        write_summary(out, run.cfg, report)
    return report


def has_results(run_dir: str | Path) -> bool:
    """Whether a run folder holds a finished cross-validation fold, i.e. has results to report."""
    return any(Path(run_dir).glob(f"seed-*/fold-*/{rf.DONE}"))


def resume_line(total: int, left: int, unspotted: int = 0, *, what: str = "folds", rebuilt: str = "report",
                resumed: bool = False) -> str | None:
    """What a rerun says first: how many of ``total`` tasks are finished, the ``left`` ones that run now, and the
    trained folds whose recordings are still to spot and recognise; None for a fresh start (``resumed``: a task
    left has a resume state, so the start is no fresh one though no task finished)."""
    if left and left == total:
        return f"0/{total} {what} finished; running all {total}" if resumed else None
    spots = f"spotting and recognition of {unspotted} fold(s) left"
    if not left:  # said before the rebuild, which may still fail
        return f"{total}/{total} {what} " + (f"trained; {spots}" if unspotted
                                             else f"already finished; rebuilding the {rebuilt}")
    done = f"trained ({spots})" if unspotted else "already finished"
    return f"{total - left}/{total} {what} {done}; running the other {left}"
