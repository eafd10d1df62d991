"""Training: a run is prepared (config -> dataset -> folds -> fold tasks), its tasks run on an
executor (local, Ray or SLURM), each task follows the recipe of one fold, and the report is built.

What each module holds: docs/architecture.md, "Package map"."""

from typing import TYPE_CHECKING

from ..lazy_names import lazy_name as _lazy_name

if TYPE_CHECKING:  # type checkers and IDEs see the public names; at run time they load lazily (below)
    from .executors import run_tasks
    from .experiment import run_experiment, train_experiment
    from .fold import run_fold
    from .prepare import PreparedRun, fold_tasks, prepare_run
    from .resolve import resolve_config
    from .tasks import FoldTask

__all__ = ["run_experiment", "train_experiment", "prepare_run", "fold_tasks",
           "run_tasks", "run_fold", "PreparedRun", "FoldTask", "resolve_config"]

# the submodule of each name: imported on first use, so that a light submodule (`mmnet info` reads the cached
# calibrations through train.calibrate) does not load the executors, the fold loop, torch and pandas with it
_HOME = {"run_tasks": "executors", "run_experiment": "experiment", "train_experiment": "experiment",
         "run_fold": "fold", "PreparedRun": "prepare", "fold_tasks": "prepare", "prepare_run": "prepare",
         "resolve_config": "resolve", "FoldTask": "tasks"}

if not TYPE_CHECKING:  # hidden from type checkers: a module __getattr__ would make them accept any name

    def __getattr__(name: str) -> object:
        return _lazy_name(__name__, _HOME, name)


def __dir__() -> list[str]:
    # the lazy names are part of the package's API: listed (tab completion, dir())
    return sorted(set(globals()) | set(__all__))
