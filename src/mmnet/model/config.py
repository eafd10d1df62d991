"""The network's settings (the ``model`` section of a run's config and a checkpoint's config.json), without torch:
a configuration is read and checked (``mmnet check-data``, ``mmnet train`` with a bad config) before torch loads."""

from __future__ import annotations

import dataclasses
import math
import re
import typing
from dataclasses import dataclass

from ..errors import ConfigError, verify_choice

__all__ = ["MMNetConfig", "MAIN_INPUTS", "IMAGENET_MEAN", "IMAGENET_STD", "FACTORY_FORMAT", "check_factory_syntax",
           "variant_name"]

#: What the main branch sees: the paper's apex-minus-onset difference (default), the apex frame
#: alone (ablation), or a precomputed optical-flow field given as 3 channels (u, v, magnitude).
MAIN_INPUTS = ("difference", "apex", "flow")
#: The normalisation the network's inputs expect (the authors train from ImageNet statistics); here, torch-free, so
#: that a report can state it.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_SPEC = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
FACTORY_FORMAT = '"package.module:callable" (e.g. "mynets.plus:build"), or "" for MMNet'


def check_factory_syntax(spec: str) -> None:
    """Raise ConfigError unless ``spec`` is "" or of the form "package.module:callable" (nothing is imported;
    ``model.factory`` imports it)."""
    if spec and not _SPEC.match(spec):
        raise ConfigError(f"model.factory must be {FACTORY_FORMAT}, got {spec!r}.")


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
    # "package.module:callable" that builds the network to train instead of MMNet; "" = MMNet (model.factory)
    factory: str = ""

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
            raise ConfigError(f"model.pc_depth must be >= 1, got {self.pc_depth!r} (use model.use_pc=false for a "
                              "network without the PC module)")
        if not self.pc_mlp_ratio > 0:
            raise ConfigError(f"model.pc_mlp_ratio must be > 0, got {self.pc_mlp_ratio!r}")
        if not 0.0 <= self.pc_drop_path < 1.0:
            raise ConfigError(f"model.pc_drop_path must be in [0, 1), got {self.pc_drop_path!r}")
        if self.pc_num_heads < 1 or 512 % self.pc_num_heads:
            raise ConfigError(f"model.pc_num_heads must be a positive divisor of 512 (1, 2, 4, 8, ...), "
                              f"got {self.pc_num_heads!r}")
        verify_choice("model.main_input", self.main_input, MAIN_INPUTS)
        check_factory_syntax(self.factory)

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


#: How each main input reads in a variant's name (the paper's difference is MMNet's own: not named).
_INPUT_WORDS = {"apex": "main input: apex", "flow": "main input: optical flow"}


def variant_name(model: MMNetConfig | dict) -> str:
    """The MMNet variant a model config builds, in a few words: "MMNet", or an ablation such as "MMNet without
    PC", "MMNet without CA and PC", "MMNet, main input: apex". The one wording that model cards, ``mmnet info`` and
    explanation figures give (a checkpoint's ``model`` dict is read as it is stored; missing keys are defaults)."""
    values = dataclasses.asdict(model) if isinstance(model, MMNetConfig) else dict(model or {})
    without = [name for name, key in (("CA", "use_ca"), ("PC", "use_pc")) if values.get(key, True) is False]
    name = "MMNet" + (f" without {' and '.join(without)}" if without else "")
    words = _INPUT_WORDS.get(values.get("main_input", "difference"))
    return f"{name}, {words}" if words else name
