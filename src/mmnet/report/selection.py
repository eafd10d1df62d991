"""Which epoch's test predictions of a LOSO fold are scored.

``"last"`` (the default, honest): the model after the last epoch of the fixed schedule. Nothing
about the test subject influences the choice.

``"paper"`` reproduces how the authors scored (their ``CASME2_5.py``):
after every epoch they evaluate the left-out subject and, per fold,

- for accuracy keep the epoch with the most correct test predictions, the *first* maximum
  (their update is ``if correct > max_correct``);
- separately, for the F1 counts keep the epoch with the highest fold F1, the *last* maximum
  (their update is ``if f1 >= max_f1``). Their fold F1 is the mean of 2 TP / (N_true + N_pred)
  over the classes that occur in the fold's truth or predictions; classes absent from both are
  left out *of this per-fold selection criterion only* (:func:`authors_fold_f1`).

The chosen counts are then pooled over folds: accuracy = sum of the chosen correct counts /
number of samples; UF1 (and UAR) from the TP/FP/FN of the F1-chosen epochs. Because the epoch is
chosen on the test subject the numbers are optimistic; every place that shows them must carry
:data:`OPTIMISTIC_LABEL` and show them beside the honest numbers, never instead of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..choices import SELECTIONS
from ..errors import verify_choice
from .metrics import confusion_matrix

__all__ = [
    "SELECTIONS",
    "OPTIMISTIC_LABEL",
    "OPTIMISTIC_LABEL_LODO",
    "optimistic_label",
    "PAPER_KEY",
    "PAPER_F1_EPOCHS",
    "FoldChoice",
    "check_selection",
    "last_epoch",
    "first_max_epoch",
    "last_max_epoch",
    "authors_fold_f1",
    "choose_epochs",
]

OPTIMISTIC_LABEL = "optimistic: epoch chosen on the test subject (authors' protocol)"
#: LODO's fold is a whole held-out dataset: its paper selection chooses the epoch on that dataset.
OPTIMISTIC_LABEL_LODO = "optimistic: epoch chosen on the held-out test dataset (the authors' selection)"


def optimistic_label(report_or_protocol: dict | str | None) -> str:
    """The paper selection's label for a protocol (``"loso"``, ``"lodo"``), or as a report dict records it (its
    ``paper_selection_optimistic.label``; LOSO's for reports of older versions)."""
    if isinstance(report_or_protocol, dict):
        return (report_or_protocol.get(PAPER_KEY) or {}).get("label") or OPTIMISTIC_LABEL
    return OPTIMISTIC_LABEL_LODO if report_or_protocol == "lodo" else OPTIMISTIC_LABEL

# Key under which paper-selection numbers appear in report.json / summaries: the name says it all.
PAPER_KEY = "paper_selection_optimistic"
# The epochs that paper selection's confusion matrix, per-class numbers, UF1 and UAR come from.
PAPER_F1_EPOCHS = "epochs of highest fold F1"


@dataclass(frozen=True)
class FoldChoice:
    """The epochs chosen for one fold.

    Attributes:
        mode: ``"last"`` or ``"paper"``.
        acc_epoch: epoch whose predictions give the fold's correct count.
        f1_epoch: epoch whose predictions give the fold's TP/FP/FN (same as acc_epoch for "last").
        correct: correct predictions at ``acc_epoch``.
        n: test samples in the fold.
    """

    mode: str
    acc_epoch: int
    f1_epoch: int
    correct: int
    n: int


def check_selection(mode: str) -> str:
    """Return ``mode`` if it is a known selection, else raise ConfigError listing the choices."""
    return verify_choice("epoch selection", mode, SELECTIONS)


def last_epoch(epochs: Sequence[int]) -> int:
    """The last epoch of the schedule: the largest epoch number present."""
    if len(epochs) == 0:
        raise ValueError("no epochs to choose from")
    return int(max(epochs))


def first_max_epoch(values: Mapping[int, float | Fraction]) -> int:
    """The earliest epoch (in epoch order) whose value equals the maximum."""
    if not values:
        raise ValueError("no epochs to choose from")
    best = max(values.values())
    return min(e for e, v in values.items() if v == best)


def last_max_epoch(values: Mapping[int, float | Fraction]) -> int:
    """The latest epoch (in epoch order) whose value equals the maximum."""
    if not values:
        raise ValueError("no epochs to choose from")
    best = max(values.values())
    return max(e for e, v in values.items() if v == best)


def authors_fold_f1(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int) -> Fraction:
    """The authors' per-fold F1, exactly (as a Fraction, so ties are ties, not rounding luck).

    Mean over the classes present in the fold's truth or predictions of 2 TP / (N_true + N_pred).
    This is the selection criterion only; reported F1 is always the MEGC pooled UF1.
    """
    cm = confusion_matrix(y_true, y_pred, num_classes)
    n_true, n_pred, tp = cm.sum(axis=1), cm.sum(axis=0), np.diag(cm)
    terms = [Fraction(2 * int(tp[c]), int(n_true[c] + n_pred[c]))
             for c in range(num_classes) if n_true[c] + n_pred[c] > 0]
    if not terms:
        raise ValueError("a fold without test predictions has no F1")
    return sum(terms, Fraction(0)) / len(terms)


def choose_epochs(
    epochs: Sequence[int], y_true: Sequence[int], y_pred: Sequence[int], num_classes: int, mode: str = "last"
) -> FoldChoice:
    """Choose the scored epoch(s) of one fold from its test predictions of every epoch.

    Args:
        epochs: epoch number of each prediction row (a fold's rows for all its epochs).
        y_true: true class index of each row.
        y_pred: predicted class index of each row.
        num_classes: number of classes (logits).
        mode: ``"last"`` (honest) or ``"paper"`` (authors' test-set selection, optimistic).
    """
    check_selection(mode)
    ep = np.asarray(epochs, dtype=np.int64)
    t = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(y_pred, dtype=np.int64)
    if not (ep.shape == t.shape == p.shape) or ep.size == 0:
        raise ValueError("epochs, y_true, y_pred must be non-empty and equally long, "
                         f"got {ep.size}, {t.size}, {p.size}")
    by_epoch = {int(e): ep == e for e in np.unique(ep)}  # np.unique sorts: epoch order
    if mode == "last":
        e = last_epoch(list(by_epoch))
        m = by_epoch[e]
        return FoldChoice("last", e, e, int((t[m] == p[m]).sum()), int(m.sum()))
    correct = {e: int((t[m] == p[m]).sum()) for e, m in by_epoch.items()}
    f1 = {e: authors_fold_f1(t[m], p[m], num_classes) for e, m in by_epoch.items()}
    acc_e = first_max_epoch(correct)
    return FoldChoice("paper", acc_e, last_max_epoch(f1), correct[acc_e], int(by_epoch[acc_e].sum()))
