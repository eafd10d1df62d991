"""MMNet (Li, Sui, Zhu, Zhao: "MMNet: Muscle Motion-guided Network for Micro-expression
Recognition", IJCAI 2022, arXiv:2201.05297).

Two frames of a clip, onset and apex, go in. The main branch looks at the motion (apex - onset)
through four continuous-attention stages; the position-calibration module looks at the onset
face; their (B, 512, 14, 14) outputs are added and a linear head classifies.

Deliberate differences from the authors' code (none changes the output):
- their dead parameters (``timeembed``, ``pos.*``, ``cls_token``, the PC ``head``, ``to_Mask``,
  the AU ``head.1``) are not created; ``convert_official_state_dict`` drops them by name;
- their unused attention statistics are not computed;
- ablations and the 3-class variant are constructor options instead of edited copies.
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from ..errors import CheckpointError, ConfigError, verify_choice
from .checkpoint import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    CheckpointInfo,
    _check_metadata,
    _load_strict,
    read_checkpoint,
)
from .main_branch import MainBranch, MotionStem
from .pc_module import PositionCalibration

# The checkpoint format's names stay importable from here, where the network's loaders are.
__all__ = ["MMNetConfig", "MMNet", "MAIN_INPUTS", "CheckpointInfo", "load_checkpoint", "read_checkpoint",
           "model_from_weights", "WEIGHTS_NAME", "CONFIG_NAME",
           "IMAGENET_MEAN", "IMAGENET_STD"]

#: What the main branch sees: the paper's apex-minus-onset difference (default), the apex frame
#: alone (ablation), or a precomputed optical-flow field given as 3 channels (u, v, magnitude).
MAIN_INPUTS = ("difference", "apex", "flow")

#: The normalisation the network's inputs expect (the authors train from ImageNet statistics).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class MMNetConfig:
    """Network settings. Defaults are the paper's 5-class CASME II model."""

    num_classes: int = 5
    image_size: int = 224  # input side; the head's width depends on it
    pc_depth: int = 2  # authors' 3-class script: 3
    pc_mlp_ratio: float = 4.0  # authors' 3-class script: 2
    pc_drop_path: float = 0.0  # authors' 3-class script: 0.3
    pc_num_heads: int = 4
    pc_antialias: bool = False  # paper-era torchvision resize; True = torchvision >= 0.17
    use_ca: bool = True  # False: plain residual blocks (paper ablation "w/o CA")
    use_pc: bool = True  # False: no position calibration (paper ablation "w/o PC")
    main_input: str = "difference"  # one of MAIN_INPUTS

    def __post_init__(self) -> None:
        # Types first (a checkpoint's config.json or header may hold anything), then ranges; NaN
        # fails every comparison, so the ranges are written to fail for it.
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            kind = _FIELD_TYPES[f.name]
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
                setattr(self, f.name, value)
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise ConfigError(f"model.{f.name} must be of type {kind.__name__}, got {value!r}")
            if kind is float and not math.isfinite(value):
                raise ConfigError(f"model.{f.name} must be a finite number, got {value!r}")
        if self.num_classes < 2:
            raise ConfigError(f"model.num_classes must be an integer >= 2, got {self.num_classes!r}")
        if self.image_size % 16 or self.image_size < 16:
            raise ConfigError(f"model.image_size must be a positive multiple of 16, got {self.image_size!r}")
        if self.pc_depth < 1:
            raise ConfigError(f"model.pc_depth must be >= 1, got {self.pc_depth!r}")
        if not self.pc_mlp_ratio > 0:
            raise ConfigError(f"model.pc_mlp_ratio must be > 0, got {self.pc_mlp_ratio!r}")
        if not 0.0 <= self.pc_drop_path < 1.0:
            raise ConfigError(f"model.pc_drop_path must be in [0, 1), got {self.pc_drop_path!r}")
        if self.pc_num_heads < 1 or 512 % self.pc_num_heads:
            raise ConfigError(f"model.pc_num_heads must be a positive divisor of 512 (1, 2, 4, 8, ...), "
                              f"got {self.pc_num_heads!r}")
        verify_choice("model.main_input", self.main_input, MAIN_INPUTS)

    @classmethod
    def from_dict(cls, values: dict) -> MMNetConfig:
        if not isinstance(values, dict):
            raise ConfigError(f"the model config must be a mapping, got {type(values).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"Unknown model config key(s) {unknown}. Valid keys: {sorted(known)}")
        return cls(**values)


_FIELD_TYPES = {name: hint for name, hint in typing.get_type_hints(MMNetConfig).items()}


class MMNet(nn.Module):
    """MMNet for micro-expression recognition from an onset and an apex frame.

    Inputs are face crops, RGB, ``image_size`` square, scaled to [0, 1] and normalised with the
    ImageNet mean and std. ``model(onset, apex)`` returns logits (B, num_classes).

    Args:
        num_classes: number of output classes.
        config: a full MMNetConfig; keyword arguments override its fields.
        **overrides: any MMNetConfig field (``pc_antialias=True``, ``use_ca=False`` ...).
    """

    def __init__(self, num_classes: int | None = None, *, config: MMNetConfig | None = None, **overrides) -> None:
        super().__init__()
        values = dataclasses.asdict(config) if config is not None else {}
        values.update(overrides)
        if num_classes is not None:
            values["num_classes"] = num_classes
        self.config = MMNetConfig.from_dict(values)
        cfg = self.config

        self.motion_stem = MotionStem(3, 180)
        self.main_branch = MainBranch(in_channels=180, use_attention=cfg.use_ca)
        grid = cfg.image_size // 16
        dim = self.main_branch.out_channels
        self.pc_module = (
            PositionCalibration(
                grid=grid, dim=dim, depth=cfg.pc_depth, num_heads=cfg.pc_num_heads,
                mlp_ratio=cfg.pc_mlp_ratio, drop_path=cfg.pc_drop_path, antialias=cfg.pc_antialias,
            )
            if cfg.use_pc
            else None
        )
        self.head = nn.Linear(dim * grid * grid, cfg.num_classes)

    # -- forward -------------------------------------------------------------------------------
    def main_input(self, onset: Tensor, apex: Tensor | None, flow: Tensor | None) -> Tensor:
        """The image the main branch sees, per ``config.main_input``."""
        mode = self.config.main_input
        if mode == "flow":
            if flow is None:
                raise ValueError("this model was built with main_input='flow': pass flow=(B, 3, H, W)")
            return flow
        if apex is None:
            raise ValueError(f"this model was built with main_input={mode!r}: pass the apex frame")
        return apex - onset if mode == "difference" else apex

    def forward_features(
        self, onset: Tensor, apex: Tensor | None = None, *, flow: Tensor | None = None
    ) -> tuple[Tensor, list[Tensor | None]]:
        """Fused (B, 512, 14, 14) features and the four CA attention maps (None without CA)."""
        size = self.config.image_size
        if onset.shape[-2:] != (size, size):
            raise ValueError(f"expected {size}x{size} frames, got {tuple(onset.shape[-2:])}")
        motion = self.main_input(onset, apex, flow)  # (B, 3, H, W)
        x, maps = self.main_branch(self.motion_stem(motion))  # (B, 512, 14, 14)
        if self.pc_module is not None:
            x = x + self.pc_module(onset)  # (B, 512, 14, 14) position calibration
        return x, maps

    def forward_head(self, features: Tensor) -> Tensor:
        return self.head(features.flatten(1))  # (B, C*H*W) -> (B, num_classes)

    def forward(self, onset: Tensor, apex: Tensor | None = None, *, flow: Tensor | None = None) -> Tensor:
        features, _ = self.forward_features(onset, apex, flow=flow)
        return self.forward_head(features)

    @torch.no_grad()
    def attention_maps(self, onset: Tensor, apex: Tensor | None = None, *, flow: Tensor | None = None) -> list[Tensor]:
        """The four CA attention maps, (B, 1, 112/56/28/14 ...), for figures. Needs use_ca."""
        if not self.config.use_ca:
            raise ValueError("this model was built with use_ca=False: it has no attention maps")
        _, maps = self.forward_features(onset, apex, flow=flow)
        return maps

    # -- checkpoints ---------------------------------------------------------------------------
    def save_pretrained(self, path: str | Path, info: CheckpointInfo | None = None) -> Path:
        """Write ``path/model.safetensors`` and ``path/config.json``; returns the folder.

        ``info`` (class names, preprocessing) is stored with the network's config, in the
        safetensors header (so the weights file alone is a complete checkpoint) and in
        config.json for people to read. Nothing is pickled.
        """
        from safetensors.torch import save

        from ..utils import atomic_write_bytes, atomic_write_text

        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        meta = (info or CheckpointInfo()).metadata(self.config)
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        # bytes, then the atomic write: fsynced, and the umask's permissions (save_file makes the file 0600)
        atomic_write_bytes(out / WEIGHTS_NAME, save(tensors, metadata={"mmnet": json.dumps(meta)}))
        atomic_write_text(out / CONFIG_NAME, json.dumps(meta, indent=2) + "\n")
        return out

    @classmethod
    def from_pretrained(cls, path: str | Path, *, map_location: str | torch.device = "cpu") -> MMNet:
        """Load the network of a checkpoint written by ``save_pretrained`` (a folder or its
        .safetensors file). Its class names and preprocessing: :func:`load_checkpoint`."""
        return load_checkpoint(path, map_location=map_location)[0]


def load_checkpoint(path: str | Path, *, map_location: str | torch.device = "cpu") -> tuple[MMNet, CheckpointInfo]:
    """The network of an mmnet checkpoint (strictly loaded) and what it carries besides."""
    weights, meta = read_checkpoint(path)
    model = model_from_weights(weights, meta, source=str(path))
    return model.to(map_location), CheckpointInfo.from_metadata(meta)


def model_from_weights(weights: dict[str, Tensor], meta: dict, *, source: str) -> MMNet:
    """The network a checkpoint's metadata describes, with its weights loaded strictly (every key
    and shape checked): what makes a safetensors file an MMNet checkpoint."""
    try:
        config = MMNetConfig.from_dict(meta["model"])
    except ConfigError as exc:
        from ..version import __version__

        written = meta.get("mmnet_version")
        hint = (f" It was written by mmnet {written} and this is mmnet {__version__}: load it with the version "
                "that wrote it, or upgrade mmnet." if isinstance(written, str) and written != __version__ else "")
        raise CheckpointError(f"'{source}': its model config is invalid: {exc}.{hint}") from None
    _check_metadata(meta, config, source)
    model = MMNet(config=config)
    _load_strict(model, weights, source=source)
    return model
