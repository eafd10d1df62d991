"""Which classes of a label scheme the data leaves out: classes with no sample at all, and folds whose training
part lacks a class (a class held by one subject: its LOSO fold trains without it), said before training (`mmnet
check-data`, `mmnet train`) and beside the report's headline; and sample ids given to two samples.

Both are easy to miss with a dataset loader of one's own; the built-in loaders cannot produce a repeated id (their
duplicate rows are flagged as issues), and their schemes name classes the datasets hold.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import DataError
from .sample import Sample

__all__ = ["absent_classes", "folds_without_class", "lacking_text", "coverage_lines", "usage_coverage_lines",
           "check_unique_ids"]


def absent_classes(classes: Sequence[str], labels: Sequence[int]) -> list[str]:
    """The classes (by name, in logit order) that no sample has."""
    held = set(labels)
    return [name for c, name in enumerate(classes) if c not in held]


def folds_without_class(classes: Sequence[str], labels: Sequence[int],
                        folds: Sequence[tuple[str, Sequence[int], Sequence[int]]]) -> dict[str, list[str]]:
    """Per fold (name, train indices, test indices) whose training part lacks a class that its test part holds:
    the names of those classes. Classes that no sample has are not repeated here (``absent_classes``)."""
    out = {}
    for name, train, test in folds:
        have = {labels[i] for i in train}
        lacking = sorted({labels[i] for i in test} - have)
        if lacking and train:  # a final fit (no test part) or an empty side says nothing here
            out[name] = [classes[c] for c in lacking]
    return out


def lacking_text(lacking: dict[str, Sequence[str]], limit: int = 20) -> str:
    """``folds_without_class``'s folds as one text, "fold (class, class); ...", the first ``limit`` of them."""
    shown = "; ".join(f"{fold} ({', '.join(names)})" for fold, names in list(lacking.items())[:limit])
    return shown + (f"; and {len(lacking) - limit} more" if len(lacking) > limit else "")


def coverage_lines(classes: Sequence[str], labels: Sequence[int],
                   folds: Sequence[tuple[str, Sequence[int], Sequence[int]]], scheme: str,
                   refused: Sequence[str] = ()) -> list[str]:
    """The warnings for ``absent_classes`` and ``folds_without_class``, one line each ([] when every class is held
    by samples of at least two folds). ``refused``: classes that skipping emptied, which stop training with an error
    of their own (``usage.classes_left``), not this warning."""
    lines = []
    absent = [c for c in absent_classes(classes, labels) if c not in refused]
    if absent:
        lines.append(f"class(es) {', '.join(absent)} of scheme {scheme} have no sample: no fold can learn or test "
                     f"them, and the report's UF1 and UAR, averaged over all {len(classes)} classes, count their F1 "
                     f"and recall as 0 (the report gives them over the {len(classes) - len(absent)} classes present "
                     "too). Check the labels, or choose a scheme without them (data.scheme / --scheme).")
    lacking = folds_without_class(classes, labels, folds)
    if lacking:
        lines.append(f"{len(lacking)} fold(s) train without a class that their test samples hold (every sample of "
                     f"it is in the left-out part, so the model cannot recognise it there): {lacking_text(lacking)}. "
                     "Their test samples of that class count as errors; more subjects with that class would fix it.")
    return lines


def check_unique_ids(samples: Sequence[Sample], dataset: str) -> None:
    """DataError naming every sample id that two or more samples share: samples.csv, the folds and the report key
    every prediction by it (the report would refuse the run only after every fold trained)."""
    seen: dict[str, list[int]] = {}
    for i, s in enumerate(samples):
        seen.setdefault(s.sample_id, []).append(i)
    repeated = {sid: at for sid, at in seen.items() if len(at) > 1}
    if not repeated:
        return

    def described(i: int) -> str:
        s = samples[i]
        row = s.extra.get("row")
        where = f"row {row}" if row is not None else f"sample {i + 1} of the loader's list"
        return f"{where}: onset {s.onset}, apex {s.apex}, offset {s.offset}, label {s.label!r}"

    lines = [f"  - {sid}: " + "; ".join(described(i) for i in at) for sid, at in list(repeated.items())[:20]]
    if len(repeated) > 20:
        lines.append(f"  ... and {len(repeated) - 20} more")
    raise DataError(f"{len(repeated)} sample id(s) of dataset {dataset!r} are given to more than one sample (the same "
                    "dataset, subject and clip):\n" + "\n".join(lines) + "\nA sample id names one sample: when a clip "
                    "holds several micro-expressions, give each its own clip name in the dataset loader (e.g. "
                    "EP01_01f and EP01_01f2, as CAS(ME)^3's are named); when a row is a repeat, remove it.")


def usage_coverage_lines(pairs: Sequence[tuple[Sample, int]], classes: Sequence[str], scheme: str,
                         refused: Sequence[str] = ()) -> list[str]:
    """``coverage_lines`` for the (sample, class index) pairs training would use, under leave one subject out (as
    `mmnet check-data` counts folds); [] without samples (check-data says so apart)."""
    from .folds import protocol_folds

    samples = [s for s, _ in pairs]
    if not samples:
        return []
    several = len({(s.dataset, s.subject) for s in samples}) > 1  # one subject: protocol_folds refuses it
    return coverage_lines(classes, [k for _, k in pairs], protocol_folds(samples, "loso") if several else [], scheme,
                          refused)
