"""Spotters as objects, for spot then recognise: ``fit(train_videos)``, then ``spot(video) -> SpotResult``.

``make_spotter(config, seed=..., device=...)`` is the one place that picks a spotter from its
configuration. The optical-flow spotter (``spotter.spot_recording``) needs no training: its
``fit`` does nothing and ``fold_independent`` is True, so a run spots each recording once and
reuses the result in every fold. A spotter that learns from the training subjects would have
``fold_independent`` False and be fitted and run per fold.

A video is anything with ``path`` (frame folder or video file), ``fps`` and ``video`` (its id),
such as ``mmnet.data.LongVideo``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ConfigError
from .config import SpotConfig
from .spotter import SpotResult, spot_recording

__all__ = ["FlowSpotter", "make_spotter", "SPOTTERS"]


class FlowSpotter:
    """The training-free optical-flow spotter behind the ``fit``/``spot`` interface."""

    fold_independent = True  # nothing is learned: one result per recording serves every fold

    def __init__(self, config: SpotConfig, *, seed: int = 0, device: str = "cpu") -> None:
        self.config = config
        self.seed = seed  # unused: the flow spotter is deterministic
        self.device = device  # unused: OpenCV on the CPU
        self._aligner = None

    def fit(self, train_videos: Sequence) -> FlowSpotter:
        """Nothing to learn; returns self."""
        return self

    def spot(self, video) -> SpotResult:
        if self.config.face.mode == "align" and self._aligner is None:  # one landmark model for every recording
            from ..preprocess import CropGeometry, FaceAligner

            self._aligner = FaceAligner(CropGeometry(self.config.face.width, self.config.face.height))
        return spot_recording(video.path, self.config, fps=video.fps, aligner=self._aligner)


#: method name -> spotter class; the method is ``SpotConfig.method`` where the config has one, else "flow".
SPOTTERS = {"flow": FlowSpotter}


def make_spotter(config: SpotConfig, *, seed: int = 0, device: str = "cpu"):
    """The spotter ``config`` asks for (``config.method``; "flow" when the config has no method)."""
    method = getattr(config, "method", "flow")
    if method not in SPOTTERS:
        raise ConfigError(f"spotting method {method!r} has no spotter here; known: {', '.join(sorted(SPOTTERS))}")
    return SPOTTERS[method](config, seed=seed, device=device)
