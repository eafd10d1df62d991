"""The module ``mmnet.selection`` of mmnet 0.1.0 (the choice of a fold's scored epochs), kept for programs written
against it: its names now live in :mod:`mmnet.report.selection`. Importing it warns (DeprecationWarning) and
forwards each name on first use. Removed in mmnet 0.3.0."""

from __future__ import annotations

from .lazy_names import lazy_name, warn_moved

warn_moved("mmnet.selection", "mmnet.report.selection")

_HOME = {name: "report.selection" for name in (
    "SELECTIONS", "OPTIMISTIC_LABEL", "PAPER_KEY", "FoldChoice", "check_selection", "last_epoch",
    "first_max_epoch", "last_max_epoch", "authors_fold_f1", "choose_epochs")}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> object:
    return lazy_name("mmnet", _HOME, name)
