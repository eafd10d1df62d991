"""Per-frame score curves -> a ``SpotResult``, through the spotters' own post-processing.

``spot_scores`` is for a score function of one's own (a network, a handcrafted measure): give one curve per
expression type and it is smoothed, thresholded, its peaks found and turned into intervals, and the length gates
applied, exactly as the flow and learned spotters do it (``peaks.spot_intervals``: docs/spotting.md, "How it
works"). A spotter's ``spot`` (``base.Spotter``) can return the result as it is::

    result = spot_scores({"micro": micro_curve, "macro": macro_curve}, fps=30.0,
                         config=spot_config("casme2", ["micro.p=0.5", "macro.p=0.5"]))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import ConfigError
from .config import SpotConfig, spot_config
from .flow_spotter import SCALES, MotionCurves
from .peaks import spot_intervals
from .spotter import SpotResult

__all__ = ["spot_scores"]


def spot_scores(scores: Mapping[str, Sequence[float]], *, fps: float, config: SpotConfig | None = None,
                numbers: Sequence[int] | None = None, source: str = "scores",
                gaps: Sequence[tuple[int, int]] = (), strides: Mapping[str, int] | None = None) -> SpotResult:
    """The intervals of one recording from its score curves.

    Args:
        scores: expression type ("micro", "macro") -> (N,) score of each frame, higher where an expression is more
            likely; NaN where the frame has no score (it is never inside an interval). One type alone spots that
            type alone.
        fps: the recording's frame rate: the config's frame counts (smoothing, peak distance, length gates) are
            given at its ``fps_reference`` and scaled to it.
        config: the parameters (default ``spot_config()``, CAS(ME)^2's); the threshold is
            mean + ``micro.p`` / ``macro.p`` x (max - mean) of the smoothed curve; a flat curve (every frame one
            score) has none: no interval of that type, and a note in ``details``.
        numbers: the frame number of each score, strictly increasing (default 0..N-1, a video's numbering); the
            intervals carry them.
        source: the recording's name in the result.
        gaps: (first, last) frame numbers without a face, reported with the result (give their scores as NaN).
        strides: type -> k, when a frame's score is measured between frames k apart and placed at their middle,
            as the flow spotters do: an interval is then shrunk by k // 2 at each end. Default 1 (each score
            belongs to its own frame: nothing shrunk).

    Returns:
        A ``SpotResult`` (intervals sorted by onset, ``details`` with each type's smoothed curve and threshold).
    """
    config = spot_config() if config is None else config
    if not isinstance(config, SpotConfig):
        raise TypeError(f"spot_scores' config is a SpotConfig (spot_config(preset, overrides)), got "
                        f"{type(config).__name__}")
    if not isinstance(scores, Mapping) or not scores or set(scores) - set(SCALES):
        got = sorted(scores) if isinstance(scores, Mapping) else type(scores).__name__
        raise ConfigError(f"spot_scores takes a dict of score curves by type, some of {', '.join(SCALES)}; got {got}")
    curves = {t: np.asarray(scores[t], dtype=float) for t in SCALES if t in scores}
    lengths = {t: c.shape for t, c in curves.items()}
    n = len(next(iter(curves.values())))
    if any(c.ndim != 1 for c in curves.values()) or len({len(c) for c in curves.values()}) != 1 or not n:
        raise ConfigError(f"spot_scores: every score curve is one non-empty row of the same length (a score per "
                          f"frame); got shapes {lengths}")
    if not np.isfinite(fps) or fps <= 0:
        raise ConfigError(f"spot_scores: fps must be a positive frame rate, got {fps}")
    frame_numbers = np.arange(n) if numbers is None else np.asarray(numbers, dtype=int)
    if frame_numbers.shape != (n,):
        raise ConfigError(f"spot_scores: numbers gives {frame_numbers.size} frame numbers for {n} scores")
    if (back := np.flatnonzero(np.diff(frame_numbers) <= 0)).size:  # intervals are spans of frame numbers
        i = int(back[0])
        raise ConfigError(f"spot_scores: numbers must strictly increase (one frame number per score, in frame order); "
                          f"numbers[{i}] = {frame_numbers[i]} is followed by numbers[{i + 1}] = {frame_numbers[i + 1]}")
    strides = {t: 1 for t in curves} if strides is None else dict(strides)
    if set(strides) != set(curves) or any(int(k) < 1 for k in strides.values()):
        raise ConfigError(f"spot_scores: strides gives k >= 1 for each type scored ({', '.join(curves)}), got "
                          f"{strides}")
    motion = MotionCurves(float(fps), frame_numbers, {t: c[:, None] for t, c in curves.items()}, ("score",),
                          {t: int(k) for t, k in strides.items()}, [tuple(map(int, g)) for g in gaps])
    intervals, details = spot_intervals(motion, config, tuple(curves))
    return SpotResult(source, float(fps), n, intervals, motion.gaps, config, motion, details)
