"""Evaluation folds: leave one subject out (LOSO) and leave one dataset out (LODO).

Subjects are identified by the (dataset, subject) pair, so subject '01' of CASME II and a
subject '01' of another dataset are never merged in a composite run. Folds are sorted
(dataset, then subject in natural order) and checked for leaks before they are returned.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..choices import PROTOCOLS
from ..errors import ConfigError, verify_choice
from .common import natural_key
from .sample import Sample

__all__ = ["PROTOCOLS", "protocol_folds", "check_folds"]


def _sample(item) -> Sample:
    return item[0] if isinstance(item, tuple) else item


def protocol_folds(samples: Sequence, protocol: str) -> list[tuple[str, list[int], list[int]]]:
    """(fold name, train indices, test indices) for each fold.

    Args:
        samples: Samples, or (Sample, class index) pairs as ``LabelScheme.select`` returns.
            Indices refer to positions in this sequence.
        protocol: "loso" (one fold per (dataset, subject); name 'dataset/subject') or "lodo" (one
            fold per dataset; name = dataset; needs at least two datasets).
    """
    verify_choice("protocol", protocol, PROTOCOLS)
    items = [_sample(s) for s in samples]
    if protocol == "loso":
        keys = [(s.dataset, s.subject) for s in items]
        order = sorted(set(keys), key=lambda k: (k[0], natural_key(k[1])))
        names = {k: f"{k[0]}/{k[1]}" for k in order}
        if len(order) < 2:  # its one fold would train on nothing and still report a score
            raise ConfigError(f"Leave-one-subject-out needs samples of at least two subjects, got "
                              f"{[names[k] for k in order]}; add subjects (or check which samples were left out).")
    else:
        keys = [s.dataset for s in items]
        order = sorted(set(keys))
        if len(order) < 2:
            raise ConfigError(f"Leave-one-dataset-out needs samples from at least two datasets, got {order}; "
                              "use the composite dataset or protocol loso.")
        names = {k: k for k in order}
    folds = []
    for k in order:
        test = [i for i, key in enumerate(keys) if key == k]
        train = [i for i, key in enumerate(keys) if key != k]
        folds.append((names[k], train, test))
    check_folds(items, folds, protocol)
    return folds


def check_folds(samples: Sequence[Sample], folds: list[tuple[str, list[int], list[int]]], protocol: str) -> None:
    """Leak check: each sample tested exactly once; no subject (or dataset for LODO) on both sides of a fold."""
    tested = sorted(i for _, _, test in folds for i in test)
    if tested != list(range(len(samples))):
        raise AssertionError("folds do not test every sample exactly once")
    for name, train, test in folds:
        if set(train) & set(test) or len(train) + len(test) != len(samples):
            raise AssertionError(f"fold {name}: train and test overlap or miss samples")
        if protocol == "loso":
            side = {(samples[i].dataset, samples[i].subject) for i in test}
            both = sorted(side & {(samples[i].dataset, samples[i].subject) for i in train})
            if both:
                raise AssertionError(f"fold {name}: subject(s) {', '.join(f'{d}/{s}' for d, s in both)} in both "
                                     "train and test")
        else:
            both = sorted({samples[i].dataset for i in test} & {samples[i].dataset for i in train})
            if both:
                raise AssertionError(f"fold {name}: dataset(s) {', '.join(both)} in both train and test")
