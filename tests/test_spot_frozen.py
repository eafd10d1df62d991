"""A frozen stretch of a recording (one frame repeated: the optical flow of its pairs is exactly 0) is left out of
the whole-recording thresholds as a gap is, with a note (spotting.frozen); far larger motion: test_spot_large_motion."""

from __future__ import annotations

import numpy as np

from mmnet.spotting.config import spot_config
from mmnet.spotting.flow_spotter import MotionCurves
from mmnet.spotting.frozen import FROZEN_FLOW
from mmnet.spotting.peaks import spot_intervals
from mmnet.spotting.spotter import SpotResult

CFG = spot_config("casme2", [])
FPS = 30.0
STRIDES = {s: CFG.frames_at(getattr(CFG, s).k, FPS) for s in ("micro", "macro")}


def _scores(n: int, seed: int) -> dict[str, np.ndarray]:
    """Per scale, a still face's noise with expressions every few seconds (macro ones twice as large)."""
    rng = np.random.default_rng(seed)
    out = {}
    for scale, height, every in (("micro", 0.5, 90), ("macro", 1.2, 240)):
        x = rng.uniform(0.05, 0.15, n)
        for centre in range(every // 2, n - 20, every):
            width = 4 if scale == "micro" else 12
            x[centre - width:centre + width] += height * rng.uniform(0.6, 1.4) * np.hanning(2 * width)
        out[scale] = x
    return out


def _curves(scores: dict[str, np.ndarray]) -> MotionCurves:
    n = len(scores["micro"])
    return MotionCurves(FPS, np.arange(n), {s: x[:, None] for s, x in scores.items()}, ("mouth",), dict(STRIDES))


def _frozen(scores: dict[str, np.ndarray], at: int, length: int) -> dict[str, np.ndarray]:
    """``scores`` with ``length`` frames of one repeated frame inserted before position ``at``: the pairs within
    them have no motion (0), those that reach into them from outside keep the noise."""
    out = {}
    for scale, x in scores.items():
        k = STRIDES[scale]
        inserted = np.full(length, 0.1)
        inserted[k // 2:length - k + k // 2] = 0.0  # the pairs' centres, both frames inserted
        out[scale] = np.concatenate([x[:at], inserted, x[at:]])
    return out


def test_a_frozen_stretch_leaves_the_thresholds_and_the_other_intervals_as_they_were():
    scores = _scores(3000, 0)
    before, details = spot_intervals(_curves(scores), CFG, flow=True)
    assert not details["macro"].get("warnings")  # nothing to say about an ordinary recording
    at, length = 1510, 600
    after, frozen = spot_intervals(_curves(_frozen(scores, at, length)), CFG, flow=True)
    for scale in ("micro", "macro"):  # the zeros no longer pull the mean (and the threshold) down
        assert abs(frozen[scale]["threshold"] - details[scale]["threshold"]) < 0.01 * details[scale]["threshold"]
    far = [(i.onset, i.apex, i.offset, i.type) for i in before if i.offset < at - 60 or i.onset > at + 60]
    moved = {(i.onset - length, i.apex - length, i.offset - length, i.type) if i.onset > at else
             (i.onset, i.apex, i.offset, i.type) for i in after}
    assert far and set(far) <= moved
    assert not any(at + 3 < i.offset and i.onset < at + length - 3 for i in after)  # none within the freeze
    notes = SpotResult("rec.mp4", FPS, 3600, after, [], CFG, _curves(scores), frozen).notes
    assert [n for n in notes if n.startswith(f"frames {at}-{at + length - 1} (20.0 s) do not change")]


def test_a_few_repeated_frames_are_not_a_freeze():
    scores = _scores(3000, 1)
    before, details = spot_intervals(_curves(scores), CFG, flow=True)
    near = {s: x.copy() for s, x in scores.items()}
    k = STRIDES["micro"]
    near["micro"][700:700 + 8 - k] = FROZEN_FLOW / 2  # 8 frames (0.27 s), shorter than a freeze
    after, again = spot_intervals(_curves(near), CFG, flow=True)
    assert not again["macro"].get("warnings") and again["macro"]["threshold"] == details["macro"]["threshold"]


def test_scores_other_than_flow_are_left_as_they_are():
    # a learned spotter's (or one's own) score can be 0 on a still face: not a frozen video
    scores = _frozen(_scores(3000, 3), 1510, 600)
    _, details = spot_intervals(_curves(scores), CFG)
    _, told = spot_intervals(_curves(scores), CFG, flow=True)
    assert not details["macro"].get("warnings") and told["macro"]["warnings"]
    assert details["micro"]["threshold"] < told["micro"]["threshold"]


def test_a_recording_frozen_throughout_is_said_so_not_blamed_on_the_face():
    still = {s: np.zeros(900) for s in STRIDES}
    intervals, details = spot_intervals(_curves(still), CFG, flow=True)
    notes = SpotResult("rec.mp4", FPS, 900, intervals, [], CFG, _curves(still), details).notes
    assert not intervals and any(n.startswith("frames 0-899 (30.0 s) do not change") for n in notes), notes
    assert not any("face was not found" in n for n in notes) and any("no frame stands out" in n for n in notes)


def test_a_freeze_with_one_refreshed_frame_is_one_stretch():
    # a freeze written again by a video encoder: its keyframe changes the picture once, so the k pairs spanning
    # that frame move a little (the decoded frames differ by a few grey levels) and the rest stay 0
    scores = _frozen(_scores(3000, 4), 1510, 60)
    for scale, x in scores.items():
        k = STRIDES[scale]
        x[1540 - k // 2:1540 - k // 2 + k] = 0.05  # the pairs (i - k, i) with i - k < 1540 <= i, at their centres
    intervals, details = spot_intervals(_curves(scores), CFG, flow=True)
    notes = SpotResult("rec.mp4", FPS, 3060, intervals, [], CFG, _curves(scores), details).notes
    (note,) = [n for n in notes if "do not change" in n]
    assert note.startswith("frames 1510-1569 (2.0 s) do not change"), note
