"""What a checkpoint was trained on, for the people who look at its output (the caption of ``mmnet explain``'s
figure, the model line of ``mmnet serve``'s page, ``mmnet info``) and for its ONNX export.

Three records, read in this order:

1. ``model_card.json`` beside the weights (the final model's card, which travels with its folder), when the
   weights' SHA-256 is the one the card names: a card of other weights describes nothing here.
2. The run folder the checkpoint sits in (``RUN/seed-S/fold-F/model``, ``RUN/final/model``): ``RUN/config.yaml``
   names the dataset and its root. A data root holding ``synth.json`` is the synthetic set of ``mmnet synth`` /
   ``mmnet demo``.
3. The ``training`` record in the checkpoint's header, which training writes into every model it saves (fold
   models included) and ``mmnet convert`` into the authors' converted weights (with their source).

The first record found gives the dataset and epochs; the others fill what it cannot say (a run folder whose data
folder is gone cannot tell real from synthetic, but the checkpoint's header and the run's env.json can). Synthetic
data or permuted labels stated by any record hold; records that disagree are listed under ``conflicts``.

A checkpoint with none of them (one of an earlier mmnet, outside its run folder) has no record: it may be
untrained, and nothing here can tell.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from ..utils import json_object_or_none, stat_key

__all__ = ["is_synthetic", "data_roots", "training_record", "training_caption", "record_caption", "licence_note",
           "label_warning", "record_warning", "run_folder", "run_config",
           "model_card_beside", "card_problem", "header_training", "newest_model", "dataset_name", "UNRECORDED_CAPTION",
           "LICENCE_NOT_RECORDED"]


def newest_model(weights: list[Path]) -> Path:
    """The model folder of the most recently written of ``weights`` (model.safetensors files; ties by path):
    the one ``mmnet serve`` loads from a demo run, and the one ``mmnet demo`` tells to try."""
    return max(weights, key=lambda p: (p.stat().st_mtime, str(p))).parent


def run_folder(checkpoint: Path) -> Path | None:
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


def data_roots(data: dict, run: Path | None = None) -> list[Path]:
    """The data folders of a run's ``data`` section, relative ones looked for as training saw them (from ``run``)."""
    return [_resolve(r, run) if run is not None else r for r in _roots(data)]


def is_synthetic(data: dict, run: Path | None = None) -> bool | None:
    """Whether a run's ``data`` section (of its config.yaml) trained on mmnet's synthetic faces: True when
    any of its data folders is a synthetic set (a model trained partly on synthetic data is labelled as
    such), False when every folder is found and none is, None when a folder is not found (unknown).
    Relative folders are looked for as training saw them, from ``run`` (the run folder) when given."""
    from ..data.common import SYNTH_MARKER

    root_paths = data_roots(data, run)
    if any((r / SYNTH_MARKER).is_file() for r in root_paths):
        return True
    if root_paths and all(r.is_dir() for r in root_paths):
        return False
    return None


#: The model card's fields read here that must be JSON objects where present (a card written by mmnet has them so).
_CARD_OBJECTS = ("weights", "training", "recipe_values", "classes")


def _card_beside(checkpoint: str | Path) -> tuple[Path, dict | None, str | None]:
    """(the weights file, the model_card.json beside it as read or None, why it is no card mmnet can read)."""
    from ..model.checkpoint import weights_file
    from ..run_folder import MODEL_CARD_JSON

    weights = weights_file(checkpoint)
    card_path = weights.parent / MODEL_CARD_JSON
    if not card_path.is_file() or not weights.is_file():
        return weights, None, None
    try:
        card = json.loads(_card_text(card_path))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return weights, None, f"'{card_path}' cannot be read as JSON ({exc})"
    if not isinstance(card, dict):
        return weights, None, f"'{card_path}' holds a JSON {type(card).__name__}, not a model card (an object)"
    wrong = [k for k in _CARD_OBJECTS if card.get(k) is not None and not isinstance(card[k], dict)]
    if wrong or not isinstance(card.get("weights"), dict):
        field = (wrong or ["weights"])[0]
        return weights, None, (f"'{card_path}' is not a model card mmnet wrote: its '{field}' is "
                               f"{'missing' if card.get(field) is None else 'not an object'}")
    return weights, card, None


def _card_text(path: Path) -> str:
    """The card's text, read once: one command looks at it 3-4 times (the training record, the summary, the training
    subjects, the label warning); keyed as ``run_folder.weights_sha256``, so that a card rewritten since is read."""
    resolved = path.resolve()
    return _read_card(resolved, stat_key(resolved))


@functools.lru_cache(maxsize=16)
def _read_card(path: Path, key: tuple[int, ...]) -> str:
    return path.read_text(encoding="utf-8")


def card_problem(checkpoint: str | Path) -> str | None:
    """Why the ``model_card.json`` beside the checkpoint's weights is ignored as malformed (a sentence for
    ``mmnet info``), or None (no card, or a readable one)."""
    why = _card_beside(checkpoint)[2]
    return None if why is None else (f"{why}; it is ignored, and what the model was trained on is read from the "
                                     "checkpoint (or its run folder) instead")


def model_card_beside(checkpoint: str | Path) -> dict | None:
    """The ``model_card.json`` in the checkpoint's folder when it describes these weights (its
    ``weights.sha256`` is theirs); None when there is none, it is unreadable or malformed (:func:`card_problem`
    says why), or it names other weights."""
    from ..run_folder import weights_sha256

    weights, card, _ = _card_beside(checkpoint)
    if card is None:
        return None
    sha = card["weights"].get("sha256")
    if not isinstance(sha, str) or sha != weights_sha256(weights):
        return None
    return card


def header_training(checkpoint: str | Path) -> dict:
    """The ``training`` record in the checkpoint's safetensors header; {} when it has none (an earlier mmnet's
    checkpoint) or the file is no readable checkpoint (its loader says why)."""
    from safetensors import safe_open

    from ..model.checkpoint import weights_file

    try:
        with safe_open(str(weights_file(checkpoint)), framework="pt") as f:
            meta = json.loads((f.metadata() or {}).get("mmnet", "{}"))
    except Exception:  # safetensors raises its own types; a damaged file has no record to show (its loader says why)
        return {}
    training = meta.get("training") if isinstance(meta, dict) else None
    return dict(training) if isinstance(training, dict) else {}


def _card_record(card: dict) -> dict:
    t = card.get("training") or {}
    out = {"dataset": t.get("dataset"), "epochs": t.get("epochs"), "recorded_in": "model card",
           "synthetic": bool(card.get("synthetic_data"))}
    if (card.get("recipe_values") or {}).get("data.permute_labels"):
        out["permuted_labels"] = True
    if isinstance(card.get("licence"), str):
        out["licence"] = card["licence"]
    return out


def run_config(run: Path) -> dict | None:
    """A run folder's config.yaml as a dict ({} when empty), or None when it cannot be read as one."""
    import yaml

    try:
        config = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return config if isinstance(config, dict) else None


def _run_record(run: Path) -> dict:
    config = run_config(run)
    if config is None:
        return {}
    data = config.get("data") or {}
    train = config.get("train") or {}
    out = {"dataset": data.get("dataset"), "epochs": train.get("epochs"), "recorded_in": "run folder"}
    synthetic = is_synthetic(data, run)
    if synthetic is not None:
        out["synthetic"] = synthetic
    if data.get("permute_labels"):
        out["permuted_labels"] = True
    return out


def _header_record(training: dict) -> dict:
    out = {"dataset": training.get("dataset"), "epochs": training.get("epochs"), "recorded_in": "checkpoint"}
    if isinstance(training.get("synthetic"), bool):
        out["synthetic"] = training["synthetic"]
    if training.get("permuted_labels"):
        out["permuted_labels"] = True
    if isinstance(training.get("licence"), str):
        out["licence"] = training["licence"]
    if isinstance(training.get("source"), dict):  # weights converted by `mmnet convert`
        out["source"] = training["source"]
        out["scheme"] = training.get("scheme")
    return out


def _env_record(run: Path) -> dict:
    """The run's env.json: ``synthetic_data`` is written when training read a synthetic set (only then)."""
    env = json_object_or_none(run / "env.json") or {}
    return {"synthetic": True} if env.get("synthetic_data") else {}


#: The records' names in ``conflicts``.
_RECORD_NAMES = {"model card": "the model card", "run folder": "the run folder's data folder",
                 "env": "the run's env.json", "checkpoint": "the checkpoint's header"}


def _merged(records: list[tuple[str, dict]]) -> dict:
    """The first record, with what it leaves unsaid filled from the others (dataset, epochs, licence); synthetic
    when any record says so (a warning is never dropped for a record that cannot see the data), and the
    records that disagree on it in ``conflicts``."""
    out = dict(records[0][1])
    for _, other in records[1:]:
        for key in ("dataset", "epochs", "licence"):
            if out.get(key) is None and other.get(key) is not None:
                out[key] = other[key]
    said = {name: rec["synthetic"] for name, rec in records if isinstance(rec.get("synthetic"), bool)}
    if said:
        out["synthetic"] = any(said.values())
    if len(set(said.values())) > 1:
        words = "; ".join(f"{_RECORD_NAMES[name]} says {'synthetic' if value else 'real'}"
                          for name, value in said.items())
        out["conflicts"] = [f"the records disagree on whether the training data was synthetic ({words}): "
                            "treated as synthetic; check where the model comes from"]
    if any(rec.get("permuted_labels") for _, rec in records):
        out["permuted_labels"] = True
    return out


def training_record(checkpoint: str | Path) -> dict:
    """What is recorded about the training data (the module's docstring says where, in which order), or {}:
    ``dataset``, ``epochs``, ``recorded_in`` ("model card", "run folder", "checkpoint"), ``run`` (the run
    folder's name, when the checkpoint is in one), ``synthetic`` (True, False, or absent when no record can
    tell), ``permuted_labels`` (only when true), ``licence`` (the licence note, when recorded), ``source`` and
    ``scheme`` (converted weights: the file they came from), ``conflicts`` (sentences: records that disagree)."""
    path = Path(checkpoint)
    run = run_folder(path)
    header = header_training(path)
    card = model_card_beside(path)
    records = [(name, rec) for name, rec in (
        ("model card", _card_record(card) if card is not None else {}),
        ("run folder", _run_record(run) if run is not None else {}),
        ("env", _env_record(run) if run is not None else {}),
        ("checkpoint", _header_record(header) if header else {})) if rec]
    if not records:
        return {}
    if records[0][0] == "env":  # env.json alone (config.yaml unreadable): the header, if any, leads
        records = records[1:] + records[:1]
    out = _merged(records)
    if "recorded_in" not in out:  # env.json alone
        return {}
    if run is not None:
        out["run"] = run.name
    return out


#: ``training_caption`` of a model whose training is not recorded (also: a model known by no checkpoint path).
UNRECORDED_CAPTION = ("Model: what it was trained on is not recorded (no record in the checkpoint or beside it, and "
                      "the checkpoint is not inside its run folder); it may be untrained: check its origin before "
                      "relying on its output.")
#: ``licence_note`` of a model whose training data, and so its licence, is not recorded.
LICENCE_NOT_RECORDED = ("not recorded: check the licence of the data the model was trained on (and of the weights, "
                        "when they come from elsewhere) before sharing it or using it beyond research.")
#: How a caption says where the record was read (a run folder is named instead).
_RECORDED_IN = {"model card": "model card beside the weights", "checkpoint": "recorded in the checkpoint"}


def dataset_name(key: str) -> str:
    """A dataset as its owners name it, for people ("casme2" -> "CASME II", "smic-hs" -> "SMIC (HS)"); the
    configuration's key itself when unknown (``mmnet.data.releases.DATASET_NAMES``, made from the registry)."""
    from ..data.releases import DATASET_NAMES

    return DATASET_NAMES.get(key, key)


def training_caption(checkpoint: str | Path, *, by_name: bool = False) -> str:
    """One line for a figure: what the model was trained on, and a warning when that makes its output
    meaningless on real faces (synthetic data, permuted labels) or unknown (no record: possibly untrained).
    ``by_name`` words it for people who do not know the configuration's keys (the page of ``mmnet serve``): the
    dataset by its name (``dataset_name``: "casme2" -> "CASME II"), no ``data.dataset=``."""
    return record_caption(training_record(checkpoint), by_name=by_name)


# a model whose record does not say whether its data was real or synthetic: never named after a dataset
UNKNOWN_PROVENANCE = "Model of unknown data provenance"
PERMUTED_NOTE = "Trained with permuted labels (a control): its predictions are chance by design."


def record_caption(rec: dict, *, by_name: bool = False) -> str:
    """``training_caption`` of a ``training_record`` already read (a caller that shows more of it)."""
    if not rec:
        return UNRECORDED_CAPTION
    if rec.get("source"):
        return _converted_caption(rec)
    epochs = rec["epochs"]
    named = by_name and isinstance(rec["dataset"], str)
    dataset = dataset_name(rec["dataset"]) if named else rec["dataset"]
    key = "" if named else f"data.dataset={rec['dataset']}, "
    place = f"run folder '{rec['run']}'" if rec.get("run") else _RECORDED_IN.get(rec.get("recorded_in"), "recorded")
    where = f"{place}, {key}{epochs} epoch{'' if epochs == 1 else 's'}"
    if rec.get("synthetic"):
        line = (f"Model trained on synthetic faces {_how_much(rec)} ({where}; mmnet synth/demo): "
                "its attention and prediction mean nothing on real faces.")
    elif rec.get("synthetic") is False:
        line = f"Model trained on {dataset} ({where})."
    else:  # never named after a real dataset: the data may have been mmnet's synthetic faces
        line = (f"{UNKNOWN_PROVENANCE} ({where}): the training data folder was not found and no record "
                "says whether it was real or synthetic; check its origin before relying on its output.")
    if rec.get("permuted_labels"):
        line += " " + PERMUTED_NOTE
    return line


def _converted_caption(rec: dict) -> str:
    """Weights converted by ``mmnet convert``: the file they came from, who trained them on what."""
    source = rec["source"]
    dataset = dataset_name(rec["dataset"]) if isinstance(rec.get("dataset"), str) else "data not stated"
    scheme = f", scheme {rec['scheme']}" if rec.get("scheme") else ""
    return (f"Model converted from '{source.get('file')}' ({source.get('origin')}), trained there on "
            f"{dataset}{scheme}.")


def licence_note(rec: dict) -> str:
    """The licence note of a ``training_record`` (the model card's wording), or that it is not recorded."""
    return rec.get("licence") or LICENCE_NOT_RECORDED


def _how_much(rec: dict) -> str:
    """"only", or "in part" for a composite (any synthetic part makes the model synthetic: is_synthetic)."""
    return "in part" if rec.get("dataset") == "composite" else "only"


def label_warning(checkpoint: str | Path) -> str | None:
    """One line for the people who read ``mmnet predict``/``spot``'s classes when they mean nothing on real
    faces (a model of synthetic data or of the permuted-label control) or may mean nothing (no record of
    its training: possibly untrained; real or synthetic unknown); None otherwise."""
    return record_warning(training_record(checkpoint))


#: What to do about a model of synthetic faces (``mmnet serve`` says it to the page's user: ``serve.messages``).
TRAIN_ON_REAL = "train on a dataset for those (README, 'Using it on real data')"


def record_warning(rec: dict) -> str | None:
    """``label_warning`` of a ``training_record`` already read."""
    if not rec:
        return UNRECORDED_CAPTION.removeprefix("Model: ")
    said = []
    if rec.get("synthetic"):
        said.append(f"the model was trained on synthetic faces {_how_much(rec)} (mmnet synth/demo): its classes mean "
                    "nothing on real faces; " + TRAIN_ON_REAL)
    elif rec.get("synthetic") is None and not rec.get("source"):
        said.append("whether the model was trained on real or synthetic faces is unknown (its training data folder "
                    "was not found and no record says): check its origin before relying on its classes")
    if rec.get("permuted_labels"):
        said.append("the model was trained with permuted labels (a control): its classes are chance by design")
    said += rec.get("conflicts") or []
    return "; ".join(said) or None
