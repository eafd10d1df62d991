"""Which model the server runs, in words a user can check: its classes, input size, and what it
was trained on; and where ``mmnet serve`` finds a model when none is given (one saved by ``mmnet demo``).

A checkpoint carries its class names and preprocessing; what it was trained on is read from the
run folder it was saved in (:mod:`mmnet.infer.provenance`, shared with ``mmnet explain``). A model
trained on the synthetic set of ``mmnet synth`` / ``mmnet demo`` is only good for trying the page.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import CheckpointError
from ..infer.model_summary import model_title, note_sentence, performance
from ..infer.provenance import (
    PERMUTED_NOTE,
    dataset_name,
    newest_model,
    record_caption,
    record_warning,
    training_caption,
)
from ..infer.provenance import training_record as _training
from .messages import for_web

__all__ = ["describe_checkpoint", "find_demo_checkpoint", "model_title", "provenance", "with_model_note",
           "NO_MODEL_HELP"]

NO_MODEL_HELP = (
    "No checkpoint given and no model of `mmnet demo` found under {where}. Either pass --checkpoint DIR (a "
    "folder holding model.safetensors, e.g. RUN/seed-0/fold-NAME/model of a run trained with "
    "--set train.save_models=true), or make a small demo model to try the page with:\n"
    "  mmnet demo --set train.save_models=true\n"
    "(trained on synthetic faces in a few minutes on a CPU; its predictions mean nothing on real faces; "
    "add --restart if `mmnet demo` ran here before without it: that run is moved aside, not deleted)."
)


def find_demo_checkpoint(search: Path) -> Path | None:
    """The newest ``demo-run/**/model/model.safetensors`` under ``search`` (or ``search`` itself when
    it is the demo folder), as its model folder; None when there is none."""
    roots = [search] if search.name == "demo-run" else [search / "demo-run"]
    found = [p for root in roots if root.is_dir() for p in root.glob("**/model/model.safetensors")]
    if not found:
        return None
    return newest_model(found)


def describe_checkpoint(path: Path, predictor) -> dict:
    """The model as the page shows it: ``title`` (training data and classes, in words), ``name`` (its folder),
    classes, input size, version, training data (when known), and the ``caption`` its attention figures carry
    (``mmnet explain``'s, the dataset by its name: what the model was trained on)."""
    from ..model.mmnet import read_checkpoint
    from ..run_folder import weights_sha256

    weights = Path(path) / "model.safetensors" if Path(path).is_dir() else Path(path)
    try:
        _, meta = read_checkpoint(path)
    except CheckpointError:
        meta = {}
    model = meta.get("model") or {}
    training = _training(Path(path))
    synthetic = training.get("synthetic")
    if synthetic:
        summary = ("Trained on synthetic faces (made by mmnet synth or mmnet demo): for trying this page only. Its "
                   "predictions mean nothing on real faces.")
    elif training.get("source"):  # converted weights: the caption's words ("... trained there on data not stated")
        summary = record_caption(training, by_name=True).replace("Model converted", "Converted", 1)
        if not isinstance(training.get("dataset"), str):
            summary += " Check what they were trained on before trusting its predictions."
    elif training.get("dataset") and synthetic is False:
        summary = f"Trained on {dataset_name(training['dataset'])}."
    elif training.get("dataset"):  # not named as trained on a real dataset: it may have been synthetic faces
        summary = (f"Of unknown data provenance: configured for {dataset_name(training['dataset'])}, but its training "
                   "data folder was not found and no record says whether it was real or synthetic. Check its origin "
                   "before trusting its predictions.")
    else:
        summary = ("What this model was trained on is not recorded (no record in the checkpoint or beside it, and the "
                   "checkpoint is not inside its run folder). Check its origin before trusting its predictions.")
    if training.get("permuted_labels"):
        summary += " " + PERMUTED_NOTE
    return {
        "title": model_title(list(predictor.class_names), training),
        "name": Path(path).name if Path(path).name != "model" else "/".join(Path(path).parts[-3:]),
        "sha256": weights_sha256(weights) if weights.is_file() else None,
        "classes": list(predictor.class_names),
        "image_size": predictor.preprocessing.image_size,
        "main_input": model.get("main_input"),
        "attention": bool(model.get("use_ca", True)),
        "mmnet_version": meta.get("mmnet_version"),
        "training": training,
        "synthetic": synthetic if isinstance(synthetic, bool) else None,  # None: unknown
        "permuted_labels": bool(training.get("permuted_labels")),
        # what the classes are worth, for the page's warning, every result's warnings and the CSVs (None: nothing)
        "note": note_sentence(for_web(record_warning(training) or "")),
        "performance": performance(path),
        "summary": summary,
        "caption": training_caption(path, by_name=True),
    }



def provenance(info: dict) -> dict:
    """Which model gave a result, as every result carries it (``model``): its title, folder name (never a path on
    the server), the sha256 of its weights, classes, whether it learnt synthetic faces (None: not known) or
    permuted labels, ``note`` (what its classes are worth when that needs saying; None otherwise), the mmnet
    version that saved it, and ``served_by``, the mmnet version that computed the result."""
    from ..version import __version__

    return {"title": info.get("title"), "name": info.get("name"), "sha256": info.get("sha256"),
            "classes": list(info.get("classes") or []), "synthetic": info.get("synthetic"),
            "permuted_labels": bool(info.get("permuted_labels")), "note": info.get("note"),
            "mmnet_version": info.get("mmnet_version"), "served_by": __version__}


def with_model_note(result: dict, note: str | None) -> dict:
    """A result with the model's note (``describe_checkpoint``'s: synthetic faces, permuted labels, unknown
    training data) last in its ``warnings`` (and in ``warning``, which joins them): the JSON people keep says it."""
    if note:
        result["warnings"] = [*result.get("warnings", []), note]
        if "warning" in result or result.get("warnings") != [note]:
            result["warning"] = "; ".join(result["warnings"])
    return result
