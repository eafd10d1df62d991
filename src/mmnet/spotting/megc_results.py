"""The records of a MEGC evaluation (``megc``): matched pairs, pooled counts and their ratios, STR results."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from .intervals import Interval

IOU_THRESHOLD = 0.5  # the IoU a true positive needs (MEGC2019-2025's k)


def _ratio(num: float, den: float) -> float:
    """num / den, 0.0 for an empty denominator (precision without predictions, recall without truth)."""
    return num / den if den else 0.0


@dataclass(frozen=True)
class Pair:
    """One line of the evaluation: a TP (both), an FP (prediction only) or an FN (truth only)."""

    video: Hashable
    type: str
    truth: Interval | None
    prediction: Interval | None
    iou: float = 0.0

    @property
    def outcome(self) -> str:
        if self.truth is not None and self.prediction is not None:
            return "TP"
        return "FP" if self.prediction is not None else "FN"


class _Ratios:
    """Precision, recall and F1 of a record with ``tp``, ``fp`` and ``fn``; 0 when a denominator is 0."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)


@dataclass(frozen=True)
class Counts(_Ratios):
    """Pooled counts and their ratios: P = TP/(TP+FP), R = TP/(TP+FN), F1 = 2TP/(2TP+FP+FN); 0 when empty."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)


@dataclass
class SpottingResult:
    """``counts["micro" | "macro" | "overall"]`` pooled over the scored videos; ``pairs`` in video order."""

    counts: dict[str, Counts]
    pairs: list[Pair]
    per_video: dict[Hashable, dict[str, Counts]]
    mode: str = "megc"
    threshold: float = IOU_THRESHOLD
    videos_scored: int = 0
    unscored: int = 0  # predictions the mode does not score ("softnet", "strs": outside its videos)

    def table(self) -> list[dict]:
        """One row per type: type, TP, FP, FN, precision, recall, F1 (for printing or CSV)."""
        return [{"type": t, "tp": c.tp, "fp": c.fp, "fn": c.fn, "precision": c.precision, "recall": c.recall,
                 "f1": c.f1} for t, c in self.counts.items()]


@dataclass(frozen=True)
class ClassScores(_Ratios):
    """One-vs-rest counts of one class over the matched pairs."""

    tp: int
    fp: int
    fn: int


@dataclass
class AnalysisResult:
    """Recognition on the true positives (MEGC STR "analysis").

    ``f1`` is MEGC's analysis F1 = 2·P̄·R̄/(P̄+R̄) over the class means of precision and recall (not
    UF1, the mean of per-class F1, which is given beside it with UAR = the balanced accuracy: the mean
    recall over the classes that some pair has as truth, in every mode).
    """

    classes: tuple[str, ...]
    per_class: dict[str, ClassScores]
    n_pairs: int
    accuracy: float
    precision: float
    recall: float
    f1: float
    uf1: float
    uar: float
    left_out: tuple[str, ...] = field(default_factory=tuple)
    zeroed: tuple[str, ...] = field(default_factory=tuple)  # mode "strs": collapsed classes counted as 0
    unlabelled_truth: int = 0  # TPs left out because their ground truth has no emotion label (classes given)


@dataclass
class StrResult:
    """Spot-then-recognise: spotting of micro-expressions, analysis on its TPs, STRS = spotting F1 x analysis F1."""

    spotting: SpottingResult
    analysis: AnalysisResult

    @property
    def strs(self) -> float:
        return self.spotting.counts["micro"].f1 * self.analysis.f1
