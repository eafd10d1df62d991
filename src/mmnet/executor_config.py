"""How the folds of a run (or a sweep) are run: locally, on Ray or on SLURM. Not part of the experiment:
two runs that differ only here give the same numbers (re-exported by :mod:`mmnet.config`)."""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass

from .choices import EXECUTORS, TRANSPORTS
from .errors import ConfigError, verify_choice
from .slurm_time import slurm_minutes

__all__ = ["ExecutorConfig", "EXECUTORS", "TRANSPORTS", "check_executor", "executor_of_old_call"]


_RAY_ONLY = ("address", "transport")
_SLURM_ONLY = ("slurm_partition", "slurm_time", "slurm_mem", "slurm_params", "slurm_log_dir",
               "slurm_array_parallelism", "slurm_gpu_type", "slurm_setup", "no_wait")


@dataclass(frozen=True)
class ExecutorConfig:
    """How the folds of a run (or a sweep) are run. See docs/cluster.md for the Ray and SLURM options."""

    executor: str = "local"  # "local": one after another here; "ray": one Ray task per fold; "slurm": one job per fold
    address: str | None = None  # Ray cluster address ("auto", "HOST:6379", "ray://HOST:10001"); None: local Ray
    cpus_per_fold: float | None = None  # CPUs reserved per fold (default 1); also its torch thread count
    gpus_per_fold: float | None = None  # GPU share per fold (Ray: 0.25 = four folds per GPU; SLURM: whole GPUs)
    max_retries: int | None = None  # reruns of a fold whose worker, node or job died (default 3)
    transport: str | None = None  # Ray: "object-store" (default) or "shared-fs": how workers get the frame cache
    slurm_partition: str | None = None  # SLURM partition; None: the cluster's default
    slurm_time: str | None = None  # SLURM time limit per fold job (minutes or [D-]H:MM:SS); None: 4:00:00
    slurm_mem: str | None = None  # SLURM memory per fold job, e.g. "16G"; None: the partition's default
    slurm_params: tuple[str, ...] | None = None  # more sbatch options, KEY=VALUE (account=..., qos=...)
    slurm_log_dir: str | None = None  # submitit's job files and logs; None: RUN/slurm-logs
    slurm_array_parallelism: int | None = None  # at most this many fold jobs of the array run at once
    slurm_gpu_type: str | None = None  # SLURM: the GPU model of a fold's GPU (--gres=gpu:TYPE:1), e.g. "a100"
    slurm_setup: tuple[str, ...] | None = None  # SLURM: shell lines each job runs first (module load ...)
    no_wait: bool = False  # SLURM: submit and return; rerunning the command (or mmnet report) collects

    def __post_init__(self) -> None:
        verify_choice("executor", self.executor, EXECUTORS)
        if self.transport is not None:
            verify_choice("transport", self.transport, TRANSPORTS)
        if self.max_retries is not None and self.max_retries < 0:
            raise ConfigError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.cpus_per_fold is not None and not 0 < self.cpus_per_fold < math.inf:
            raise ConfigError(f"--cpus-per-fold must be > 0 and finite, got {self.cpus_per_fold}")
        if self.gpus_per_fold is not None and not 0 <= self.gpus_per_fold < math.inf:
            raise ConfigError(f"--gpus-per-fold must be >= 0 and finite, got {self.gpus_per_fold}")
        if self.slurm_time is not None:
            slurm_minutes(self.slurm_time)
        if self.slurm_array_parallelism is not None and self.slurm_array_parallelism < 1:
            raise ConfigError(f"--slurm-array-parallelism must be >= 1, got {self.slurm_array_parallelism}")
        given = [f.name for f in dataclasses.fields(self)
                 if f.name != "executor" and getattr(self, f.name) is not None and getattr(self, f.name) is not False]
        for name in given:
            only = ("ray" if name in _RAY_ONLY else "slurm" if name in _SLURM_ONLY
                    else None if self.executor != "local" else "ray or --executor slurm")
            if only and self.executor != only:
                raise ConfigError(f"--{name.replace('_', '-')} only applies with --executor {only}")


#: The keyword arguments of mmnet 0.1.0's ``run_tasks`` (and ``run_experiment``'s ``executor_options``).
_OLD_OPTIONS = ("address", "cpus_per_fold", "gpus_per_fold", "max_retries", "transport")


def check_executor(executor: object, where: str) -> None:
    """Refuse, naming the way it is given now, an ``executor`` that is not an :class:`ExecutorConfig` (mmnet 0.1.0
    took the executor's name, ``"local"`` or ``"ray"``, and its options as keyword arguments)."""
    if executor is None or isinstance(executor, ExecutorConfig):
        return
    if isinstance(executor, str):
        shown, wanted = f"executor={executor!r}", f"executor=ExecutorConfig(executor={executor!r})"
    else:
        shown, wanted = f"a {type(executor).__name__}", "executor=ExecutorConfig(executor=\"ray\")"
    raise ConfigError(f"{where} takes executor=ExecutorConfig(...) (from mmnet.config), got {shown}: write {wanted}, "
                      f"with the executor's options in it (address=, gpus_per_fold=, ...), or leave executor out to "
                      f"train here (mmnet 0.1.0 took the executor's name, and its options as keywords)")


def executor_of_old_call(executor: str | ExecutorConfig, options: dict, where: str) -> ExecutorConfig:
    """The :class:`ExecutorConfig` of an mmnet 0.1.0 call: the executor's name with its options as keywords
    (``run_tasks("ray", tasks, address="auto")``, ``run_experiment(..., executor_options={...})``)."""
    if isinstance(executor, ExecutorConfig) and not options:
        return executor
    unknown = sorted(set(options) - set(_OLD_OPTIONS))
    if unknown:
        raise ConfigError(f"{where}: unknown option(s) {', '.join(unknown)}; the executor's options are "
                          f"{', '.join(_OLD_OPTIONS)} (ExecutorConfig of mmnet.config has them all)")
    given = {key: value for key, value in options.items() if value is not None}
    if executor == "local":  # 0.1.0 ignored the Ray options for a local run: so do its calls, with a word
        ignored = sorted(key for key, value in given.items()
                         if (key, value) not in (("max_retries", 3), ("transport", "object-store")))
        if ignored:
            warnings.warn(f"{where}: {', '.join(ignored)} ignored with executor 'local' (they apply to Ray or SLURM, "
                          "as mmnet 0.1.0 ignored them here); leave them out, or give executor=ExecutorConfig("
                          "executor=\"ray\", ...) to use them", DeprecationWarning, stacklevel=3)
        given = {}
    return ExecutorConfig(executor=executor, **given)
