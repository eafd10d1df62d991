"""The verdict line under a report's headline: whether the model's UAR lies above chance, 1 / number of classes."""

from __future__ import annotations

from .bootstrap import PERMUTATION_ALPHA
from .rounding import half_up

__all__ = ["chance_verdict", "chance_standing", "seeds_differ", "ABOVE", "NOT_SHOWN", "NO_VERDICT",
           "chance_lines", "TRAIN_CONTROL", "VERDICT_MIN_SUBJECTS", "format_p", "p_text"]

#: Fewer subjects than this and the bootstrap over subjects takes too few distinct values to carry a verdict
#: (2 subjects: 3 distinct resamples; 5: 126); the permutation test within subjects gives it then.
VERDICT_MIN_SUBJECTS = 10


def format_p(p: float) -> str:
    """'p = ...': 2 decimals from 0.01, else 4, more where rounding would carry it across the level (0.0496 is
    not "0.05"), and 2 significant figures where 4 decimals would print 0 (1 / 100,001 shuffles: 1.0e-05)."""
    return f"p = {p_text(p)}"


def p_text(p: float) -> str:
    """The number of :func:`format_p`, without "p = "."""
    digits = 4 if p < 0.01 else 2
    while digits < 8 and (float(half_up(p, digits)) < PERMUTATION_ALPHA) != (p < PERMUTATION_ALPHA):
        digits += 1  # the printed p on the verdict's side of the level
    if float(half_up(p, digits)) == 0:  # never "p = 0.0000": a permutation p-value is at least 1 / (shuffles + 1)
        return f"{p:.1e}"
    return str(half_up(p, digits))


def _permutation_words(test: dict) -> str:
    p, n = test["p_value"], test["permutations"]
    if test.get("exact"):
        scored = (f"exact: {test['as_high']:,} of all {n:,} distinct arrangements, the real one included, "
                  "score as high")
    else:
        scored = f"{n:,} shuffles" + (", none as high" if p <= 1 / (n + 1) + 1e-15 else "")
    return (f"{format_p(p)} with the labels shuffled within each of the {test['n_subjects']} subjects "
            f"({scored}: UAR {half_up(test['shuffled_mean'], 2)} on average)")


def _cannot_decide(test: dict) -> str:
    """Why the permutation test cannot reach p < alpha, whatever the predictions: too few distinct arrangements of
    the labels within subjects (a subject whose clips hold one class has a single one). Reports score at least
    100 shuffles, so the shuffle count alone never keeps the p-value from going below 0.05."""
    count, subjects, one = test["distinct_arrangements"], test["n_subjects"], test["one_class_subjects"]
    held = (f"{'all ' if one == subjects else ''}{one}{'' if one == subjects else f' of the {subjects}'} "
            "subjects' clips hold one class each, so " if one else "")
    changes = "changes nothing" if count == 1 else f"gives only {count:,} distinct arrangements of the labels"
    return (f"the permutation test cannot decide ({held}shuffling the labels within subjects {changes}: its p-value "
            f"cannot fall below {half_up(test['p_floor'], 2)}, which is not below {PERMUTATION_ALPHA})")


ASSOCIATED = "the predictions are associated with the labels within subjects"


def _above(uar: float, chance: float) -> bool:
    return uar > chance + 1e-12  # 1/3 computed as a mean of recalls is not "above" 1/3


def _reading(test: dict, uar: float, chance: float) -> str:
    """What the permutation test's p-value says. Its null (predictions independent of the labels within each
    subject) does not have a UAR of 1 / classes on average: predictions that follow each subject's labels in a
    wrong way (one class always taken for another) reject it with a UAR below chance. So p < alpha says the
    predictions are associated with the labels, and only with a UAR above chance that they beat chance."""
    if test["p_value"] >= PERMUTATION_ALPHA:
        return "no association of the predictions with the labels within subjects shown"
    return ASSOCIATED if _above(uar, chance) else f"{ASSOCIATED}, but UAR is not above chance"


#: The standing of a run against chance, as a sweep's "vs chance" column gives it (:func:`chance_standing`).
ABOVE, NOT_SHOWN, NO_VERDICT = "above chance", "not shown above chance", "no verdict"


def chance_verdict(report: dict) -> str | None:
    """The verdict line (:func:`_judged`); None where there is none to give."""
    judged = _judged(report)
    return judged[1] if judged else None


def chance_standing(report: dict) -> str | None:
    """The verdict in a few words: :data:`ABOVE`, :data:`NOT_SHOWN` or :data:`NO_VERDICT` (too few subjects for the
    bootstrap and a permutation test that cannot decide or is missing; seeds that tested different subjects), as
    report.md's verdict line says it; None without a verdict line."""
    judged = _judged(report)
    return judged[0] if judged else None


def seeds_differ(report: dict) -> bool:
    """Whether the seeds of a report were scored on different samples (a partial run whose seeds finished
    different folds): their mean ± std then mixes sample sets."""
    h = report.get("headline") or {}
    if h.get("n_seeds", 1) < 2:
        return False
    untested = {k: tuple(v.get("subjects") or ()) for k, v in ((report.get("status") or {}).get("untested")
                                                                or {}).items()}
    seeds = list(h.get("per_seed") or {})
    counts = {r.get("n") for r in (h.get("per_seed") or {}).values()}
    return len(counts) > 1 or len({untested.get(s, ()) for s in seeds}) > 1


def _differ_words(report: dict) -> str:
    h = report["headline"]
    counts = ", ".join(f"seed {s} {r['n']}" for s, r in h["per_seed"].items())
    return (f"the seeds tested different subjects (a partial run: samples scored per seed: {counts}), so there is no "
            "interval of their mean")


def _judged(report: dict) -> tuple[str, str] | None:
    """One plain line on whether the model learned: the headline's pooled UAR and its bootstrap 95 % CI over
    subjects against chance, 1 / number of classes (the UAR of a constant or random guess, whatever the
    class balance), and the permutation test's p-value. With fewer than :data:`VERDICT_MIN_SUBJECTS` subjects
    the bootstrap has too few distinct values: the permutation test within subjects decides, "above chance"
    needing both p < :data:`PERMUTATION_ALPHA` and a UAR above chance (the test alone says the predictions are
    associated with the labels, which they can be in a wrong way), and the line says the interval is rough;
    without that test (reports of older versions, or seeds that tested different samples), or when it cannot
    decide (its smallest possible p-value is not below the level, e.g. every subject's clips hold one class),
    there is no verdict and the line says why. From :data:`VERDICT_MIN_SUBJECTS` subjects the interval decides,
    the test's p-value is added with its reading, and a test that cannot decide is named as such. None without an
    interval (no classes, or several seeds without their mean's), but for seeds that tested different subjects
    (a partial run): "no verdict", saying so."""
    h, n = report.get("headline") or {}, len(report.get("classes") or [])
    subjects = (h.get("ci") or {}).get("subjects") or {}
    several = h.get("n_seeds", 1) > 1
    ci = subjects.get("mean") if several else next(iter((subjects.get("per_seed") or {}).values()), None)
    value = h.get("mean") if several else next(iter((h.get("per_seed") or {}).values()), None)
    if n and several and not subjects.get("mean") and seeds_differ(report):  # a partial run: say why there is none
        return NO_VERDICT, f"no verdict: {_differ_words(report)}; finish the run to judge it against chance"
    if not n or not ci or not value or value.get("uar") is None:
        return None
    chance, (lo, hi), test = 1 / n, ci["uar"], h.get("chance_test")
    units = min((subjects.get("n_units") or {}).values(), default=None)
    uf1 = "n/a" if value.get("uf1") is None else half_up(value["uf1"], 2)
    chance_text, interval = half_up(chance, 2), f"[{half_up(lo, 2)}, {half_up(hi, 2)}]"
    over = f"{units} subjects" if units is not None else "subjects"
    where = (f"the 95% CI of UAR {interval} (UAR {half_up(value['uar'], 2)}, UF1 {uf1}; "
             f"bootstrap over {over}{' of the seed mean' if several else ''})")
    side = "lies above" if lo > chance else "lies below" if hi < chance else "includes"
    undecided = bool(test) and not test.get("can_decide", True)  # reports of older versions lack it
    if units is not None and units < VERDICT_MIN_SUBJECTS:
        if undecided:
            return NO_VERDICT, (
                f"too few subjects ({units}) to judge: {_cannot_decide(test)}, and {where} {side} chance "
                f"({chance_text}), but a bootstrap over fewer than {VERDICT_MIN_SUBJECTS} subjects takes too few "
                "distinct values to rely on")
        if test:
            score = f"UAR{' (seed mean)' if several else ''} {half_up(value['uar'], 2)} (UF1 {uf1})"
            rough = f"too few subjects ({units}) for the bootstrap: its 95% CI of UAR {interval} is rough"
            if test["p_value"] < PERMUTATION_ALPHA and _above(value["uar"], chance):
                return ABOVE, (f"above chance by a permutation test: {score} against chance ({chance_text}), "
                               f"{_permutation_words(test)}; {rough}")
            if test["p_value"] < PERMUTATION_ALPHA:  # associated with the labels, but in a way no better than chance
                return NOT_SHOWN, (
                    f"not shown to be above chance: {score} is not above chance ({chance_text}), though a "
                    f"permutation test finds that {ASSOCIATED}: {_permutation_words(test)}; {rough}")
            return NOT_SHOWN, (
                f"not shown to be above chance by a permutation test: {score} against chance ({chance_text}), "
                f"{_permutation_words(test)}; {rough}")
        return NO_VERDICT, (
            f"too few subjects ({units}) to judge: {where} {side} chance ({chance_text}), but a bootstrap "
            f"over fewer than {VERDICT_MIN_SUBJECTS} subjects takes too few distinct values to rely on")
    also = (f"; {_cannot_decide(test)}, so the interval alone decides" if undecided
            else f"; permutation test: {_permutation_words(test)}: {_reading(test, value['uar'], chance)}" if test
            else "")
    if lo > chance:
        return ABOVE, f"above chance: {where} lies above chance ({chance_text}){also}"
    return NOT_SHOWN, f"not shown to be above chance: {where} {side} chance ({chance_text}){also}"


#: How a run's permuted-label control is trained: its UF1 shows UF1's chance level (``mmnet demo`` has --with-control)
TRAIN_CONTROL = "a run of mmnet train with --set data.permute_labels=true"


def chance_lines(report: dict, control: str = TRAIN_CONTROL, synthetic: bool | None = None) -> list[str]:
    """The "chance: ..." and "verdict: ..." lines that `mmnet train`, `mmnet report` and `mmnet demo` print after
    the scores: UAR's chance level, and :func:`chance_verdict` (report.md's verdict). ``control`` says how to run the
    permuted-label control, whose UF1 shows UF1's chance level; ``synthetic``: the scores are on mmnet's synthetic
    faces (None: as the report's environment records)."""
    n = len(report.get("classes") or [])
    if synthetic is None:
        synthetic = isinstance((report.get("environment") or {}).get("synthetic_data"), dict)
    # only UAR's chance level is 1/n whatever the class mix; UF1's depends on how guesses spread over the classes
    parts = [f"chance: a UAR of {half_up(1 / n, 2)} for {n} classes (UF1's chance level depends on how the predictions "
             f"spread over the classes: the permuted-label control's UF1 shows it, {control})"] if n else []
    parts += ["the scores are on synthetic faces"] if synthetic else []
    lines = ["; ".join(parts)] if parts else []
    verdict = chance_verdict(report)
    return lines + ([f"verdict: {verdict}"] if verdict else [])
