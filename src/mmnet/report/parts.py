"""The datasets of a run of several (a composite's parts) in a report: their order, MEGC2019's (SMIC, CASME II,
SAMM, as its papers and check-data list them), and each part's samples, F1 and recall per class, which papers
quote beside the part's UF1 and UAR."""

from __future__ import annotations

import statistics
from collections.abc import Iterable

from ..data.composite import PART_ORDER  # any other dataset follows the parts, by name
from .rounding import format_mean_std

__all__ = ["PART_ORDER", "part_rank", "dataset_order", "part_classes", "part_class_lines"]


def part_rank(dataset: str) -> tuple[int, str]:
    """The sort key of ``dataset`` in ``PART_ORDER``'s order."""
    return (PART_ORDER.index(dataset) if dataset in PART_ORDER else len(PART_ORDER), dataset)


def dataset_order(datasets: Iterable[str]) -> list[str]:
    """The distinct ``datasets`` in ``PART_ORDER``'s order."""
    return sorted(set(datasets), key=part_rank)


def part_classes(scores: list[dict], classes: list[str]) -> dict[str, dict]:
    """Each class of one part: ``n``, its samples scored (the first seed's, as the part's n), and its F1 and recall,
    the mean over seeds with their sample std (``f1_std``, ``recall_std``; None with one seed). ``scores`` are the
    part's scores in each seed (report.json's ``seeds.<S>.last.per_dataset.<dataset>``)."""
    out = {}
    for i, name in enumerate(classes):
        entry: dict = {"n": int(sum(scores[0]["confusion"][i]))}
        for key in ("f1", "recall"):
            values = [float(s[key][i]) for s in scores]
            entry[key] = statistics.fmean(values)
            entry[f"{key}_std"] = statistics.stdev(values) if len(values) > 1 else None
        out[name] = entry
    return out


def part_class_lines(per_dataset: dict, classes: list[str], row_names: dict[str, str] | None = None) -> list[str]:
    """report.md's table of each part's classes (the headline's ``per_dataset.<dataset>.per_class``)."""
    shown = {d: b["per_class"] for d, b in per_dataset.items() if b.get("per_class")}
    if not shown or not classes:  # a report.json of an mmnet that did not record them
        return []
    several = any(c[classes[0]]["f1_std"] is not None for c in shown.values())
    lines = [f"### Per dataset and class (honest, last epoch{'; mean ± std over seeds' if several else ''})", "",
             "| dataset | class | n | F1 | recall |", "|---|---|---|---|---|"]
    for d, per_class in shown.items():
        for name in classes:
            c = per_class[name]
            lines.append(f"| {(row_names or {}).get(d, d)} | {name} | {c['n']} | "
                         f"{format_mean_std(c['f1'], c['f1_std'])} | {format_mean_std(c['recall'], c['recall_std'])} |")
    return [*lines, ""]
