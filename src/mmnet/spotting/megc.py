"""MEGC spotting and spot-then-recognise (STR) evaluation of long videos.

Ground truth and predictions are mappings ``video key -> [Interval, ...]`` (``spotting.intervals``);
a key is any hashable id, the same in both (``"15_0101"``, ``"006_1"``, or ``(subject, video)``).
The truth mapping should list **every** evaluated video, those without expressions included (an
empty list): a prediction in a video missing from it is an error, never silently ignored.

The default rule (``mode="megc"``), per video and per type (micro with micro, macro with macro):

* IoU over inclusive frame intervals; a prediction is a true positive when IoU >= 0.5 with a
  ground truth of the same video and type (MEGC2019-2025's definition, k = 0.5);
* one-to-one, greedy: predictions in descending ``score`` (no score counts as lowest; then earlier
  onset, then input order), each takes the still-free ground truth with the highest IoU >= 0.5
  (equal IoU: the earlier ground-truth onset). Greedy by score is what the MEGC evaluators in
  circulation do (SoftNet/MEAN's ``mean_average_precision``); an optimal assignment can match one
  more pair in rare cases with overlapping ground truths, but no published figure uses it;
* every unmatched prediction is a false positive (in videos without ground truth too), every
  unmatched ground truth a false negative. A prediction whose type differs from an overlapping
  ground truth is an FP of its type, and that ground truth an FN of its own;
* counts are pooled over videos (and folds) before the ratios; "overall" sums micro and macro.

Compatibility modes reproduce published evaluators (docs/spotting.md):

* ``"softnet"`` (SoftNet, MEAN, Boost): a prediction looks only at its best-IoU ground truth and
  is an FP if that one is taken; only videos with a ground truth of the type are scored, and such
  a video without any prediction adds one FP (their dummy [0, 0] interval).
* ``"megc2020"`` (the MEGC2020 baseline MDMD): IoU with intersection ``max(0, overlap) + 1`` (so
  disjoint intervals are not 0) and 0 for one-frame intervals; TP = ground truths hit by any
  prediction (one prediction may hit several), FP = predictions - TP pooled over all videos (a
  video where one prediction hits two truths gives back an FP to the pool, as MDMD counts; the
  pooled FP is at least 0). Per video, and in the pairs (the log), a truth is credited to the first
  prediction, in input order, that hits it, and a prediction credited with none is an FP: two
  predictions on one truth are a TP and an FP, and the per-video counts are never negative.
* ``"strs"`` (STRS-Metric, MEGC2024-2025 STR): each prediction, in input order, claims every still
  unclaimed ground truth with IoU >= 0.5 (a truth is claimed once; one prediction may claim several);
  only subjects with predictions of the scored types (micro-expressions, for STR) are scored, and in
  them only the videos that hold a ground truth of the type: predictions elsewhere, in videos
  missing from the truth included, are not scored (``SpottingResult.unscored`` counts them). Its
  analysis counts a class whose one-vs-rest table collapses (no pair has it, or every pair is it on
  both sides) as P = R = 0, and its default classes are every emotion of the ground truth
  (``evaluate_analysis``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence

from ..choices import SPOT_SCORE_MODES as MODES
from ..errors import ConfigError, DataError, verify_choice
from .intervals import TYPES, Interval, iou
from .megc_results import (
    IOU_THRESHOLD,
    AnalysisResult,
    ClassScores,
    Counts,
    Pair,
    SpottingResult,
    StrResult,
    _ratio,
)

__all__ = ["MODES", "IOU_THRESHOLD", "RULE", "Pair", "Counts", "SpottingResult", "ClassScores", "AnalysisResult",
           "StrResult", "match_video", "evaluate_spotting", "evaluate_analysis", "evaluate_str", "subject_of_key"]

#: The default rule in a sentence, for the reports.
RULE = (f"MEGC: IoU >= {IOU_THRESHOLD} with a ground truth of the same recording and type, one-to-one (by descending "
        "score); counts pooled over the recordings")
Videos = Mapping[Hashable, Sequence[Interval]]


def _order(predictions: Sequence[Interval]) -> list[int]:
    """Indices by descending score (None and NaN last), then onset, then input order."""
    def unscored(score):  # NaN compares with nothing, so it would leave the order to the input's
        return score is None or math.isnan(score)
    return sorted(range(len(predictions)), key=lambda i: (
        unscored(predictions[i].score), 0.0 if unscored(predictions[i].score) else -predictions[i].score,
        predictions[i].onset, i))


def _mdmd_iou(a: Interval, b: Interval) -> float:
    """The MEGC2020 baseline's IoU, reproduced with its quirks (see the module docstring)."""
    inter = max(0, min(a.offset, b.offset) - max(a.onset, b.onset)) + 1
    union = a.length + b.length - inter
    if a.offset <= a.onset or b.offset <= b.onset or union <= 0:
        return 0.0
    return inter / union


def match_video(
    truths: Sequence[Interval],
    predictions: Sequence[Interval],
    *,
    video: Hashable = "",
    type: str = "micro",
    threshold: float = IOU_THRESHOLD,
    mode: str = "megc",
) -> tuple[list[Pair], Counts]:
    """Match one video's predictions to its ground truth of one type; returns (pairs, counts).

    Both lists must hold intervals of ``type`` only (``evaluate_spotting`` splits them).
    """
    verify_choice("evaluation mode", mode, MODES)
    score = _mdmd_iou if mode == "megc2020" else iou
    ious = [[score(p, t) for t in truths] for p in predictions]
    pairs: list[Pair] = []
    if mode in ("megc2020", "strs"):  # megc2020: a truth is credited to the first prediction that hits it (the pool's
        # FP = predictions - TP is evaluate_spotting's; per video, a prediction credited with no truth is an FP)
        claimed: set[int] = set()
        for j, p in enumerate(predictions):
            hits = [i for i in range(len(truths)) if ious[j][i] >= threshold and i not in claimed]
            claimed.update(hits)
            pairs += [Pair(video, type, truths[i], p, ious[j][i]) for i in hits] or [Pair(video, type, None, p)]
        pairs += [Pair(video, type, t, None) for i, t in enumerate(truths) if i not in claimed]
        return pairs, _count(pairs)
    free = set(range(len(truths)))
    matched: dict[int, Pair] = {}
    for j in _order(predictions):
        candidates = range(len(truths)) if mode == "softnet" else sorted(free)
        best = max(candidates, key=lambda i: (ious[j][i], -truths[i].onset, -i), default=None)
        if best is not None and best in free and ious[j][best] >= threshold:
            free.discard(best)
            matched[j] = Pair(video, type, truths[best], predictions[j], ious[j][best])
    pairs = [matched.get(j, Pair(video, type, None, p)) for j, p in enumerate(predictions)]
    pairs += [Pair(video, type, truths[i], None) for i in sorted(free)]
    if mode == "softnet" and truths and not predictions:
        pairs.append(Pair(video, type, None, Interval(0, None, 0, type)))  # SoftNet's dummy [0, 0] prediction
    return pairs, _count(pairs)


def _count(pairs: Iterable[Pair]) -> Counts:
    out = {"TP": 0, "FP": 0, "FN": 0}
    for p in pairs:
        out[p.outcome] += 1
    return Counts(out["TP"], out["FP"], out["FN"])


# a CAS(ME)^2 video id: the subject's number, then the stimulus code ("15_0101"); its subject is the folder "s15"
_CASME_SQ_ID = re.compile(r"(\d{2})_\d{4}")


def subject_of_key(key: Hashable) -> str:
    """Subject of a video key as the dataset loaders name it (and so every str.csv mmnet writes): ``(subject,
    video)`` -> subject; a CAS(ME)^2 id ``"15_0101"`` -> ``"s15"`` (its subject folder, naming rule1); any other id
    the text before its first "_": ``"006_1"`` -> ``"006"`` (SAMM), ``"spNO.1_a"`` -> ``"spNO.1"`` (CAS(ME)^3)."""
    if isinstance(key, tuple):  # an STR CSV's empty subject cell: the video id's, as for a plain CSV
        return str(key[0]) if key[0] else subject_of_key(key[1])
    casme_sq = _CASME_SQ_ID.fullmatch(str(key))
    return f"s{casme_sq.group(1)}" if casme_sq else str(key).split("_")[0]


def evaluate_spotting(
    truth: Videos,
    predictions: Videos,
    *,
    threshold: float = IOU_THRESHOLD,
    mode: str = "megc",
    types: Sequence[str] | str = TYPES,
    subject_of: Callable[[Hashable], str] = subject_of_key,
) -> SpottingResult:
    """Score spotted intervals against the ground truth, pooled over videos (see the module docstring).

    Args:
        truth: video key -> ground-truth intervals; every evaluated video, empty lists included.
        predictions: video key -> spotted intervals (a video may be absent: no predictions).
        threshold: the IoU a TP needs (MEGC: 0.5).
        mode: "megc" (default), or "softnet" / "megc2020" / "strs" to reproduce those evaluators.
        types: the types scored ("micro", "macro", or one alone); "overall" sums them.
        subject_of: video key -> subject, used only by mode "strs" (which scores the subjects with predictions
            of the scored ``types``).

    Raises:
        DataError: predictions for a video that is not in ``truth``.
        ConfigError: an unknown mode or type, or a threshold outside (0, 1].
        TypeError: truth or predictions is not a mapping.
    """
    for name, videos in (("truth", truth), ("predictions", predictions)):
        if not isinstance(videos, Mapping):  # a list's items would be taken for video keys
            raise TypeError(f"evaluate_spotting's {name} is a mapping video -> list of Intervals, e.g. "
                            f"{{'s15_0101': [Interval(...)]}}; got a {type(videos).__name__}.")
    types = (types,) if isinstance(types, str) else tuple(dict.fromkeys(types))  # a type twice counted twice
    verify_choice("evaluation mode", mode, MODES)
    for t in types:
        verify_choice("interval type", t, TYPES)
    if not 0 < threshold <= 1:
        raise ConfigError(f"IoU threshold {threshold} must be in (0, 1].")
    unknown = [k for k in predictions if k not in truth]
    if unknown and mode != "strs":  # STRS-Metric scores only the videos of its ground-truth file
        shown = ", ".join(map(repr, unknown[:8])) + (" ..." if len(unknown) > 8 else "")
        raise DataError(f"Predictions for {len(unknown)} video(s) not in the ground truth: {shown}. Check the video "
                        "ids (the ground truth must list every video, those without expressions too).")
    scored_subjects = ({subject_of(k) for k, v in predictions.items() if any(q.type in types for q in v)}
                       if mode == "strs" else None)  # STRS-Metric's subjects: those of its prediction CSV (MEs)
    totals = {t: Counts() for t in types}
    predicted = dict.fromkeys(types, 0)  # megc2020's pooled FP = predictions - TP
    pairs: list[Pair] = []
    per_video: dict[Hashable, dict[str, Counts]] = {}
    unscored = sum(q.type in types for k in unknown for q in predictions[k])
    for key, gt in truth.items():
        pred = predictions.get(key, ())
        if scored_subjects is not None and subject_of(key) not in scored_subjects:
            continue  # (such a subject has no predictions)
        video_counts = {}
        for t in types:
            gt_t = [g for g in gt if g.type == t]
            if mode in ("softnet", "strs") and not gt_t:
                unscored += sum(q.type == t for q in pred)  # SoftNet and STRS score only the videos with this type
                continue
            pred_t = [q for q in pred if q.type == t]
            predicted[t] += len(pred_t)
            p, c = match_video(gt_t, pred_t, video=key, type=t, threshold=threshold, mode=mode)
            pairs += p
            video_counts[t] = c
            totals[t] = totals[t] + c
        if video_counts:
            per_video[key] = video_counts
    if mode == "megc2020":  # MDMD's pooled FP = predictions - TP, never below 0
        totals = {t: Counts(c.tp, max(0, predicted[t] - c.tp), c.fn) for t, c in totals.items()}
    counts = dict(totals)
    counts["overall"] = sum(totals.values(), Counts())
    return SpottingResult(counts, pairs, per_video, mode, threshold, len(per_video), unscored)


def _raise_if_unlabelled(tps: Sequence[Pair]) -> None:
    missing = [p for p in tps if p.truth.label is None]
    if missing:
        raise DataError(f"{len(missing)} matched ground-truth interval(s) have no emotion label (first: video "
                        f"{missing[0].video!r} {missing[0].truth.onset}..{missing[0].truth.offset}); recognition "
                        "needs labelled ground truth, or give the evaluated classes (those pairs are then left out).")


def evaluate_analysis(pairs: Iterable[Pair], classes: Sequence[str] | None = None, *,
                      mode: str = "megc") -> AnalysisResult:
    """Per-class one-vs-rest scores of the predicted labels on the TP pairs whose truth label is in ``classes``.

    ``classes`` defaults to the truth labels that occur in the TP pairs (sorted). A class that no pair
    has as truth or prediction has no defined precision or recall and is left out of the means
    (listed in ``left_out``), as MEAN's evaluator does. With ``mode="strs"``, as STRS-Metric: the default
    classes are the truth labels of every pair (its ground truth's emotions), and a class whose one-vs-rest
    table collapses to one cell (no pair has it, or every pair has it as truth and prediction) counts
    in the means with P = R = 0 (listed in ``zeroed``). A TP whose prediction has no label (spotted but not
    classified: its onset is its apex) is a wrong class: a false negative of its truth's class.

    A TP whose truth has no emotion label is left out when ``classes`` is given (counted in
    ``unlabelled_truth``); without ``classes`` it raises ``DataError``.
    """
    pairs = list(pairs)
    tps = [p for p in pairs if p.outcome == "TP"]
    verify_choice("evaluation mode", mode, MODES)
    if classes is None:
        _raise_if_unlabelled(tps)
        labelled = [p for p in pairs if p.truth is not None] if mode == "strs" else tps
        classes = sorted({p.truth.label for p in labelled if p.truth.label is not None})
    classes = tuple(classes)
    used = [(p.truth.label, p.prediction.label) for p in tps if p.truth.label in classes]
    per_class: dict[str, ClassScores] = {}
    left_out, zeroed = [], []
    for c in classes:
        tp = sum(g == c and q == c for g, q in used)
        fp = sum(g != c and q == c for g, q in used)
        fn = sum(g == c and q != c for g, q in used)
        if mode == "strs" and (tp + fp + fn == 0 or tp == len(used)):
            zeroed.append(c)  # STRS-Metric: a 1x1 confusion matrix gives P = R = 0
        elif tp + fp + fn == 0:
            left_out.append(c)
            continue
        per_class[c] = ClassScores(tp, fp, fn)

    def mean(ratio: str) -> float:
        return _ratio(sum(0.0 if c in zeroed else getattr(s, ratio) for c, s in per_class.items()), len(per_class))

    precision, recall = mean("precision"), mean("recall")
    in_truth = [s for s in per_class.values() if s.tp + s.fn]  # UAR: a class only predicted has no recall
    return AnalysisResult(
        classes=classes, per_class=per_class, n_pairs=len(used),
        accuracy=_ratio(sum(g == q for g, q in used), len(used)),
        precision=precision, recall=recall, f1=_ratio(2 * precision * recall, precision + recall),
        uf1=mean("f1"), uar=_ratio(sum(s.recall for s in in_truth), len(in_truth)),
        left_out=tuple(left_out), zeroed=tuple(zeroed), unlabelled_truth=sum(p.truth.label is None for p in tps))


def evaluate_str(
    truth: Videos,
    predictions: Videos,
    *,
    classes: Sequence[str] | None = None,
    threshold: float = IOU_THRESHOLD,
    mode: str = "megc",
    subject_of: Callable[[Hashable], str] = subject_of_key,
) -> StrResult:
    """MEGC2024-2025 STR: spotting F1 on micro-expressions only, analysis F1 on its TPs, and their product.

    ``classes``: the evaluated emotion classes, e.g. ("negative", "positive", "surprise") as MEAN;
    default: every truth label among the TPs (mode "strs": every micro-expression label of ``truth``).
    Pairs whose truth label is not a class (None included) are left out, counted in
    ``analysis.unlabelled_truth`` when the label is None; without ``classes`` such a pair raises ``DataError``.
    """
    spotting = evaluate_spotting(truth, predictions, threshold=threshold, mode=mode, types=("micro",),
                                 subject_of=subject_of)
    if classes is None and mode == "strs":  # STRS-Metric: every emotion of its ground truth
        _raise_if_unlabelled([p for p in spotting.pairs if p.outcome == "TP"])
        classes = sorted({g.label for gt in truth.values() for g in gt if g.type == "micro" and g.label is not None})
    return StrResult(spotting, evaluate_analysis(spotting.pairs, classes, mode=mode))
