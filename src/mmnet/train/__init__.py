"""Training: a run is prepared (config -> dataset -> folds -> fold tasks), its tasks run on an
executor (local, Ray or SLURM), each task follows the recipe of one fold, and the report is built.

What each module holds: docs/architecture.md, "Package map"."""

from .executors import run_tasks
from .experiment import run_experiment, train_experiment
from .fold import run_fold
from .prepare import PreparedRun, fold_tasks, prepare_run
from .resolve import resolve_config
from .tasks import FoldTask

__all__ = ["run_experiment", "train_experiment", "prepare_run", "fold_tasks",
           "run_tasks", "run_fold", "PreparedRun", "FoldTask", "resolve_config"]
