"""The SLURM executor's resource options: checked before anything is submitted, turned into sbatch options."""

from __future__ import annotations

import itertools
import re

from .. import run_folder as rf
from ..errors import ConfigError
from .memory_fit import estimate_peak_bytes, fold_frame_bytes
from .tasks import FoldTask

__all__ = ["slurm_parameters", "whole", "gpus_and_device", "gpu_request", "memory_bytes", "memory_warning",
           "epoch_warning", "SIGNAL_S"]

SIGNAL_S = 90  # submitit's --signal=USR2@90: the seconds between the stop signal and the time limit

_GPU = "--gpus-per-fold (and --slurm-gpu-type for a GPU model)"
# sbatch options that mmnet sets itself: --slurm-param may not change them. The GPU options would give the job GPUs
# that the fold does not know it has (it would train on the CPU), or more than the one GPU a fold uses.
_OWN = {"partition": "--slurm-partition", "time": "--slurm-time", "mem": "--slurm-mem",
        "cpus-per-task": "--cpus-per-fold", "gpus-per-node": _GPU, "gres": _GPU, "gpus": _GPU, "gpus-per-task": _GPU,
        "cpus-per-gpu": "--cpus-per-fold", "mem-per-gpu": "--slurm-mem", "array": "--slurm-array-parallelism",
        "output": "--slurm-log-dir", "error": "--slurm-log-dir", "signal": "nothing (requeue depends on it)",
        "open-mode": "nothing (logs of requeued jobs are appended)", "job-name": "nothing"}
_MEM = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]?)B?", re.IGNORECASE)


def slurm_parameters(params) -> dict[str, str | bool]:
    """``--slurm-param`` values (``KEY=VALUE``, or ``KEY`` for a flag) as extra sbatch options."""
    out: dict[str, str | bool] = {}
    for item in params or ():
        key, eq, value = str(item).partition("=")
        key = key.strip().lstrip("-").replace("_", "-")
        if not key or (eq and not value.strip()):
            raise ConfigError(f"--slurm-param {item!r} is not KEY=VALUE (e.g. account=myproject, qos=normal)")
        if key in _OWN:
            raise ConfigError(f"--slurm-param {key} is set by mmnet; use {_OWN[key]} instead")
        out[key] = value.strip() if eq else True
    return out


def whole(flag: str, value: float | None, default: int, why: str) -> int:
    if value is None:
        return default
    if value != int(value):
        raise ConfigError(f"{flag} must be a whole number with --executor slurm (got {value:g}): {why}")
    return int(value)


def gpus_and_device(task: FoldTask, gpus: float | None, gpu_type: str | None = None) -> tuple[int, str]:
    """(GPUs of the fold's job, the device the fold trains on): a fold trains on one GPU or on the CPU."""
    device = task.config.train.device
    if device.startswith("cuda:"):
        raise ConfigError(f"train.device={device} cannot be used with the SLURM executor: SLURM assigns each fold its "
                          "GPU. Use train.device=auto (or cuda) with --gpus-per-fold.")
    n = whole("--gpus-per-fold", gpus, 1 if device == "cuda" or gpu_type else 0,
              "SLURM gives whole GPUs; to share one GPU between folds use --executor ray")
    if n > 1:
        raise ConfigError(f"--gpus-per-fold {n}: a fold trains on one GPU, the others would be held idle. Use "
                          "--gpus-per-fold 1 (more folds at once: --slurm-array-parallelism).")
    if n == 0 and device == "cuda":
        raise ConfigError("train.device=cuda but no GPU requested per fold: pass --gpus-per-fold 1.")
    if n == 0 and gpu_type:
        raise ConfigError(f"--slurm-gpu-type {gpu_type} with --gpus-per-fold 0: drop one of them.")
    if n == 1 and device == "cpu":
        raise ConfigError("train.device=cpu with --gpus-per-fold 1: the GPU would be held idle. Use "
                          "train.device=auto (or cuda), or --gpus-per-fold 0.")
    # "cuda", not auto: a job on a node without a visible GPU then stops with a message instead of training on the CPU
    return n, ("cuda" if n else "cpu")


def gpu_request(gpus: int, gpu_type: str | None) -> tuple[int | None, dict[str, str]]:
    """(submitit's gpus_per_node, extra sbatch options) for a fold job with ``gpus`` GPUs: a GPU model is asked for
    through ``--gres=gpu:TYPE:1``, which every SLURM with GPUs in gres.conf takes (also select/cons_res)."""
    if not gpus:
        return None, {}
    if gpu_type:
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", gpu_type):
            raise ConfigError(f"--slurm-gpu-type {gpu_type!r} is not a GPU type name (e.g. a100, v100; `sinfo -o "
                              "'%P %G'` lists them)")
        return None, {"gres": f"gpu:{gpu_type}:{gpus}"}
    return gpus, {}


def memory_bytes(text: str | None) -> float | None:
    """sbatch's ``--mem`` (``16G``, ``16000``: megabytes without a unit) in bytes; None when it is not such a size."""
    m = _MEM.fullmatch(str(text or "").strip())
    if not m:
        return None
    return float(m.group(1)) * 1024 ** "KMGT".index((m.group(2) or "M").upper()) * 1024


def memory_warning(tasks: list[FoldTask], devices: list[str], mem: str | None) -> str | None:
    """The line to print when --slurm-mem is below what the largest CPU fold is estimated to need, else None."""
    have = memory_bytes(mem)
    cpu = [t for t, d in zip(tasks, devices) if d == "cpu"]
    if have is None or not cpu:
        return None

    def need(task: FoldTask) -> float:
        return estimate_peak_bytes(task.config.train.batch_size, task.config.data.image_size, fold_frame_bytes(task))

    worst = max(cpu, key=need)
    if need(worst) <= have:
        return None
    ask = int(-(-need(worst) * 1.2 // 1024 ** 3))  # with a fifth to spare, in whole GiB
    return (f"SLURM: --slurm-mem {mem} is less than the about {need(worst) / 1024 ** 3:.1f} GiB that a CPU fold of "
            f"this run is estimated to need ({worst.label}: train.batch_size={worst.config.train.batch_size}, "
            f"{worst.config.data.image_size} px): its job may end OUT_OF_MEMORY. Ask for --slurm-mem {ask}G or more.")


def epoch_warning(tasks: list[FoldTask], minutes: int, looked_at: int = 50) -> str | None:
    """The line to print when finished folds of these runs (a rerun, a sweep's other settings) show epochs longer
    than a job has before its stop signal: such a job may stop before it saves any epoch. None when none does,
    or nothing has finished yet (then nothing is known cheaply)."""
    budget = minutes * 60 - SIGNAL_S
    longest, where = 0.0, None
    for out in sorted({t.out_dir for t in tasks}):
        for fold_dir in itertools.islice(rf.fold_folders(out), looked_at):
            record = rf.finished_result(fold_dir)
            epochs, seconds = (record or {}).get("epochs"), (record or {}).get("seconds")
            if isinstance(epochs, int) and epochs > 0 and isinstance(seconds, (int, float)):
                if seconds / epochs > longest:
                    longest, where = seconds / epochs, fold_dir
    if where is None or longest <= budget:
        return None
    return (f"SLURM: an epoch of the finished fold {where} took {longest:.0f} s, but a job has {budget} s before its "
            f"stop signal (--slurm-time minus {SIGNAL_S} s): a fold could be stopped before it saves an epoch, and "
            f"again after each requeue. Give each fold more --slurm-time (at least {longest + SIGNAL_S + 60:.0f} s).")
