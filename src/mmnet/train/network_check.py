"""Which network trains, checked once before any run folder is written (``mmnet train`` and ``mmnet sweep``):
``model.factory``'s network is built and run on a pair of frames, and a network put in place of
``mmnet.train.fold.MMNet`` is refused where other processes would train."""

from __future__ import annotations

import torch

from ..config import ExecutorConfig, ExperimentConfig
from ..errors import ConfigError
from ..model.factory import call_factory, network_name
from ..model.mmnet import MMNetConfig

__all__ = ["check_network"]


def check_network(config: ExperimentConfig | MMNetConfig, executor: ExecutorConfig | None) -> None:
    """Before any training, the network that would train, for a resolved config (``resolve_config``: the model's
    ``num_classes`` follows the label scheme) or its ``model`` section:

    * ``model.factory``'s network is built on the CPU and one pair of zero frames run through it, so that a wrong
      factory (its import, its return value, its forward or its output shape) is said at once rather than by every
      fold. Without a factory MMNet trains, known to work.
    * a network put in place of mmnet.train.fold.MMNet in this process trains only here: under ``--executor ray`` or
      ``slurm`` the workers and jobs import mmnet afresh and would train MMNet, so it is refused there.
    """
    model = config.model if isinstance(config, ExperimentConfig) else config
    if model.factory:
        _check_factory(model)
    _check_replaced(executor)


def _check_factory(config: MMNetConfig) -> None:
    model = call_factory(config.factory, config).eval()
    frames = torch.zeros(2, 3, config.image_size, config.image_size)
    try:
        with torch.no_grad():
            logits = model(frames, flow=frames) if config.main_input == "flow" else model(frames, frames)
    except Exception as exc:
        raise ConfigError(f"model.factory {config.factory!r}: its network failed on two (2, 3, {config.image_size}, "
                          f"{config.image_size}) frames: {type(exc).__name__}: {exc}. The network must take "
                          "model(onset, apex) (model(onset, flow=flow) with model.main_input: flow) and return "
                          "logits (B, model.num_classes).") from exc
    if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != (2, config.num_classes):
        got = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ConfigError(f"model.factory {config.factory!r}: its network returned {got} for 2 frame pairs; "
                          f"expected logits of shape (2, {config.num_classes}) (model.num_classes follows the label "
                          "scheme).")


def _check_replaced(executor: ExecutorConfig | None) -> None:
    if executor is None or executor.executor == "local":
        return
    from ..model import MMNet
    from . import fold  # deferred: the training loop's imports only when a cluster executor is asked for

    if fold.MMNet is not MMNet:
        raise ConfigError(f"mmnet.train.fold.MMNet was replaced by {network_name(fold.MMNet)} in this process: "
                          f"--executor {executor.executor} trains in other processes, which would train MMNet. Set "
                          "model.factory to \"package.module:callable\" instead (docs/cli.md, \"Training your own "
                          "network\"), a module every worker can import.")
