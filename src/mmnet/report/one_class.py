"""A fold whose model gave every test clip one and the same class: it has not learned to tell the classes apart,
whatever its scores look like (its UAR is chance on every subject). report.md warns of it under the headline, and
`mmnet demo` before it suggests that fold's model."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["single_predicted_class", "one_class_lines", "class_name"]


def single_predicted_class(predicted: Iterable[int]) -> int | None:
    """The class of every prediction when there are at least two and all are one class; else None."""
    seen = [int(k) for k in predicted]
    return seen[0] if len(seen) > 1 and len(set(seen)) == 1 else None


def class_name(k: int, classes: list[str]) -> str:
    """A class index as its name ('class k' outside the list)."""
    return classes[k] if 0 <= k < len(classes) else f"class {k}"


def one_class_lines(report: dict) -> list[str]:
    """report.md's warning (one paragraph, or none): the honest folds (last epoch) that predicted one class for all
    their test clips."""
    classes, folds = report.get("classes") or [], []
    for seed, entry in (report.get("seeds") or {}).items():
        # named as the lines beside it name them (casme2/01, not the folder fold-casme2_01)
        folds += [f"seed {seed} fold {f.get('name') or f['fold'].removeprefix('fold-')} "
                  f"('{class_name(f['one_class'], classes)}' for all {f['n']})"
                  for f in entry["last"].get("folds") or [] if f.get("one_class") is not None]
    if not folds:
        return []
    one = len(folds) == 1
    their, models = ("its", "That model has") if one else ("their", "Those models have")
    return [f"**Warning:** {len(folds)} fold{'' if one else 's'} predicted one class for every one of {their} test "
            f"clips (last epoch): {', '.join(folds)}. {models} not learned to tell the classes apart: on each of "
            f"{their} subjects such a model's UAR is at most chance, whatever its accuracy."]
