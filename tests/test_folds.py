"""The folds' leak check (data.folds.check_folds) on hand-made folds: each one breaks one rule only."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mmnet.data.folds import check_folds, protocol_folds


def _samples(*keys: tuple[str, str]) -> list:
    return [SimpleNamespace(dataset=d, subject=s) for d, s in keys]


def test_a_subject_split_across_train_and_test_is_caught_and_named():
    samples = _samples(("casme2", "01"), ("casme2", "01"), ("casme2", "02"))
    # every sample tested exactly once, train and test disjoint and complete: only the subject leaks
    leaky = [("casme2/01", [1, 2], [0]), ("casme2/02", [0], [1, 2])]
    with pytest.raises(AssertionError, match=r"fold casme2/01: subject\(s\) casme2/01 in both train and test"):
        check_folds(samples, leaky, "loso")
    check_folds(samples, [("casme2/01", [2], [0, 1]), ("casme2/02", [0, 1], [2])], "loso")  # the right folds pass


def test_a_dataset_split_across_train_and_test_is_caught_in_lodo():
    samples = _samples(("casme2", "01"), ("casme2", "02"), ("samm", "006"))
    leaky = [("casme2", [1, 2], [0]), ("samm", [0], [1, 2])]
    with pytest.raises(AssertionError, match=r"fold casme2: dataset\(s\) casme2 in both"):
        check_folds(samples, leaky, "lodo")


def test_same_subject_name_in_two_datasets_is_two_subjects():
    samples = _samples(("casme2", "01"), ("samm", "01"), ("casme2", "02"))
    folds = protocol_folds(samples, "loso")
    assert [(name, test) for name, _, test in folds] == [("casme2/01", [0]), ("casme2/02", [2]), ("samm/01", [1])]
