"""The module ``mmnet.executors`` of mmnet 0.1.0, kept for programs written against it: ``run_tasks`` is now
:func:`mmnet.train.run_tasks`, which takes the tasks first and an :class:`~mmnet.config.ExecutorConfig`; its
``EXECUTORS`` and ``TRANSPORTS`` are in :mod:`mmnet.choices`, ``ExecutorError`` in :mod:`mmnet.errors`. Importing
it warns (DeprecationWarning); its ``run_tasks`` takes the old call and makes the new one. Removed in mmnet 0.3.0."""

from __future__ import annotations

from collections.abc import Sequence

from .choices import EXECUTORS, TRANSPORTS
from .errors import ExecutorError
from .executor_config import executor_of_old_call
from .lazy_names import warn_moved

warn_moved("mmnet.executors", "mmnet.train (run_tasks(tasks, ExecutorConfig(executor=...))), EXECUTORS and "
           "TRANSPORTS to mmnet.choices, ExecutorError to mmnet.errors")

__all__ = ["EXECUTORS", "TRANSPORTS", "ExecutorError", "run_tasks"]


def run_tasks(executor: str, tasks: Sequence, *, progress: bool = True, **options: object) -> list[dict]:
    """mmnet 0.1.0's ``run_tasks("ray", tasks, address="auto", gpus_per_fold=0.25)``: the same as
    ``mmnet.train.run_tasks(tasks, ExecutorConfig(executor="ray", address="auto", gpus_per_fold=0.25))``."""
    from .train import run_tasks as run  # torch, imported only when called

    return run(tasks, executor_of_old_call(executor, options, "run_tasks"), progress=progress)
