"""How the honest model does subject by subject: the median and the worst subject's UAR, and how many subjects
score at or below chance. A pooled UAR can hide a subject the model fails on; this line under the verdict
(report.md, and the model card) names it.

A subject's UAR is the mean recall over the classes its test clips hold, so its chance is 1 / that number of
classes, not 1 / the classes of the whole set: a model that answers one class for every clip scores UAR 1/2 on a
subject of 2 classes, chance there, which 1/5 of a 5-class set would call well above it. A subject whose clips hold
one class has chance 1/1, which no model beats: it is counted apart, not compared with chance."""

from __future__ import annotations

import numpy as np

from ..data.common import natural_key
from .rounding import half_up

__all__ = ["subject_spread", "subject_spread_line"]


def subject_spread(per_seed: dict[str, dict], n_classes: int) -> dict | None:
    """The spread of the per-subject UAR (``seeds.<S>.last.per_subject``; a subject's UAR is the mean recall over
    the classes its clips hold), averaged over the seeds that tested the subject, each subject against its own
    chance (1 / its classes). ``chance``: the whole set's (1 / ``n_classes``). None without subjects."""
    by_subject: dict[tuple[str, str], list[dict]] = {}
    for entry in per_seed.values():
        for r in entry["last"].get("per_subject") or []:
            by_subject.setdefault((r["dataset"], r["subject"]), []).append(r)
    if not by_subject or not n_classes:
        return None
    rows = [{"dataset": d, "subject": s, "n": rs[0]["n"], "uar": float(np.mean([r["uar"] for r in rs])),
             "classes": rs[0]["classes"], "chance": 1 / rs[0]["classes"]} for (d, s), rs in by_subject.items()]
    worst = min(rows, key=lambda r: (r["uar"], r["dataset"], natural_key(r["subject"])))
    return {"n_subjects": len(rows), "median_uar": float(np.median([r["uar"] for r in rows])), "worst": worst,
            "chance": 1 / n_classes, "subject_classes": [min(r["classes"] for r in rows),
                                                         max(r["classes"] for r in rows)],
            # a subject of one class has chance 1/1: even a perfect model is "at" it, so it is counted apart
            "at_or_below_chance": sum(r["uar"] <= r["chance"] + 1e-12 for r in rows if r["classes"] > 1),
            "one_class_subjects": sum(r["classes"] == 1 for r in rows), "n_seeds": len(per_seed)}


def subject_spread_line(spread: dict | None, many_datasets: bool = False) -> str | None:
    """"Across N subjects: median UAR x, worst y (subject s, n=..., chance c), k subjects at or below their own
    chance (...)"."""
    if not spread:
        return None
    w = spread["worst"]
    who = f"{w['dataset']}/{w['subject']}" if many_datasets else w["subject"]
    seeds = f", mean over {spread['n_seeds']} seeds" if spread.get("n_seeds", 1) > 1 else ""
    head = (f"Across {spread['n_subjects']} subjects: median UAR {half_up(spread['median_uar'], 2)}, worst "
            f"{half_up(w['uar'], 2)} (subject {who}, n={w['n']}")
    if "subject_classes" not in spread:  # a report.json of an earlier mmnet compared every subject with 1/n
        return f"{head}); a subject's UAR is the mean recall over the classes its clips hold{seeds}."
    k, (low, high) = spread["at_or_below_chance"], spread["subject_classes"]
    held = f"{low}" if low == high else f"{low} to {high}"
    one = spread.get("one_class_subjects", 0)
    one = f"; {one} subject{'' if one == 1 else 's'} hold{'s' if one == 1 else ''} one class: not comparable with " \
          "chance" if one else ""
    return (f"{head}, its chance {half_up(w['chance'], 2)} = 1/{w['classes']}), {k} subject{'' if k == 1 else 's'} "
            f"at or below {'its' if k == 1 else 'their'} own chance{one}; a subject's UAR is the mean recall over the "
            f"classes its clips hold ({held} here), so its chance is 1 / those classes, not "
            f"{half_up(spread['chance'], 2)} (1/{round(1 / spread['chance'])}, the whole set's){seeds}.")
