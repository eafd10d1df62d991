"""Which model the server runs, in words a user can check: its classes, input size, and what it
was trained on; and where ``mmnet serve`` finds a model when none is given (one saved by ``mmnet demo``).

A checkpoint carries its class names and preprocessing; what it was trained on is read from the
run folder it was saved in (:mod:`mmnet.infer.provenance`, shared with ``mmnet explain``). A model
trained on the synthetic set of ``mmnet synth`` / ``mmnet demo`` is only good for trying the page.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import CheckpointError
from ..infer.provenance import dataset_name, newest_model, record_caption, training_caption
from ..infer.provenance import training_record as _training

__all__ = ["describe_checkpoint", "find_demo_checkpoint", "model_title", "provenance", "NO_MODEL_HELP"]

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


def model_title(classes: list[str], training: dict | None = None) -> str:
    """The model in a line for people: what it was trained on (``provenance.training_record``) and its classes."""
    training = training or {}
    if training.get("synthetic"):
        what = "Demo model (synthetic faces)"
    elif isinstance(training.get("dataset"), str):
        what = f"{dataset_name(training['dataset'])} model"
    else:
        what = "Model"
    return f"{what}, {len(classes)} classes: {', '.join(classes)}"


def describe_checkpoint(path: Path, predictor) -> dict:
    """The model as the page shows it: ``title`` (training data and classes, in words), ``name`` (its folder),
    classes, input size, version, training data (when known), and the ``caption`` its attention figures carry
    (``mmnet explain``'s, the dataset by its name: what the model was trained on)."""
    from ..model.mmnet import read_checkpoint
    from ..run_folder import file_sha256

    weights = Path(path) / "model.safetensors" if Path(path).is_dir() else Path(path)
    try:
        _, meta = read_checkpoint(path)
    except CheckpointError:
        meta = {}
    model = meta.get("model") or {}
    training = _training(Path(path))
    synthetic = training.get("synthetic")
    if synthetic:
        summary = ("Trained on synthetic faces (mmnet demo): for trying this page only. Its predictions mean "
                   "nothing on real faces.")
    elif training.get("source"):  # converted weights: the caption's words ("... trained there on data not stated")
        summary = record_caption(training, by_name=True).replace("Model converted", "Converted", 1)
        if not isinstance(training.get("dataset"), str):
            summary += " Check what they were trained on before trusting its predictions."
    elif training.get("dataset") and synthetic is False:
        summary = f"Trained on {dataset_name(training['dataset'])}."
    elif training.get("dataset"):
        summary = (f"Trained on {dataset_name(training['dataset'])}; the training data folder was not found, so "
                   "whether it was real or synthetic is unknown.")
    else:
        summary = ("What this model was trained on is not recorded (no record in the checkpoint or beside it, and the "
                   "checkpoint is not inside its run folder). Check its origin before trusting its predictions.")
    return {
        "title": model_title(list(predictor.class_names), training),
        "name": Path(path).name if Path(path).name != "model" else "/".join(Path(path).parts[-3:]),
        "sha256": file_sha256(weights) if weights.is_file() else None,
        "classes": list(predictor.class_names),
        "image_size": predictor.preprocessing.image_size,
        "main_input": model.get("main_input"),
        "attention": bool(model.get("use_ca", True)),
        "mmnet_version": meta.get("mmnet_version"),
        "training": training,
        "synthetic": synthetic if isinstance(synthetic, bool) else None,  # None: unknown
        "summary": summary,
        "caption": training_caption(path, by_name=True),
    }



def provenance(info: dict) -> dict:
    """Which model gave a result, as every result carries it (``model``): its title, folder name (never a path on
    the server), the sha256 of its weights, classes, whether it learnt synthetic faces (None: not known), the
    mmnet version that saved it, and ``served_by``, the mmnet version that computed the result."""
    from ..version import __version__

    return {"title": info.get("title"), "name": info.get("name"), "sha256": info.get("sha256"),
            "classes": list(info.get("classes") or []), "synthetic": info.get("synthetic"),
            "mmnet_version": info.get("mmnet_version"), "served_by": __version__}
