"""Stretches of a recording whose face does not change at all (a video call that froze, a player that repeated
one frame), and intervals of far larger motion than the recording's others (a hand over the face).

The spotter's threshold is MEGC's mean + p * (max - mean) over the whole recording (``peaks.threshold``): a frozen
stretch's zero motion lowers the mean and so every threshold, and changes intervals far from it. Its frames are
therefore left out as a gap without a face is (their pairs' scores NaN), and a note names them. A recording without
such a stretch is spotted exactly as before: nothing here changes its scores.
"""

from __future__ import annotations

import numpy as np

#: A pair's frame score (pixels of the crop, the largest region's) at or below this is no motion at all: the optical
#: flow of two identical crops is exactly 0, and a still face's camera noise alone gives about 0.05 px and more.
FROZEN_FLOW = 0.005
#: The shortest frozen stretch left out (seconds): two or three repeated frames are a player's or encoder's
#: duplicates, which move the statistics by nothing that matters.
FROZEN_S = 0.5
#: An interval whose score is more than this many times the median score of its type's intervals (with 3 or more
#: of them) is flagged: genuine expressions of one type peak within a few times of each other (CAS(ME)^2's
#: macro threshold is about twice its micro one), while a hand passing over the face, or a dark patch, gives
#: motion an order of magnitude larger.
LARGE_MOTION = 5.0
LARGE_MOTION_MIN = 3


def frozen_runs(score: np.ndarray, k: int, fps: float) -> list[tuple[int, int]]:
    """(first, last) positions of the frames of the frozen stretches, from the frame score of the pairs of stride
    ``k`` (centred, ``flow_spotter.centre_pairs``): a run of pairs without motion spans its frames and k more."""
    still = np.isfinite(score) & (score <= FROZEN_FLOW)
    if not still.any():
        return []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], still.astype(np.int8), [0]])))
    shortest = max(2, int(round(FROZEN_S * fps)))
    runs = [(max(0, int(a) - k // 2), min(len(score) - 1, int(b) - 1 - k // 2 + k))
            for a, b in zip(edges[::2], edges[1::2])]
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


def large_motion_notes(intervals, smoothed: dict[str, np.ndarray]) -> list[str]:
    """A note for each interval whose score is more than ``LARGE_MOTION`` times its type's median interval score."""
    notes = []
    for kind in ("micro", "macro"):
        scores = [i.score for i in intervals if i.type == kind and i.score is not None]
        if len(scores) < LARGE_MOTION_MIN:
            continue
        median = float(np.median(scores))
        for i in intervals:
            if i.type != kind or i.score is None or not i.score > LARGE_MOTION * median:
                continue
            top = smoothed.get(kind)
            sets = top is not None and np.isfinite(top).any() and i.score >= float(np.nanmax(top))
            notes.append(f"the {kind} interval {i.onset}-{i.offset} has very large motion (score {i.score:.3g}, "
                         f"{i.score / median:.0f}x the median {kind} interval's {median:.3g}): occlusion, a hand "
                         "or a head movement? Check it in the video"
                         + (f"; as the recording's largest motion it sets the {kind} threshold, which other "
                            f"{kind}-expressions must reach" if sets else ""))
    return notes
