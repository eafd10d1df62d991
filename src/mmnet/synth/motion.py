"""FACS-like action units as local displacement fields, and the rendering of a clip's frames.

Each action unit moves one or more facial landmarks along a direction; around a landmark the
displacement falls off as a Gaussian whose radius is a multiple of the face's eye width. A clip's
field is the sum of its units' fields, scaled by an envelope that rises from the onset frame to the
apex frame and falls back by the offset frame. Frames are the neutral face sampled at
``x - d(x) - drift(t)`` (backward bilinear warp), plus the nuisances of real recordings: global head
drift, illumination flicker (a global gain) and sensor noise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .face import Face

__all__ = ["ACTION_UNITS", "Nuisance", "parse_aus", "displacement_field", "warp", "render_clip", "sample_displaced"]

# AU -> list of (landmark base name, (dx, dy) direction with the subject's-left side sign for x,
# radius in eye widths). "+x" points away from the face midline; the sign flips for the right side.
# Landmarks without a side (no "_" suffix pair) are central.
ACTION_UNITS: dict[str, list[tuple[str, tuple[float, float], float]]] = {
    "1": [("brow_inner", (0.0, -1.0), 0.45), ("forehead", (0.0, -0.6), 0.8)],  # inner brow raiser
    "2": [("brow_outer", (0.0, -1.0), 0.5), ("brow_mid", (0.0, -0.6), 0.45)],  # outer brow raiser
    "4": [("brow_inner", (-0.6, 0.8), 0.5), ("glabella", (0.0, 0.5), 0.35)],  # brow lowerer
    "5": [("upper_lid", (0.0, -1.0), 0.35)],  # upper lid raiser
    "6": [("cheek", (0.0, -1.0), 0.7), ("lower_lid", (0.0, -0.6), 0.35)],  # cheek raiser
    "7": [("lower_lid", (0.0, -1.0), 0.3), ("upper_lid", (0.0, 0.4), 0.3)],  # lid tightener
    "9": [("nose_wing", (0.0, -1.0), 0.4), ("brow_inner", (0.0, 0.5), 0.4)],  # nose wrinkler
    "10": [("upper_lip", (0.0, -1.0), 0.5), ("nasolabial", (0.2, -0.7), 0.45)],  # upper lip raiser
    "12": [("lip_corner", (0.7, -0.7), 0.45), ("nasolabial", (0.3, -0.4), 0.5)],  # lip corner puller
    "14": [("lip_corner", (-1.0, 0.0), 0.35)],  # dimpler
    "15": [("lip_corner", (0.0, 1.0), 0.4)],  # lip corner depressor
    "17": [("chin", (0.0, -1.0), 0.7), ("lower_lip", (0.0, -0.6), 0.45)],  # chin raiser
    "20": [("lip_corner", (1.0, 0.15), 0.45)],  # lip stretcher
    "24": [("upper_lip", (0.0, 0.6), 0.4), ("lower_lip", (0.0, -0.6), 0.4)],  # lip presser
    "25": [("lower_lip", (0.0, 1.0), 0.45)],  # lips part
    "26": [("lower_lip", (0.0, 1.0), 0.8), ("chin", (0.0, 1.0), 1.0)],  # jaw drop
    "45": [("upper_lid", (0.0, 1.0), 0.35)],  # (partial) blink: an unannotated nuisance
}

_AU_TOKEN = re.compile(r"^([LR]?)(\d+)$")


def parse_aus(aus: str) -> list[tuple[str, str]]:
    """'6+L12' -> [('', '6'), ('L', '12')]: (side prefix, AU number) for the AUs this module draws."""
    out = []
    for token in str(aus).split("+"):
        m = _AU_TOKEN.match(token.strip())
        if m is None or m.group(2) not in ACTION_UNITS:
            raise ValueError(f"cannot draw action unit {token!r} of {aus!r}; drawable: {sorted(ACTION_UNITS, key=int)}")
        out.append((m.group(1), m.group(2)))
    return out


@dataclass(frozen=True)
class Nuisance:
    """What a real recording adds beside the expression (units: pixels, fractions, grey levels).

    Attributes:
        drift_px: std of the global head translation reached at the offset frame (random walk).
        flicker: std of the per-frame global gain (0.005 = +-0.5 % brightness).
        noise: std of the per-pixel sensor noise in grey levels (0..255).
    """

    drift_px: float = 0.15
    flicker: float = 0.003
    noise: float = 1.5


def displacement_field(face: Face, aus: list[tuple[str, str]], amplitudes: list[float]) -> np.ndarray:
    """Peak displacement (H, W, 2) in pixels (dx, dy) of the listed AUs, each at its amplitude."""
    h, w = face.image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    field = np.zeros((h, w, 2), dtype=np.float32)
    for (side, au), amp in zip(aus, amplitudes):
        for name, (dx, dy), radius in ACTION_UNITS[au]:
            if name in face.landmarks:  # central landmark: no side
                sites = [(face.landmarks[name], 0.0)]
            else:
                wanted = {"": ("l", "r"), "L": ("l",), "R": ("r",)}[side]
                sites = [(face.landmarks[f"{name}_{s}"], 1.0 if s == "l" else -1.0) for s in wanted]
            sigma = radius * face.scale
            for (x, y), sign in sites:
                g = np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))
                field[..., 0] += amp * dx * sign * g
                field[..., 1] += amp * dy * g
    return field


def warp(image: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Backward bilinear warp with clamped edges: out[t](x, y) = image(x - dx[t], y - dy[t]).

    Args:
        image: (H, W, C) float32.
        dx, dy: (T, H, W) or (H, W) displacements in pixels.

    Returns:
        (T, H, W, C) float32 (T = 1 for 2-D displacements).
    """
    import torch

    disp = torch.from_numpy(np.stack([np.asarray(dx, np.float32), np.asarray(dy, np.float32)], axis=-1))
    disp = disp.reshape(-1, *image.shape[:2], 2)  # (T, H, W, 2)
    out = sample_displaced(torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)), disp)
    return out.permute(0, 2, 3, 1).contiguous().numpy()


def sample_displaced(image, disp):
    """torch: image (H, W, C), disp (T, H, W, 2) in px -> (T, C, H, W) bilinear samples at x - disp.

    torch's ``grid_sample`` is about 7x faster than numpy fancy indexing here (torch is a dependency).
    """
    import torch
    import torch.nn.functional as F

    h, w = image.shape[:2]
    scale = torch.tensor([2.0 / (w - 1), 2.0 / (h - 1)])
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    base = torch.stack([xs, ys], dim=-1) * scale - 1.0  # (H, W, 2) in grid_sample's [-1, 1] units
    grid = base - disp * scale  # (T, H, W, 2)
    src = image.permute(2, 0, 1)[None].expand(grid.shape[0], -1, -1, -1)  # (T, C, H, W)
    return F.grid_sample(src, grid, mode="bilinear", padding_mode="border", align_corners=True)


def envelope(n_frames: int, apex_index: int) -> np.ndarray:
    """Motion strength per frame: 0 at the onset, 1 at the apex, back to 0 at the offset (raised cosine)."""
    t = np.arange(n_frames, dtype=np.float32)
    rise = np.sin(0.5 * np.pi * t / max(apex_index, 1)) ** 2
    fall = np.cos(0.5 * np.pi * (t - apex_index) / max(n_frames - 1 - apex_index, 1)) ** 2
    return np.where(t <= apex_index, rise, fall).astype(np.float32)


def render_clip(
    face: Face,
    field: np.ndarray,
    n_frames: int,
    apex_index: int,
    rng: np.random.Generator,
    nuisance: Nuisance,
    *,
    offset_px: tuple[float, float] = (0.0, 0.0),
    gain: float = 1.0,
) -> np.ndarray:
    """Frames of one clip: (T, H, W, 3) uint8.

    Args:
        face: the subject's neutral face.
        field: the clip's peak displacement (H, W, 2) from ``displacement_field``.
        n_frames, apex_index: clip length and the apex position (0-based within the clip).
        rng: the clip's generator (drift, flicker, noise).
        nuisance: drift, flicker and noise levels.
        offset_px, gain: the clip's framing offset and illumination (recordings differ slightly).
    """
    import torch

    env = torch.from_numpy(envelope(n_frames, apex_index))[:, None, None, None]  # (T, 1, 1, 1)
    steps = rng.normal(0.0, nuisance.drift_px / np.sqrt(max(n_frames - 1, 1)), (n_frames, 2))
    steps[0] = 0.0
    drift = torch.from_numpy(np.cumsum(steps, axis=0) + np.asarray(offset_px)).float()[:, None, None, :]  # (T,1,1,2)
    gains = torch.from_numpy(gain * (1.0 + rng.normal(0.0, nuisance.flicker, n_frames))).float()
    disp = env * torch.from_numpy(np.ascontiguousarray(field, dtype=np.float32)) + drift  # (T, H, W, 2)
    frames = sample_displaced(torch.from_numpy(face.image), disp)  # (T, 3, H, W)
    frames *= gains[:, None, None, None]
    # Sensor noise from a torch generator seeded by the clip's rng: one vectorised draw per clip.
    noise_gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
    frames += nuisance.noise * torch.randn(frames.shape, generator=noise_gen)
    frames = (frames + 0.5).clamp_(0, 255).to(torch.uint8)
    return frames.permute(0, 2, 3, 1).contiguous().numpy()  # (T, H, W, 3)
