"""The flow spotter's peak -> interval rule (spotting.peaks) on hand-built curves, expected values worked out by hand
from the rule in the module docstring: run around the peak at or above half its height over the median, shrunk by
k // 2 at each end (never past the apex), touching or overlapping intervals merged, frame numbers the recording's."""

from __future__ import annotations

import numpy as np

from mmnet.spotting.config import spot_config
from mmnet.spotting.flow_spotter import MotionCurves
from mmnet.spotting.peaks import _candidates, spot_intervals


def _curve(n: int, base: float, values: dict[int, float]) -> np.ndarray:
    x = np.full(n, base)
    for i, v in values.items():
        x[i] = v
    return x


# One peak of 11 at index 15 over a still face of 1 (the median): half height over the median = 1 + 5 = 6, so the
# run is 13..17 (6, 7, 11, 7, 6); 12 and 18 (5) are below it.
ONE_PEAK = _curve(30, 1.0, dict(zip(range(10, 21), [2, 3, 5, 6, 7, 11, 7, 6, 5, 3, 2])))


def test_candidate_is_the_half_height_run_shrunk_by_half_the_stride():
    assert _candidates(ONE_PEAK, 0, 6.0, 1, "micro") == [(13, 15, 17, 11.0)]  # k // 2 = 0: the run itself
    assert _candidates(ONE_PEAK, 2, 6.0, 1, "micro") == [(14, 15, 16, 11.0)]  # k = 2: one frame off each end
    assert _candidates(ONE_PEAK, 3, 6.0, 1, "micro") == [(14, 15, 16, 11.0)]  # k // 2, not k / 2 rounded up
    assert _candidates(ONE_PEAK, 8, 6.0, 1, "micro") == [(15, 15, 15, 11.0)]  # never shrunk past the apex


def test_touching_candidates_merge_and_separate_ones_do_not():
    # Peak A (6 at 5) and the higher peak B (10 at 8), median 0. A: level 3, run 4..9, k = 4 shrinks by 2 -> 6..7
    # but not before its apex: 5..7. B: level 5, run 7..8 -> shrunk 9..6, held at the apex: 8..8. 5..7 and 8..8
    # touch (no frame between them): one interval, apex and score from B.
    x = _curve(30, 0.0, {4: 3, 5: 6, 6: 4, 7: 5, 8: 10, 9: 4})
    assert _candidates(x, 4, 6.0, 1, "micro") == [(5, 8, 8, 10.0)]
    # One frame lower at 9 ends A's run at 8 (shrunk 5..6): a frame (7) between 5..6 and 8..8, two intervals.
    x[9] = 2
    assert _candidates(x, 4, 6.0, 1, "micro") == [(5, 5, 6, 6.0), (8, 8, 8, 10.0)]


def _curves(x: np.ndarray, first: int, k: int) -> MotionCurves:
    numbers = np.arange(first, first + len(x))
    return MotionCurves(fps=30.0, numbers=numbers, scores={"micro": x[:, None]}, regions=("mouth",),
                        strides={"micro": k})


def test_spotted_interval_is_in_the_recordings_frame_numbers():
    # Frames numbered from 100: the run 13..17 shrunk by k // 2 = 1 is positions 14..16, frames 114..116, apex 115.
    # T = mean + 0.5 (max - mean) = 2.53 + 0.5 * 8.47 = 6.77: only the peak at 15 reaches it.
    cfg = spot_config("casme2", ["micro.k=2", "micro.smooth=1", "micro.p=0.5", "micro.distance=2",
                                 "micro.min_length=1", "micro.max_length=0"])
    intervals, details = spot_intervals(_curves(ONE_PEAK, 100, 2), cfg, types=("micro",))
    assert [(i.onset, i.apex, i.offset, i.type, i.score) for i in intervals] == [(114, 115, 116, "micro", 11.0)]
    assert details["micro"]["threshold"] == ONE_PEAK.mean() + 0.5 * (11 - ONE_PEAK.mean())
