"""Which model the server runs, in words a user can check: its classes, input size, and what it
was trained on; and where ``mmnet serve`` finds a model when none is given (one saved by ``mmnet demo``).

A checkpoint carries its class names and preprocessing; what it was trained on is read from the
run folder it was saved in (``RUN/config.yaml``: the dataset and its root), when the checkpoint
still sits there. A data root holding ``synth.json`` is the synthetic set of ``mmnet synth`` /
``mmnet demo``: such a model is only good for trying the page.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import CheckpointError

__all__ = ["describe_checkpoint", "find_demo_checkpoint", "NO_MODEL_HELP"]

NO_MODEL_HELP = (
    "No checkpoint given and no model of `mmnet demo` found under {where}. Either pass --checkpoint DIR (a "
    "folder holding model.safetensors, e.g. RUN/seed-0/fold-NAME/model of a run trained with "
    "--set train.save_models=true), or make a small demo model to try the page with:\n"
    "  mmnet demo --set train.save_models=true\n"
    "(trained on synthetic faces in a few minutes on a CPU; its predictions mean nothing on real faces)."
)


def find_demo_checkpoint(search: Path) -> Path | None:
    """The newest ``demo-run/**/model/model.safetensors`` under ``search`` (or ``search`` itself when
    it is the demo folder), as its model folder; None when there is none."""
    roots = [search] if search.name == "demo-run" else [search / "demo-run"]
    found = [p for root in roots if root.is_dir() for p in root.glob("**/model/model.safetensors")]
    if not found:
        return None
    return max(found, key=lambda p: (p.stat().st_mtime, str(p))).parent


def _run_folder(checkpoint: Path) -> Path | None:
    """RUN of RUN/seed-S/fold-F/model (a few levels up, holding config.yaml), or None."""
    folder = checkpoint if checkpoint.is_dir() else checkpoint.parent
    for parent in list(folder.parents)[:4]:
        if (parent / "config.yaml").is_file() and (parent / "env.json").is_file():
            return parent
    return None


def _roots(data: dict) -> list[Path]:
    """The folders of data.root (one, or one per part of the composite); [] when unreadable."""
    from ..config import parse_root
    from ..errors import ConfigError

    try:
        root = parse_root(str(data.get("dataset")), data.get("root"))
    except ConfigError:
        return []
    return list(root.values()) if isinstance(root, dict) else [root]


def _resolve(root: Path, run: Path) -> Path:
    """A relative data root as training saw it: from the folder training ran in (unknown, so the
    current folder, or the run folder's parents), the first that exists."""
    if root.is_absolute():
        return root
    for base in (Path.cwd(), run.parent.parent, run.parent):
        if (base / root).exists():
            return base / root
    return root


def _training(checkpoint: Path) -> dict:
    """What the run folder says about the training data, or {} when the checkpoint is not in one."""
    import yaml

    run = _run_folder(checkpoint)
    if run is None:
        return {}
    try:
        config = yaml.safe_load((run / "config.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        return {}
    data = config.get("data") or {}
    train = config.get("train") or {}
    out = {"dataset": data.get("dataset"), "epochs": train.get("epochs"), "run": run.name}
    root_paths = [_resolve(r, run) for r in _roots(data)]
    if any((r / "synth.json").is_file() for r in root_paths):
        out["synthetic"] = True
    elif root_paths and all(r.is_dir() for r in root_paths):
        out["synthetic"] = False
    if config.get("data", {}).get("permute_labels"):
        out["permuted_labels"] = True
    return out


def describe_checkpoint(path: Path, predictor) -> dict:
    """The model as the page shows it: classes, input size, version, training data (when known)."""
    from ..model.mmnet import read_checkpoint

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
    elif training.get("dataset") and synthetic is False:
        summary = f"Trained on {training['dataset']}."
    elif training.get("dataset"):
        summary = (f"Trained with data.dataset={training['dataset']}; the training data folder was not found, so "
                   "whether it was real or synthetic is unknown.")
    else:
        summary = ("What this model was trained on is not recorded (the checkpoint is not inside its run folder). "
                   "Check its origin before trusting its predictions.")
    return {
        "name": Path(path).name if Path(path).name != "model" else "/".join(Path(path).parts[-3:]),
        "classes": list(predictor.class_names),
        "image_size": predictor.preprocessing.image_size,
        "main_input": model.get("main_input"),
        "attention": bool(model.get("use_ca", True)),
        "mmnet_version": meta.get("mmnet_version"),
        "training": training,
        "synthetic": bool(synthetic),
        "summary": summary,
    }

