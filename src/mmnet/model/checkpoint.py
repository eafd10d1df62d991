"""The mmnet checkpoint format: a safetensors file whose header records the network's config, class
names and preprocessing (``config.json`` beside it repeats them for people to read). Reading and
checking a checkpoint needs no network; building the network from it is mmnet.model.mmnet's
``load_checkpoint``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from ..errors import CheckpointError
from ..run_folder import model_digest_problem, saved_models_hint

if TYPE_CHECKING:
    from .mmnet import MMNetConfig

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
#: The preprocessing settings a checkpoint may record: the first three applied by mmnet.infer.Preprocessing;
#: ``flow_method`` (a flow model's) says how its flow input was made (data.flow_method), for exports and readers.
PREPROCESSING_KEYS = ("image_size", "mean", "std", "flow_method")
FORMAT_TAG = "mmnet-checkpoint"


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint carries besides the weights and the network's config."""

    class_names: list[str] | None = None  # in logit order; None: unnamed
    preprocessing: dict = field(default_factory=dict)  # image_size, mean, std of the inputs
    # what the weights were trained on and under which licence (mmnet.infer.provenance reads it); None:
    # not recorded, as in checkpoints of earlier mmnet versions, whose readers ignore the key
    training: dict | None = None

    def metadata(self, config: MMNetConfig) -> dict:
        """The JSON record stored with the weights."""
        from ..version import __version__

        return {
            "format": FORMAT_TAG,
            "format_version": 1,
            "mmnet_version": __version__,
            # model.factory only where one built the network: a plain MMNet's record stays what earlier mmnet reads
            "model": {k: v for k, v in dataclasses.asdict(config).items() if k != "factory" or v},
            "class_names": list(self.class_names) if self.class_names is not None else None,
            "preprocessing": dict(self.preprocessing),
            **({"training": dict(self.training)} if self.training is not None else {}),
        }

    @classmethod
    def from_metadata(cls, meta: dict) -> CheckpointInfo:
        training = meta.get("training")
        return cls(class_names=meta.get("class_names"), preprocessing=meta.get("preprocessing") or {},
                   training=training if isinstance(training, dict) else None)


def weights_file(checkpoint: str | Path) -> Path:
    """The weights file a checkpoint argument names: a folder's model.safetensors, or the file given (the one rule
    of every reader: loading, provenance, export, the identity of kept classes)."""
    path = Path(checkpoint)
    return path / WEIGHTS_NAME if path.is_dir() else path


def read_checkpoint(path: str | Path) -> tuple[dict[str, Tensor], dict]:
    """Return (state_dict, metadata) of an mmnet checkpoint, or raise CheckpointError."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    p = weights_file(path)
    if not p.exists() and (p.parent / CONFIG_NAME).is_file():
        raise CheckpointError(f"'{p}' is missing ({CONFIG_NAME} alone is not a model): copy the {WEIGHTS_NAME} "
                              f"written beside it, or give the folder that holds both.")
    if not p.exists():
        raise CheckpointError(
            f"No mmnet checkpoint at '{path}': expected a folder holding {WEIGHTS_NAME} and "
            f"{CONFIG_NAME} (written by `mmnet convert` or training), or the {WEIGHTS_NAME} file itself."
            + saved_models_hint(Path(path), WEIGHTS_NAME)
        )
    if p.suffix.lower() == ".json" and (p.parent / WEIGHTS_NAME).is_file():  # config.json, model_card.json
        raise CheckpointError(f"'{p}' is a JSON record beside the model, not the model: give the folder "
                              f"'{p.parent}' or its {WEIGHTS_NAME}.")
    if problem := model_digest_problem(p, WEIGHTS_NAME):  # a run's fold model whose bytes changed after training
        raise CheckpointError(problem)
    try:
        with safe_open(str(p), framework="pt") as f:
            header = f.metadata() or {}
        weights = load_file(str(p))
    except Exception as exc:  # safetensors raises its own error type, which moved between versions
        if _looks_like_onnx(p):  # `mmnet export --onnx` output given where the checkpoint belongs
            raise CheckpointError(
                f"'{p}' is an exported ONNX model, not an mmnet checkpoint: run it with onnxruntime "
                "(docs/inference.md, \"Running it without mmnet\"). mmnet's commands and Predictor take the "
                f"checkpoint folder it was exported from ({WEIGHTS_NAME} and {CONFIG_NAME})."
            ) from None
        raise CheckpointError(f"'{p}' is not a readable safetensors file ({exc}). {_unreadable_hint(p)}") from exc
    # The header is the one source of truth: config.json (written beside it for people to read) is
    # read only for a weights file whose header carries no mmnet record (docs/inference.md).
    meta, source = None, f"the header of '{p}'"
    if "mmnet" in header:
        meta = _parse_json(header["mmnet"], source)
    elif (p.parent / CONFIG_NAME).is_file():
        source = f"'{p.parent / CONFIG_NAME}'"
        try:
            text = (p.parent / CONFIG_NAME).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CheckpointError(f"{source} cannot be read ({exc}).") from None
        meta = _parse_json(text, source)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_TAG or "model" not in meta:
        raise CheckpointError(
            f"'{p}' is a safetensors file but not an mmnet checkpoint (no mmnet config in its "
            "header or beside it). Convert authors' checkpoints with: mmnet convert AUTHORS.pth OUT"
        )
    version = meta.get("format_version", 1)
    if type(version) is not int or version < 1:  # "2" as text would pass unread: the version decides the reading
        raise CheckpointError(f"{source}: format_version must be a whole number (1), got {version!r}.")
    if version > 1:
        raise CheckpointError(f"{source}: format_version {meta['format_version']} is newer than this mmnet reads (1); "
                              "upgrade mmnet to load this checkpoint.")
    names = meta.get("class_names")
    if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) and n for n in names)
                              or len(set(names)) != len(names)):  # a repeated name would hide a class's probability
        raise CheckpointError(f"{source}: class_names must be a list of distinct, non-empty texts, got {names!r}.")
    if not isinstance(meta.get("preprocessing") or {}, dict) or not isinstance(meta["model"], dict):
        raise CheckpointError(f"{source}: 'model' and 'preprocessing' must be JSON objects.")
    unknown = sorted(set(meta.get("preprocessing") or {}) - set(PREPROCESSING_KEYS))
    if unknown:  # a setting mmnet does not apply (a colour order, a crop) would change every input unseen
        raise CheckpointError(f"{source}: preprocessing holds {unknown}, which this mmnet does not know (it knows "
                              f"{list(PREPROCESSING_KEYS)}); remove them if the model was trained without them, "
                              "or load it with the mmnet that wrote it.")
    _check_finite_weights(weights, p)
    return weights, meta


def _looks_like_onnx(p: Path) -> bool:
    """An ONNX file by its name, or by its start: the protobuf of an ONNX model opens with its ir_version (field 1,
    a small varint) followed by another of its fields 2-8 (producer name, ..., graph, opset). Asked only of a file
    safetensors refused, so a safetensors header length that happens to start alike does not matter."""
    if p.suffix.lower() == ".onnx":
        return True
    try:
        with open(p, "rb") as f:
            start = f.read(3)
    except OSError:
        return False
    return len(start) == 3 and start[0] == 0x08 and start[1] < 0x80 and 2 <= start[2] >> 3 <= 8


def _unreadable_hint(p: Path) -> str:
    """What to do with a weights file safetensors refuses: an empty or damaged (truncated)
    safetensors file needs a fresh copy; anything else may be the authors' .pth (`mmnet convert`)."""
    again = "copy or save it again (an interrupted copy, download or save?)."
    try:
        size = p.stat().st_size
        with open(p, "rb") as f:
            n, start = int.from_bytes(f.read(8), "little"), f.read(1)
            if size == 0:
                return f"The file is empty: {again}"
            if start != b"{" or not 2 <= n <= 100_000_000:
                raise ValueError("not a safetensors header")
            if 8 + n > size:
                return f"It is a safetensors file cut short inside its header ({size} bytes): {again}"
            header = json.loads(start + f.read(n - 1))
        expected = 8 + n + max((v["data_offsets"][1] for v in header.values()
                                if isinstance(v, dict) and "data_offsets" in v), default=0)
        if expected != size:
            return f"It is a safetensors file of {size} bytes whose header describes {expected}: it is damaged; {again}"
    except (OSError, ValueError, TypeError, AttributeError, KeyError, IndexError):
        pass
    return "If it is a checkpoint of the authors' code (.pth), convert it first: mmnet convert AUTHORS.pth OUT"


def _parse_json(text: str, source: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"The mmnet record in {source} is not valid JSON ({exc}); the checkpoint is damaged. "
                              "Save or convert it again.") from None


def _check_metadata(meta: dict, config: MMNetConfig, source: str) -> None:
    """The class names and input size the checkpoint records agree with its network (a hand-edited config)."""
    names = meta.get("class_names")
    if names and len(names) != config.num_classes:
        raise CheckpointError(f"Checkpoint '{source}' lists {len(names)} class names {names} for "
                              f"{config.num_classes} outputs: fix class_names in its config.")
    size = (meta.get("preprocessing") or {}).get("image_size", config.image_size)
    if isinstance(size, int) and size != config.image_size:
        raise CheckpointError(f"Checkpoint '{source}': preprocessing.image_size {size} differs from its "
                              f"model.image_size {config.image_size}; the network only accepts the latter. "
                              "Fix the checkpoint's config.")


def _check_finite_weights(weights: dict[str, Tensor], path: str | Path) -> None:
    """Refuse weights holding NaN or infinity: every prediction from them would be NaN or meaningless."""
    bad = [k for k, v in weights.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        shown = ", ".join(bad[:5]) + (" ..." if len(bad) > 5 else "")
        raise CheckpointError(
            f"'{path}' holds NaN or infinite weights in {len(bad)} tensor(s) ({shown}); it cannot give meaningful "
            "predictions. Use a checkpoint from a training run that finished with finite losses."
        )


def _load_strict(model: nn.Module, state_dict: dict[str, Tensor], *, source: str, hint: str = "",
                 assign: bool = False) -> None:
    """Load with every key accounted for; a mismatch lists the keys (timm's load_pretrained), then ``hint``.
    ``assign``: the tensors become the model's (a model built on "meta"), in the model's dtypes as a copy gives."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    wrong = sorted(k for k in set(own) & set(state_dict) if own[k].shape != state_dict[k].shape)
    if missing or unexpected or wrong:
        lines = [f"Weights in '{source}' do not match the model built from its config:"]
        if missing:
            lines.append(f"  missing keys ({len(missing)}): "
                         f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}")
        if unexpected:
            lines.append(f"  unexpected keys ({len(unexpected)}): "
                         f"{', '.join(unexpected[:10])}{' ...' if len(unexpected) > 10 else ''}")
        for k in wrong[:10]:
            lines.append(f"  shape of {k}: checkpoint {tuple(state_dict[k].shape)}, model {tuple(own[k].shape)}")
        if hint:
            lines.append(hint)
        raise CheckpointError("\n".join(lines))
    if assign:  # copies: safetensors' tensors map the file, which a later `cp` over it would change under the model
        state_dict = {k: v.to(own[k].dtype, copy=True) for k, v in state_dict.items()}
    model.load_state_dict(state_dict, strict=True, assign=assign)
