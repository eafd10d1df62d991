"""The model card rounds its cross-validation scores as report.md does (halves up), so the two agree digit for digit."""

from mmnet.train.card_render import _loso_lines


def test_card_scores_round_halves_up_like_the_report():
    # 13/32 = 0.40625 exactly: Python's own formatting gives 0.4062 (half to even), the report 0.4063
    loso = {"available": True, "protocol": "loso", "n_seeds": 1, "selection": "last", "complete": True,
            "mean": {"acc": 13 / 32, "uf1": 0.5, "uar": 0.25},
            "std": {"acc": None, "uf1": None, "uar": None},
            "ci_subjects": {"acc": [3 / 32, 13 / 32], "uf1": None, "uar": None},
            "per_class": {"happiness": {"f1": 13 / 32, "recall": 0.5}}}
    text = "\n".join(_loso_lines(loso))
    assert "| ACC | 0.4063 | 0.0938 – 0.4063 |" in text, text
    assert "| happiness | 0.4063 | 0.5000 |" in text
    assert "0.4062" not in text


def test_a_tiny_negative_rounds_to_zero_without_a_minus():
    from mmnet.report.rounding import half_up

    assert half_up(-0.00001, 2, sign=True) == "+0.00"
    assert half_up(-0.00001, 4) == "0.0000"
    assert half_up(-0.00005, 4) == "-0.0001"  # a half still rounds away from zero
