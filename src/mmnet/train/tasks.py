"""The unit of work of a run: one (seed, fold), as every executor ships it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import ExperimentConfig
from ..run_folder import FINAL, fold_path

__all__ = ["FoldTask", "fold_seed"]


@dataclass
class FoldTask:
    """One (seed, fold) of a run: everything a worker needs to train and test it. Picklable."""

    out_dir: str
    config: ExperimentConfig  # the run's resolved config
    seed: int
    fold: str
    train_idx: list[int]
    test_idx: list[int]
    frames_path: str  # the frame cache (.npy), memory-mapped by the worker
    onset_rows: np.ndarray
    apex_rows: np.ndarray
    onset_exact: np.ndarray
    apex_exact: np.ndarray
    labels: list[int]
    sample_ids: list[str]
    subjects: list[str]
    datasets: list[str]
    flows_path: str | None = None  # optical flow per sample (model.main_input == "flow")
    # The final fit (train.final_fit): every sample trains, none is tested; the folder is RUN/final
    # and the model is always saved. Otherwise it is a fold like the others (resume included).
    final: bool = False
    alignment: dict | None = None  # how the training clips were aligned (alignment_record); None: not read

    @property
    def fold_dir(self) -> Path:
        return Path(self.out_dir) / FINAL if self.final else fold_path(self.out_dir, self.seed, self.fold)

    @property
    def label(self) -> str:
        """How progress lines and errors name this task."""
        if self.final:
            return f"{Path(self.out_dir).name} final fit (seed {self.seed}, every subject)"
        return f"{Path(self.out_dir).name} seed {self.seed} fold {self.fold}"


def fold_seed(seed: int, fold: str) -> int:
    """A fresh, reproducible seed per (seed, fold)."""
    return int.from_bytes(hashlib.sha256(f"{seed}/{fold}".encode()).digest()[:4], "little") & 0x7FFFFFFF
