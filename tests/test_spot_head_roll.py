"""The flow spotter removes the head's in-plane roll, not only its translation (spotting/head_motion.py)."""

from __future__ import annotations

import numpy as np
import pytest

from mmnet.spotting.config import spot_config
from mmnet.spotting.flow_spotter import extract_motion
from mmnet.spotting.peaks import spot_intervals
from mmnet.spotting.regions import template_regions

cv2 = pytest.importorskip("cv2")

W, H, FPS = 140, 170, 30.0
WARP = (60, 69)  # the frames of the injected brow raise


def _frames(n: int, warp: bool):
    """A textured crop that rolls by 2 degrees every 2.5 s about its nose, with a 3 px brow raise at ``WARP``."""
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.uniform(0, 255, (H, W)).astype(np.float32), (0, 0), 2.0)
    texture = cv2.normalize(texture, None, 20, 235, cv2.NORM_MINMAX)
    regions = template_regions((H, W), 0.25)
    brow = np.unravel_index(regions.measured["brow_right"], (H, W))
    by, bx = float(brow[0].mean()), float(brow[1].mean())
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    bump = np.exp(-((xx - bx) ** 2 + (yy - by) ** 2) / (2 * 8.0 ** 2))
    nose = (W / 2, 0.38 * H + 0.3 * 0.4 * W)
    for i in range(n):
        lift = 0.0
        if warp and WARP[0] <= i <= WARP[1]:
            lift = 3.0 * np.sin(np.pi * (i - WARP[0] + 1) / (WARP[1] - WARP[0] + 2))
        lifted = (yy + lift * bump).astype(np.float32)
        img = cv2.remap(texture, xx, lifted, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        m = cv2.getRotationMatrix2D(nose, 2.0 * np.sin(2 * np.pi * i / FPS / 2.5), 1.0)
        img = cv2.warpAffine(img, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        yield i, np.clip(img + rng.normal(0, 1.0, img.shape), 0, 255).astype(np.uint8)


def _micro(warp: bool):
    cfg = spot_config("casme2", ["face.mode=none"])
    curves = extract_motion(_frames(150, warp), FPS, cfg)
    return curves, cfg, np.nan_to_num(curves.scores["micro"]).max(axis=1)  # the unmeasured ends: 0


def test_head_roll_alone_moves_the_brows_and_mouth_little():
    # the roll's fastest phase turns the crop by ~1 degree a micro pair: ~0.7 px at the brows, 40 px from the nose
    # when only a translation is removed; with the roll removed, what stays is the flow's own error
    _, _, still = _micro(False)
    assert still.max() < 0.3, still.max()  # 1.3 px with the nose ridge's mean flow removed


def test_a_local_warp_under_the_roll_is_still_found_and_alone():
    curves, cfg, score = _micro(True)
    inside = np.zeros(len(score), bool)
    inside[WARP[0] - 6:WARP[1] + 7] = True
    # 1.8 px against 0.12 (1.3 px at the roll's fastest phases with the nose ridge's mean flow removed)
    assert score[inside].max() > 4 * score[~inside].max(), (score[inside].max(), score[~inside].max())
    intervals, _ = spot_intervals(curves, cfg)
    assert intervals and all(i.onset <= WARP[1] + 6 and i.offset >= WARP[0] - 6 for i in intervals), intervals


def test_a_similarity_flow_is_removed_and_a_local_one_kept():
    regions = template_regions((H, W), 0.25)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    a, b = 0.01, 0.02  # 1 % larger, turned by 0.02 rad, about (60, 90), and shifted
    u = 0.5 + a * (xx - 60) - b * (yy - 90)
    v = -0.3 + b * (xx - 60) + a * (yy - 90)
    du, dv = regions.head.remove(u.ravel(), v.ravel())
    assert np.abs(du).max() < 1e-3 and np.abs(dv).max() < 1e-3
    brow = regions.measured["brow_right"]
    lift = np.zeros(H * W, np.float32)
    lift[brow] = -2.0  # the brow moves up 2 px: not the head's motion
    du, dv = regions.head.remove(u.ravel(), v.ravel() + lift)
    assert np.abs(dv[brow] + 2.0).max() < 0.05 and np.abs(np.delete(dv, brow)).max() < 0.05


def test_landmarks_off_the_crop_and_non_finite_flow_leave_the_translation_alone():
    from mmnet.spotting.regions import regions_from_landmarks

    far = np.random.default_rng(1).uniform(480, 520, (68, 2))  # every measured region outside a 40x40 crop
    head = regions_from_landmarks(far, (40, 40), 0.5).head  # was a ValueError (the largest of no distance)
    assert head.reach == 0.0
    regions = template_regions((H, W), 0.25)
    u = np.full(H * W, 0.5, np.float32)
    u[regions.reference[:3]] = np.inf  # flow that is not finite at the nose: its fit is no motion to remove
    du, _ = regions.head.remove(u, np.zeros(H * W, np.float32))
    # the nose ridge's mean removed alone, as before the fit (not a NaN-weighted field of the fit's NaN turn)
    np.testing.assert_array_equal(du, u - u[regions.reference].mean())
