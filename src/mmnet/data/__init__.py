"""Datasets: the common sample record, loaders per dataset, label schemes and protocol folds.

    from mmnet.data import load_dataset, get_scheme
    load = load_dataset("casme2", "/data/CASME2")          # DatasetLoad(samples, issues, excluded)
    pairs = get_scheme("casme2-5class").select(load.samples) # [(Sample, class index)]
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import verify_choice
from .casme2 import load_casme2
from .common import DatasetLoad, onset_apex_frames
from .sample import Issue, Sample
from .schemes import DEFAULT_SCHEME, SCHEMES, LabelScheme, class_counts, get_scheme

__all__ = [
    "Sample",
    "Issue",
    "DatasetLoad",
    "DATASETS",
    "load_dataset",
    "onset_apex_frames",
    "LabelScheme",
    "SCHEMES",
    "DEFAULT_SCHEME",
    "get_scheme",
    "class_counts",
]

# name -> loader(root, *, annotation=None, strict=False, **options) -> DatasetLoad
DATASETS: dict[str, Callable[..., DatasetLoad]] = {
    "casme2": load_casme2,
}


def load_dataset(
    name: str,
    root: str | Path,
    *,
    annotation: str | Path | None = None,
    strict: bool = False,
    **options,
) -> DatasetLoad:
    """Load dataset ``name`` from ``root``; ``options`` go to the loader (e.g. ``layout=``, ``variant=``).

    Raises:
        ConfigError: unknown name.
        DatasetNotFoundError: root or annotation file missing (the message gives the expected layout).
        AnnotationError / DataError: with ``strict=True``, when any error-severity issue is found.
    """
    verify_choice("dataset", name, tuple(DATASETS))
    return DATASETS[name](root, annotation=annotation, strict=strict, **options)
