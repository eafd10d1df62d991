"""The label arrangements of the permutation test against chance (bootstrap.permutation_test): each subject's
distinct label orders, every arrangement of them over the subjects, or random shuffles within subjects."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

__all__ = ["count_orders", "every_arrangement", "random_shuffles"]


def count_orders(labels: np.ndarray) -> int:
    """How many distinct orders one subject's labels have: the multinomial n! / (n_1! ... n_C!), as an exact int."""
    total, placed = 1, 0
    for count in np.bincount(labels).tolist():
        placed += count
        total *= math.comb(placed, count)
    return total


def _distinct_orders(labels: np.ndarray) -> np.ndarray:
    """Every distinct order of one subject's labels, (orders, samples): the next-permutation step on the sorted
    labels, which visits each order of a multiset once."""
    order = sorted(labels.tolist())
    orders = [list(order)]
    while True:
        i = len(order) - 2
        while i >= 0 and order[i] >= order[i + 1]:
            i -= 1
        if i < 0:
            return np.array(orders, dtype=np.int64)
        j = len(order) - 1
        while order[j] <= order[i]:
            j -= 1
        order[i], order[j] = order[j], order[i]
        order[i + 1:] = reversed(order[i + 1:])
        orders.append(list(order))


def every_arrangement(truth: np.ndarray, where: list[np.ndarray], total: int, size: int) -> Iterator[np.ndarray]:
    """All ``total`` distinct arrangements of the labels within subjects, in chunks of ``size`` (arrangements, samples):
    arrangement k takes, per subject, order (k // stride) % orders, a mixed-radix count over the subjects."""
    orders = [(idx, _distinct_orders(truth[idx])) for idx in where if len(np.unique(truth[idx])) > 1]
    for start in range(0, total, size):
        k = np.arange(start, min(total, start + size))
        chunk, stride = np.repeat(truth[None, :], len(k), axis=0), 1
        for idx, subject_orders in orders:
            chunk[:, idx] = subject_orders[(k // stride) % len(subject_orders)]
            stride *= len(subject_orders)
        yield chunk


def random_shuffles(truth: np.ndarray, where: list[np.ndarray], permutations: int, seed: int,
                    size: int) -> Iterator[np.ndarray]:
    """``permutations`` random shuffles of the labels within subjects, in chunks of ``size`` (shuffles, samples)."""
    rng = np.random.default_rng(seed)
    for start in range(0, permutations, size):
        shuffled = np.repeat(truth[None, :], min(size, permutations - start), axis=0)
        for idx in where:
            shuffled[:, idx] = rng.permuted(shuffled[:, idx], axis=1)
        yield shuffled
