"""Stretches of a recording whose face does not change at all (a video call that froze, a player that repeated
one frame), and stretches of far larger motion than anywhere else in the recording (a hand over the face).

The spotter's threshold is MEGC's mean + p * (max - mean) over the whole recording (``peaks.threshold``): a frozen
stretch's zero motion lowers the mean and so every threshold, and changes intervals far from it. Its frames are
therefore left out as a gap without a face is (their pairs' scores NaN), and a note names them. A recording without
such a stretch is spotted exactly as before: nothing here changes its scores.
"""

from __future__ import annotations

import numpy as np

#: A pair's frame score (pixels of the crop, the largest region's) at or below this is no motion at all: the optical
#: flow of two identical crops is exactly 0, and a still face's camera noise alone gives about 0.05 px and more. A
#: freeze written again by a video encoder keeps to it but at its keyframes (``frozen_runs``).
FROZEN_FLOW = 0.005
#: The shortest frozen stretch left out (seconds): two or three repeated frames are a player's or encoder's
#: duplicates, which move the statistics by nothing that matters.
FROZEN_S = 0.5
#: A stretch of a motion curve that peaks more than this many times higher than the largest motion anywhere else in
#: the recording is noted: genuine expressions of one type peak within a few times of each other (CAS(ME)^2's macro
#: threshold is about twice its micro one), while a hand passing over the face, a sharp head turn or a camera that
#: settles after it starts moves the crop an order of magnitude more. Compared with the largest motion elsewhere,
#: not with the intervals kept: such a stretch lifts T = mean + p * (max - mean) above every ordinary motion, so
#: that nothing else is kept to compare it with.
LARGE_MOTION = 5.0
#: At most this many such stretches are told apart from the rest (two hands over the face are still far larger
#: than the recording's expressions; a recording whose every motion is a few times the one below is not noted).
LARGE_MOTION_MOST = 3


def frozen_runs(score: np.ndarray, k: int, fps: float) -> list[tuple[int, int]]:
    """(first, last) positions of the frames of the frozen stretches, from the frame score of the pairs of stride
    ``k`` (centred, ``flow_spotter.centre_pairs``): a run of pairs without motion spans its frames and k more.

    Two runs at most k pairs apart are one stretch: a single frame that changes (the k pairs that span it move) is
    a video encoder's refresh of the repeated picture (a keyframe of a re-encoded freeze), not the face moving."""
    still = np.isfinite(score) & (score <= FROZEN_FLOW)
    if not still.any():
        return []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], still.astype(np.int8), [0]])))
    pairs: list[list[int]] = []
    for a, b in zip(edges[::2], edges[1::2]):
        if pairs and a - pairs[-1][1] <= k:  # one frame changed between them: an encoder's refresh of the picture
            pairs[-1][1] = int(b)
        else:
            pairs.append([int(a), int(b)])
    shortest = max(2, int(round(FROZEN_S * fps)))
    runs = [(max(0, a - k // 2), min(len(score) - 1, b - 1 - k // 2 + k)) for a, b in pairs]
    return [(a, b) for a, b in runs if b - a + 1 >= shortest]


def without_frozen(score: np.ndarray, k: int, runs: list[tuple[int, int]]) -> np.ndarray:
    """``score`` (centred pairs of stride ``k``) with NaN where the pair lies within a frozen run (a copy)."""
    out = score.copy()
    for first, last in runs:
        lo, hi = first + k // 2, last - k + k // 2  # the centres of the pairs from first to last
        if hi >= lo:
            out[lo:hi + 1] = np.nan
    return out


def frozen_note(numbers: np.ndarray, runs: list[tuple[int, int]], fps: float) -> str:
    """The note naming the frozen stretches, in frame numbers."""
    spans = ", ".join(f"{int(numbers[a])}-{int(numbers[b])} ({(b - a + 1) / fps:.1f} s)" for a, b in runs)
    return (f"frames {spans} do not change: the video froze (or repeats one frame); their motion is left out of the "
            "thresholds and no interval is spotted there, as in a gap without a face")


def large_motion(xs: np.ndarray, where: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The frames of ``xs`` (a smoothed curve, only at ``where``) in the stretches that peak more than
    ``LARGE_MOTION`` times higher than the largest motion outside them, and that largest motion; None when there
    are none.

    A stretch is a run of frames above the curve's median (the still face's level); the stretches' peaks are sorted
    and the first drop by more than ``LARGE_MOTION`` times among the top ``LARGE_MOTION_MOST`` + 1 sets them apart.
    The stretches above the drop are returned whole: a stretch whose curve dips between two bumps stays one stretch
    (its bumps are not told as stretches of their own), and no other stretch is among them.
    """
    x = np.where(where & np.isfinite(xs), xs, np.nan)
    if not np.isfinite(x).any():
        return None
    above = np.isfinite(x) & (x > float(np.nanmedian(x)))
    edges = np.flatnonzero(np.diff(np.concatenate([[0], above.astype(np.int8), [0]])))
    stretches = sorted(((float(x[a:b].max()), a, b) for a, b in zip(edges[::2], edges[1::2])), reverse=True)
    for k, ((high, _, _), (low, _, _)) in enumerate(list(zip(stretches, stretches[1:]))[:LARGE_MOTION_MOST]):
        if high > LARGE_MOTION * low > 0:
            mask = np.zeros(len(x), bool)
            for _, a, b in stretches[:k + 1]:
                mask[a:b] = True
            return mask, low
    return None


def large_motion_note(kind: str, xs: np.ndarray, found: tuple[np.ndarray, float], t: float, without: float | None,
                      intervals, numbers: np.ndarray, seconds) -> str:
    """The note for the ``large_motion`` stretches ``found`` of a type's curve ``xs``: where they are (frame numbers,
    and ``seconds(number)``), the threshold ``t`` they set and ``without`` them, and the intervals kept there."""
    mask, rest = found
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    spans = []
    for a, b in zip(edges[::2], edges[1::2]):
        first, last = int(numbers[a]), int(numbers[b - 1])
        kept = [f"{i.onset}-{i.offset}" for i in intervals if i.type == kind and i.onset <= last and i.offset >= first]
        spans.append(f"{first}-{last} ({seconds(first):.1f}-{seconds(last):.1f} s, peak "
                     f"{float(np.nanmax(xs[a:b])):.3g}, " + (f"{kind} interval {', '.join(kept)} kept there)" if kept
                                                            else f"no {kind} interval kept there)"))
    # the lowest peak named: each is at least that many times the rest (one stretch: its own peak)
    least = min(float(np.nanmax(xs[a:b])) for a, b in zip(edges[::2], edges[1::2]))
    said = f" ({without:.3g} without it)" if without is not None else ""
    times = f"{least / rest:.0f}x" if len(spans) == 1 else f"each {least / rest:.0f}x or more"
    return (f"the {kind} motion at frames {', '.join(spans)} is {times} the largest anywhere else "
            f"({rest:.3g}): a hand or an object over the face, a sharp head movement, or the camera settling? "
            f"It sets the {kind} threshold, which other {kind}-expressions must reach, at T = {t:.3g}{said}. Check it "
            "in the video; if it is no expression, cut it out (or spot the parts before and after it apart)")
