"""A recogniser checkpoint's training subjects, for ``spot.json`` (``spotting.in_sample``): whether a recording it
classifies is of a subject it learnt from, whose classes are then in-sample. Read as ``provenance`` reads the
rest of what a checkpoint was trained on: its header's training record, the model card beside it, its run folder.
"""

from __future__ import annotations

from pathlib import Path

from ..utils import json_object_or_none

__all__ = ["classifier_trained_on"]


def classifier_trained_on(checkpoint: str | Path) -> dict | None:
    """A recogniser checkpoint's training subjects, ``{"dataset", "subjects": {dataset: [subject]}}``, read from
    its header's training record, else the model card beside it, else its fold's done.json (``train_subjects``,
    the final model's) with the run's dataset; None when none records them."""
    from ..model.checkpoint import weights_file
    from .provenance import header_training, model_card_beside, run_config, run_folder

    path = Path(checkpoint)
    for training in (header_training(path), (model_card_beside(path) or {}).get("training") or {}):
        per = training.get("datasets")
        if isinstance(per, dict) and per and all(isinstance(d, dict) for d in per.values()):
            return {"dataset": training.get("dataset"),
                    "subjects": {ds: sorted(map(str, d.get("subjects") or [])) for ds, d in per.items()}}
    try:
        done = json_object_or_none(weights_file(path).parent.parent / "done.json")
    except (OSError, ValueError):
        done = None
    if done and isinstance(done.get("train_subjects"), list):
        run = run_folder(path)
        dataset = None
        if run is not None:
            data = (run_config(run) or {}).get("data")
            dataset = data.get("dataset") if isinstance(data, dict) else None
        return {"dataset": dataset, "subjects": {dataset or "unknown": sorted(map(str, done["train_subjects"]))}}
    return None
