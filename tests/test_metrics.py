from fractions import Fraction

import numpy as np
import pytest

from mmnet.report.metrics import (
    accuracy,
    confusion_matrix,
    per_class_f1,
    per_class_recall,
    scores_from_confusion,
    uar,
    uf1,
)

# Three classes; class 2 is never predicted. Hand counts (rows true, columns predicted):
#   true 0: 3 -> 0, 1 -> 1          TP0=3 FP0=2 FN0=1 -> F1 = 6/9,  recall 3/4
#   true 1: 1 -> 0, 2 -> 1          TP1=2 FP1=3 FN1=1 -> F1 = 4/8,  recall 2/3
#   true 2: 1 -> 0, 2 -> 1          TP2=0             -> F1 = 0,    recall 0
Y_TRUE = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
Y_PRED = [0, 0, 0, 1, 1, 1, 0, 0, 1, 1]


def _manual_macro_f1(t, p, c):
    """Independent sklearn-free macro F1: per class from counted TP/FP/FN, never-predicted -> 0."""
    total = Fraction(0)
    for k in range(c):
        tp = sum(1 for a, b in zip(t, p) if a == k and b == k)
        fp = sum(1 for a, b in zip(t, p) if a != k and b == k)
        fn = sum(1 for a, b in zip(t, p) if a == k and b != k)
        total += Fraction(2 * tp, 2 * tp + fp + fn) if 2 * tp + fp + fn else 0
    return float(total / c)


def test_hand_computed_table():
    assert confusion_matrix(Y_TRUE, Y_PRED, 3).tolist() == [[3, 1, 0], [1, 2, 0], [1, 2, 0]]
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(0.5)
    np.testing.assert_allclose(per_class_f1(Y_TRUE, Y_PRED, 3), [6 / 9, 4 / 8, 0.0])
    np.testing.assert_allclose(per_class_recall(Y_TRUE, Y_PRED, 3), [3 / 4, 2 / 3, 0.0])
    # The never-predicted class is averaged in as 0 (skipping it would give (6/9 + 1/2) / 2).
    assert uf1(Y_TRUE, Y_PRED, 3) == pytest.approx((6 / 9 + 0.5 + 0) / 3)
    assert uf1(Y_TRUE, Y_PRED, 3) == pytest.approx(7 / 18)
    assert uar(Y_TRUE, Y_PRED, 3) == pytest.approx(17 / 36)


def test_uf1_equals_manual_macro_f1_on_random_tables():
    rng = np.random.default_rng(0)
    for _ in range(20):
        c = int(rng.integers(2, 6))
        t = rng.integers(0, c, size=int(rng.integers(1, 40))).tolist()
        p = rng.integers(0, c, size=len(t)).tolist()
        assert uf1(t, p, c) == pytest.approx(_manual_macro_f1(t, p, c))


def test_pooled_differs_from_per_fold_average():
    fold_a = ([0, 0, 1], [0, 0, 0])  # class 0: F1 4/5; class 1 never predicted: 0 -> UF1 0.4
    fold_b = ([1, 1, 0], [1, 1, 1])  # mirror image -> UF1 0.4
    per_fold = np.mean([uf1(t, p, 2) for t, p in (fold_a, fold_b)])
    pooled = uf1(fold_a[0] + fold_b[0], fold_a[1] + fold_b[1], 2)  # each class: TP 2, FP 1, FN 1 -> 2/3
    assert per_fold == pytest.approx(0.4)
    assert pooled == pytest.approx(2 / 3)


def test_class_without_samples_counts_as_zero():
    # class 2 has no samples and no predictions: 0/0 is taken as 0, still in the mean.
    assert uf1([0, 1], [0, 1], 3) == pytest.approx(2 / 3)
    assert uar([0, 1], [0, 1], 3) == pytest.approx(2 / 3)


def test_scores_from_confusion_agree_with_functions():
    sc = scores_from_confusion(confusion_matrix(Y_TRUE, Y_PRED, 3))
    assert (sc["n"], sc["correct"]) == (10, 5)
    assert sc["uf1"] == pytest.approx(uf1(Y_TRUE, Y_PRED, 3))
    assert sc["uar"] == pytest.approx(uar(Y_TRUE, Y_PRED, 3))
    assert sc["f1"] == pytest.approx(per_class_f1(Y_TRUE, Y_PRED, 3).tolist())


@pytest.mark.parametrize(
    "t, p, match",
    [([0, 3], [0, 1], "outside"), ([0, 1], [0], "differ"), ([0.5], [0], "integer"), ([-1], [0], "outside")],
)
def test_bad_input_is_rejected(t, p, match):
    with pytest.raises(ValueError, match=match):
        confusion_matrix(t, p, 3)


def test_empty_input_is_rejected():
    with pytest.raises(ValueError):
        accuracy([], [])
    with pytest.raises(ValueError):
        scores_from_confusion(np.zeros((2, 2), dtype=int))
