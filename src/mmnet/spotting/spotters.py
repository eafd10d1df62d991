"""The one place a spotter is registered: ``SpotConfig.method`` -> the class that implements it.

``SPOTTERS`` names each class by ``"module:Class"``, not by the class itself: ``spotting/config.py``
checks ``method`` against its names and ``learned.load_spotter`` finds a saved spotter's class in
it, while the classes import the config. So this module imports no other spotting module, and a
class is imported when it is first asked for (``spotter_class``).

The spotter interface (the base class is ``learned._Spotter``; ``FlowSpotter`` and
``LearnedSpotter`` implement it):

* ``method`` (class attribute): the name it is registered under here, ``SpotConfig.method``;
* ``__init__(config, *, seed=0, device="cpu")``: a ``SpotConfig`` (its ``method`` is set to the class's);
* ``fit(videos, *, types, progress=False) -> dict``: learn from ``LongVideo``s with their ground truth, for
  the expression types ``types``; returns statistics (``{}`` when nothing is learned);
* ``spot(video, *, fps=None, progress=False) -> SpotResult``: a ``LongVideo``, a video file or a frame folder;
* ``spot_kept(source, *, fps=None, progress=None, on_total=None, keep=None) -> SpotResult`` (a trained spotter,
  which ``mmnet spot --spotter-model`` runs): ``spot`` with ``progress(1)`` after every frame, ``on_total(count)``
  and ``keep`` (``partial_state.PartialSpot``, ``--out``), whose progress it keeps and continues;
* ``save(path)`` writes ``_payload()`` (plain values and tensors: it is read with ``weights_only=True``);
  ``_restore(data)`` reads back what the class's ``_payload`` added to the base one;
* ``fold_independent`` (optional, default False): True when ``spot`` does not depend on ``fit``; spot then
  recognise (``train/spot_recognise.py``) then spots each recording once and reuses it for every fold and seed.

A new spotter: implement the interface (subclassing ``_Spotter`` gives ``save``/``load``), add it to
``SPOTTERS``; ``SpotConfig(method=...)``, ``make_spotter`` and ``load_spotter`` then know it, and
tests/test_spotter_registry.py saves and loads it back.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    from .config import SpotConfig

__all__ = ["SPOTTERS", "spotter_class", "make_spotter"]

#: method name -> "module:Class" of the spotter that implements it (``SpotConfig.method``).
SPOTTERS = {"flow": "mmnet.spotting.learned:FlowSpotter", "learned": "mmnet.spotting.learned:LearnedSpotter"}


def spotter_class(method: str) -> type:
    """The class registered for ``method`` in ``SPOTTERS``."""
    if method not in SPOTTERS:
        raise ConfigError(f"spotting method {method!r} has no spotter here; known: {', '.join(sorted(SPOTTERS))} "
                          "(a new spotter is added to SPOTTERS in src/mmnet/spotting/spotters.py)")
    module, _, name = SPOTTERS[method].partition(":")
    return getattr(importlib.import_module(module), name)


def make_spotter(config: SpotConfig, *, seed: int = 0, device: str = "cpu"):
    """The spotter ``config.method`` names ("flow" when the config has no method)."""
    return spotter_class(getattr(config, "method", "flow"))(config, seed=seed, device=device)
