"""How the honest model does subject by subject: the median and the worst subject's UAR, and how many subjects
score at or below chance. A pooled UAR can hide a subject the model fails on; this line under the verdict
(report.md, and the model card) names it."""

from __future__ import annotations

import numpy as np

from ..data.common import natural_key

__all__ = ["subject_spread", "subject_spread_line"]


def subject_spread(per_seed: dict[str, dict], n_classes: int) -> dict | None:
    """The spread of the per-subject UAR (``seeds.<S>.last.per_subject``; a subject's UAR is the mean recall over
    the classes its clips hold), averaged over the seeds that tested the subject. None without subjects."""
    by_subject: dict[tuple[str, str], list[dict]] = {}
    for entry in per_seed.values():
        for r in entry["last"].get("per_subject") or []:
            by_subject.setdefault((r["dataset"], r["subject"]), []).append(r)
    if not by_subject or not n_classes:
        return None
    rows = [{"dataset": d, "subject": s, "n": rs[0]["n"], "uar": float(np.mean([r["uar"] for r in rs]))}
            for (d, s), rs in by_subject.items()]
    chance = 1 / n_classes
    worst = min(rows, key=lambda r: (r["uar"], r["dataset"], natural_key(r["subject"])))
    return {"n_subjects": len(rows), "median_uar": float(np.median([r["uar"] for r in rows])), "worst": worst,
            "chance": chance, "at_or_below_chance": sum(r["uar"] <= chance + 1e-12 for r in rows),
            "n_seeds": len(per_seed)}


def subject_spread_line(spread: dict | None, many_datasets: bool = False) -> str | None:
    """"Across N subjects: median UAR x, worst y (subject s, n=...), k subjects at or below chance (...)"."""
    if not spread:
        return None
    w, n_classes = spread["worst"], round(1 / spread["chance"])
    who = f"{w['dataset']}/{w['subject']}" if many_datasets else w["subject"]
    k = spread["at_or_below_chance"]
    seeds = f", mean over {spread['n_seeds']} seeds" if spread.get("n_seeds", 1) > 1 else ""
    return (f"Across {spread['n_subjects']} subjects: median UAR {spread['median_uar']:.2f}, worst "
            f"{w['uar']:.2f} (subject {who}, n={w['n']}), {k} subject{'' if k == 1 else 's'} at or below chance "
            f"({spread['chance']:.2f} = 1/{n_classes} classes); a subject's UAR is the mean recall over the classes "
            f"its clips hold{seeds}.")
