"""Leave-one-subject-out evaluation of a spotter on a long-video dataset, MEGC-scored.

``loso_spotting(load, config, seed=0)``: for every subject, a spotter of ``config.method`` is
fitted on the other subjects' videos (nothing to fit for a ``fold_independent`` spotter, as the flow
one) and spots the held-out subject's; the predictions of all folds are pooled and scored with the MEGC rule
(``megc.evaluate_spotting``: IoU >= 0.5, one-to-one, counts summed over videos), beside the demo's
evenly-spaced baseline (``demo.baseline_intervals``: per video and type as many intervals as the
spotter gave, of the mean annotated length, evenly spaced). The learned spotter reads each video
once for its training pairs (kept for every fold) and once more when it is the held-out one.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .. import run_log
from ..errors import DataError
from .config import SpotConfig
from .intervals import TYPES, Interval
from .learned import LearnedSpotter, check_learned_folds
from .spotters import make_spotter

if TYPE_CHECKING:
    from ..data.long_video import LongVideoLoad
    from .loso_records import FoldRecords

__all__ = ["loso_spotting"]


def _counts(result) -> dict[str, dict]:
    return {row["type"]: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items() if k != "type"}
            for row in result.table()}


def loso_spotting(load: LongVideoLoad, config: SpotConfig, *, seed: int = 0, device: str = "cpu",
                  progress: bool = False, records: FoldRecords | None = None) -> dict:
    """LOSO over ``load``'s subjects with the spotter ``config.method`` names; MEGC metrics pooled.

    Returns:
        {"method", "subjects", "videos", "counts": {micro/macro/overall: tp, fp, fn, precision, recall,
        f1}, "baseline": the same for the evenly-spaced baseline, "folds": [{subject, videos, fit
        stats}], "predictions": {video id: [Interval]}, "notes": {video id: [what its spotting could not vouch
        for, e.g. a video that decoded short of its declared frame count]}, "evaluation": the ``SpottingResult``,
        "time_s": {"features", "fit", "spot", "total"}}.

    ``records`` (``loso_records.FoldRecords``): each finished fold is written there, and a fold it
    already holds (same settings) is taken from it instead of being computed again; the result is
    the same as without it.

    Raises:
        ConfigError: two subjects whose fold records would share a file (``FoldRecords.check_names``).
        DataError: fewer than two subjects, or (learned) a fold whose training subjects hold no
            interval of a type the dataset annotates (``load.types``: the learned spotter is trained for those
            alone, so a dataset of micro-expressions trains and scores a micro-only spotter).
    """
    from .demo import baseline_intervals, frame_span
    from .megc import evaluate_spotting

    start = time.perf_counter()
    videos = list(load.videos)
    subjects = sorted({v.subject for v in videos})
    if len(subjects) < 2:
        raise DataError(f"LOSO needs at least two subjects; the dataset has {len(subjects)} "
                        f"({', '.join(subjects) or 'none'}).")
    if records is not None:  # before any fold: 's01' and 'S01' would share a record on macOS and Windows
        records.check_names(subjects)
    first = make_spotter(config, seed=seed, device=device)
    learned = isinstance(first, LearnedSpotter)
    types = tuple(getattr(load, "types", TYPES))  # only the types the annotation covers are trained and scored
    reused = {s: r for s in subjects if records is not None and (r := records.get(s)) is not None}
    # the features the folds still to compute train on (none when every fold is reused)
    needed = {v.video for s in subjects if s not in reused for v in videos if v.subject != s}
    collected = {}
    if learned:  # a fold that cannot be trained is said before any video is read
        check_learned_folds(videos, {v.video: v.subject for v in videos},
                            folds=[s for s in subjects if s not in reused], types=types)
        for v in videos:
            if v.intervals and v.video in needed:  # a video without intervals would add only negatives
                collected[v.video] = first.collect(v, types=types, progress=progress)
    features_s = time.perf_counter() - start
    predictions: dict[str, list[Interval]] = {}
    notes: dict[str, list[str]] = {}
    folds = []
    fit_s = spot_s = 0.0
    for subject in subjects:
        if subject in reused:
            record = reused[subject]
            predictions.update(record["predictions"])
            notes.update(record.get("notes", {}))
            folds.append({"subject": subject, "videos": record["videos"], "fit": record["fit"]})
            continue
        run_log.fold_clock(f"LOSO fold {subject}", None, 0, None)  # train-spotter's status.json
        train = [v for v in videos if v.subject != subject]
        spotter = first if not folds else make_spotter(config, seed=seed, device=device)
        spotter._aligner = first._aligner  # one landmark model for every fold
        fit_start = time.perf_counter()
        stats = {}
        if learned:
            stats = spotter.fit_collected([collected[v.video] for v in train if v.video in collected], types=types)
        elif not getattr(spotter, "fold_independent", False):  # a spotter of one's own that learns
            stats = spotter.fit(train, types=types, progress=progress) or {}
        spot_start = time.perf_counter()
        held_out = [v for v in videos if v.subject == subject]
        for v in held_out:
            result = spotter.spot(v, progress=progress)
            predictions[v.video] = result.intervals
            if getattr(result, "notes", None):
                notes[v.video] = list(result.notes)
        # one measurement of the fold's fit and spot, for the totals and for its record
        fold_fit_s, fold_spot_s = spot_start - fit_start, time.perf_counter() - spot_start
        fit_s += fold_fit_s
        spot_s += fold_spot_s
        folds.append({"subject": subject, "videos": [v.video for v in held_out], "fit": stats})
        if records is not None:
            records.put(folds[-1], {v.video: predictions[v.video] for v in held_out},
                        {"fit": round(fold_fit_s, 1), "spot": round(fold_spot_s, 1)},
                        {v.video: notes[v.video] for v in held_out if v.video in notes})
        run_log.fold_ended()
    truth = load.truth()
    evaluation = evaluate_spotting(truth, predictions, types=types)
    lengths = {}
    for t in TYPES:
        annotated = [i.length for v in videos for i in v.of_type(t)]
        lengths[t] = round(sum(annotated) / len(annotated)) if annotated else 2 * getattr(config, t).k
    baseline = {v.video: baseline_intervals(*frame_span(v), {t: sum(i.type == t for i in predictions[v.video])
                                                         for t in TYPES}, lengths) for v in videos}
    return {
        "method": config.method, "subjects": len(subjects), "videos": len(videos),
        "types": list(types), "counts": _counts(evaluation),
        "baseline": _counts(evaluate_spotting(truth, baseline, types=types)),
        "folds": folds, "predictions": predictions, "notes": notes, "evaluation": evaluation,
        "time_s": {"features": round(features_s, 1), "fit": round(fit_s, 1), "spot": round(spot_s, 1),
                   "total": round(time.perf_counter() - start, 1)},
    }
