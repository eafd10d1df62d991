"""The label-permutation test against chance: whether a run's predictions carry information about the labels.

- The permutation test shuffles the true labels within each subject (:func:`permutation_test`): its number
  of distinct outcomes is that of the subjects' label orders, not of the subjects; a subject whose clips hold
  one class has a single order, so it adds none. When the distinct arrangements are no more than the shuffles
  asked for, all of them are scored (an exact test); when even the exact p-value cannot fall below
  :data:`PERMUTATION_ALPHA`, the test says it cannot decide (``can_decide``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pandas as pd

from .bootstrap import _CHUNK, PERMUTATION_ALPHA, RESAMPLES, SEED, batch_scores, unit_key

__all__ = ["permutation_test"]

#: report.json gives the count of distinct label arrangements up to this (null above: more than enough).
_COUNT_SHOWN = 10**15


def _count_orders(labels: np.ndarray) -> int:
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


def _every_arrangement(truth: np.ndarray, where: list[np.ndarray], total: int) -> Iterator[np.ndarray]:
    """All ``total`` distinct arrangements of the labels within subjects, in chunks of (arrangements, samples):
    arrangement k takes, per subject, order (k // stride) % orders, a mixed-radix count over the subjects."""
    orders = [(idx, _distinct_orders(truth[idx])) for idx in where if len(np.unique(truth[idx])) > 1]
    for start in range(0, total, _CHUNK):
        k = np.arange(start, min(total, start + _CHUNK))
        chunk, stride = np.repeat(truth[None, :], len(k), axis=0), 1
        for idx, subject_orders in orders:
            chunk[:, idx] = subject_orders[(k // stride) % len(subject_orders)]
            stride *= len(subject_orders)
        yield chunk


def _random_shuffles(truth: np.ndarray, where: list[np.ndarray], permutations: int,
                     seed: int) -> Iterator[np.ndarray]:
    """``permutations`` random shuffles of the labels within subjects, in chunks of (shuffles, samples)."""
    rng = np.random.default_rng(seed)
    for start in range(0, permutations, _CHUNK):
        shuffled = np.repeat(truth[None, :], min(_CHUNK, permutations - start), axis=0)
        for idx in where:
            shuffled[:, idx] = rng.permuted(shuffled[:, idx], axis=1)
        yield shuffled


def permutation_test(frames: dict[str, pd.DataFrame], n_classes: int, *, permutations: int = RESAMPLES,
                     seed: int = SEED) -> dict | None:
    """Whether the predictions carry information about the labels: a permutation test of the pooled UAR (of the
    mean over seeds), the true labels shuffled within each subject, the predictions kept.

    Under the null hypothesis (predictions independent of the labels, given the subject) every shuffle within a
    subject is as likely as the real labels, so p = (1 + shuffles scoring >= the real UAR) / (1 + shuffles); when
    the distinct arrangements of the labels within subjects (the product of each subject's multinomial count) are
    no more than ``permutations``, every one is scored once instead and p = (arrangements scoring >= the real
    UAR, itself included) / arrangements, exactly. ``p_floor`` is the smallest p-value the test can give
    (1 / arrangements, or 1 / (1 + shuffles)); ``can_decide`` is False when it is not below
    :data:`PERMUTATION_ALPHA`, e.g. when every subject's clips hold one class and no shuffle changes anything.
    Shuffling within subjects keeps each subject's classes: a model that only guessed a subject's most frequent
    class gains nothing from it. It speaks of these subjects' samples (the bootstrap over subjects speaks of
    other subjects) and, like any score, cannot tell learning from a leak (the permuted-label control can).
    None when the seeds did not test the same samples with the same labels.
    """
    tables = [f.assign(sample_id=f["sample_id"].astype(str)).set_index("sample_id") for f in frames.values()]
    ids = tables[0].index
    if not ids.is_unique or any(len(t) != len(ids) or not t.index.is_unique or set(t.index) != set(ids)
                                for t in tables[1:]):
        return None
    tables = [t.loc[ids] for t in tables]
    truth = tables[0]["true"].to_numpy(np.int64)
    if any((t["true"].to_numpy(np.int64) != truth).any() for t in tables[1:]):
        return None
    preds = [t["pred"].to_numpy(np.int64) for t in tables]
    counted = np.bincount(truth, minlength=n_classes) == 0  # absent from the pool: counted as 0, as in metrics.py
    cells = n_classes * n_classes

    def mean_uar(labels: np.ndarray) -> np.ndarray:  # (shuffles, samples) -> (shuffles,)
        offset = np.arange(len(labels))[:, None] * cells
        total = np.zeros(len(labels))
        for pred in preds:
            counts = np.bincount((offset + labels * n_classes + pred).ravel(), minlength=len(labels) * cells)
            total += batch_scores(counts.reshape(len(labels), n_classes, n_classes), counted)["uar"]
        return total / len(preds)

    subjects = unit_key(tables[0].reset_index(), "subject").to_numpy()
    where = [np.flatnonzero(subjects == s) for s in np.unique(subjects)]
    orders = [_count_orders(truth[idx]) for idx in where]
    arrangements = math.prod(orders)  # Python ints: exact, however many subjects and clips
    exact = arrangements <= permutations
    observed = float(mean_uar(truth[None, :])[0])
    draws = (_every_arrangement(truth, where, arrangements) if exact
             else _random_shuffles(truth, where, permutations, seed))
    scores = np.concatenate([mean_uar(chunk) for chunk in draws])
    at_least = int((scores >= observed - 1e-12).sum())  # the same confusion matrix gives the same float
    # exact: the real arrangement is one of those scored; else the +1 of a Monte-Carlo p-value
    p_value = at_least / arrangements if exact else (1 + at_least) / (1 + permutations)
    p_floor = 1 / min(arrangements, permutations + 1)  # the smallest p-value the test can give
    return {"statistic": "uar", "shuffled": "true labels within each subject", "observed": observed,
            "p_value": p_value, "exact": exact, "permutations": len(scores), "as_high": at_least, "seed": seed,
            "distinct_arrangements": arrangements if arrangements <= _COUNT_SHOWN else None,
            "one_class_subjects": sum(k == 1 for k in orders), "p_floor": p_floor, "alpha": PERMUTATION_ALPHA,
            "can_decide": p_floor < PERMUTATION_ALPHA, "n_subjects": len(where), "n_seeds": len(preds),
            "shuffled_mean": float(scores.mean()), "shuffled_95th_percentile": float(np.quantile(scores, 0.95))}
