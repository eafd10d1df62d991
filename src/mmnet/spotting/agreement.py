"""Agreement between two coders' interval files (``mmnet agree``): a symmetric one-to-one matching and the figures
of the matched pairs.

Per video and per type (micro with micro, macro with macro), two intervals can be paired when their IoU (``iou``,
inclusive frame spans, as MEGC) is at least the threshold. The matching takes the most pairs (maximum cardinality),
and among those the largest total IoU. Unlike the MEGC rule (``megc.match_video``: predictions in descending score,
greedy), it has no truth and no prediction side: its figures are the same whichever file comes first, and the
agreement F1 is 2 * matched / (n_A + n_B) (Dice's coefficient), which is what a swap leaves unchanged.

Over the matched pairs: the IoU (mean, median) and the signed onset and offset differences in frames, B - A (mean,
median, mean absolute); ``summary`` gives them in milliseconds too: at a constant frame rate, or, on a recording
whose frame rate varies, as the difference of the two frames' own presentation times.
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .intervals import TYPES, Interval, iou

if TYPE_CHECKING:
    from .frame_times import FrameTimes

__all__ = ["MatchedPair", "TypeAgreement", "PairAgreement", "match_intervals", "compare_files", "by_video", "summary"]

Videos = Mapping[Hashable, Sequence[Interval]]


@dataclass(frozen=True)
class MatchedPair:
    """One row of the pairing: a matched pair (both intervals, their IoU) or an interval of one file alone."""

    video: Hashable
    type: str
    a: Interval | None
    b: Interval | None
    iou: float | None = None


@dataclass
class TypeAgreement:
    """One type's counts pooled over the compared videos, and the matched pairs' IoU and boundary differences."""

    type: str
    n_a: int = 0
    n_b: int = 0
    ious: list[float] = field(default_factory=list)
    onset: list[int] = field(default_factory=list)  # B - A, frames
    offset: list[int] = field(default_factory=list)
    # (A's frame, B's frame) of each matched pair's onset and offset: their own times give the milliseconds apart
    onset_pairs: list[tuple[int, int]] = field(default_factory=list)
    offset_pairs: list[tuple[int, int]] = field(default_factory=list)

    def pair(self, a: Interval, b: Interval, iou_: float) -> None:
        """Count a matched pair: its IoU and boundary differences B - A."""
        self.ious.append(iou_)
        self.onset.append(b.onset - a.onset)
        self.offset.append(b.offset - a.offset)
        self.onset_pairs.append((a.onset, b.onset))
        self.offset_pairs.append((a.offset, b.offset))

    @property
    def matched(self) -> int:
        return len(self.ious)

    @property
    def f1(self) -> float | None:
        """Dice's 2 * matched / (n_A + n_B); None when neither file holds an interval of the type."""
        total = self.n_a + self.n_b
        return 2 * self.matched / total if total else None

    def add(self, other: TypeAgreement) -> TypeAgreement:
        return TypeAgreement(self.type, self.n_a + other.n_a, self.n_b + other.n_b, self.ious + other.ious,
                             self.onset + other.onset, self.offset + other.offset,
                             self.onset_pairs + other.onset_pairs, self.offset_pairs + other.offset_pairs)


@dataclass
class PairAgreement:
    """Two files compared: per type (and "overall", both types pooled) and every row of the pairing."""

    videos: list[Hashable]
    by_type: dict[str, TypeAgreement]
    rows: list[MatchedPair]


def _assign(weight: list[list[float]]) -> list[int]:
    """The column of each row in a maximum-weight assignment of a square matrix (the Hungarian method with
    potentials, O(n^3)). scipy is no dependency of mmnet and an exact method is needed here (a greedy one is what
    made the MEGC matching depend on the order of the files), so it is written out; the graphs are the small
    components of overlapping intervals."""
    n = len(weight)
    inf = float("inf")
    u, v, owner, way = [0.0] * (n + 1), [0.0] * (n + 1), [0] * (n + 1), [0] * (n + 1)
    for row in range(1, n + 1):
        owner[0], col = row, 0
        least, used = [inf] * (n + 1), [False] * (n + 1)
        while True:
            used[col] = True
            r, delta, nxt = owner[col], inf, 0
            for j in range(1, n + 1):
                if not used[j]:
                    cost = -weight[r - 1][j - 1] - u[r] - v[j]
                    if cost < least[j]:
                        least[j], way[j] = cost, col
                    if least[j] < delta:
                        delta, nxt = least[j], j
            for j in range(n + 1):
                if used[j]:
                    u[owner[j]] += delta
                    v[j] -= delta
                else:
                    least[j] -= delta
            col = nxt
            if owner[col] == 0:
                break
        while col:
            prev = way[col]
            owner[col] = owner[prev]
            col = prev
    out = [0] * n
    for j in range(1, n + 1):
        out[owner[j] - 1] = j - 1
    return out


def _components(edges: dict[tuple[int, int], float]) -> list[tuple[list[int], list[int]]]:
    """The connected components of the bipartite graph of ``edges`` (row index, column index): (rows, columns)."""
    parent: dict[tuple[str, int], tuple[str, int]] = {}

    def root(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in edges:
        parent[root(("a", i))] = root(("b", j))
    groups: dict[tuple[str, int], tuple[list[int], list[int]]] = {}
    for node in sorted(parent):
        rows, cols = groups.setdefault(root(node), ([], []))
        (rows if node[0] == "a" else cols).append(node[1])
    return list(groups.values())


def _maximum_matching(a: Sequence[Interval], b: Sequence[Interval], threshold: float) -> list[tuple[int, int, float]]:
    """The pairs (index in a, index in b, IoU) of a maximum matching; ``b`` sorted by onset."""
    # ``b`` is in onset order: only the intervals that start within the longest of b before x can overlap x
    onsets, longest = [y.onset for y in b], max((y.length for y in b), default=0)
    edges = {(i, j): q for i, x in enumerate(a)
             for j in range(bisect.bisect_left(onsets, x.onset - longest), bisect.bisect_right(onsets, x.offset))
             if (q := iou(x, b[j])) >= threshold}
    found = []
    for rows, cols in _components(edges):
        size = max(len(rows), len(cols))
        big = min(len(rows), len(cols)) + 1  # one more pair outweighs any gain in IoU: cardinality first
        weight = [[0.0] * size for _ in range(size)]
        for r, i in enumerate(rows):
            for c, j in enumerate(cols):
                if (i, j) in edges:
                    weight[r][c] = big + edges[i, j]
        for r, c in enumerate(_assign(weight)):
            if r < len(rows) and c < len(cols) and (rows[r], cols[c]) in edges:
                found.append((rows[r], cols[c], edges[rows[r], cols[c]]))
    return found


def _spans(items: Sequence[Interval]) -> list[tuple[int, int]]:
    return sorted((x.onset, x.offset) for x in items)


def match_intervals(a: Sequence[Interval], b: Sequence[Interval],
                    threshold: float = 0.5) -> list[tuple[int, int, float]]:
    """(index in ``a``, index in ``b``, IoU) of the pairs of a maximum matching with IoU >= ``threshold``: the most
    pairs, then the largest total IoU. The same pairs whichever list comes first, ties included: each list is sorted
    by its spans, and the one with the smaller spans is always the rows of the assignment."""
    order_a = sorted(range(len(a)), key=lambda i: (a[i].onset, a[i].offset, i))
    order_b = sorted(range(len(b)), key=lambda j: (b[j].onset, b[j].offset, j))
    sorted_a, sorted_b = [a[i] for i in order_a], [b[j] for j in order_b]
    if _spans(b) < _spans(a):
        pairs = [(i, j, q) for j, i, q in _maximum_matching(sorted_b, sorted_a, threshold)]
    else:
        pairs = _maximum_matching(sorted_a, sorted_b, threshold)
    return sorted((order_a[i], order_b[j], q) for i, j, q in pairs)


def compare_files(a: Videos, b: Videos, videos: Sequence[Hashable], *, types: Sequence[str] = TYPES,
                  threshold: float = 0.5) -> PairAgreement:
    """Compare two files' intervals on ``videos`` (held by both), per type; "overall" pools the types."""
    by_type = {t: TypeAgreement(t) for t in types}
    rows: list[MatchedPair] = []
    for video in videos:
        for t in types:
            a_t = [x for x in a.get(video, ()) if x.type == t]
            b_t = [y for y in b.get(video, ()) if y.type == t]
            stats = by_type[t]
            stats.n_a += len(a_t)
            stats.n_b += len(b_t)
            pairs = match_intervals(a_t, b_t, threshold)
            for i, j, q in pairs:
                stats.pair(a_t[i], b_t[j], q)
            paired_a, paired_b = {i for i, _, _ in pairs}, {j for _, j, _ in pairs}
            video_rows = [MatchedPair(video, t, a_t[i], b_t[j], q) for i, j, q in pairs]
            video_rows += [MatchedPair(video, t, x, None) for i, x in enumerate(a_t) if i not in paired_a]
            video_rows += [MatchedPair(video, t, None, y) for j, y in enumerate(b_t) if j not in paired_b]
            rows += sorted(video_rows, key=lambda r: min(x.onset for x in (r.a, r.b) if x is not None))
    if len(types) > 1:
        overall = TypeAgreement("overall")
        for t in types:
            overall = overall.add(by_type[t])
        by_type["overall"] = overall
    return PairAgreement(list(videos), by_type, rows)


def by_video(result: PairAgreement) -> dict[Hashable, TypeAgreement]:
    """Each compared video's counts and matched pairs, the types compared pooled (``mmnet agree``'s per-video
    table): the rows of ``result`` regrouped, so that the videos add up to the pooled "overall" figures."""
    out = {video: TypeAgreement("overall") for video in result.videos}
    for r in result.rows:
        stats = out[r.video]
        stats.n_a += r.a is not None
        stats.n_b += r.b is not None
        if r.a is not None and r.b is not None:
            stats.pair(r.a, r.b, r.iou)
    return out


def _stats(values: Sequence[float], scale: float = 1.0) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "median": None, "mean_abs": None}
    return {"mean": statistics.fmean(values) * scale, "median": statistics.median(values) * scale,
            "mean_abs": statistics.fmean(abs(v) for v in values) * scale}


def _times_ms(pairs: Sequence[tuple[int, int]], times: FrameTimes) -> list[float]:
    """B - A in milliseconds between the frames' own presentation times (MEGC's frame f is the video's f - 1)."""
    return [float(times.pts(b - 1) - times.pts(a - 1)) * 1000 for a, b in pairs]


def summary(stats: TypeAgreement, fps: float | None = None, times: FrameTimes | None = None) -> dict:
    """A type's figures as plain data (JSON, the table): counts, F1, IoU and boundary differences (B - A; in
    milliseconds too: between the frames' own ``times`` where the recording's are known, else at ``fps``)."""
    out = {"type": stats.type, "n_a": stats.n_a, "n_b": stats.n_b, "matched": stats.matched, "f1": stats.f1,
           "iou_mean": statistics.fmean(stats.ious) if stats.ious else None,
           "iou_median": statistics.median(stats.ious) if stats.ious else None,
           "onset_frames": _stats(stats.onset), "offset_frames": _stats(stats.offset)}
    if times is not None:  # a variable frame rate: a frame lasts as long as the recording shows it
        out |= {"onset_ms": _stats(_times_ms(stats.onset_pairs, times)),
                "offset_ms": _stats(_times_ms(stats.offset_pairs, times))}
    elif fps:
        out |= {"onset_ms": _stats(stats.onset, 1000 / fps), "offset_ms": _stats(stats.offset, 1000 / fps)}
    return out
