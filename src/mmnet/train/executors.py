"""Run fold tasks: one after another in this process ("local"), or as Ray tasks ("ray").

Both take the :class:`~mmnet.train.tasks.FoldTask` list of :func:`~mmnet.train.prepare.fold_tasks`
(finished folds are never in it) and run :func:`~mmnet.train.fold.run_fold` on each; a sweep
passes the tasks of all its runs at once. The Ray executor is in :mod:`mmnet.train.ray_executor`
(Ray is an optional extra, imported only when asked for).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..config import ExecutorConfig
from .fold import run_fold
from .tasks import FoldTask

__all__ = ["run_tasks", "run_local"]


def run_tasks(tasks: Sequence[FoldTask], options: ExecutorConfig | None = None, *, progress: bool = True) -> list[dict]:
    """Run fold tasks (of one or several runs) and return each fold's ``done.json`` dict, in order.

    Raises:
        ExecutorError: with Ray: Ray missing or the cluster cannot run the folds, or some folds
            failed (finished folds are kept; rerunning the same command continues).
    """
    options = options or ExecutorConfig()
    tasks = list(tasks)
    if options.executor == "local":
        return run_local(tasks, progress=progress)
    from .ray_executor import run_ray  # the optional engine, imported only when asked for

    return run_ray(tasks, options, progress=progress)


def run_local(tasks: list[FoldTask], *, progress: bool = True) -> list[dict]:
    """The folds one after another in this process; each frame cache is memory-mapped once."""
    frames: dict[str, np.ndarray] = {}
    results = []
    for task in tasks:
        if task.frames_path not in frames:
            frames[task.frames_path] = np.load(task.frames_path, mmap_mode="r")
        results.append(run_fold(task, progress=progress, frames=frames[task.frames_path]))
    return results
