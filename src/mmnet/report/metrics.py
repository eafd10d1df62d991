"""Classification metrics with the MEGC definitions, as pure functions on label arrays.

Every function takes integer class indices (``y_true``, ``y_pred``) and the number of classes, so
that a class absent from both arrays is still counted. Call them once on the predictions pooled
over all folds: F1 averaged per fold is a different (lower) number.

- Accuracy = correct / total.
- F1_c = 2 TP_c / (2 TP_c + FP_c + FN_c); UF1 = mean of F1_c over all classes. A class that is
  never predicted has F1_c = 0: it is averaged in, never skipped.
- Recall_c = TP_c / N_c; UAR = mean of recall_c over all classes (balanced accuracy).

A class with no test samples at all (possible only in a partial run) has recall 0 and, when it
is also never predicted, F1 0 (0/0 is taken as 0, as scikit-learn's ``zero_division=0``); callers
that report such numbers must say that the class had no samples (``mmnet.report`` does).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "confusion_matrix",
    "accuracy",
    "per_class_f1",
    "per_class_recall",
    "uf1",
    "uar",
    "scores_from_confusion",
]

ArrayLike = Sequence[int] | np.ndarray


def _labels(values: ArrayLike, num_classes: int, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integer class indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    bad = (arr < 0) | (arr >= num_classes)
    if bad.any():
        raise ValueError(f"{name} holds class index {int(arr[bad][0])}, outside [0, {num_classes - 1}]")
    return arr


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int) -> np.ndarray:
    """Counts of (true, predicted) pairs: a (C, C) int64 array, rows = true class, columns = predicted."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    t = _labels(y_true, num_classes, "y_true")
    p = _labels(y_pred, num_classes, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.size} vs {p.size}")
    flat = np.bincount(t * num_classes + p, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    # 0/0 -> 0: a class with no samples and no predictions contributes 0, it is not dropped.
    out = np.zeros(num.shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _f1_from_confusion(cm: np.ndarray) -> np.ndarray:
    tp = np.diag(cm).astype(np.float64)
    fp = cm.sum(axis=0) - tp  # predicted as c, truly another class
    fn = cm.sum(axis=1) - tp  # truly c, predicted as another class
    return _safe_ratio(2 * tp, 2 * tp + fp + fn)


def _recall_from_confusion(cm: np.ndarray) -> np.ndarray:
    return _safe_ratio(np.diag(cm).astype(np.float64), cm.sum(axis=1).astype(np.float64))


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of predictions equal to the true class (empty input is an error)."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.size} vs {p.size}")
    if t.size == 0:
        raise ValueError("accuracy of zero predictions is undefined")
    return float(np.mean(t == p))


def per_class_f1(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int) -> np.ndarray:
    """F1 of each class, shape (C,): 2 TP / (2 TP + FP + FN); a never-predicted class gets 0."""
    return _f1_from_confusion(confusion_matrix(y_true, y_pred, num_classes))


def per_class_recall(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int) -> np.ndarray:
    """Recall of each class, shape (C,): TP / N_c (0 for a class without samples)."""
    return _recall_from_confusion(confusion_matrix(y_true, y_pred, num_classes))


def uf1(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int) -> float:
    """Unweighted F1: the mean of the per-class F1 over all ``num_classes`` classes (macro F1)."""
    return float(per_class_f1(y_true, y_pred, num_classes).mean())


def uar(y_true: ArrayLike, y_pred: ArrayLike, num_classes: int) -> float:
    """Unweighted average recall: the mean per-class recall over all classes (balanced accuracy)."""
    return float(per_class_recall(y_true, y_pred, num_classes).mean())


def scores_from_confusion(cm: np.ndarray) -> dict:
    """All headline numbers from one (C, C) confusion matrix (rows true, columns predicted).

    Returns a dict with ``n``, ``correct``, ``acc``, ``uf1``, ``uar``, ``f1`` (per class) and
    ``recall`` (per class) as plain Python numbers, ready for JSON.
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"a confusion matrix must be square, got shape {cm.shape}")
    n = int(cm.sum())
    if n == 0:
        raise ValueError("scores of zero predictions are undefined")
    correct = int(np.trace(cm))
    f1 = _f1_from_confusion(cm)
    recall = _recall_from_confusion(cm)
    return {
        "n": n,
        "correct": correct,
        "acc": correct / n,
        "uf1": float(f1.mean()),
        "uar": float(recall.mean()),
        "f1": [float(v) for v in f1],
        "recall": [float(v) for v in recall],
    }
