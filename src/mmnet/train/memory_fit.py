"""Whether CPU training is likely to fit in this computer's memory: one warning line before the folds start when
it does not (with a train.batch_size that does), never a refusal. Where the free memory cannot be read (no
/proc/meminfo: macOS, Windows) nothing is said."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..config import ExecutorConfig
from ..runtime import resolve_device
from .tasks import FoldTask

__all__ = ["estimate_peak_bytes", "available_bytes", "fitting_batch_size", "fold_frame_bytes", "memory_warning",
           "warn_if_short"]

log = logging.getLogger("mmnet.train")

# Peak resident memory of a CPU fold, measured (/usr/bin/time -v) with torch 2.13 on the CPU, fp32, channels_last:
# 1.80 GB at batch 8 and 4.00 GB at batch 32 with 224 px frames. bf16 needs less, so this errs on the safe side.
BASE_BYTES = 1.1e9  # the process, torch and the model
PER_SAMPLE_BYTES = 92e6  # activations and their gradients per batch sample at 224 px (they scale with the pixels)
FRAME_COPIES = 2.4  # the fold's frames on the device: uint8 as cached, the padded int32 copy, and transients


def estimate_peak_bytes(batch_size: int, image_size: int, frame_bytes: int) -> float:
    """The expected peak resident memory of one CPU fold: ``frame_bytes`` is what its samples' cached frames hold."""
    return BASE_BYTES + PER_SAMPLE_BYTES * batch_size * (image_size / 224) ** 2 + FRAME_COPIES * frame_bytes


def available_bytes(meminfo: str | Path = "/proc/meminfo") -> int | None:
    """MemAvailable (what can be used without swapping), or None where it cannot be read."""
    try:
        for line in Path(meminfo).read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # kB
    except (OSError, ValueError, IndexError):
        return None
    return None


def fitting_batch_size(available: float, image_size: int, frame_bytes: int, batch_size: int) -> int | None:
    """The largest batch size below ``batch_size`` whose estimate fits in ``available`` (a power of two when it
    can be), or None when even a batch of 1 does not."""
    room = available - BASE_BYTES - FRAME_COPIES * frame_bytes
    largest = int(room // (PER_SAMPLE_BYTES * (image_size / 224) ** 2))
    largest = min(largest, batch_size - 1)
    if largest < 1:
        return None
    return 1 << (largest.bit_length() - 1) if largest >= 8 else largest


def memory_warning(batch_size: int, image_size: int, frame_bytes: int, available: int) -> str | None:
    """The warning line when the estimate exceeds ``available``, else None."""
    need = estimate_peak_bytes(batch_size, image_size, frame_bytes)
    if need <= available:
        return None
    smaller = fitting_batch_size(available, image_size, frame_bytes, batch_size)
    remedy = (f"--set train.batch_size={smaller} (or a smaller data.image_size) should fit" if smaller
              else "even train.batch_size=1 may not fit: use a smaller data.image_size")
    return (f"training at train.batch_size={batch_size} and {image_size} px needs about {need / 1e9:.1f} GB of "
            f"memory, but {available / 1e9:.1f} GB is available: it may be killed for want of memory (or swap "
            f"slowly). Close other programs, or {remedy}.")


def fold_frame_bytes(task: FoldTask) -> int:
    """What the cached frames of a task's samples (training and test) hold: what its fold puts on the device."""
    used = np.asarray(sorted(set(task.train_idx) | set(task.test_idx)), dtype=np.int64)
    if not len(used):
        return 0
    rows = sum(int((ranges[used, 1] - ranges[used, 0]).sum()) for ranges in (task.onset_rows, task.apex_rows))
    return rows * task.config.data.image_size ** 2 * 3


def warn_if_short(tasks: Sequence[FoldTask], executor: ExecutorConfig | None, *, available: int | None = None) -> None:
    """Log one warning when the largest CPU task of this process is unlikely to fit in the available memory."""
    if executor is not None and executor.executor != "local":  # Ray workers and SLURM jobs run elsewhere
        return
    cpu = [t for t in tasks if resolve_device(t.config.train.device).type == "cpu"]
    if not cpu:
        return
    if available is None and (available := available_bytes()) is None:
        return
    def need(task: FoldTask) -> float:
        return estimate_peak_bytes(task.config.train.batch_size, task.config.data.image_size, fold_frame_bytes(task))

    worst = max(cpu, key=need)
    line = memory_warning(worst.config.train.batch_size, worst.config.data.image_size, fold_frame_bytes(worst),
                          available)
    if line is not None:
        log.warning("%s", line)
