"""The one place a spotter is chosen: ``SpotConfig.method`` -> a spotter with ``fit``/``spot``.

``FlowSpotter`` (training-free optical flow) and ``LearnedSpotter`` (SoftNet-like networks on the
same flow) live in ``learned.py``; this module names them for spot-then-recognise and the CLI.
"""

from __future__ import annotations

from ..errors import ConfigError
from .config import SpotConfig
from .learned import FlowSpotter, LearnedSpotter

__all__ = ["FlowSpotter", "LearnedSpotter", "make_spotter", "SPOTTERS"]

#: method name -> spotter class (``SpotConfig.method``).
SPOTTERS = {"flow": FlowSpotter, "learned": LearnedSpotter}


def make_spotter(config: SpotConfig, *, seed: int = 0, device: str = "cpu") -> FlowSpotter | LearnedSpotter:
    """The spotter ``config.method`` names ("flow" when the config has no method)."""
    method = getattr(config, "method", "flow")
    if method not in SPOTTERS:
        raise ConfigError(f"spotting method {method!r} has no spotter here; known: {', '.join(sorted(SPOTTERS))}")
    return SPOTTERS[method](config, seed=seed, device=device)
