"""The training-free optical-flow spotter, part 2: motion curves -> micro- and macro-expression intervals.

Per scale (macro first, then micro), on the frame score (the regions' scores combined):

1. smooth with a centred moving average of ``smooth`` frames (NaN frames are left out of the mean);
2. threshold T = mean + p * (max - mean) of the smoothed curve (SoftNet/MEAN's rule). For the
   micro scale the mean and max are taken outside the macro-expressions found, so that a few large
   macro-expressions do not lift T above every micro-expression;
3. peaks: local maxima >= T, the highest first, at least ``distance`` frames apart;
4. an interval per peak: the frames around it whose smoothed score stays at or above half the
   peak's height over the recording's median (the still face's noise level), its bounds then moved to
   where the unsmoothed score crosses a quarter of that height (the moving average keeps an expression
   shorter than its width above half height for about its width: a 0.2 s and a 0.3 s one measured the
   same 6 frames), and shrunk by k // 2 at each end (a flow pair of stride k, placed at its middle, already
   sees an expression k / 2 frames before its onset and after its offset); apex = the peak. The onset is
   never moved past the apex, so it can land on it (a run that starts within k / 2 of its peak, as after a gap): such an
   interval is listed, and ``infer.recordings`` leaves it unclassified (no motion between its frames);
5. intervals of one type that overlap or touch are merged (apex and score from the higher);
   then the length gates: a macro interval shorter than ``macro.min_length`` and a micro interval
   longer than ``micro.max_length`` are dropped (both gates apply to both types), as is a micro
   interval overlapping a macro one. Each gate is applied exactly as set (the casme2 preset's micro gate, 6 frames
   at 30 fps, is 0.2 s: read on the unsmoothed score, a 0.2 s micro-expression is measured about that long).

No interval may contain a gap frame (no face): an interval that would is cut at the gap. A frozen stretch (frames
that do not change at all for 0.5 s or more: ``frozen``) is left out as a gap is, with a note; a stretch of far
larger motion than anywhere else (occlusion?), which sets its type's threshold, gets a note. A scale with
no finite score (a recording of at most k frames, frame numbers missing so that no k + 1 are in a row,
or no face on k + 1 frames in a row) has no threshold (None) and no interval, and a note saying why.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .config import SpotConfig
from .flow_spotter import MotionCurves
from .frozen import frozen_note, frozen_runs, large_motion, large_motion_note, without_frozen
from .intervals import Interval

__all__ = ["Interval", "frame_score", "smooth", "threshold", "find_peaks", "spot_intervals", "PREDICT_INSTEAD",
           "FACE_VISIBLE"]

#: The remedies of ``_unmeasured``'s sentences: a single clip given as a recording; no face found long enough.
PREDICT_INSTEAD = "use `mmnet predict` / Predictor.predict_clip (in `mmnet serve`: upload it as a clip)"
FACE_VISIBLE = ("check that the face is visible (or spot with --no-align / face.mode=none if the frames are face "
                "crops already)")


def frame_score(scores: np.ndarray, combine: str = "max") -> np.ndarray:
    """(N, R) region scores -> (N,) frame score; NaN where every region is NaN."""
    valid = ~np.isnan(scores).all(axis=1)
    out = np.full(scores.shape[0], np.nan)
    if valid.any():
        rows = scores[valid]
        out[valid] = np.nanmax(rows, axis=1) if combine == "max" else np.nanmean(rows, axis=1)
    return out


def smooth(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average of ``width`` frames over the finite values; NaN where none is finite."""
    if width <= 1:
        return x.copy()
    finite = np.isfinite(x)
    csum = np.concatenate([[0.0], np.cumsum(np.where(finite, x, 0.0))])
    ccount = np.concatenate([[0], np.cumsum(finite)])
    idx = np.arange(len(x))
    lo, hi = np.maximum(idx - width // 2, 0), np.minimum(idx + (width - 1) // 2 + 1, len(x))
    count = ccount[hi] - ccount[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (csum[hi] - csum[lo]) / count
    out[~finite] = np.nan  # a gap frame stays a gap
    return out


def threshold(x: np.ndarray, p: float, where: np.ndarray | None = None) -> float | None:
    """mean + p * (max - mean) of the finite values of ``x`` (only at ``where`` if given); None when there
    is none (no motion measured: no threshold, and no interval, rather than an infinite one) or when they are all
    one value (``flat``: the threshold would equal every frame's score and make the whole recording one interval)."""
    sel = np.isfinite(x) if where is None else np.isfinite(x) & where
    if not sel.any() or flat(x[sel]):
        return None
    mean, top = float(x[sel].mean()), float(x[sel].max())
    return mean + p * (top - mean)


def flat(values: np.ndarray) -> bool:
    """Whether finite ``values`` are all one value (up to the rounding of a moving average: ``smooth``)."""
    top, low = float(values.max()), float(values.min())
    return top - low <= 1e-9 * max(abs(top), abs(low))


def find_peaks(x: np.ndarray, height: float, distance: int) -> list[int]:
    """Indices of local maxima >= ``height``, the highest first, kept only if ``distance`` from a kept one.

    Written here rather than taken from scipy.signal.find_peaks: scipy is not a dependency of mmnet,
    and this greedy rule is what find_peaks(height=, distance=) does.
    """
    y = np.where(np.isfinite(x), x, -np.inf)
    left = np.concatenate([[-np.inf], y[:-1]])
    right = np.concatenate([y[1:], [-np.inf]])
    candidates = np.flatnonzero((y >= height) & (y > left) & (y >= right))
    kept: list[int] = []
    taken = np.zeros(len(x), bool)
    for i in candidates[np.argsort(-y[candidates], kind="stable")]:
        if not taken[i]:
            kept.append(int(i))
            taken[max(0, i - distance + 1):i + distance] = True
    return sorted(kept)


def _extent(xs: np.ndarray, peak: int, level: float) -> tuple[int, int]:
    """First and last index of the run around ``peak`` where xs >= level (NaN ends the run)."""
    above = np.isfinite(xs) & (xs >= level)
    lo = peak
    while lo > 0 and above[lo - 1]:
        lo -= 1
    hi = peak
    while hi < len(xs) - 1 and above[hi + 1]:
        hi += 1
    return lo, hi


def _unsmoothed_bounds(raw: np.ndarray, lo: int, peak: int, hi: int, level: float, reach: int) -> tuple[int, int]:
    """The smoothed run lo..hi around ``peak`` moved to where the unsmoothed score ``raw`` crosses ``level``: each
    bound goes out while the next frame's score is at or above it (at most ``reach`` frames: the smoothing widens a
    run by no more), or in, never past the peak, while its own is below it (NaN is below)."""
    above = np.isfinite(raw) & (raw >= level)
    bounds = []
    for b, step in ((lo, -1), (hi, 1)):
        start = b
        if above[b]:
            while 0 <= b + step < len(raw) and above[b + step] and abs(b + step - start) <= reach:
                b += step
        else:
            while b != peak and not above[b]:
                b -= step
        bounds.append(b)
    return bounds[0], bounds[1]


def _candidates(xs: np.ndarray, k: int, t: float, distance: int, kind: str, raw: np.ndarray | None = None,
                width: int = 1) -> list[tuple[int, int, int, float]]:
    """(lo, peak, hi, score) positions for the peaks of one scale, merged when they overlap or touch; ``raw``: the
    unsmoothed score that ``xs`` averages over ``width`` frames (the bounds are then read on it)."""
    found = []
    floor = float(np.nanmedian(xs)) if np.isfinite(xs).any() else 0.0  # the still face's noise level
    for peak in find_peaks(xs, t, max(1, distance)):
        lo, hi = _extent(xs, peak, floor + 0.5 * (xs[peak] - floor))
        if raw is not None:  # a quarter of the smoothed height: about half the unsmoothed one of a short expression
            lo, hi = _unsmoothed_bounds(raw, lo, peak, hi, floor + 0.25 * (xs[peak] - floor), width // 2)
        lo, hi = min(lo + k // 2, peak), max(hi - k // 2, peak)
        found.append((lo, peak, hi, float(xs[peak])))
    merged: list[tuple[int, int, int, float]] = []
    for lo, peak, hi, score in sorted(found):
        if merged and lo <= merged[-1][2] + 1:
            plo, ppeak, phi, pscore = merged[-1]
            best = (ppeak, pscore) if pscore >= score else (peak, score)
            merged[-1] = (plo, best[0], max(phi, hi), best[1])
        else:
            merged.append((lo, peak, hi, score))
    return merged


def _unmeasured(scale: str, curves: MotionCurves, k: int, *, measured: bool, aligned: bool) -> str:
    """Why a scale has no threshold: the sentence ``mmnet spot`` and the server show with the result."""
    n, fps = len(curves.numbers), curves.fps
    if n <= k:  # no flow pair of stride k fits: the usual cause, one micro-expression clip given as a recording
        return (f"the recording ({n} frames) is shorter than the {scale}-expression window ({k + 1} frames at "
                f"{fps:g} fps): no {scale}-expression can be spotted; for a single micro-expression clip "
                + PREDICT_INSTEAD)
    if measured:  # the micro scale, where every measured frame lies in or next to a macro-expression
        return (f"every frame with a motion score lies in or next to a macro-expression: no {scale}-expression can "
                "be told apart from it")
    if _longest_present(curves) <= k:  # a pair needs k + 1 frame numbers in a row that all have a file
        return (f"no {scale}-expression motion could be measured: {_missing_numbers(curves)}, so no {k + 1} "
                f"consecutive frames are there; re-extract the frames so that none is missing, or, if the "
                f"numbers skip on purpose, number the frames consecutively and give their real frame rate")
    return (f"no {scale}-expression motion could be measured: the face was not found on {k + 1} consecutive "
            "frames anywhere in the recording; " + (FACE_VISIBLE if aligned else "check the frames"))


def _longest_present(curves: MotionCurves) -> int:
    """The most consecutive frame numbers that all have a frame (none missing from the recording)."""
    present = np.ones(len(curves.numbers), bool)
    first = int(curves.numbers[0]) if len(curves.numbers) else 0
    for a, b in curves.missing:
        present[a - first:b - first + 1] = False
    edges = np.flatnonzero(np.diff(np.concatenate([[0], present.astype(np.int8), [0]])))
    return int((edges[1::2] - edges[::2]).max(initial=0))


def _missing_numbers(curves: MotionCurves) -> str:
    """How a recording's frame numbers are missing, for ``_unmeasured``: how many, and the pattern if regular."""
    numbers = curves.numbers
    total = len(numbers)
    missing = sum(b - a + 1 for a, b in curves.missing)
    said = f"{missing} of the {total} frame numbers {numbers[0]}..{numbers[-1]} have no frame"
    runs = {b - a + 1 for a, b in curves.missing}
    if len(runs) == 1 and len(curves.missing) > 1:  # one number per run: every other one; more: a fixed pattern
        run = runs.pop()
        said += " (every other number is missing)" if run == 1 else f" ({run} of every {run + 1} numbers)"
    return said


def spot_intervals(curves: MotionCurves, config: SpotConfig, types: Sequence[str] = ("micro", "macro"), *,
                   flow: bool = False) -> tuple[list[Interval], dict[str, dict]]:
    """Intervals of one recording, sorted by onset, and per scale the curve and threshold (for figures).

    ``types``: the scales spotted (a learned spotter trained on micro-expressions alone has no macro curve);
    without macro, no micro candidate is dropped for lying in a macro-expression. ``flow``: the scores are the flow
    spotter's magnitudes (pixels), where 0 means a frozen video and an outlier an occlusion (``frozen``): then
    frozen stretches are left out and both are noted in ``details[...]["warnings"]`` (a learned spotter's or one's
    own scores can be 0 on a still face).

    Returns:
        (intervals, {scale: {"smoothed": (N,) array, "threshold": T, "k": k, "note": text or None}}):
        T is None, and the note says why, where the scale's motion could not be measured at all.
    """
    n = len(curves.numbers)
    fps = curves.fps
    details: dict[str, dict] = {}
    chosen: dict[str, list[tuple[int, int, int, float]]] = {}
    macro_mask = np.zeros(n, bool)
    scales = [s for s in ("macro", "micro") if s in types]
    raw = {s: frame_score(curves.scores[s], config.combine) for s in scales}
    # frozen stretches (no motion at all) are left out as gaps: their zeros would lower every threshold
    finest = min(scales, key=lambda s: curves.strides[s]) if scales else None
    frozen = [] if finest is None or not flow else frozen_runs(raw[finest], curves.strides[finest], fps)
    for scale in scales:
        sc = getattr(config, scale)
        k = curves.strides[scale]
        kept = without_frozen(raw[scale], k, frozen) if frozen else raw[scale]
        if not np.isfinite(kept).any():  # frozen throughout: the scores (all 0) say so, as the note does
            kept = raw[scale]
        xs = smooth(kept, config.frames_at(sc.smooth, fps))
        t = threshold(xs, sc.p, None if scale == "macro" else ~macro_mask)
        if t is None:
            found = []
        else:
            width = config.frames_at(sc.smooth, fps)
            found = _candidates(xs, k, t, config.frames_at(sc.distance, fps) if sc.distance else k, scale, kept, width)
        lo_len = config.frames_at(sc.min_length, fps)  # as set: a user's gate is never changed here
        hi_len = config.frames_at(sc.max_length, fps) if sc.max_length else None
        if scale == "macro":
            found = [c for c in found if c[2] - c[0] + 1 >= lo_len and (hi_len is None or c[2] - c[0] + 1 <= hi_len)]
            for lo, _, hi, _ in found:
                macro_mask[max(0, lo - k):hi + k + 1] = True
        else:
            found = [c for c in found if lo_len <= c[2] - c[0] + 1 and (hi_len is None or c[2] - c[0] + 1 <= hi_len)
                     and not macro_mask[c[0]:c[2] + 1].any()]
        chosen[scale] = found
        scored = np.isfinite(xs) & (~macro_mask if scale == "micro" else True)
        if t is not None:
            note = None
        elif scored.any() and flat(xs[scored]):
            note = (f"the {scale}-expression score is the same ({float(xs[scored][0]):.3g}) on all "
                    f"{int(scored.sum())} frame(s) scored: no frame stands out, so no {scale}-expression is spotted")
        else:
            note = _unmeasured(scale, curves, k, measured=bool(np.isfinite(xs).any()),
                               aligned=config.face.mode == "align")
        details[scale] = {"smoothed": xs, "threshold": t, "k": k, "note": note}
        large = large_motion(xs, scored) if flow and t is not None else None
        if large is not None:  # said after the intervals are known: whether one was kept there
            details[scale]["large"] = (large, threshold(xs, sc.p, scored & ~large[0]))
    numbers = curves.numbers
    out = sorted((Interval(int(numbers[lo]), int(numbers[peak]), int(numbers[hi]), scale, score=float(score))
                  for scale, found in chosen.items() for lo, peak, hi, score in found), key=lambda i: (i.onset, i.type))
    # said with the result (SpotResult.notes): what the whole-recording threshold cannot tell by itself
    warnings = [frozen_note(numbers, frozen, fps)] if frozen else []
    for s, d in details.items():
        if "large" in d:
            large, without = d.pop("large")  # the stretches set apart and the threshold without them
            warnings.append(large_motion_note(s, d["smoothed"], large, d["threshold"], without, out, numbers,
                                              curves.seconds))
    if warnings and details:
        next(iter(details.values()))["warnings"] = warnings
    return out, details
