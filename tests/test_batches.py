"""Device-side batches: the authors' jitter and augmentation, one draw shared by onset and apex."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmnet.config import AugmentConfig
from mmnet.data.batches import DeviceFrames, normalise_hwc
from mmnet.data.cache import CachedFrames
from mmnet.data.image import normalise

S = 32


def _frames(n_samples=4, same_pair=False):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (n_samples * 2, S, S, 3), dtype=np.uint8)
    if same_pair:
        frames[1::2] = frames[0::2]
    base = np.arange(n_samples) * 2
    cache = CachedFrames(frames, np.stack([base, base + 1], 1), np.stack([base + 1, base + 2], 1), base, base + 1,
                         Path("memory"))
    return DeviceFrames(cache, [0, 1, 2, 3][:n_samples])


def _gen():
    return torch.Generator().manual_seed(0)


def test_normalise_hwc_matches_reference():
    x = torch.randint(0, 256, (2, S, S, 3), dtype=torch.uint8)
    torch.testing.assert_close(normalise_hwc(x), normalise(x))
    assert normalise_hwc(x).is_contiguous(memory_format=torch.channels_last)


def test_no_augmentation_no_jitter_is_the_eval_batch():
    data = _frames()
    idx = torch.arange(4)
    off = AugmentConfig(hflip=0, rotate_degrees=0, crop_padding=0)
    onset, apex, _ = data.train_batch(idx, off, _gen(), jitter=False)
    e_onset, e_apex, _ = data.eval_batch(idx)
    torch.testing.assert_close(onset, e_onset)
    torch.testing.assert_close(apex, e_apex)


def test_flip_is_exact():
    data = _frames()
    idx = torch.arange(4)
    onset, _, _ = data.train_batch(idx, AugmentConfig(hflip=1.0, rotate_degrees=0, crop_padding=0), _gen(),
                                   jitter=False)
    assert torch.equal(onset, data.eval_batch(idx)[0].flip(-1))


def test_padded_crop_is_an_integer_shift_with_zero_fill():
    """Also checks the zero fill: the reference pads with exact zeros after normalisation."""
    data = _frames()
    idx = torch.arange(4)
    onset, _, _ = data.train_batch(idx, AugmentConfig(hflip=0, rotate_degrees=0, crop_padding=3), _gen(), jitter=False)
    ref = data.eval_batch(idx)[0]
    for b in range(4):
        padded = F.pad(ref[b], (3, 3, 3, 3))
        crops = [padded[:, oy:oy + S, ox:ox + S] for oy in range(7) for ox in range(7)]
        assert any(torch.equal(onset[b], c) for c in crops), b


def _source_map(data, rows, cols):
    """A draw whose output pixel (i, j) reads bordered source pixel (rows[i, j], cols[i, j]) in every sample."""
    src = (rows * (S + 2) + cols).view(1, S * S).expand(4, -1).to(data._index_dtype)
    return lambda B, aug, gen: (src, torch.zeros(B, dtype=torch.bool), torch.ones(B), torch.zeros(B))


@pytest.mark.parametrize("memory_format", [torch.channels_last, torch.contiguous_format])
def test_training_pixels_are_the_evaluation_pixels_bit_for_bit(memory_format):
    """A one-grey-level motion must reach the network as evaluation computes it (no storage rounding),
    and sources outside the image read exactly 0."""
    data = _frames()
    idx = torch.arange(4)
    inside = torch.arange(1, S + 1)
    data._draw = _source_map(data, inside.view(S, 1).expand(S, S), inside.view(1, S).expand(S, S))  # identity
    onset, apex, _ = data.train_batch(idx, AugmentConfig(), _gen(), jitter=False, memory_format=memory_format)
    e_onset, e_apex, _ = data.eval_batch(idx, memory_format)
    assert torch.equal(onset, e_onset) and torch.equal(apex, e_apex)
    assert torch.equal(apex - onset, e_apex - e_onset)
    # shifted down by 2 rows: the top 2 rows read the zero border (and row 0 of the border itself)
    shifted = (torch.arange(S) - 1).clamp(min=0).view(S, 1).expand(S, S)
    data._draw = _source_map(data, shifted, inside.view(1, S).expand(S, S))
    onset, _, _ = data.train_batch(idx, AugmentConfig(), _gen(), jitter=False, memory_format=memory_format)
    assert torch.equal(onset[:, :, 2:], e_onset[:, :, :-2])
    border = onset[:, :, :2]
    assert torch.equal(border, torch.zeros_like(border)) and not torch.signbit(border).any()


def test_one_draw_for_both_frames():
    data = _frames(same_pair=True)
    onset, apex, _ = data.train_batch(torch.arange(4), AugmentConfig(), _gen(), jitter=False)
    torch.testing.assert_close(onset, apex)


def test_rotation_agrees_with_grid_sample():
    data = _frames()
    aug = AugmentConfig(hflip=0.5, rotate_degrees=3.0, crop_padding=2)
    onset, _, _ = data.train_batch(torch.arange(4), aug, _gen(), jitter=False)
    # Replay the same draws and build the reference with grid_sample (nearest, zeros).
    g = _gen()
    flip = torch.rand(4, 1, 1, generator=g) < aug.hflip
    angle = (torch.rand(4, 1, 1, generator=g) * 2 - 1) * math.radians(aug.rotate_degrees)
    shift = (torch.randint(0, 5, (4, 2, 1, 1), generator=g) - 2).float()
    cos, sin = torch.cos(angle).view(4), torch.sin(angle).view(4)
    sx = torch.where(flip.view(4), -1.0, 1.0)
    t = shift.view(4, 2) * (2.0 / S)
    theta = torch.stack([torch.stack([cos * sx, -sin * sx, (cos * t[:, 0] - sin * t[:, 1]) * sx], 1),
                         torch.stack([sin, cos, sin * t[:, 0] + cos * t[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, [4, 3, S, S], align_corners=False)
    ref = F.grid_sample(data.eval_batch(torch.arange(4))[0], grid, mode="nearest", align_corners=False)
    mismatch = (onset != ref).any(1).float().mean()
    assert mismatch < 0.01  # rounding ties only


def test_jitter_stays_in_the_window():
    data = _frames()
    rows = torch.stack([data._draw_rows(data.onset_rows, torch.arange(4), _gen()) for _ in range(20)])
    lo, hi = data.onset_rows[:, 0], data.onset_rows[:, 1]
    assert ((rows >= lo) & (rows < hi)).all()


def _with_flow(u=1.0, v=0.0):
    data = _frames()
    flows = np.zeros((4, S, S, 3), np.float32)
    flows[..., 0], flows[..., 1], flows[..., 2] = u, v, math.hypot(u, v)
    cache = CachedFrames(data.frames[..., :3].numpy(), data.onset_rows.numpy(), data.apex_rows.numpy(),
                         data.onset_exact.numpy(), data.apex_exact.numpy(), Path("memory"))
    return DeviceFrames(cache, [0, 1, 2, 3], flows=flows)


def test_flow_vectors_follow_the_flip():
    data = _with_flow(1.0, 0.5)
    _, flow, _ = data.train_batch(torch.arange(4), AugmentConfig(hflip=1.0, rotate_degrees=0, crop_padding=0), _gen())
    torch.testing.assert_close(flow[:, 0], torch.full((4, S, S), -1.0))
    torch.testing.assert_close(flow[:, 1], torch.full((4, S, S), 0.5))


def test_flow_vectors_follow_the_rotation():
    data = _with_flow(1.0, 0.0)
    aug = AugmentConfig(hflip=0, rotate_degrees=10.0, crop_padding=0)
    _, flow, _ = data.train_batch(torch.arange(4), aug, _gen())
    g = _gen()
    torch.rand(4, 1, 1, generator=g)  # the flip draw
    angle = ((torch.rand(4, 1, 1, generator=g) * 2 - 1) * math.radians(10.0)).view(4)
    centre = flow[:, :, S // 2, S // 2]  # inside the image for any small rotation
    torch.testing.assert_close(centre[:, 0], torch.cos(angle))
    torch.testing.assert_close(centre[:, 1], -torch.sin(angle))
    torch.testing.assert_close(centre[:, 2], torch.ones(4))  # magnitude unchanged


def test_nchw_batches_equal_channels_last_batches():
    """The layout changes strides only: same values, same random draws."""
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    base = np.arange(4) * 3
    cache = CachedFrames(frames, np.stack([base, base + 2], 1), np.stack([base + 1, base + 3], 1), base, base + 2,
                         Path("memory"))
    data = DeviceFrames(cache, [0, 1, 2, 0])
    idx = torch.arange(4)
    out = {}
    for fmt in (torch.channels_last, torch.contiguous_format):
        gen = torch.Generator().manual_seed(3)
        out[fmt] = data.train_batch(idx, AugmentConfig(), gen, memory_format=fmt) + data.eval_batch(idx, fmt)
    for a, b in zip(out[torch.channels_last], out[torch.contiguous_format]):
        assert torch.equal(a, b)
    assert out[torch.contiguous_format][0].is_contiguous()
    assert out[torch.channels_last][3].is_contiguous(memory_format=torch.channels_last)


def test_normalise_constants_are_made_once_per_device(monkeypatch):
    # torch.tensor(..., device="cuda") is a host->device copy that waits for the GPU: per batch it would
    # be a host synchronisation in every evaluation batch (seen only on CUDA; counted here on the CPU).
    from mmnet.data import batches

    batches._normalise_constants.cache_clear()
    made = []
    real = torch.tensor
    monkeypatch.setattr(torch, "tensor", lambda *a, **k: made.append(k.get("device")) or real(*a, **k))
    images = torch.randint(0, 256, (2, 8, 8, 3), dtype=torch.uint8)
    with torch.inference_mode():
        first = normalise_hwc(images)
    assert len(made) == 2
    for _ in range(3):
        again = normalise_hwc(images)
    assert len(made) == 2 and torch.equal(first, again)
    scale, _ = batches._normalise_constants(images.device)
    assert not scale.is_inference()  # a first call in inference mode caches ordinary tensors
