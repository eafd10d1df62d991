"""How the folds of a run (or a sweep) are run: locally, on Ray or on SLURM. Not part of the experiment:
two runs that differ only here give the same numbers (re-exported by :mod:`mmnet.config`)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from .choices import EXECUTORS, TRANSPORTS
from .errors import ConfigError, verify_choice
from .slurm_time import slurm_minutes

__all__ = ["ExecutorConfig", "EXECUTORS", "TRANSPORTS"]


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
