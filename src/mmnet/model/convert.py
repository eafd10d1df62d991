"""Convert checkpoints of the authors' code (GitHub muse1998/MMNet, CASME2_5.py) to mmnet.

The key map is explicit and the conversion strict: every key the authors' forward pass uses is
mapped, the 13 keys it never uses are dropped by name, anything else is an error, and each
tensor's shape is checked against the model the converted checkpoint describes.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import Tensor

from ..errors import CheckpointError, ConfigError
from .checkpoint import _check_finite_weights
from .mmnet import MMNet, MMNetConfig

__all__ = [
    "OFFICIAL_UNUSED_KEYS",
    "convert_official_state_dict",
    "infer_official_config",
    "load_official_checkpoint",
]

#: Entries of the authors' state_dict that their forward pass never reads.
OFFICIAL_UNUSED_KEYS = frozenset(
    {
        "timeembed",
        "pos.0.weight",
        "pos.1.weight",
        "pos.1.bias",
        "pos.1.running_mean",
        "pos.1.running_var",
        "pos.1.num_batches_tracked",
        "vit_pos.cls_token",
        "vit_pos.head.weight",
        "vit_pos.head.bias",
        "vit_pos.to_Mask.0.weight",
        "vit_pos.to_Mask.0.bias",
        "head.1.weight",
    }
)

# (pattern on the authors' key, replacement giving ours); the first match wins.
_KEY_MAP: tuple[tuple[str, str], ...] = (
    (r"^conv_act\.0\.(.+)$", r"motion_stem.conv.\1"),
    (r"^conv_act\.1\.(.+)$", r"motion_stem.bn.\1"),
    (r"^main_branch\.fc\.(weight|bias)$", r"head.\1"),
    (r"^main_branch\.(layer\d)\.0\.attn\.0\.(.+)$", r"main_branch.\1.0.attn.conv.\2"),
    (r"^main_branch\.(layer\d)\.0\.attn\.1\.(.+)$", r"main_branch.\1.0.attn.bn.\2"),
    (r"^main_branch\.((?:conv1|bn1)\..+)$", r"main_branch.\1"),
    (r"^main_branch\.(layer\d\.0\.(?:conv1|bn1|conv2|bn2|downsample\.[01])\..+)$", r"main_branch.\1"),
    (r"^vit_pos\.(pos_embed|patch_embed\.proj\.(?:weight|bias)|norm\.(?:weight|bias))$", r"pc_module.\1"),
    (r"^vit_pos\.(blocks\.\d+\.(?:norm1|norm2|attn\.qkv|attn\.proj|mlp\.fc1|mlp\.fc2)\.(?:weight|bias))$",
     r"pc_module.\1"),
)
_COMPILED = tuple((re.compile(p), r) for p, r in _KEY_MAP)

_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net", "module")

_NOT_MMNET = "This does not look like an MMNet checkpoint of the authors' code: "


def _is_authors_key(key) -> bool:
    """Whether ``key`` names a tensor of the authors' model (bare or with DataParallel's ``module.``)."""
    if not isinstance(key, str):
        return False
    key = key.removeprefix("module.")
    return key in OFFICIAL_UNUSED_KEYS or any(p.match(key) for p, _ in _COMPILED)


def _unwrap(checkpoint: dict) -> dict[str, Tensor]:
    """Find the state_dict in a checkpoint saved bare, inside a dict, or from DataParallel."""
    sd = checkpoint
    for _ in range(3):  # nested wrappers such as {"model": {"state_dict": ...}} are rare but seen
        # a training loop's bookkeeping (an epoch, a best score as a 0-d tensor) can sit beside the wrapper key
        if any(isinstance(v, Tensor) and _is_authors_key(k) for k, v in sd.items()):
            break
        inner = next((sd[k] for k in _WRAPPER_KEYS if isinstance(sd.get(k), dict)), None)
        if inner is None:
            break
        sd = inner
    tensors = {k: v for k, v in sd.items() if isinstance(v, Tensor)}
    top = sorted(checkpoint, key=str)
    top = f"top-level keys: {top[:10]}" + (f" and {len(top) - 10} more" if len(top) > 10 else "")
    if not tensors:
        raise CheckpointError(
            f"{_NOT_MMNET}it holds no tensors ({top}). "
            "Expected the authors' MMNet state_dict, bare or under 'state_dict'/'model'."
        )
    unnamed = [k for k in tensors if not isinstance(k, str)]
    if unnamed:
        raise CheckpointError(f"{_NOT_MMNET}its tensors are keyed by {unnamed[:5]!r}, not by parameter names.")
    if not any(_is_authors_key(k) for k in tensors):  # e.g. the state_dict under a key not known as a wrapper
        raise CheckpointError(
            f"{_NOT_MMNET}none of its tensors is a parameter of the authors' model ({top}; tensors: "
            f"{sorted(tensors)[:5]}). Expected the authors' MMNet state_dict, bare or under "
            f"{'/'.join(repr(k) for k in _WRAPPER_KEYS)}."
        )
    if all(k.startswith("module.") for k in tensors):
        tensors = {k[len("module."):]: v for k, v in tensors.items()}
    return tensors


def infer_official_config(state_dict: dict[str, Tensor], **overrides) -> MMNetConfig:
    """Read the number of classes, PC depth and MLP ratio off the authors' tensors; their 3-class layout (depth 3,
    ratio 2) gets the drop-path 0.3 it was trained with, which no tensor shows."""
    sd = _unwrap(state_dict)
    try:
        head, fc1 = sd["main_branch.fc.weight"], sd["vit_pos.blocks.0.mlp.fc1.weight"]
    except KeyError as exc:
        raise CheckpointError(
            f"{_NOT_MMNET}cannot find {exc}. "
            "Expected keys such as main_branch.fc.weight and vit_pos.blocks.0.mlp.fc1.weight."
        ) from None
    for key, weight in (("main_branch.fc.weight", head), ("vit_pos.blocks.0.mlp.fc1.weight", fc1)):
        if weight.dim() != 2 or 0 in weight.shape:  # the sizes below are read off a non-empty matrix
            raise CheckpointError(f"{_NOT_MMNET}{key} has shape {tuple(weight.shape)}, where a linear layer's "
                                  "(outputs, inputs) matrix belongs.")
    depth = 1 + max(int(m.group(1)) for k in sd if (m := re.match(r"^vit_pos\.blocks\.(\d+)\.", k)))
    values = {"num_classes": head.shape[0], "pc_depth": depth, "pc_mlp_ratio": fc1.shape[0] / fc1.shape[1]}
    if (depth, values["pc_mlp_ratio"]) == (3, 2.0):  # the authors' 3-class layout, trained with drop-path 0.3:
        values["pc_drop_path"] = 0.3  # weights cannot show it, and model.train() should go on as they trained
    try:
        MMNetConfig(**values)
    except ConfigError as exc:  # e.g. a one-output head: no classifier
        raise CheckpointError(f"{_NOT_MMNET}the sizes read off its tensors describe no MMNet ({exc}).") from None
    values.update(overrides)
    return MMNetConfig(**values)


def convert_official_state_dict(
    state_dict: dict, *, config: MMNetConfig | None = None
) -> dict[str, Tensor]:
    """Map the authors' state_dict to mmnet's, strictly.

    Args:
        state_dict: the authors' state_dict, bare, wrapped in a dict (``{"state_dict": ...}``),
            or saved from DataParallel (``module.`` prefixes).
        config: the model the result must fit; inferred from the tensors when None.

    Returns:
        A state_dict that ``MMNet(config=config).load_state_dict(..., strict=True)`` accepts.

    Raises:
        CheckpointError: listing unknown keys, keys the model needs but the checkpoint lacks,
            and shape mismatches.
    """
    sd = _unwrap(state_dict)
    config = config or infer_official_config(sd)
    converted: dict[str, Tensor] = {}
    unknown: list[str] = []
    for key, value in sd.items():
        if key in OFFICIAL_UNUSED_KEYS:
            continue
        for pattern, repl in _COMPILED:
            if pattern.match(key):
                converted[pattern.sub(repl, key)] = value
                break
        else:
            unknown.append(key)

    expected = MMNet(config=config).state_dict()
    missing = sorted(set(expected) - set(converted))
    unexpected = sorted(set(converted) - set(expected))
    wrong = [
        f"{k}: checkpoint {tuple(converted[k].shape)}, model {tuple(expected[k].shape)}"
        for k in sorted(set(expected) & set(converted))
        if converted[k].shape != expected[k].shape
    ]
    if unknown or missing or unexpected or wrong:
        lines = ["The checkpoint does not match the authors' MMNet layout:"]
        if unknown:
            lines.append(f"  unexpected keys (not in the authors' model): {', '.join(sorted(unknown))}")
        if unexpected:
            lines.append(f"  keys with no place in the model: {', '.join(unexpected)}")
        if missing:
            lines.append(f"  missing keys (mmnet names): {', '.join(missing)}")
        if wrong:
            lines.append("  shape mismatches: " + "; ".join(wrong))
        raise CheckpointError("\n".join(lines))
    # Same dtype as ours (e.g. num_batches_tracked stays int64) and a contiguous copy.
    return {k: converted[k].to(expected[k].dtype).contiguous() for k in expected}


def _unreadable(path: str | Path, exc: Exception) -> str:
    """Why a file is not a checkpoint mmnet can read. torch's own message advises ``weights_only=False``
    (unpickling arbitrary objects, which can run code): never repeat that."""
    import re
    import zipfile

    try:
        with open(path, "rb") as f:
            head = f.read(2)
        size = Path(path).stat().st_size
    except OSError as err:
        return f"'{path}' cannot be read: {err.strerror or err}."
    again = "copy or save it again (an interrupted copy, download or save?)."
    if size == 0:
        return f"'{path}' is empty: {again}"
    # torch.save's zip format starts with PK and ends with the zip index; the legacy pickle ends early
    if (head == b"PK" and not zipfile.is_zipfile(path)) or isinstance(exc, EOFError) or "unexpected EOF" in str(exc):
        return f"'{path}' is a PyTorch checkpoint cut short ({size} bytes; its end is missing): {again}"
    if not zipfile.is_zipfile(path) and not head.startswith(b"\x80"):
        return (f"'{path}' is not a PyTorch checkpoint (neither torch.save's zip format nor a pickle). "
                "Give the .pth file that the authors' training script saved.")
    found = re.search(r"GLOBAL (\w+(?:\.\w+)+)", str(exc))  # a module.name, not a fragment of a cut file
    if found:
        return (f"'{path}' holds Python objects besides tensors ({found.group(1)}). mmnet reads only tensors "
                "(a state_dict, possibly inside a dict) and does not unpickle other objects, since that can run "
                "code from the file. Save the model's state_dict alone (torch.save(model.state_dict(), PATH)) "
                "where the model was trained, and convert that file.")
    return (f"'{path}' is not a PyTorch checkpoint of tensors: it is a pickle that the tensor-only reader "
            "cannot read. Give the .pth file (a state_dict) that the authors' training script saved.")


def _refuse_other_formats(path: Path) -> None:
    """mmnet's own checkpoints (a folder or its ``.safetensors``) and other folders are not the authors' .pth."""
    from .mmnet import WEIGHTS_NAME

    if path.suffix == ".safetensors" or (path.is_dir() and (path / WEIGHTS_NAME).is_file()):
        raise CheckpointError(f"'{path}' is in mmnet's format already (safetensors): load it with "
                              "mmnet.load_checkpoint, or give it to --checkpoint of predict, explain, export or serve "
                              "as it is. Converting reads the authors' .pth files.")
    if path.is_dir():
        raise CheckpointError(f"'{path}' is a folder, not a checkpoint: give the .pth file that the authors' training "
                              "script saved.")


def _keep_head_rows(sd: dict[str, Tensor], num_classes: int) -> None:
    """Keep the first ``num_classes`` rows of the head: the authors' CASME2_3.py trains their 5-output head on
    3 classes, so only its first three logits mean anything."""
    rows = sd["main_branch.fc.weight"].shape[0]
    if not 2 <= num_classes <= rows:
        raise CheckpointError(f"num_classes={num_classes} keeps the first logits of its {rows}-output "
                              f"head, so it must be 2 to {rows}.")
    for key in ("main_branch.fc.weight", "main_branch.fc.bias"):
        if key in sd:
            sd[key] = sd[key][:num_classes]


def load_official_checkpoint(path: str | Path, **overrides) -> MMNet:
    """Read an authors' ``.pth`` file (tensors only, nothing else unpickled) into an MMNet, in eval mode
    (as :func:`mmnet.model.load_checkpoint` returns a network; ``model.train()`` to train it further).

    ``overrides`` set :class:`MMNetConfig` fields; ``num_classes`` smaller than the head keeps its first logits
    (``num_classes=3`` for a checkpoint of the authors' CASME2_3.py, whose head has 5 outputs)."""
    _refuse_other_formats(Path(path))
    if overrides.get("num_classes") is None:  # None: the head's own size
        overrides.pop("num_classes", None)
    try:
        raw = torch.load(str(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"Checkpoint '{path}' does not exist.") from None
    except Exception as exc:  # torch raises several types for non-checkpoints
        raise CheckpointError(_unreadable(path, exc)) from None
    if not isinstance(raw, dict):
        raise CheckpointError(f"'{path}' holds a {type(raw).__name__}, not a state_dict.")
    try:
        sd = _unwrap(raw)
        if "num_classes" in overrides:
            infer_official_config(sd)  # the checkpoint's own sizes are checked first
            _keep_head_rows(sd, overrides["num_classes"])
        config = infer_official_config(sd, **overrides)
    except CheckpointError as exc:
        raise CheckpointError(f"'{path}': {exc}") from None
    # The loader's rule, applied before a checkpoint is written that no command would read; as fp32,
    # since a float64 value beyond fp32's range turns infinite in the conversion.
    _check_finite_weights({k: v.float() for k, v in sd.items()
                           if k not in OFFICIAL_UNUSED_KEYS and v.is_floating_point()}, path)
    model = MMNet(config=config)
    model.load_state_dict(convert_official_state_dict(sd, config=config), strict=True)
    return model.eval()
