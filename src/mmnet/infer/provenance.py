"""What a checkpoint was trained on, read from the run folder it was saved in, for the people who look at
its output (the caption of ``mmnet explain``'s figure, the model line of ``mmnet serve``'s page).

A checkpoint carries its class names and preprocessing, not its training data; while it sits in its run
folder (``RUN/seed-S/fold-F/model``, ``RUN/final/model``), ``RUN/config.yaml`` names the dataset and its
root. A data root holding ``synth.json`` is the synthetic set of ``mmnet synth`` / ``mmnet demo``. A
checkpoint outside a run folder has no record: it may be untrained, and nothing here can tell.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["is_synthetic", "training_record", "training_caption", "label_warning", "newest_model", "dataset_name",
           "UNRECORDED_CAPTION", "DATASET_NAMES"]

#: The datasets' names as their owners write them (``train.model_card.DATASET_OWNERS`` adds the owners).
DATASET_NAMES = {"casme2": "CASME II", "casme3": "CAS(ME)^3", "samm": "SAMM", "smic": "SMIC", "mmew": "MMEW",
                 "composite": "CASME II, SAMM and SMIC combined"}


def newest_model(weights: list[Path]) -> Path:
    """The model folder of the most recently written of ``weights`` (model.safetensors files; ties by path):
    the one ``mmnet serve`` loads from a demo run, and the one ``mmnet demo`` tells to try."""
    return max(weights, key=lambda p: (p.stat().st_mtime, str(p))).parent


def _run_folder(checkpoint: Path) -> Path | None:
    """RUN of RUN/seed-S/fold-F/model (a few levels up, holding config.yaml), or None."""
    # resolved: a relative "model" has no parents to walk, and a symlinked checkpoint's run is where it points
    folder = (checkpoint if checkpoint.is_dir() else checkpoint.parent).resolve()
    for parent in list(folder.parents)[:4]:
        if (parent / "config.yaml").is_file() and (parent / "env.json").is_file():
            return parent
    return None


def _roots(data: dict) -> list[Path]:
    """The folders of data.root (one, or one per part of the composite); [] when unreadable."""
    from ..config import parse_root
    from ..data import dataset_paths
    from ..errors import ConfigError

    try:
        root = parse_root(str(data.get("dataset")), data.get("root"))
    except ConfigError:
        return []
    return list(dataset_paths(root)[0].values())


def _resolve(root: Path, run: Path) -> Path:
    """A relative data root as training saw it: from the folder training ran in (unknown, so the
    current folder, or the run folder's parents), the first that exists."""
    if root.is_absolute():
        return root
    for base in (Path.cwd(), run.parent.parent, run.parent):
        if (base / root).exists():
            return base / root
    return root


def is_synthetic(data: dict, run: Path | None = None) -> bool | None:
    """Whether a run's ``data`` section (of its config.yaml) trained on mmnet's synthetic faces: True when
    any of its data folders is a synthetic set (a model trained partly on synthetic data is labelled as
    such), False when every folder is found and none is, None when a folder is not found (unknown).
    Relative folders are looked for as training saw them, from ``run`` (the run folder) when given."""
    from ..data.common import SYNTH_MARKER

    root_paths = [_resolve(r, run) if run is not None else r for r in _roots(data)]
    if any((r / SYNTH_MARKER).is_file() for r in root_paths):
        return True
    if root_paths and all(r.is_dir() for r in root_paths):
        return False
    return None


def training_record(checkpoint: str | Path) -> dict:
    """What the run folder says about the training data, or {} when the checkpoint is not in one:
    ``dataset``, ``epochs``, ``run`` (the folder's name), ``synthetic`` (True, False, or absent when the
    data folder is not found), ``permuted_labels`` (only when true)."""
    import yaml

    run = _run_folder(Path(checkpoint))
    if run is None:
        return {}
    try:
        config = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}
    data = config.get("data") or {}
    train = config.get("train") or {}
    out = {"dataset": data.get("dataset"), "epochs": train.get("epochs"), "run": run.name}
    synthetic = is_synthetic(data, run)
    if synthetic is not None:
        out["synthetic"] = synthetic
    if config.get("data", {}).get("permute_labels"):
        out["permuted_labels"] = True
    return out


#: ``training_caption`` of a model whose training is not recorded (also: a model known by no checkpoint path).
UNRECORDED_CAPTION = ("Model: what it was trained on is not recorded (the checkpoint is not inside its run folder); "
                      "it may be untrained: check its origin before relying on its output.")


def dataset_name(key: str) -> str:
    """A dataset as its owners name it, for people ("casme2" -> "CASME II", "smic-hs" -> "SMIC (HS)"); the
    configuration's key itself when unknown."""
    if key in DATASET_NAMES:
        return DATASET_NAMES[key]
    base, _, variant = key.partition("-")
    return f"{DATASET_NAMES[base]} ({variant.upper()})" if base in DATASET_NAMES and variant else key


def training_caption(checkpoint: str | Path, *, by_name: bool = False) -> str:
    """One line for a figure: what the model was trained on, and a warning when that makes its output
    meaningless on real faces (synthetic data, permuted labels) or unknown (no record: possibly untrained).
    ``by_name`` words it for people who do not know the configuration's keys (the page of ``mmnet serve``): the
    dataset by its name (``dataset_name``: "casme2" -> "CASME II"), no ``data.dataset=``."""
    rec = training_record(checkpoint)
    if not rec:
        return UNRECORDED_CAPTION
    epochs = rec["epochs"]
    named = by_name and isinstance(rec["dataset"], str)
    dataset = dataset_name(rec["dataset"]) if named else rec["dataset"]
    key = "" if named else f"data.dataset={rec['dataset']}, "
    where = f"run folder '{rec['run']}', {key}{epochs} epoch{'' if epochs == 1 else 's'}"
    if rec.get("synthetic"):
        line = (f"Model trained on synthetic faces {_how_much(rec)} ({where}; mmnet synth/demo): "
                "its attention and prediction mean nothing on real faces.")
    elif rec.get("synthetic") is False:
        line = f"Model trained on {dataset} ({where})."
    else:
        line = ((f"Model trained on {dataset} ({where})" if named else f"Model trained with {where}")
                + "; the training data folder was not found: real or synthetic is unknown.")
    if rec.get("permuted_labels"):
        line += " Trained with permuted labels (a control): its predictions are chance by design."
    return line


def _how_much(rec: dict) -> str:
    """"only", or "in part" for a composite (any synthetic part makes the model synthetic: is_synthetic)."""
    return "in part" if rec.get("dataset") == "composite" else "only"


def label_warning(checkpoint: str | Path) -> str | None:
    """One line for the people who read ``mmnet predict``/``spot``'s classes when they mean nothing on real
    faces (a model of synthetic data or of the permuted-label control) or may mean nothing (no record of
    its training: possibly untrained); None otherwise."""
    rec = training_record(checkpoint)
    if not rec:
        return UNRECORDED_CAPTION.removeprefix("Model: ")
    if rec.get("synthetic"):
        return (f"the model was trained on synthetic faces {_how_much(rec)} (mmnet synth/demo): its classes mean "
                "nothing on real faces; train on a dataset for those (README, 'Using it on real data')")
    if rec.get("permuted_labels"):
        return "the model was trained with permuted labels (a control): its classes are chance by design"
    return None
