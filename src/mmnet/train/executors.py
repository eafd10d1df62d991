"""Run fold tasks: one after another in this process ("local"), as Ray tasks ("ray") or as SLURM jobs ("slurm").

All take the :class:`~mmnet.train.tasks.FoldTask` list of :func:`~mmnet.train.prepare.fold_tasks`
(finished folds are never in it) and run :func:`~mmnet.train.fold.run_fold` on each; a sweep
passes the tasks of all its runs at once. The Ray executor is in :mod:`mmnet.train.ray_executor`,
the SLURM one in :mod:`mmnet.train.slurm_executor` (Ray and submitit are optional extras, imported
only when asked for).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import run_log
from ..config import ExecutorConfig
from ..data.cache_folder import load_entry
from ..errors import ConfigError, MMNetError
from ..executor_config import check_executor
from ..progress import FoldProgress
from .faults import folds_failed, local_fold_error
from .fold import run_fold
from .tasks import FoldTask

__all__ = ["run_tasks", "run_tasks_keeping_failure", "run_local", "check_engine"]


def run_tasks(tasks: Sequence[FoldTask], options: ExecutorConfig | None = None, *, progress: bool = True,
              finished: int = 0) -> list[dict]:
    """Run fold tasks (of one or several runs) and return each fold's ``done.json`` dict, in order.

    Every executor writes one line per finished fold (``[fold k/N] ...: epochs, time, test acc;
    ETA``) on stderr, also without progress; ``finished`` folds of an earlier start count in N.

    With SLURM and ``no_wait`` the folds are only submitted, and the list is empty.

    Raises:
        ExecutorError: with Ray or SLURM: the engine missing or the cluster cannot run the folds, or
            some folds failed (finished folds are kept; rerunning the same command continues).
        ConfigError: ``options`` not an :class:`~mmnet.config.ExecutorConfig` (mmnet 0.1.0's order, the executor's
            name first, included).
    """
    if isinstance(tasks, str):  # mmnet 0.1.0: run_tasks("ray", tasks, address=...)
        raise ConfigError(f"run_tasks takes the tasks first, then an ExecutorConfig (from mmnet.config), not the "
                          f"executor's name: run_tasks(tasks, ExecutorConfig(executor={tasks!r}))")
    check_executor(options, "run_tasks")
    options = options or ExecutorConfig()
    tasks = list(tasks)
    if options.executor == "local":
        return run_local(tasks, progress=progress, finished=finished)
    if options.executor == "slurm":
        from .slurm_executor import run_slurm  # the optional engines, imported only when asked for

        return run_slurm(tasks, options, progress=progress, finished=finished)
    from .ray_executor import run_ray

    return run_ray(tasks, options, progress=progress, finished=finished)


def check_engine(options: ExecutorConfig | None, where: str = "run_experiment") -> None:
    """Raise the one-line ``ExecutorError`` of a missing Ray or submitit (optional extras) now, before a run folder
    is written and the CPU measured for it; a ``ConfigError`` for ``options`` that are not an ``ExecutorConfig``
    (``where``: the function given them)."""
    check_executor(options, where)
    if options is None or options.executor == "local":
        return
    if options.executor == "slurm":
        from .slurm_executor import import_submitit as import_engine
    else:
        from .ray_executor import import_ray as import_engine
    import_engine()


def run_tasks_keeping_failure(tasks: Sequence[FoldTask], options: ExecutorConfig | None, *, progress: bool,
                              finished: int) -> MMNetError | None:
    """:func:`run_tasks`, returning instead of raising the error that says folds failed (the others ran), so
    that the caller reports what finished before raising it; any other error is raised."""
    try:
        run_tasks(tasks, options, progress=progress, finished=finished)
    except MMNetError as exc:
        if not folds_failed(exc):
            raise
        return exc
    return None


def run_local(tasks: list[FoldTask], *, progress: bool = True, finished: int = 0) -> list[dict]:
    """The folds one after another in this process; each frame cache is memory-mapped once. The first fold that
    fails stops the others (an error of its own type, naming the fold); finished folds are kept."""
    frames: dict[str, np.ndarray] = {}
    results = []
    folds = FoldProgress(len(tasks), progress=progress, finished=finished)
    try:
        for task in tasks:
            if task.frames_path not in frames:
                frames[task.frames_path] = load_entry(task.frames_path)
            with run_log.about(task=task.label):  # its lines and epochs: also its sweep setting's log and status
                try:
                    results.append(run_fold(task, progress=progress, frames=frames[task.frames_path],
                                            keep_process_settings=True))
                except MMNetError as exc:  # stop here, naming the fold (Ray and SLURM run the others, then raise)
                    raise local_fold_error(task.label, exc, len(tasks) - len(results) - 1) from exc
                folds.done(task.label, results[-1])
    finally:
        folds.close()
    return results
