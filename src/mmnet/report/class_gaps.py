"""Classes the run's data leaves out, said beside the headline: classes with no sample at all, and folds whose
training part lacks a class their test samples hold.

UF1 and UAR stay averaged over every class of the scheme (the MEGC definition, docs/reports.md), so that every run
of a scheme is scored alike, and the scores of a run holding every class are untouched. A class with no sample has
recall 0/0 and F1 0 (no true positive) in every run, so leaving it out only rescales both: over the k classes
present they are the figures over all n classes times n / k, and chance (1 / classes, the UAR of a constant guess)
rescales alike, so the verdict reads the same either way. The report gives both figures, saying which is which.
"""

from __future__ import annotations

import numpy as np

from ..data.class_coverage import absent_classes, folds_without_class, lacking_text
from .rounding import half_up
from .run_reader import Run, config_value

__all__ = ["class_gaps", "class_gap_lines"]


def class_gaps(run: Run, per_seed: dict[str, dict]) -> dict:
    """report.json's ``absent_classes`` (with UF1 and UAR over the classes present, per seed and their mean) and
    ``folds_without_class``, each only where there is something to say."""
    classes, labels = run.classes, [int(c) for c in run.samples["class_index"]]
    out: dict = {}
    absent = absent_classes(classes, labels)
    if absent:
        present = [c for c, name in enumerate(classes) if name not in absent]
        scores = {s: {k: float(np.mean([e["last"][key][c] for c in present])) for k, key in (("uf1", "f1"),
                                                                                              ("uar", "recall"))}
                  for s, e in per_seed.items()}
        out["absent_classes"] = {
            "classes": absent, "n_classes": len(classes), "n_present": len(present),
            "chance": 1 / len(classes), "chance_present": 1 / len(present),
            "over_present": {"per_seed": scores,
                             "mean": {k: float(np.mean([r[k] for r in scores.values()])) for k in ("uf1", "uar")}},
        }
    samples = run.samples
    if config_value(run.config, "data.protocol", "loso") == "lodo":
        groups = list(samples["dataset"])
    else:
        groups = [f"{d}/{s}" for d, s in zip(samples["dataset"], samples["subject"])]
    folds = [(g, [i for i, h in enumerate(groups) if h != g], [i for i, h in enumerate(groups) if h == g])
             for g in dict.fromkeys(groups)]
    if lacking := folds_without_class(classes, labels, folds):
        out["folds_without_class"] = lacking
    return out


def class_gap_lines(report: dict) -> list[str]:
    """The notes under the headline table (report.md), [] for a run whose every fold trained on every class."""
    lines = []
    gaps = report.get("absent_classes")
    if gaps:
        n, k = gaps["n_classes"], gaps["n_present"]
        over = gaps["over_present"]
        several = len(over["per_seed"]) > 1
        figures = over["mean"] if several else next(iter(over["per_seed"].values()))
        lines.append(
            f"**Classes without samples: {', '.join(gaps['classes'])}.** No sample of the run has "
            f"{'it' if len(gaps['classes']) == 1 else 'them'}. UF1 and UAR above average over all {n} classes of "
            f"the scheme (the MEGC definition, as every run of the scheme is scored), counting "
            f"{'its' if len(gaps['classes']) == 1 else 'their'} F1 and recall as 0, so neither can exceed "
            f"{half_up(k / n, 2)}. "
            f"Over the {k} classes present: UF1 {half_up(figures['uf1'], 4)}, UAR {half_up(figures['uar'], 4)}"
            f"{' (seed mean)' if several else ''}, against chance {half_up(gaps['chance_present'], 2)} there (the "
            f"verdict's {half_up(gaps['chance'], 2)} over all {n}): both figures and chance scale by {n}/{k}, so the "
            "verdict is the same either way.")
    lacking = report.get("folds_without_class")
    if lacking:
        lines.append(f"**{len(lacking)} fold(s) trained without a class their test samples hold** (every sample of "
                     f"it is in the left-out part): {lacking_text(lacking)}. Those test samples could not be "
                     "recognised, and count as errors above.")
    return lines
