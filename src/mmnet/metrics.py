"""The module ``mmnet.metrics`` of mmnet 0.1.0 (the MEGC metrics), kept for programs written against it: its names
now live in :mod:`mmnet.report.metrics`. Importing it warns (DeprecationWarning) and forwards each name on first
use. Removed in mmnet 0.3.0."""

from __future__ import annotations

from .lazy_names import lazy_name, warn_moved

warn_moved("mmnet.metrics", "mmnet.report.metrics")

_HOME = {name: "report.metrics" for name in (
    "confusion_matrix", "accuracy", "per_class_f1", "per_class_recall", "uf1", "uar",
    "scores_from_confusion")}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> object:
    return lazy_name("mmnet", _HOME, name)
