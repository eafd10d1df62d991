"""The intervals that several coders agree on (``mmnet agree --write-truth``): per video and type, groups of
intervals, one per coder, every two of them a matched pair of their coders' one-to-one matching (IoU >= the
threshold, ``agreement.compare_files``).

Why events first and frames second: a frame-wise vote alone would turn two coders' intervals that touch by one
frame (a disagreement by the IoU rule that the agreement F1 counts) into a one-frame expression; grouping by the
same matching as the reported agreement keeps an interval only where coders marked the same event, and a vote over
the group's frames then sets its boundaries. The frames of ``k`` votes out of a group's intervals, which all
overlap each other, are one run: from the k-th smallest onset to the k-th largest offset (k = all: the frames
every interval holds; k = 1: those any holds; of three coders' k = 2: the median onset to the median offset).

A group needs every two of its intervals matched, not a chain (A with B, B with C, while A and C are apart): the
largest such group of each set of linked intervals is taken first (the most coders, then the largest total IoU,
then the earliest), then the largest of the rest, so that the groups do not depend on the order of the coders.
Each coder's matching pairs an interval with at most one of another coder, so a group holds at most one interval
per coder.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

from .intervals import Interval

__all__ = ["Group", "coder_groups", "voted_span"]


@dataclass(frozen=True)
class Group:
    """Intervals of one video and type that coders agree on: (coder index, interval), in coder order; a group of
    one is an interval no other coder matched."""

    video: Hashable
    type: str
    members: tuple[tuple[int, Interval], ...]

    @property
    def coders(self) -> int:
        return len(self.members)


def voted_span(intervals: Sequence[Interval], votes: int) -> tuple[int, int]:
    """The frames that at least ``votes`` of ``intervals`` (each overlapping every other) hold: one run, from the
    votes-th smallest onset to the votes-th largest offset."""
    if not 1 <= votes <= len(intervals):
        raise ValueError(f"votes must be 1..{len(intervals)}, not {votes}")
    onsets = sorted(x.onset for x in intervals)
    offsets = sorted((x.offset for x in intervals), reverse=True)
    return onsets[votes - 1], offsets[votes - 1]


def coder_groups(files: Sequence[Mapping[Hashable, Sequence[Interval]]], pairs: Mapping[tuple[int, int], object],
                 types: Sequence[str]) -> list[Group]:
    """Every interval of the compared videos in one group: those of the coders that hold the video, per type,
    grouped by the matched pairs of ``pairs`` ((i, j) -> ``PairAgreement``), in video order, then by onset."""
    videos = list(dict.fromkeys(v for result in pairs.values() for v in result.videos))
    matched: dict[tuple, list] = {}  # (video, type) -> the matched pairs of every two coders
    for result in pairs.values():
        for r in result.rows:
            if r.a is not None and r.b is not None:
                matched.setdefault((r.video, r.type), []).append(r)
    out = []
    for video in videos:
        for t in types:
            items = [(k, x) for k, f in enumerate(files) for x in f.get(video, ()) if x.type == t]
            node = {id(x): n for n, (_, x) in enumerate(items)}  # the matched pairs hold these very intervals
            edges = {frozenset((node[id(r.a)], node[id(r.b)])): r.iou for r in matched.get((video, t), ())}
            found = [Group(video, t, tuple(items[n] for n in nodes)) for nodes in _cliques(len(items), edges, items)]
            out += sorted(found, key=lambda g: (min(x.onset for _, x in g.members), g.members[0][0]))
    return out


def _cliques(count: int, edges: dict[frozenset, float], items: list) -> list[list[int]]:
    """Nodes 0..count-1 split into cliques of ``edges``, each node in one."""
    near: dict[int, set[int]] = {n: set() for n in range(count)}
    for edge in edges:
        a, b = tuple(edge)
        near[a].add(b)
        near[b].add(a)
    out = []
    for part in _linked(near):  # apart from each other: each on its own (a long recording holds thousands)
        out += _split(part, near, edges, items)
    return out


def _linked(near: dict[int, set[int]]) -> list[set[int]]:
    """The sets of nodes linked by edges (a node alone is one)."""
    seen: set[int] = set()
    parts = []
    for start in near:
        if start in seen:
            continue
        part, todo = set(), [start]
        while todo:
            n = todo.pop()
            if n not in part:
                part.add(n)
                todo += near[n] - part
        seen |= part
        parts.append(part)
    return parts


def _split(left: set[int], near: dict[int, set[int]], edges: dict[frozenset, float], items: list) -> list[list[int]]:
    """One linked set of nodes split into cliques, the largest first (then the largest total weight, then the
    earliest onset)."""
    left, out = set(left), []
    while left:
        best = None
        for n in sorted(left):
            others = sorted(near[n] & left)  # at most one per other coder: few
            for size in range(len(others), -1, -1):
                if best is not None and size + 1 < best[0][0]:
                    break
                for chosen in combinations(others, size):
                    if all(frozenset(p) in edges for p in combinations(chosen, 2)):
                        clique = sorted((n, *chosen))
                        weight = sum(edges[frozenset(p)] for p in combinations(clique, 2))
                        key = (len(clique), weight, -min(items[m][1].onset for m in clique), [-m for m in clique])
                        if best is None or key > best[0]:
                            best = (key, clique)
        out.append(best[1])
        left -= set(best[1])
    return out
