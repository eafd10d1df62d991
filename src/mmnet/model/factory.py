"""Custom networks: ``model.factory`` names a ``"package.module:callable"`` that builds the network to train
instead of MMNet.

The callable receives the resolved :class:`~mmnet.model.MMNetConfig` (the ``model`` section, with
``num_classes`` and ``image_size`` filled from the label scheme and ``data.image_size``) and returns an
``nn.Module`` with MMNet's contract: ``model(onset, apex)`` (``model(onset, flow=flow)`` with
``model.main_input: flow``) takes two (B, 3, S, S) ImageNet-normalised float tensors and returns logits
(B, num_classes). The setting is a string, not the callable, so that every process that builds the network (this
one, a Ray worker, a SLURM job) imports it afresh: the module must be importable there (installed, or on
PYTHONPATH), not defined in a notebook or a script run as ``__main__``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from torch import nn

from ..errors import ConfigError
from .config import FACTORY_FORMAT, check_factory_syntax  # torch-free: checked with the config

if TYPE_CHECKING:
    from .config import MMNetConfig

__all__ = ["FACTORY_FORMAT", "check_factory_syntax", "resolve_factory", "call_factory", "build_network", "network_name",
           "parameter_count"]

_DO = ("model.factory must name a callable in an importable module (installed, or on PYTHONPATH in every process "
       "that trains: Ray workers and SLURM jobs too) that takes the model config and returns an nn.Module; "
       "or leave it empty for MMNet (docs/cli.md, \"Training your own network\").")


def resolve_factory(spec: str) -> Callable:
    """The callable ``spec`` ("package.module:callable") names, imported now; ConfigError naming the setting when
    the module is missing, fails to import, lacks the attribute, or the attribute is not callable."""
    check_factory_syntax(spec)
    module_name, _, attr = spec.partition(":")
    if module_name == "__main__":
        raise ConfigError(f"model.factory {spec!r}: a network defined in a notebook or a script run as __main__ "
                          f"cannot be imported by the processes that train it. Move it into a module. {_DO}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_name
        raise ConfigError(f"model.factory {spec!r}: module {missing!r} is not found (sys.path of this process). "
                          f"{_DO}") from None
    except Exception as exc:  # the user's module failed while importing: its own error, named
        raise ConfigError(f"model.factory {spec!r}: importing module {module_name!r} failed: "
                          f"{type(exc).__name__}: {exc}") from exc
    target = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise ConfigError(f"model.factory {spec!r}: module {module_name!r} has no attribute {attr!r}. {_DO}")
        target = getattr(target, part)
    if not callable(target):
        raise ConfigError(f"model.factory {spec!r}: {attr!r} is a {type(target).__name__}, not a callable. {_DO}")
    return target


def build_network(config: MMNetConfig, default: Callable) -> nn.Module:
    """The network ``config`` describes: ``model.factory``'s, or ``default(config=config)`` (MMNet) without one."""
    return call_factory(config.factory, config) if config.factory else default(config=config)


def call_factory(spec: str, config: MMNetConfig) -> nn.Module:
    """The network the factory ``spec`` ("package.module:callable") builds for ``config``, checked to be an
    nn.Module; ConfigError naming the setting for any failure."""
    factory = resolve_factory(spec)
    try:
        model = factory(config)
    except Exception as exc:  # the user's code: its own error, with the setting that called it
        raise ConfigError(f"model.factory {spec!r}: calling it with the model config failed: "
                          f"{type(exc).__name__}: {exc}. It must take one argument, the MMNetConfig.") from exc
    if not isinstance(model, nn.Module):
        raise ConfigError(f"model.factory {spec!r} returned a {type(model).__name__}, not a torch nn.Module. {_DO}")
    return model


def network_name(model: nn.Module | type) -> str:
    """"module:QualifiedName" of a network's class, as runs and checkpoints record it."""
    cls = model if isinstance(model, type) else type(model)
    return f"{cls.__module__}:{cls.__qualname__}"


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

