"""The bootstrap over subjects of a run with several datasets resamples within each dataset."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmnet.report.bootstrap import (
    batch_scores,
    bootstrap_ci,
    paired_bootstrap,
    percentile_interval,
    resampled_scores,
    unit_strata,
    unit_tables,
)


def _frame(parts: dict[str, tuple[int, float]], clips: int = 9) -> pd.DataFrame:
    """Per dataset (subjects, share right): every subject holds each of 3 classes ``clips // 3`` times."""
    rows = []
    for dataset, (subjects, right) in parts.items():
        for s in range(subjects):
            for k in range(clips):
                true = k % 3
                pred = true if k < round(right * clips) else (true + 1) % 3
                rows.append({"sample_id": f"{dataset}/{s}/{k}", "dataset": dataset, "subject": str(s),
                             "true": true, "pred": pred})
    return pd.DataFrame(rows)


COMPOSITE = {"smic": (4, 0.4), "casme2": (6, 0.95), "samm": (6, 0.25)}


def test_composite_interval_keeps_each_datasets_share():
    f = _frame(COMPOSITE)
    ci = bootstrap_ci({"0": f}, 3, "subject", resamples=2000)
    assert ci["stratified_by"] == "dataset"
    units, tables = unit_tables([f], "subject", 3)
    # every subject of a dataset scores alike: keeping each dataset's count, every resample is the same pool
    pooled = tables.sum(axis=1).reshape(1, 3, 3)
    point = float(batch_scores(pooled)["uar"][0])
    low, high = ci["per_seed"]["0"]["uar"]
    assert abs(low - point) < 1e-9 and abs(high - point) < 1e-9
    one, _ = resampled_scores(tables, 2000, np.random.default_rng(0))  # one multinomial over all 16 subjects
    wide = percentile_interval(one["uar"][:, 0])
    assert wide[1] - wide[0] > 0.2  # a resample can hold no SMIC subject, or twice its share


def test_composite_draws_keep_each_datasets_count():
    from mmnet.report.bootstrap import _draw

    f = _frame(COMPOSITE)
    units, _ = unit_tables([f], "subject", 3)
    strata = unit_strata([f], "subject", units)
    assert sorted(len(s) for s in strata) == [4, 6, 6]
    w = _draw(len(units), 500, np.random.default_rng(1), strata)
    for idx in strata:
        assert (w[:, idx].sum(axis=1) == len(idx)).all()
    assert w[:, strata[0]].std() > 0  # still a bootstrap within each dataset


def test_one_dataset_interval_is_that_of_earlier_versions():
    f = _frame({"casme2": (7, 0.5)})
    f.loc[f["subject"] == "2", "pred"] = f.loc[f["subject"] == "2", "true"]  # subjects differ: a real spread
    ci = bootstrap_ci({"0": f}, 3, "subject", resamples=3000)
    assert ci["stratified_by"] is None
    units, tables = unit_tables([f], "subject", 3)
    rng = np.random.default_rng(0)  # the draws of earlier versions: one multinomial over the subjects
    w = np.concatenate([rng.multinomial(7, np.full(7, 1 / 7), size=n) for n in (2000, 1000)]).astype(float)
    cms = (w @ tables[0]).reshape(-1, 3, 3)
    assert ci["per_seed"]["0"]["uar"] == percentile_interval(batch_scores(cms)["uar"])


def test_paired_bootstrap_is_stratified_too():
    a, b = _frame(COMPOSITE), _frame({"smic": (4, 0.9), "casme2": (6, 0.95), "samm": (6, 0.25)})
    out = paired_bootstrap([a], [b], 3, resamples=2000)
    assert out["stratified_by"] == "dataset"
    low, high = out["uar"]["ci"]
    assert abs(low - out["uar"]["difference"]) < 1e-9 and abs(high - out["uar"]["difference"]) < 1e-9


def test_docs_reports_lists_stratified_by_among_the_keys_added_in_0_2_0():
    # report.json's headline.ci gained stratified_by in 0.2.0; the schema page's "keys added" table left it out
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "reports.md").read_text()
    rows = dict((version, keys) for keys, version in re.findall(r"^\| (`.+`) \| (\d+\.\d+\.\d+) \|$", text, re.M))
    for unit in ("subject", "sample"):
        ci = bootstrap_ci({"0": _frame(COMPOSITE)}, 3, unit, resamples=50)
        assert ci["stratified_by"] == "dataset"
        assert f"`headline.ci.{unit}s.stratified_by`" in rows["0.2.0"]
    assert "`comparisons[].paired_bootstrap.stratified_by`" in text
