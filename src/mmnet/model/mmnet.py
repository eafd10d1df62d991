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
from pathlib import Path

import torch
from torch import Tensor, nn

from ..errors import CheckpointError, ConfigError
from ..runtime import check_device, resolve_device
from .checkpoint import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    CheckpointInfo,
    _check_metadata,
    _load_strict,
    read_checkpoint,
)
from .config import IMAGENET_MEAN, IMAGENET_STD, MAIN_INPUTS, MMNetConfig
from .factory import call_factory, network_name
from .main_branch import MainBranch, MotionStem
from .pc_module import PositionCalibration

# The checkpoint format's names and the config stay importable from here, where the network's loaders are.
__all__ = ["MMNetConfig", "MMNet", "MAIN_INPUTS", "CheckpointInfo", "load_checkpoint", "read_checkpoint",
           "model_from_weights", "save_network", "WEIGHTS_NAME", "CONFIG_NAME",
           "IMAGENET_MEAN", "IMAGENET_STD"]



def _layout_hint(x: Tensor) -> str:
    """The likely slip behind a frame tensor of the wrong layout, for its error."""
    if x.dtype == torch.uint8 or (x.ndim and x.shape[-1] in (1, 3)):
        return " (did you pass HWC or uint8? Permute to (B, 3, H, W), scale to [0, 1] and normalise)"
    if x.ndim == 3:
        return " (one frame? Add the batch axis: x.unsqueeze(0))"
    if x.ndim == 4 and x.shape[1] == 1:
        return " (grey frames? The network takes RGB: x.expand(-1, 3, -1, -1))"
    return ""


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

    def check_inputs(self, onset: Tensor, apex: Tensor | None = None, *, flow: Tensor | None = None) -> None:
        """Raise ValueError unless the frames the network reads are (B, 3, S, S) floating tensors of one shape
        (a mismatched batch would broadcast silently). Shapes and dtypes only: no value is read (no GPU sync),
        and tracing and torch.compile see plain conditions on the input's shape."""
        size = self.config.image_size
        second = ("flow", flow) if self.config.main_input == "flow" else ("apex", apex)
        frames = [(name, x) for name, x in (("onset", onset), second) if x is not None]  # main_input names a gap
        expected = f"NCHW float, ImageNet-normalised, shape (B, 3, S, S) with S = {size} ({size}x{size} frames)"
        for name, x in frames:
            if not isinstance(x, Tensor):
                raise ValueError(f"{name} must be a torch.Tensor, {expected}; got {type(x).__name__}")
            if x.ndim != 4 or x.shape[1] != 3 or x.shape[2:] != (size, size) or not x.is_floating_point():
                raise ValueError(f"{name} must be {expected}; got {tuple(x.shape)} {x.dtype}{_layout_hint(x)}")
        if len(frames) == 2 and onset.shape != frames[1][1].shape:
            raise ValueError(f"onset and {second[0]} must have the same shape, one pair per row ({expected}); got "
                             f"onset {tuple(onset.shape)} and {second[0]} {tuple(frames[1][1].shape)}")

    def forward_features(
        self, onset: Tensor, apex: Tensor | None = None, *, flow: Tensor | None = None
    ) -> tuple[Tensor, list[Tensor | None]]:
        """Fused (B, 512, S/16, S/16) features and the four CA attention maps (None without CA); the
        inputs as for :meth:`forward`."""
        self.check_inputs(onset, apex, flow=flow)
        motion = self.main_input(onset, apex, flow)  # (B, 3, H, W)
        x, maps = self.main_branch(self.motion_stem(motion))  # (B, 512, 14, 14)
        if self.pc_module is not None:
            x = x + self.pc_module(onset)  # (B, 512, 14, 14) position calibration
        return x, maps

    def forward_head(self, features: Tensor) -> Tensor:
        """Logits (B, num_classes) of :meth:`forward_features`' fused (B, 512, S/16, S/16) features: the
        linear classifier on the flattened map (``forward`` is ``forward_head(forward_features(...)[0])``)."""
        return self.head(features.flatten(1))  # (B, C*H*W) -> (B, num_classes)

    def forward(self, onset: Tensor, apex: Tensor | None = None, *, flow: Tensor | None = None) -> Tensor:
        """Logits (B, num_classes) of B onset/apex pairs.

        Args:
            onset: (B, 3, S, S) floating tensor, S = ``config.image_size``: RGB face crops (NCHW) scaled to
                [0, 1] and normalised with IMAGENET_MEAN and IMAGENET_STD (``mmnet.infer.Preprocessing``
                makes them from (H, W, 3) uint8 frames).
            apex: the apex frames, in the same shape as ``onset``: row i is the pair of onset row i.
            flow: with ``main_input='flow'`` instead of ``apex``: (B, 3, S, S) optical flow (u, v, magnitude).

        Returns:
            Unnormalised class scores, in the order of the checkpoint's class names (``softmax(dim=1)``:
            probabilities). Call ``model.eval()`` first to predict: in training mode BatchNorm normalises
            by the batch (each row's logits depend on the others) and updates its running statistics.

        Raises:
            ValueError: a frame tensor is not (B, 3, S, S) floating point, the two differ in shape, or the
                one ``main_input`` needs is missing.
        """
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
        return save_network(self, self.config, path, info)

    @classmethod
    def from_pretrained(cls, path: str | Path, *, device: str | torch.device | None = None,
                        map_location: str | torch.device | None = None) -> MMNet:
        """The network of a checkpoint written by ``save_pretrained`` (a folder or its .safetensors file),
        in eval mode, on ``device``, as :func:`load_checkpoint` returns it with its class names and preprocessing.
        Called on a subclass (``MyNet.from_pretrained``), the network is built as that class."""
        return load_checkpoint(path, device=device, map_location=map_location, cls=cls)[0]


def save_network(model: nn.Module, config: MMNetConfig, path: str | Path, info: CheckpointInfo | None = None) -> Path:
    """Write any network's checkpoint (``MMNet.save_pretrained``'s format): its weights, ``config`` (the config it
    was built from) and ``info``, plus ``network``: the "module:Class" of the network saved, so that a loader
    that builds another class says which one the weights belong to."""
    from safetensors.torch import save

    from ..utils import atomic_write_bytes, atomic_write_text

    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    meta = {**(info or CheckpointInfo()).metadata(config), "network": network_name(model)}
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    # bytes, then the atomic write: fsynced, and the umask's permissions (save_file makes the file 0600)
    atomic_write_bytes(out / WEIGHTS_NAME, save(tensors, metadata={"mmnet": json.dumps(meta)}))
    atomic_write_text(out / CONFIG_NAME, json.dumps(meta, indent=2) + "\n")
    return out


def load_checkpoint(path: str | Path, *, device: str | torch.device | None = None,
                    map_location: str | torch.device | None = None, cls: type[nn.Module] | None = None,
                    factory: str | None = None) -> tuple[nn.Module, CheckpointInfo]:
    """The network of an mmnet checkpoint (strictly loaded) and what it carries besides.

    The network is in eval mode, ready to predict (as Hugging Face's ``from_pretrained`` returns it):
    BatchNorm uses its stored statistics and drop-path is off. Call ``model.train()`` to train it further.

    Args:
        path: the checkpoint folder (model.safetensors and config.json) or its model.safetensors.
        device: where the network goes: "cpu" (the default), "cuda", "cuda:N" or "auto" (a GPU when there
            is one). A device this machine lacks is a ConfigError before anything is read.
        map_location: the same as ``device`` (``torch.load``'s name for it).
        cls: the class to build (``cls(config=config)``), MMNet by default: a subclass's checkpoint.
        factory: "package.module:callable" to build the network with, as ``model.factory`` in training (e.g. the
            one the checkpoint's config records): the module is imported, so give only one you trust.
    """
    target = _device(device, map_location)
    weights, meta = read_checkpoint(path)
    model = model_from_weights(weights, meta, source=str(path), cls=cls, factory=factory)
    return model.eval().to(target), CheckpointInfo.from_metadata(meta)


def _device(device: str | torch.device | None, map_location: str | torch.device | None) -> torch.device:
    """The checked device of ``load_checkpoint``'s two names for it."""
    if device is not None and map_location is not None and str(device) != str(map_location):
        raise ConfigError(f"device={device!s} and map_location={map_location!s} disagree: map_location is another "
                          "name for device; give one of them.")
    where, name = ("map_location", map_location) if map_location is not None else ("device", device or "cpu")
    check_device(str(name), where=where)  # the one-line error Predictor gives, not torch's assertion
    return resolve_device(str(name))


def model_from_weights(weights: dict[str, Tensor], meta: dict, *, source: str, cls: type[nn.Module] | None = None,
                       factory: str | None = None) -> MMNet:
    """The network a checkpoint's metadata describes, with its weights loaded strictly (every key
    and shape checked): what makes a safetensors file an MMNet checkpoint. Built as ``cls`` (MMNet by default),
    or by ``factory`` ("package.module:callable", called with the config) when given."""
    try:
        config = MMNetConfig.from_dict(meta["model"])
    except ConfigError as exc:
        from ..version import __version__

        written = meta.get("mmnet_version")
        hint = (f" It was written by mmnet {written} and this is mmnet {__version__}: load it with the version "
                "that wrote it, or upgrade mmnet." if isinstance(written, str) and written != __version__ else "")
        raise CheckpointError(f"'{source}': its model config is invalid: {exc}.{hint}") from None
    _check_metadata(meta, config, source)
    # MMNet itself is built on "meta", without its random initialisation (about 1 s at 224 px, overwritten at once);
    # the weights become its tensors. Training builds it on a real device (model.factory.build_network): its random
    # numbers are unchanged. A factory's or a subclass's network is built as written (it may read its tensors).
    skip_init = not factory and (cls or MMNet) is MMNet
    if factory:
        model = call_factory(factory, config)
    elif skip_init:
        with torch.device("meta"):
            model = MMNet(config=config)
    else:
        model = cls(config=config)
    _load_strict(model, weights, source=source, hint=_other_network_hint(meta, model, source, factory),
                 assign=skip_init)
    return model


def _other_network_hint(meta: dict, model: nn.Module, source: str, used: str | None) -> str:
    """What to say when the weights do not fit the network built: the checkpoint may hold another network (a
    model.factory's, a subclass of MMNet), named where the checkpoint records it, and how to load that."""
    recorded, factory = meta.get("network"), (meta.get("model") or {}).get("factory")
    built = network_name(model)
    if factory and factory != used:
        how = (f"load it in Python with mmnet.model.load_checkpoint({source!r}, factory={factory!r}) (the module must "
               "be importable)")
    elif isinstance(recorded, str) and recorded != built and not factory:
        how = f"load it in Python with that class: {recorded.rpartition(':')[2]}.from_pretrained({source!r})"
    elif recorded is None and not used:
        how = ("if it was trained as a subclass of MMNet or by model.factory, load it in Python with that class's "
               "from_pretrained or mmnet.model.load_checkpoint(path, factory=...)")
    else:  # built as the checkpoint says: the weights themselves do not fit
        return ""
    what = f"holds the network {recorded}" if isinstance(recorded, str) else "may hold a network other than MMNet"
    what += f" (trained with model.factory {factory!r})" if factory else ""
    by = " (mmnet predict and serve build MMNet)" if built == network_name(MMNet) else ""
    return f"This checkpoint {what}, and {built} was built to load it{by}: {how}."
