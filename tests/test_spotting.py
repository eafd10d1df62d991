"""Apex spotting on synthetic clips whose apex is known by construction."""

import numpy as np
import pytest

from mmnet.errors import DataError
from mmnet.spotting import motion_curve, spot_apex


def synthetic_clip(n: int, apex: int, *, onset: int = 0, seed: int = 0, noise: float = 3.0,
                   size: tuple[int, int] = (96, 80)) -> list[np.ndarray]:
    """A textured face-sized frame; a patch (the "brow") brightens from onset to apex, then relaxes.

    Every frame also gets independent pixel noise, larger per pixel than the patch change at
    frames near the onset, so the spotter must average to find the apex.
    """
    rng = np.random.default_rng(seed)
    h, w = size
    base = rng.integers(40, 216, (h, w, 3)).astype(np.float32)
    frames = []
    for t in range(n):
        if t <= onset:
            amp = 0.0
        elif t <= apex:
            amp = 30.0 * (t - onset) / (apex - onset)
        else:
            amp = 30.0 * max(0.0, 1.0 - (t - apex) / max(1, n - 1 - apex))
        f = base.copy()
        f[20:40, 15:45] += amp  # the moving region
        f += rng.normal(0.0, noise, f.shape)
        frames.append(np.clip(f, 0, 255).astype(np.uint8))
    return frames


@pytest.mark.parametrize("n,apex", [(20, 7), (20, 12), (33, 30), (9, 3)])
def test_finds_known_apex(n, apex):
    frames = synthetic_clip(n, apex)
    assert spot_apex(frames) == apex


def test_apex_after_a_later_onset_ignores_earlier_frames():
    frames = synthetic_clip(30, 20, onset=10)
    # A big change before the onset must not be picked: only frames after the onset count.
    frames[3] = np.full_like(frames[3], 255)
    assert spot_apex(frames, onset=10) == 20


def test_single_noisy_frame_is_smoothed_away():
    frames = synthetic_clip(25, 15)
    # A one-frame flicker whose raw motion exceeds the apex's (by ~40 %) does not win once smoothed.
    flicker = frames[5].astype(np.int16)
    flicker[50:70, 40:70] += 40
    frames[5] = np.clip(flicker, 0, 255).astype(np.uint8)
    assert spot_apex(frames) == 15
    assert spot_apex(frames, smooth=1) == 5  # without smoothing the flicker wins: the test can fail


def test_curve_is_zero_at_onset_and_peaks_at_apex():
    frames = synthetic_clip(15, 9, noise=0.0)
    curve = motion_curve(frames, smooth=1)
    assert curve[0] == 0.0
    assert int(np.argmax(curve)) == 9
    assert np.all(np.diff(curve[:10]) > 0)


def test_grid_larger_than_frame_and_odd_sizes():
    frames = synthetic_clip(12, 6, size=(50, 47))
    assert spot_apex(frames, grid=64) == 6


def test_errors_name_the_problem():
    frames = synthetic_clip(5, 2)
    with pytest.raises(DataError, match="at least 2 frames"):
        motion_curve(frames[:1])
    with pytest.raises(DataError, match="No frame after the onset"):
        spot_apex(frames, onset=4)
    with pytest.raises(DataError, match="one size"):
        spot_apex([frames[0], frames[1][:-1]])


def _spot_from_whole_curve(frames, onset, smooth):
    """The rule computed on the whole clip at once (the reference for the streaming spotter)."""
    raw = motion_curve(frames, onset, smooth=1)
    smoothed = motion_curve(frames, onset, smooth=smooth)
    centre = onset + 1 + int(np.argmax(smoothed[onset + 1 :]))
    lo, hi = max(onset + 1, centre - smooth // 2), min(len(raw), centre + smooth // 2 + 1)
    return lo + int(np.argmax(raw[lo:hi]))


@pytest.mark.parametrize("onset,smooth", [(0, 3), (4, 3), (4, 5), (1, 7), (6, 1)])
def test_streamed_frames_give_the_whole_clip_answer(onset, smooth):
    frames = synthetic_clip(24, 15, onset=onset, seed=onset + smooth, noise=8.0)
    consumed = []

    def one_at_a_time():
        for f in frames:
            consumed.append(1)
            yield f

    assert spot_apex(one_at_a_time(), onset, smooth=smooth) == _spot_from_whole_curve(frames, onset, smooth)
    assert len(consumed) == len(frames)  # read once, as a stream
