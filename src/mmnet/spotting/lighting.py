"""The face crop's brightness over a recording, and the note when it steps or flickers.

Optical flow assumes that a point keeps its brightness: an exposure or gain step (a camera's auto-exposure, a lamp
switched on) and flicker (lights on mains power, filmed at a rate that beats with it) read as motion all over the
crop, and make intervals that are no expression. Brightness is not normalised before the flow, which would change
every result; ``extract_motion`` keeps each crop's mean grey level (one number a frame) and this module says where
it changed, so that the intervals there can be checked.
"""

from __future__ import annotations

import numpy as np

#: A change of the crop's mean brightness by more than this fraction, held on both sides for two seconds, is a step:
#: an expression, a blink or speech changes it by a percent or two, and for less than that.
STEP = 0.05
#: The spread (RMS) of the brightness around its half-second moving average, as a fraction, over which a stretch of
#: 2 s or more flickers: a still face's camera noise gives under 0.1 %, speech about a percent in brief bursts.
FLICKER = 0.015
FLICKER_S = 2.0
MOST = 5  # steps named in a note


def _mean(b: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The mean of the finite values of ``b`` in [lo, hi) for each pair of bounds (NaN where there is none)."""
    finite = np.isfinite(b)
    csum = np.concatenate([[0.0], np.cumsum(np.where(finite, b, 0.0))])
    count = np.concatenate([[0], np.cumsum(finite)])
    lo, hi = np.clip(lo, 0, len(b)), np.clip(hi, 0, len(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (csum[hi] - csum[lo]) / (count[hi] - count[lo])


def _flat(x: np.ndarray) -> float | None:
    """The median of the finite ``x`` if they hold one level (their interquartile range within ``STEP`` / 2 of it)."""
    x = x[np.isfinite(x)]
    if x.size < 2:
        return None
    q1, mid, q3 = np.percentile(x, [25, 50, 75])
    return float(mid) if mid > 0 and q3 - q1 < STEP / 2 * mid else None


def steps(b: np.ndarray, fps: float) -> list[tuple[int, float]]:
    """(position, relative change) of each step of the brightness ``b`` (NaN: no face crop): one level held for the
    two seconds before it and another, more than ``STEP`` apart, for the two seconds after it (a hand that passes,
    or a blink, comes back). Found on the seconds' means (cheap, at every frame), then confirmed where both
    stretches hold their level (``_flat``); the step is placed where the seconds' means change most. The levels are
    confirmed on the brightness averaged over half a second: flicker (``flicker``) of a few percent, which would
    spread a stretch's values past one level, averages out over its periods of a quarter second or less."""
    w, half = max(2, int(round(fps))), max(2, int(round(fps / 2)))
    i = np.arange(len(b))
    smooth = _mean(b, i - half // 2, i + half - half // 2)
    levels = [_mean(b, i + lo * w, i + (lo + 1) * w) for lo in (-2, -1, 0, 1)]
    with np.errstate(invalid="ignore", divide="ignore"):
        rel, held, settled = levels[2] / levels[1] - 1.0, levels[3] / levels[1] - 1.0, levels[1] / levels[0] - 1.0
        hit = (np.abs(rel) > STEP) & (np.abs(held - rel) < np.abs(rel) / 4) & (np.abs(settled) < STEP / 2)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], hit.astype(np.int8), [0]])))
    out = []
    for a, z in zip(edges[::2], edges[1::2]):
        for at in range(max(int(a), 2 * w), min(int(z), len(b) - 2 * w + 1)):
            low, high = _flat(smooth[at - 2 * w:at]), _flat(smooth[at:at + 2 * w])
            if low is not None and high is not None and abs(high / low - 1.0) > STEP:
                at = int(a) + int(np.argmax(np.abs(rel[a:z])))  # confirmed: placed where the level moves most
                if out and at - out[-1][0] < 2 * w:  # one step whose seconds' means a slow flicker split: the larger
                    if abs(rel[at]) > abs(out[-1][1]):
                        out[-1] = (at, float(rel[at]))
                else:
                    out.append((at, float(rel[at])))
                break
    return out


def flicker(b: np.ndarray, fps: float) -> list[tuple[int, int, float]]:
    """(first, last, spread) of the stretches of ``FLICKER_S`` or more where ``b`` oscillates: its RMS around its
    half-second moving average, over a second, is above ``FLICKER``, and it swings up and down (``_swings``)."""
    half, w = max(2, int(round(fps / 2))), max(2, int(round(fps)))
    i = np.arange(len(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        resid = b / _mean(b, i - half // 2, i + half - half // 2) - 1.0
        spread = np.sqrt(_mean(resid ** 2, i - w // 2, i + w - w // 2))
    hit = np.isfinite(spread) & (spread > FLICKER)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], hit.astype(np.int8), [0]])))
    return [(int(a), int(z) - 1, float(np.nanmedian(spread[a:z]))) for a, z in zip(edges[::2], edges[1::2])
            if z - a >= FLICKER_S * fps and _swings(resid[a:z]) >= (z - a) / fps]


def _swings(resid: np.ndarray) -> int:
    """How often ``resid`` swings from above ``FLICKER`` / 2 to below -``FLICKER`` / 2 or back: flicker does at
    least once a second, a hand passing over the face two or three times in all."""
    big = resid[np.isfinite(resid) & (np.abs(resid) > FLICKER / 2)]
    return int((np.diff(np.sign(big)) != 0).sum())


def lighting_notes(b: np.ndarray, numbers, fps: float, seconds, source: str) -> list[str]:
    """The notes on the brightness ``b`` of the crops of frames ``numbers``: its steps and its flicker, in frame
    numbers and ``seconds(number)``."""
    out = []
    found = steps(b, fps)
    if found:
        listed = ", ".join(f"{int(numbers[at])} ({seconds(int(numbers[at])):.1f} s, {change:+.0%})"
                           for at, change in found[:MOST])
        more = f" and {len(found) - MOST} more" if len(found) > MOST else ""
        out.append(f"{source}: the face's brightness steps at frame(s) {listed}{more}: an exposure or lighting "
                   "change? The optical flow reads it as motion, so an interval there may be no expression; film "
                   "with a fixed exposure")
    for first, last, spread in flicker(b, fps)[:MOST]:
        a, z = int(numbers[first]), int(numbers[last])
        out.append(f"{source}: the face's brightness flickers (by {spread:.1%} RMS) at frames {a}-{z} "
                   f"({seconds(a):.1f}-{seconds(z):.1f} s): lights on mains power? The optical flow reads it as "
                   "motion, which adds false intervals and widens true ones; film under steady light (or with a "
                   "shutter time that is a multiple of the mains period)")
    return out
