"""Uncertainty of the pooled scores: bootstrap confidence intervals, a paired bootstrap, McNemar's test, and a
label-permutation test against chance.

Everything works on confusion matrices: a unit (a subject, or a sample) is its own small
confusion matrix, a bootstrap resample draws units with replacement (multinomial counts) and
its pooled confusion matrix is the count-weighted sum, so 10,000 resamples cost a few matrix
products instead of 10,000 passes over the predictions.

- Subjects are the unit of LOSO (whole subjects are left out, samples of one subject are not
  independent), so the headline interval resamples subjects; resampling samples, the usual
  i.i.d. bootstrap, is given as a second, narrower line. With several datasets (a composite, LODO) the units
  are resampled within each dataset, each keeping its number of units (a stratified bootstrap).
- Percentile intervals, a fixed seed (a rebuilt report is identical) and the number of resamples
  are stated wherever an interval appears.
- A resample that happens to draw no sample of a class the pool holds is drawn again (:func:`resampled_scores`),
  so that every resample averages UF1 and UAR over the same classes as the point estimate. A class without
  samples in the whole pool counts as 0 in every resample, as in the point estimate (metrics.py).
- The paired bootstrap gives an interval of the difference of two runs, not a p-value: at 10-26 subjects its
  p-value rejected a true null too often (7-11 % at the 5 % level); the sign-flip test gives the p-value.
- The paired sign-flip test (:func:`paired_sign_flip`) swaps two runs' predictions on sets of subjects: with n
  subjects there are 2**n arrangements, all scored up to :data:`SIGN_FLIP_EXACT_MAX` subjects, so its smallest
  p-value says how many subjects there are (2 / 2**n: 0.25 for 3), where a bootstrap's says how many resamples.
- McNemar's exact test is written out with :func:`math.comb` (an exact two-sided binomial tail):
  scipy is not a dependency of mmnet, and this is six lines of integer arithmetic.
- The permutation test shuffles the true labels within each subject (:func:`permutation_test`): its number
  of distinct outcomes is that of the subjects' label orders, not of the subjects; a subject whose clips hold
  one class has a single order, so it adds none. When the distinct arrangements are no more than the shuffles
  asked for, all of them are scored (an exact test); when even the exact p-value cannot fall below
  :data:`PERMUTATION_ALPHA`, the test says it cannot decide (``can_decide``). The arrangements are drawn in
  :mod:`mmnet.report.arrangements`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from ..errors import BootstrapError
from .arrangements import count_orders, every_arrangement, random_shuffles

__all__ = ["RESAMPLES", "SEED", "LEVEL", "METRICS", "unit_tables", "unit_strata", "stratum_sizes", "resampled_scores",
           "batch_scores",
           "bootstrap_ci", "paired_bootstrap", "paired_sign_flip", "SIGN_FLIP_EXACT_MAX", "mcnemar_exact",
           "percentile_interval", "permutation_test", "PERMUTATION_ALPHA"]

RESAMPLES = 10_000
SEED = 0
LEVEL = 0.95
METRICS = ("acc", "uf1", "uar")
_CHUNK = 2_000  # resamples per matrix product: bounds memory on large composites
#: The permutation test's level for "above chance" when it carries the verdict (p < this).
PERMUTATION_ALPHA = 0.05
#: report.json gives the count of distinct label arrangements up to this (null above: more than enough).
_COUNT_SHOWN = 10**15
#: Subjects up to which the paired sign-flip test scores all 2**n arrangements (65,536); random flips above.
SIGN_FLIP_EXACT_MAX = 16


def unit_key(frame: pd.DataFrame, unit: str) -> pd.Series:
    """The resampled unit of each prediction row: ``dataset/subject`` or ``sample_id``."""
    if unit == "subject":
        return frame["dataset"].astype(str) + "/" + frame["subject"].astype(str)
    if unit == "sample":
        return frame["sample_id"].astype(str)
    raise ValueError(f"unit must be 'subject' or 'sample', got {unit!r}")


def unit_tables(frames: Sequence[pd.DataFrame], unit: str, n_classes: int,
                units: Sequence[str] | None = None) -> tuple[list[str], np.ndarray]:
    """Per-unit confusion matrices of several prediction tables (e.g. one per seed) over the same units.

    Returns the units (sorted, or as given) and an array of shape (tables, units, C*C).
    """
    keys = [unit_key(f, unit) for f in frames]
    if units is None:
        units = sorted(set().union(*[set(k) for k in keys]))
    index = {u: i for i, u in enumerate(units)}
    out = np.zeros((len(frames), len(units), n_classes * n_classes), dtype=np.float64)
    for t, (f, k) in enumerate(zip(frames, keys)):
        cell = f["true"].to_numpy(np.int64) * n_classes + f["pred"].to_numpy(np.int64)
        np.add.at(out[t], (k.map(index).to_numpy(np.int64), cell), 1)
    return list(units), out


def batch_scores(cms: np.ndarray, counted: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Acc, UF1, UAR of a stack of confusion matrices (..., C, C), vectorised.

    ``counted``: classes that enter the UF1/UAR average even without samples (those absent from
    the whole pool, counted 0 as in the point estimate); classes with samples always enter.
    """
    cms = np.asarray(cms, dtype=np.float64)
    tp = np.diagonal(cms, axis1=-2, axis2=-1)
    n_true, n_pred = cms.sum(axis=-1), cms.sum(axis=-2)
    n = n_true.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(n_true + n_pred > 0, 2 * tp / (n_true + n_pred), 0.0)  # 2TP / (2TP + FP + FN)
        recall = np.where(n_true > 0, tp / n_true, 0.0)
        include = (n_true > 0) | (np.zeros(n_true.shape, bool) if counted is None else counted)
        k = include.sum(axis=-1)
        return {"acc": np.where(n > 0, tp.sum(axis=-1) / n, np.nan),
                "uf1": np.where(k > 0, (f1 * include).sum(axis=-1) / k, np.nan),
                "uar": np.where(k > 0, (recall * include).sum(axis=-1) / k, np.nan)}


def unit_strata(frames: Sequence[pd.DataFrame], unit: str, units: Sequence[str]) -> list[np.ndarray]:
    """The positions in ``units`` of each dataset's units, datasets sorted: the strata a bootstrap keeps."""
    dataset_of: dict[str, str] = {}
    for f in frames:
        dataset_of.update(zip(unit_key(f, unit), f["dataset"].astype(str)))
    names = np.array([dataset_of[u] for u in units])
    return [np.flatnonzero(names == d) for d in sorted(set(names.tolist()))]


def stratum_sizes(frames: Sequence[pd.DataFrame], unit: str = "subject") -> list[int]:
    """How many units each dataset of ``frames`` holds, datasets sorted: the strata :func:`unit_strata` keeps."""
    units = sorted(set().union(*[set(unit_key(f, unit)) for f in frames]))
    return [len(idx) for idx in unit_strata(frames, unit, units)]


def _draw(n_units: int, size: int, rng: np.random.Generator, strata: Sequence[np.ndarray] | None) -> np.ndarray:
    """Bootstrap draw counts, (size, units). One stratum: ``n_units`` units drawn with replacement (the draws of
    earlier versions, bit for bit). Several (datasets): each dataset's units drawn among themselves, as many as it
    has, so that every resample keeps each dataset's share; one multinomial over all units could leave a dataset
    out or double it, and the composite's score weighs its datasets by their samples."""
    if strata is None or len(strata) < 2:
        return rng.multinomial(n_units, np.full(n_units, 1.0 / n_units), size=size).astype(np.float64)
    w = np.zeros((size, n_units))
    for idx in strata:
        w[:, idx] = rng.multinomial(len(idx), np.full(len(idx), 1.0 / len(idx)), size=size)
    return w


def _weights(n_units: int, resamples: int, rng: np.random.Generator,
             strata: Sequence[np.ndarray] | None = None) -> Iterator[np.ndarray]:
    """Bootstrap draw counts in chunks of (chunk, units) (:func:`_draw`)."""
    for start in range(0, resamples, _CHUNK):
        yield _draw(n_units, min(_CHUNK, resamples - start), rng, strata)


#: Draws per requested resample after which :func:`resampled_scores` gives up redrawing (it never comes near
#: it unless a dozen classes each live in a single unit: 0.63 of the draws hold a given one of n units).
_MAX_DRAWS_PER_RESAMPLE = 1_000


def resampled_scores(tables: np.ndarray, resamples: int, rng: np.random.Generator,
                     strata: Sequence[np.ndarray] | None = None) -> tuple[dict[str, np.ndarray], int]:
    """Scores of each table over the same bootstrap draws of the units.

    ``tables``: (T, U, C*C) from :func:`unit_tables`. Returns {metric: (resamples, T)} and the
    number of draws redrawn because some table lacked a class that its whole pool has. ``strata``: the units'
    positions per dataset (:func:`unit_strata`), each resampled within itself; None: one stratum.

    Such a draw is redrawn, not scored: its UF1 and UAR would average over fewer classes than the point estimate
    (pushed up when the missing class is a hard one), or count the missing class as 0, a recall of clips it never
    held (pushed down). Redrawn, every resample scores the point estimate's classes, each with samples: the
    interval is conditional on every class being present, as it is in the data (the usual handling of a metric
    undefined without a class). Classes absent from the whole pool count as 0, as in the point estimate. The
    first draws are those of earlier versions (which scored lacking draws): intervals without any are unchanged.
    """
    t, u, k = tables.shape
    c = math.isqrt(k)
    counted = tables.sum(axis=1).reshape(t, c, c).sum(axis=-1) == 0  # absent from the pool: counted as 0
    parts: dict[str, list[np.ndarray]] = {m: [] for m in METRICS}
    kept = redrawn = 0
    flat = tables.transpose(1, 0, 2).reshape(u, t * k)  # (units, tables * cells): one BLAS product per chunk

    def score(w: np.ndarray) -> None:
        nonlocal kept, redrawn
        cms = (w @ flat).reshape(len(w), t, c, c)
        lacking = ((cms.sum(axis=-1) == 0) & ~counted).any(axis=(1, 2))
        held = np.flatnonzero(~lacking)
        if len(held) > resamples - kept:  # a redraw's chunk: up to the draw that completes the count
            lacking = lacking[: held[resamples - kept - 1] + 1]
            held = held[: resamples - kept]
        for m, v in batch_scores(cms[held], counted).items():
            parts[m].append(v)
        kept, redrawn = kept + len(held), redrawn + int(lacking.sum())

    for w in _weights(u, resamples, rng, strata):
        score(w)
    while kept < resamples:
        if kept + redrawn >= _MAX_DRAWS_PER_RESAMPLE * resamples:
            raise BootstrapError(f"bootstrap: {redrawn:,} of {kept + redrawn:,} draws of the {u} subjects or samples "
                             "lacked a class that the pool holds: several classes have samples in a single one, too "
                             "few for a bootstrap over them; merge rare classes (data.scheme) or test more subjects")
        score(_draw(u, _CHUNK, rng, strata))
    return {m: np.concatenate(v) for m, v in parts.items()}, redrawn


def percentile_interval(values: np.ndarray, level: float = LEVEL) -> list[float]:
    """The central ``level`` percentile interval of bootstrap values, as [low, high]."""
    lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return [float(lo), float(hi)]


def bootstrap_ci(frames: dict[str, pd.DataFrame], n_classes: int, unit: str, *, resamples: int = RESAMPLES,
                 seed: int = SEED, level: float = LEVEL) -> dict:
    """Percentile bootstrap intervals of Acc, UF1, UAR for each seed's pooled predictions.

    ``frames``: seed -> pooled prediction table (``true``, ``pred``, ``sample_id``, ``subject``,
    ``dataset``). With several datasets the units are resampled within each dataset, each keeping its count
    (``stratified_by``: "dataset"; None with one). When every seed tested the same units they are resampled
    together, and the interval of the mean over seeds is given too (``mean``; None otherwise). Seeds whose
    resamples nearly never hold every class get no interval: ``omitted`` maps them to why.
    """
    rng = np.random.default_rng(seed)
    keys = {s: set(unit_key(f, unit)) for s, f in frames.items()}
    shared = len({frozenset(k) for k in keys.values()}) == 1
    groups = [list(frames)] if shared else [[s] for s in frames]
    per_seed, mean, missing, omitted, stratified = {}, None, 0, {}, False
    for group in groups:
        units, tables = unit_tables([frames[s] for s in group], unit, n_classes)
        strata = unit_strata([frames[s] for s in group], unit, units)
        stratified |= len(strata) > 1
        try:
            scores, miss = resampled_scores(tables, resamples, rng, strata)
        except BootstrapError as exc:  # no interval for these seeds (``omitted``: why); the report goes on
            omitted.update(dict.fromkeys(group, str(exc)))
            continue
        missing += miss
        for i, s in enumerate(group):
            per_seed[s] = {m: percentile_interval(scores[m][:, i], level) for m in METRICS}
        if shared and len(group) > 1:
            mean = {m: percentile_interval(scores[m].mean(axis=1), level) for m in METRICS}
    return {"unit": unit, "n_units": {s: len(k) for s, k in keys.items()}, "per_seed": per_seed, "mean": mean,
            "resamples_missing_a_class": missing, "omitted": omitted,
            "stratified_by": "dataset" if stratified else None}


def paired_bootstrap(frames_a: Sequence[pd.DataFrame], frames_b: Sequence[pd.DataFrame], n_classes: int, *,
                     unit: str = "subject", resamples: int = RESAMPLES, seed: int = SEED,
                     level: float = LEVEL) -> dict:
    """Paired bootstrap of the difference A - B of each metric (mean over each run's seeds): its percentile
    interval, approximate (it tends to be narrow with few subjects), and no p-value.

    Both runs are scored on the same draws of the units (within each dataset, as :func:`bootstrap_ci`). A p-value
    from it (the smallest level at which the interval excludes 0) rejected a true null 7-11 % of the time at the
    5 % level with 10-26 subjects, where the sign-flip test (:func:`paired_sign_flip`) keeps to 5 %: that test
    gives the comparison's p-value.
    """
    units = sorted(set().union(*[set(unit_key(f, unit)) for f in (*frames_a, *frames_b)]))
    _, ta = unit_tables(frames_a, unit, n_classes, units)
    _, tb = unit_tables(frames_b, unit, n_classes, units)
    tables = np.concatenate([ta, tb])
    strata = unit_strata([*frames_a, *frames_b], unit, units)
    scores, _ = resampled_scores(tables, resamples, np.random.default_rng(seed), strata)
    pooled = tables.sum(axis=1).reshape(len(tables), n_classes, n_classes)
    point = batch_scores(pooled, pooled.sum(axis=-1) == 0)  # = metrics.py on each pool
    na = len(frames_a)
    out = {"unit": unit, "n_units": len(units), "resamples": resamples, "seed": seed, "level": level,
           "stratified_by": "dataset" if len(strata) > 1 else None}
    for m in METRICS:
        diff = scores[m][:, :na].mean(axis=1) - scores[m][:, na:].mean(axis=1)
        out[m] = {"difference": float(point[m][:na].mean() - point[m][na:].mean()),
                  "ci": percentile_interval(diff, level)}
    return out


def paired_sign_flip(frames_a: Sequence[pd.DataFrame], frames_b: Sequence[pd.DataFrame], n_classes: int, *,
                     unit: str = "subject", flips: int = RESAMPLES, seed: int = SEED) -> dict:
    """Paired sign-flip (permutation) test of A - B over units: the runs' predictions swapped on sets of subjects.

    Under the null hypothesis (within each subject, A's and B's predictions are exchangeable) the real assignment
    is as likely as any swap. The statistic is the paired bootstrap's: the mean over A's seeds of each seed's pooled
    score minus B's, i.e. the mean over every pair of a seed of A and one of B of their difference; a swap exchanges
    the units' predictions in every pair. Two-sided: p = share of arrangements whose |difference| is at least the
    observed one. With n <= SIGN_FLIP_EXACT_MAX units every one of the 2**n arrangements is scored once (the real
    one and its mirror, all swapped, are among them, so p >= 2 / 2**n), else ``flips`` random ones, p = (1 + as
    extreme) / (1 + flips). Exact with one seed per run; approximate with several (pairs sharing a seed swap apart).
    The frames of A and B must hold the same samples with the same labels (compare checks it).
    """
    units = sorted(set().union(*[set(unit_key(f, unit)) for f in (*frames_a, *frames_b)]))
    ta = unit_tables(frames_a, unit, n_classes, units)[1]  # (seeds, units, C*C)
    tb = unit_tables(frames_b, unit, n_classes, units)[1]
    n = len(units)
    counted = ta[0].sum(axis=0).reshape(n_classes, n_classes).sum(axis=-1) == 0  # absent from the pool: counted as 0

    def differences(swapped: np.ndarray) -> dict[str, np.ndarray]:  # (arrangements, units) of 0/1 -> metric: (arr.,)
        kept, out = 1.0 - swapped, dict.fromkeys(METRICS, 0.0)
        for a, b in ((a, b) for a in ta for b in tb):  # every pair of seeds; all swapped: exactly minus no swap
            sa = batch_scores((kept @ a + swapped @ b).reshape(-1, n_classes, n_classes), counted)
            sb = batch_scores((swapped @ a + kept @ b).reshape(-1, n_classes, n_classes), counted)
            out = {m: out[m] + (sa[m] - sb[m]) / (len(ta) * len(tb)) for m in METRICS}
        return out

    every = n <= SIGN_FLIP_EXACT_MAX  # all 2**n arrangements; exact only with one seed per run (docstring)
    total = 2**n if every else flips
    rng = np.random.default_rng(seed)
    observed = {m: float(v[0]) for m, v in differences(np.zeros((1, n))).items()}
    extreme = dict.fromkeys(METRICS, 0)
    for start in range(0, total, _CHUNK):
        if every:  # arrangement k swaps the units whose bit is set in k
            k = np.arange(start, min(total, start + _CHUNK))
            swapped = ((k[:, None] >> np.arange(n)) & 1).astype(np.float64)
        else:
            swapped = rng.integers(0, 2, size=(min(_CHUNK, total - start), n)).astype(np.float64)
        for m, d in differences(swapped).items():
            extreme[m] += int((np.abs(d) >= abs(observed[m]) - 1e-12).sum())  # the same matrices, the same float
    out = {"unit": unit, "n_units": n, "exact": every and len(ta) == len(tb) == 1, "all_arrangements": every,
           "arrangements": total if every else None, "flips": total, "seed": None if every else seed,
           "p_floor": min(1.0, 2 / total) if every else 1 / (1 + total),
           "statistic": "difference of each run's mean over seeds of each metric pooled over subjects"}
    for m in METRICS:
        p = extreme[m] / total if every else (1 + extreme[m]) / (1 + total)
        out[m] = {"difference": observed[m], "p_value": float(min(1.0, p))}
    return out


def mcnemar_exact(a_correct: Sequence[bool], b_correct: Sequence[bool]) -> dict:
    """McNemar's exact test on paired per-sample correctness (two-sided).

    Only discordant pairs count: ``b`` = A right and B wrong, ``c`` = A wrong and B right. Under
    the null each discordant pair goes either way with probability 1/2, so
    p = min(1, 2 * P(Binomial(b + c, 1/2) <= min(b, c))), computed exactly with integers.
    """
    a = np.asarray(a_correct, dtype=bool)
    b_ = np.asarray(b_correct, dtype=bool)
    if a.shape != b_.shape:
        raise ValueError(f"paired correctness differs in length: {a.size} vs {b_.size}")
    b, c = int((a & ~b_).sum()), int((~a & b_).sum())
    n = b + c
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1))
    p = min(1.0, 2 * tail / 2**n) if n else 1.0  # Python ints: exact, no overflow for any n
    return {"a_only_correct": b, "b_only_correct": c, "both_correct": int((a & b_).sum()),
            "both_wrong": int((~a & ~b_).sum()), "p_value": float(p)}


def permutation_test(frames: dict[str, pd.DataFrame], n_classes: int, *, permutations: int = RESAMPLES,
                     seed: int = SEED) -> dict | None:
    """Whether the predictions carry information about the labels: a permutation test of the pooled UAR (of the
    mean over seeds), the true labels shuffled within each subject, the predictions kept.

    Under the null hypothesis (predictions independent of the labels, given the subject) every shuffle within a
    subject is as likely as the real labels, so p = (1 + shuffles scoring >= the real UAR) / (1 + shuffles); when
    the distinct arrangements of the labels within subjects (the product of each subject's multinomial count) are
    no more than ``permutations``, every one is scored once instead and p = (arrangements scoring >= the real
    UAR, itself included) / arrangements, exactly. ``p_floor`` is the smallest p-value the test can give
    (1 / arrangements, or 1 / (1 + shuffles)); ``can_decide`` is False when it is not below
    :data:`PERMUTATION_ALPHA`, e.g. when every subject's clips hold one class and no shuffle changes anything.
    Shuffling within subjects keeps each subject's classes: a model that only guessed a subject's most frequent
    class gains nothing from it. It speaks of these subjects' samples (the bootstrap over subjects speaks of
    other subjects) and, like any score, cannot tell learning from a leak (the permuted-label control can).
    None when the seeds did not test the same samples with the same labels.
    """
    tables = [f.assign(sample_id=f["sample_id"].astype(str)).set_index("sample_id") for f in frames.values()]
    ids = tables[0].index
    if not ids.is_unique or any(len(t) != len(ids) or not t.index.is_unique or set(t.index) != set(ids)
                                for t in tables[1:]):
        return None
    tables = [t.loc[ids] for t in tables]
    truth = tables[0]["true"].to_numpy(np.int64)
    if any((t["true"].to_numpy(np.int64) != truth).any() for t in tables[1:]):
        return None
    preds = [t["pred"].to_numpy(np.int64) for t in tables]
    counted = np.bincount(truth, minlength=n_classes) == 0  # absent from the pool: counted as 0, as in metrics.py
    cells = n_classes * n_classes

    def mean_uar(labels: np.ndarray) -> np.ndarray:  # (shuffles, samples) -> (shuffles,)
        offset = np.arange(len(labels))[:, None] * cells
        total = np.zeros(len(labels))
        for pred in preds:
            counts = np.bincount((offset + labels * n_classes + pred).ravel(), minlength=len(labels) * cells)
            total += batch_scores(counts.reshape(len(labels), n_classes, n_classes), counted)["uar"]
        return total / len(preds)

    subjects = unit_key(tables[0].reset_index(), "subject").to_numpy()
    where = [np.flatnonzero(subjects == s) for s in np.unique(subjects)]
    orders = [count_orders(truth[idx]) for idx in where]
    arrangements = math.prod(orders)  # Python ints: exact, however many subjects and clips
    exact = arrangements <= permutations
    observed = float(mean_uar(truth[None, :])[0])
    draws = (every_arrangement(truth, where, arrangements, _CHUNK) if exact
             else random_shuffles(truth, where, permutations, seed, _CHUNK))
    scores = np.concatenate([mean_uar(chunk) for chunk in draws])
    at_least = int((scores >= observed - 1e-12).sum())  # the same confusion matrix gives the same float
    # exact: the real arrangement is one of those scored; else the +1 of a Monte-Carlo p-value
    p_value = at_least / arrangements if exact else (1 + at_least) / (1 + permutations)
    p_floor = 1 / min(arrangements, permutations + 1)  # the smallest p-value the test can give
    return {"statistic": "uar", "shuffled": "true labels within each subject", "observed": observed,
            "p_value": p_value, "exact": exact, "permutations": len(scores), "as_high": at_least, "seed": seed,
            "distinct_arrangements": arrangements if arrangements <= _COUNT_SHOWN else None,
            "one_class_subjects": sum(k == 1 for k in orders), "p_floor": p_floor, "alpha": PERMUTATION_ALPHA,
            "can_decide": p_floor < PERMUTATION_ALPHA, "n_subjects": len(where), "n_seeds": len(preds),
            "shuffled_mean": float(scores.mean()), "shuffled_95th_percentile": float(np.quantile(scores, 0.95))}
