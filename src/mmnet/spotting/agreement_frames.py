"""Frame-wise agreement between coders (``mmnet agree``): each frame of a video is "none", "micro" or "macro" in
each file; Cohen's kappa for two files, Krippendorff's alpha (nominal) for all of them.

A frame inside both a micro- and a macro-expression interval of one file counts as micro: a micro-expression
coded within a longer macro-expression is the event the coder marked there (``overlapping_frames`` counts them,
for a note). With one type compared, the other type's frames are "none".

Krippendorff's alpha rather than Fleiss' kappa for three or more files: it takes the videos that only some of the
files hold (a coder who did not code a video is missing data, not "none" everywhere), and with every file holding
every video it differs from Fleiss' kappa only by its small-sample correction.

Both figures depend on the frames counted: the frames outside every interval agree as "none", so a longer
recording raises them. ``mmnet agree`` counts the N frames 1..N, N the recording's length when given, else up to
the last annotated frame of the video in any file; 0..N-1 where a file marks frame 0 (a frame folder's file numbers
from 0, a CSV that counts from 0), so that the frame a coder marked is counted rather than left out. The functions
here take the first and the last frame counted.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .intervals import Interval

__all__ = ["CATEGORIES", "frame_labels", "overlapping_frames", "confusion", "cohen_kappa", "krippendorff_alpha",
           "undefined", "FrameAgreement", "frame_agreement"]

CATEGORIES = ("none", "micro", "macro")
_CODE = {"micro": 1, "macro": 2}


def _span(x: Interval, frames: int, first: int) -> slice:
    """The indices of ``x``'s frames in an array of frames ``first``..``frames`` (index 0 is frame ``first``)."""
    return slice(max(x.onset, first) - first, max(min(x.offset, frames) - first + 1, 0))


def frame_labels(intervals: Sequence[Interval], frames: int, types: Sequence[str], first: int = 1) -> np.ndarray:
    """The category code of frames ``first``..``frames`` (index 0 is frame ``first``): 0 none, 1 micro, 2 macro
    (micro wins)."""
    labels = np.zeros(max(frames - first + 1, 0), dtype=np.int64)
    for t in ("macro", "micro"):  # micro last: it wins a frame that both types cover
        if t in types:
            for x in intervals:
                if x.type == t:
                    labels[_span(x, frames, first)] = _CODE[t]
    return labels


def overlapping_frames(intervals: Sequence[Interval], frames: int, first: int = 1) -> int:
    """How many of frames ``first``..``frames`` lie in both a micro- and a macro-expression interval."""
    covered = {t: np.zeros(max(frames - first + 1, 0), dtype=bool) for t in _CODE}
    for x in intervals:
        covered[x.type][_span(x, frames, first)] = True
    return int(np.count_nonzero(covered["micro"] & covered["macro"]))


def confusion(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """3 x 3 counts of frames: rows A's category, columns B's."""
    return np.bincount(a * len(CATEGORIES) + b, minlength=len(CATEGORIES) ** 2).reshape(len(CATEGORIES), -1)


def cohen_kappa(table: np.ndarray) -> float | None:
    """Cohen's kappa of a confusion table; None when undefined (no frames, or both files give every frame one and
    the same category: chance agreement is 1)."""
    n = table.sum()
    if n == 0:
        return None
    observed = np.trace(table) / n
    expected = float(np.dot(table.sum(axis=1), table.sum(axis=0))) / n**2
    return None if expected >= 1 else float((observed - expected) / (1 - expected))


def krippendorff_alpha(videos: Mapping[Hashable, Sequence[np.ndarray]]) -> float | None:
    """Krippendorff's alpha, nominal, over the frames of ``videos`` (video -> the label arrays of the files that
    hold it, of one length). A frame with one coder only is left out (it has nothing to agree with); None when
    undefined (no frame with two coders, or one category only)."""
    used = [np.stack(arrays) for arrays in videos.values() if len(arrays) >= 2 and len(arrays[0])]
    k = max([len(CATEGORIES)] + [int(s.max()) + 1 for s in used])  # any codes 0..k-1 (the tests use more)
    coincide = 0.0  # sum over c of o_cc
    totals = np.zeros(k)  # n_c
    for stacked in used:
        counts = np.stack([(stacked == c).sum(axis=0) for c in range(k)])  # category x frame
        coincide += float((counts * (counts - 1)).sum()) / (len(stacked) - 1)
        totals += counts.sum(axis=1)
    n = totals.sum()
    spread = n**2 - float((totals**2).sum())
    if n < 2 or spread <= 0:
        return None
    return float(1 - (n - 1) * (n - coincide) / spread)


def undefined(totals: np.ndarray) -> str | None:
    """Why kappa or alpha is undefined on frames whose categories the files gave ``totals`` times (category -> count,
    all files together), or None when it is defined. Both are undefined with no frame, or with one category only:
    chance agreement is then 1, and any number (a 0, a 1) would be made up, not measured."""
    used = np.flatnonzero(totals)
    if not len(used):
        return "no frames counted"
    if len(used) == 1:
        only = CATEGORIES[used[0]] if used[0] < len(CATEGORIES) else str(used[0])
        return "no file marks a frame" if only == "none" else f"every frame {only} in every file"
    return None


@dataclass
class FrameAgreement:
    """Cohen's kappa and the frames counted per pair of files ((i, j) -> ...), pooled over the videos and per video
    (``video_tables``: (i, j) -> video -> confusion table), Krippendorff's alpha over all files (None with two),
    pooled and per video (``video_alpha``: video -> (alpha, frames, why undefined)), and per file the frames in both
    a micro and a macro interval (counted as micro)."""

    kappa: dict[tuple[int, int], float | None]
    frames: dict[tuple[int, int], int]
    tables: dict[tuple[int, int], np.ndarray]
    alpha: float | None
    alpha_frames: int
    overlapping: list[int]
    video_tables: dict[tuple[int, int], dict[Hashable, np.ndarray]] = field(default_factory=dict)
    video_alpha: dict[Hashable, tuple[float | None, int, str | None]] = field(default_factory=dict)
    alpha_undefined: str | None = None


def _alpha_totals(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """Each category's count over the files that hold a video (those alpha pairs: two files or more)."""
    if len(arrays) < 2:
        return np.zeros(len(CATEGORIES), dtype=np.int64)
    return np.bincount(np.concatenate(arrays), minlength=len(CATEGORIES))


def frame_agreement(files: Sequence[Mapping[Hashable, Sequence[Interval]]],
                    shared: Mapping[tuple[int, int], Sequence[Hashable]], lengths: Mapping[Hashable, int],
                    types: Sequence[str], first: Mapping[Hashable, int] | None = None) -> FrameAgreement:
    """The frame-wise figures of ``files`` (video -> intervals each): each pair (i, j) over its ``shared`` videos,
    pooled (one confusion table) and per video, and all files together, pooled and per video; ``lengths``: video ->
    the last frame counted, N; ``first``: video -> the first, 0 or 1 (default 1): frames first..N."""
    start = {v: (first or {}).get(v, 1) for v in lengths}
    labels = [{v: frame_labels(f[v], lengths[v], types, start[v]) for v in lengths if v in f} for f in files]
    kappa, counted, tables, video_tables = {}, {}, {}, {}
    for (i, j), videos in shared.items():
        video_tables[i, j] = {v: confusion(labels[i][v], labels[j][v]) for v in videos}
        table = sum(video_tables[i, j].values(), np.zeros((3, 3), dtype=np.int64))
        kappa[i, j], counted[i, j], tables[i, j] = cohen_kappa(table), int(table.sum()), table
    alpha, alpha_frames, video_alpha, alpha_why = None, 0, {}, None
    if len(files) > 2:
        held = {v: [f[v] for f in labels if v in f] for v in lengths}
        alpha = krippendorff_alpha(held)
        alpha_frames = sum(len(arrays[0]) for arrays in held.values() if len(arrays) >= 2)
        alpha_why = undefined(sum((_alpha_totals(a) for a in held.values()), np.zeros(len(CATEGORIES), np.int64)))
        video_alpha = {v: (krippendorff_alpha({v: arrays}), len(arrays[0]) if len(arrays) >= 2 else 0,
                           undefined(_alpha_totals(arrays))) for v, arrays in held.items()}
    both = set(_CODE) <= set(types)  # with one type compared, the other's intervals are no frame's category
    overlapping = [sum(overlapping_frames(f[v], lengths[v], start[v]) for v in lengths if v in f) if both else 0
                   for f in files]
    return FrameAgreement(kappa, counted, tables, alpha, alpha_frames, overlapping, video_tables, video_alpha,
                          alpha_why)
