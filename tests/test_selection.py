from fractions import Fraction

import pytest

from mmnet.errors import ConfigError
from mmnet.report.selection import (
    authors_fold_f1,
    check_selection,
    choose_epochs,
    first_max_epoch,
    last_max_epoch,
)

TRUE = [0, 0, 1, 1]
# Crafted fold history: epoch -> predictions of the four test samples.
#   epoch 1: 3 correct, fold F1 (2/3 + 4/5) / 2
#   epoch 2: 4 correct, F1 1     <- first maximum of correct
#   epoch 3: 4 correct, F1 1     <- last maximum of F1
#   epoch 4: 2 correct           <- last epoch (honest)
HISTORY = {1: [0, 1, 1, 1], 2: [0, 0, 1, 1], 3: [0, 0, 1, 1], 4: [1, 1, 1, 1]}


def _rows(history, true=TRUE):
    epochs, t, p = [], [], []
    for e, preds in history.items():
        epochs += [e] * len(preds)
        t += true
        p += preds
    return epochs, t, p


def test_paper_picks_first_max_for_accuracy_and_last_max_for_f1():
    ch = choose_epochs(*_rows(HISTORY), num_classes=5, mode="paper")
    assert (ch.acc_epoch, ch.f1_epoch, ch.correct, ch.n) == (2, 3, 4, 4)


def test_last_picks_the_final_epoch_whatever_the_scores():
    ch = choose_epochs(*_rows(HISTORY), num_classes=5, mode="last")
    assert (ch.acc_epoch, ch.f1_epoch, ch.correct, ch.n) == (4, 4, 2, 4)


def test_rows_in_any_order_give_the_same_choice():
    e, t, p = _rows(HISTORY)
    order = list(reversed(range(len(e))))
    ch = choose_epochs([e[i] for i in order], [t[i] for i in order], [p[i] for i in order], 5, "paper")
    assert (ch.acc_epoch, ch.f1_epoch) == (2, 3)


def test_accuracy_and_f1_epochs_are_chosen_separately():
    true = [0, 0, 0, 1]
    # epoch 1: 3 correct, F1 (6/7 + 0) / 2 = 3/7; epoch 2: 3 correct, F1 (4/5 + 2/3) / 2 = 11/15; epoch 3: 0 correct.
    ch = choose_epochs(*_rows({1: [0, 0, 0, 0], 2: [0, 0, 1, 1], 3: [1, 1, 1, 0]}, true), 2, "paper")
    assert authors_fold_f1(true, [0, 0, 0, 0], 2) == Fraction(3, 7)
    assert authors_fold_f1(true, [0, 0, 1, 1], 2) == Fraction(11, 15)
    assert (ch.acc_epoch, ch.correct, ch.f1_epoch) == (1, 3, 2)


def test_selection_uses_the_authors_fold_f1_not_megc_uf1():
    from mmnet.report.metrics import uf1

    true = [0, 0, 1]
    # epoch 1: authors (4/5 + 0) / 2 = 0.4, MEGC UF1 0.8 / 3 = 0.27
    # epoch 2: authors (1 + 0 + 0) / 3 = 0.33, MEGC UF1 1 / 3 = 0.33 -> MEGC would pick epoch 2
    history = {1: [0, 0, 0], 2: [0, 0, 2]}
    assert uf1(true, history[2], 3) > uf1(true, history[1], 3)
    assert choose_epochs(*_rows(history, true), 3, "paper").f1_epoch == 1


def test_authors_fold_f1_leaves_out_classes_absent_from_truth_and_predictions():
    # class 0: 2*2/(2+2) = 1; class 1: 2*1/(2+1) = 2/3; class 2 predicted once, never true: 0;
    # classes 3 and 4 absent from both -> left out of the mean (MEGC UF1 would divide by 5).
    assert authors_fold_f1([0, 0, 1, 1], [0, 0, 1, 2], 5) == Fraction(5, 9)


def test_ties_are_exact():
    # Two different confusions with the same exact F1: the later one wins (last maximum).
    f1 = {1: Fraction(1, 3), 2: Fraction(2, 6), 3: Fraction(1, 4)}
    assert last_max_epoch(f1) == 2
    assert first_max_epoch(f1) == 1


def test_no_correct_prediction_picks_the_first_epoch():
    ch = choose_epochs(*_rows({1: [1, 1, 0, 0], 2: [1, 1, 0, 0]}), 2, "paper")
    assert ch.acc_epoch == 1 and ch.correct == 0
    assert ch.f1_epoch == 2  # all F1 are 0: the authors' `>=` keeps the last


def test_unknown_selection_lists_the_choices():
    with pytest.raises(ConfigError, match="last, paper"):
        check_selection("best")
    with pytest.raises(ConfigError):
        choose_epochs([1], [0], [0], 2, "oracle")
