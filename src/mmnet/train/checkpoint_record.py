"""What every model that training saves records about its training data, in its checkpoint header
(``CheckpointInfo.training``): the dataset(s), the subjects it was trained on, the epochs and the licence
note of the model card. The weights then keep their provenance when copied out of the run folder, fold
models (``train.save_models``) included, which get no card of their own.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from ..config import config_to_dict
from ..infer.provenance import is_synthetic
from .alignment_record import SYNTHETIC
from .model_card import _licence
from .tasks import FoldTask

__all__ = ["training_header"]


def training_header(task: FoldTask) -> dict:
    """The ``training`` record of the model ``task`` trains: built from the task alone (no run file is read
    but the data folders' synthetic marker), so a model saved by any executor carries the same record."""
    cfg = task.config
    data = config_to_dict(cfg)["data"]
    subjects, held_out = _subjects(task, task.train_idx), _subjects(task, task.test_idx)
    samples: dict[str, int] = defaultdict(int)
    for i in task.train_idx:
        samples[task.datasets[i]] += 1
    # the licence note names each dataset's owner and agreement (model_card._licence, the card's own note)
    per_dataset = {ds: {"samples": samples[ds], "subjects": subjects[ds]} for ds in subjects}
    synthetic = is_synthetic(data, Path(task.out_dir))
    record = {
        "dataset": cfg.data.dataset, "scheme": cfg.data.scheme, "datasets": per_dataset,
        "samples": len(task.train_idx), "epochs": cfg.train.epochs,
        # a fold model is tested on the subjects it did not see; the final model sees every subject
        "held_out": held_out,
        "synthetic": synthetic,
        "licence": _licence(per_dataset, bool(synthetic), cfg.data.dataset == "composite"),
    }
    # how the clips were aligned, so that new footage is aligned alike (infer.alignment); drawn faces: by no model
    alignment = SYNTHETIC if synthetic else task.alignment
    if alignment is not None:
        record["alignment"] = dict(alignment)
    if cfg.data.permute_labels:
        record["permuted_labels"] = True
    return record


def _subjects(task: FoldTask, indices: list[int]) -> dict[str, list[str]]:
    """The subjects of ``indices`` per dataset (a composite's parts may share subject names)."""
    found: dict[str, set[str]] = defaultdict(set)
    for i in indices:
        found[task.datasets[i]].add(task.subjects[i])
    return {ds: sorted(found[ds]) for ds in sorted(found)}
