"""Training: a run is prepared (config -> dataset -> folds -> fold tasks), its tasks run on an
executor (local, Ray or SLURM), each task follows the recipe of one fold, and the report is built.

    prepare.py       config -> dataset -> frame cache -> folds -> FoldTask list; the run's shared files
    tasks.py         FoldTask (one seed x fold) and its derived seed
    fold.py          the recipe of one fold: model, optimiser, epochs, checkpoint, resume, its files
    loop.py          one training epoch, one evaluation
    executors.py     run the tasks locally; ray_executor.py: as Ray tasks; slurm_executor.py: as SLURM jobs;
                     faults.py: what both cluster executors share about failed folds
    experiment.py    run_experiment: prepare -> run tasks -> build the report (run_prepared, finish_run: a sweep's too)
    sweep.py         several settings x seeds as one job, with a comparison table
"""

from .executors import run_tasks
from .experiment import run_experiment
from .fold import run_fold
from .prepare import PreparedRun, fold_tasks, prepare_run
from .tasks import FoldTask

__all__ = ["run_experiment", "prepare_run", "fold_tasks", "run_tasks", "run_fold", "PreparedRun", "FoldTask"]
