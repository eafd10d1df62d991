"""Score a file of spotted intervals against the ground truth with the MEGC rule or a published evaluator.

PREDICTIONS is a spotting CSV, vid,onset,offset,type (type me/mae or micro/macro; an optional score
column orders the matching), as `train-spotter --loso`, `demo --spotting` and `mmnet train` write
it (`mmnet spot --out` writes one per recording, spotting.csv: several files are pooled), or an
STR CSV, subject,video,onset,offset,emotion (micro-expressions; MEGC2024-2025). The
ground truth is TRUTH, a file of either layout, or the dataset's own annotation with --dataset and
--root, which also lists the videos without expressions and the types the annotation covers. A
truth CSV lists only videos with an expression: a prediction in a video it lacks is an error (in
--mode strs it is left unscored, as STRS-Metric does); take the truth from --dataset then.

An STR CSV names a video by subject and video (CAS(ME)^3's task letters repeat across subjects): with
STR CSVs on both sides a video is subject/video; against a file that names videos alone, an STR CSV
whose video names repeat across subjects is refused.

--mode chooses the matching (docs/spotting.md, "Other evaluators"): megc (default; IoU >= 0.5,
one-to-one, counts pooled), softnet (SoftNet, MEAN, Boost), megc2020 (the MEGC2020 baseline MDMD),
strs (STRS-Metric, MEGC2024-2025: micro-expressions only). Prints a table per type (TP, FP, FN,
precision, recall, F1; STR predictions: the micro row only), or JSON with --json; writes nothing. With
STR CSVs as truth and predictions, or STR predictions against a --dataset whose micro-expressions carry
emotions (grouped as its default scheme's classes), it adds the STR analysis (recognition on the true
positives: accuracy, UF1, UAR, analysis F1) and STRS = micro spotting F1 x analysis F1; --classes picks
its classes (MEAN and BoostingVRME: negative,positive,surprise). Truth rows without an emotion count for spotting;
with --classes they are left out of the analysis (a note and the table say how many), without it there is no
analysis (the classes would be guessed from missing labels). Emotions are read in any letter case;
with --mode strs a WARNING names the truth's emotions that the predictions write in another case, as
STRS-Metric compares them exactly. A note lists the truth's videos without any prediction row.

Examples:
  mmnet score-spots truth.csv spots.csv
  mmnet score-spots truth.csv spots.csv --mode softnet --json
  mmnet score-spots --dataset casme-sq --root /data/CASME_sq spotter.pt.loso.spotting.csv
  mmnet score-spots str_truth.csv str_predictions.csv --mode strs --classes negative,positive,surprise
  mmnet score-spots truth.csv spots/*/spotting.csv          (one `mmnet spot --out spots/NAME` per recording)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..choices import LONG_VIDEO_DATASETS, SPOT_SCORE_MODES

INTERRUPTED = "nothing was written"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", type=Path, nargs="+", metavar="FILE",
                   help="TRUTH PREDICTIONS..., or PREDICTIONS... alone with --dataset and --root (several "
                        "prediction files are pooled: one spotting.csv per recording from `mmnet spot --out`)")
    p.add_argument("--dataset", choices=LONG_VIDEO_DATASETS, default=None,
                   help="take the ground truth from this dataset's annotation (with --root) instead of TRUTH")
    p.add_argument("--root", type=Path, default=None, metavar="DIR", help="the dataset's folder (with --dataset)")
    p.add_argument("--annotation", type=Path, default=None, metavar="FILE",
                   help="the annotation file, when not under its usual name in --root")
    p.add_argument("--mode", choices=SPOT_SCORE_MODES, default="megc",
                   help="the evaluator to reproduce (default: megc)")
    p.add_argument("--iou", type=float, default=0.5, help="the IoU a true positive needs (default 0.5, MEGC's)")
    p.add_argument("--classes", type=_classes, default=None, metavar="C1,C2,...",
                   help="the emotion classes of the STR analysis, e.g. negative,positive,surprise (MEAN's and "
                        "BoostingVRME's; default: every emotion of the truth, or with --dataset its scheme's classes)")
    p.add_argument("--json", action="store_true", help="print the scores as JSON instead of a table")


def _classes(text: str) -> tuple[str, ...]:
    """--classes: comma-separated names, lower-cased as the files' emotions are read."""
    names = tuple(c.strip().lower() for c in text.split(","))
    if not all(names) or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"{text!r}: give distinct class names separated by commas, e.g. "
                                         "negative,positive,surprise")
    return names


def _is_str_csv(path: Path) -> bool:
    """True for a subject,video,onset,offset,emotion file (the STR layout), False for any other."""
    from ..spotting.megc_files import STR_COLUMNS, csv_reader

    return set(STR_COLUMNS) <= {h.strip().lower() for h in csv_reader(path).fieldnames or []}


def read_intervals(path: Path) -> tuple[dict, bool]:
    """The intervals of either CSV layout, and whether it is an STR CSV: keyed (subject, video) if so, else video id."""
    from ..errors import DataError
    from ..spotting.megc_files import read_spotting_csv, read_str_csv

    if not path.is_file():
        raise DataError(f"'{path}' is not a file.")
    if not _is_str_csv(path):
        return read_spotting_csv(path), False
    return read_str_csv(path), True


def _by_video(path: Path, rows: dict, other: str) -> tuple[dict, dict[str, str]]:
    """An STR CSV's (subject, video) keys as video ids, to score against ``other``, which names videos alone;
    and video id -> subject. Refused when two subjects share a video name: their intervals would be pooled."""
    from ..errors import DataError

    subject_of: dict[str, str] = {}
    for subject, video in rows:
        if subject_of.setdefault(video, subject) != subject:
            raise DataError(f"'{path}' names video {video!r} for subjects {subject_of[video]!r} and {subject!r}, and "
                            f"{other} names videos without subjects, so they cannot be told apart: give the truth and "
                            "the predictions as STR CSVs (subject,video,onset,offset,emotion), or unique video ids.")
    return {video: items for (_, video), items in rows.items()}, subject_of


def _shown(key) -> str:
    """A video key as users read it: subject/video for an STR CSV's (subject, video)."""
    return ("/".join(key) if key[0] else key[1]) if isinstance(key, tuple) else key


def _other_subjects_hint(unknown, truth) -> str:
    """For STR predictions whose subjects the truth does not hold at all: a sentence saying so, else ""."""
    known = {key[0] for key in truth if isinstance(key, tuple)}
    strangers = sorted({key[0] for key in unknown if isinstance(key, tuple) and key[0] not in known})
    if not strangers or not known:
        return ""
    return (f" Subject(s) {', '.join(map(repr, strangers[:5]))} of the predictions are not in the truth at all (its "
            f"subjects: {', '.join(map(repr, sorted(known)[:5]))}{', ...' if len(known) > 5 else ''}): the two files "
            "may name the subjects differently (e.g. 's1' and 'spNO.1'); write them alike.")


def _first_row(path: Path, key) -> int:
    """The row (header = row 1) of ``path`` where the video ``key`` (an id, or (subject, video)) first appears."""
    from ..spotting.megc_files import csv_reader

    for n, raw in enumerate(csv_reader(path), start=2):
        row = {name.strip().lower(): value for name, value in raw.items() if name is not None}  # as read
        video = (row.get("vid") or row.get("video") or "").strip()
        if (((row.get("subject") or "").strip(), video) if isinstance(key, tuple) else video) == key:
            return n
    return 0


def _annotated_id(video: str, annotated) -> str | None:
    """The one annotated id that ``video`` begins with, followed by a non-digit: `mmnet spot` names a recording by its
    file, and CAS(ME)^2 names its files by the id and the stimulus (15_0101disgustingteeth is video 15_0101)."""
    found = [a for a in annotated if video.startswith(a) and len(video) > len(a) and not video[len(a)].isdigit()]
    return found[0] if len(found) == 1 else None


def _match_file_names(predictions: dict, file_of: dict, truth: dict) -> None:
    """Rename in place the predicted videos named after an annotated id (:func:`_annotated_id`), with a note."""
    from ..errors import DataError

    matched = {v: a for v in predictions if v not in truth and (a := _annotated_id(v, truth)) is not None}
    for video, annotated in matched.items():
        if annotated in predictions or list(matched.values()).count(annotated) > 1:
            raise DataError(f"'{file_of[video]}': video {video!r} is the dataset's {annotated!r} (its name begins with "
                            f"that id), which other predictions name too: give each video's predictions once.")
    for video, annotated in matched.items():
        predictions[annotated] = predictions.pop(video)
        file_of[annotated] = file_of.pop(video)
    if matched:
        shown = ", ".join(f"{v!r} as {a!r}" for v, a in list(matched.items())[:3])
        shown += ", ..." if len(matched) > 3 else ""
        print(f"note: {len(matched)} video(s) matched to the dataset's ids that their names begin with: {shown} "
              "(`mmnet spot --video-id ID` names a recording by its id)", file=sys.stderr)


def _dataset_ids_hint(video: str, truth: dict) -> str:
    """Some of the dataset's ids, and how `mmnet spot` gives a recording one of them."""
    from ..data.common import natural_key

    ids = sorted(truth, key=natural_key)
    near = [a for a in ids if video.startswith(a)] or ids  # several ids that the name begins with: those
    return (f" The dataset's ids are like {', '.join(near[:4])}{', ...' if len(near) > 4 else ''} ({len(ids)} in all): "
            f"name each recording by its id, e.g. `mmnet spot RECORDING --video-id {near[0]}`." if ids else "")


def _analysable(path: Path, truth: dict, classes) -> bool:
    """Whether the STR analysis can run on ``truth``, with a note when some of its intervals have no emotion: with
    --classes they still count for spotting and are left out of the recognition (MEGC STR analyses only the pairs
    whose truth emotion is a class); without, the classes would be guessed from missing labels, so no analysis."""
    unlabelled = sum(i.label is None for items in truth.values() for i in items)
    if unlabelled and classes is None:
        print(f"note: {unlabelled} ground-truth interval(s) in '{path}' have no emotion: no STR analysis (give "
              "--classes, e.g. negative,positive,surprise, to analyse the labelled ones)", file=sys.stderr)
        return False
    if unlabelled:
        print(f"note: {unlabelled} ground-truth interval(s) in '{path}' have no emotion: counted for spotting, left "
              "out of the STR analysis (its classes are --classes)", file=sys.stderr)
    return True


def _note_unpredicted(truth: dict, predictions: dict) -> None:
    """Name the annotated videos without a prediction row: a partial run lowers the recall without a word."""
    missing = [_shown(k) for k in truth if k not in predictions]
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        print(f"note: {len(missing)} of {len(truth)} annotated videos have no prediction rows (nothing spotted, or "
              f"not run): {shown}", file=sys.stderr)


def _note_others(truth: dict) -> None:
    """The truth's emotions as classes hold 'others': MEAN and BoostingVRME leave it out, so say how to do the same."""
    if any(i.label == "others" for items in truth.values() for i in items):
        print("note: the truth's emotions include 'others', scored as a class (every emotion of the truth is one); "
              "MEAN and BoostingVRME score negative, positive, surprise: give --classes negative,positive,surprise "
              "to compare with them", file=sys.stderr)


def _analysis(result) -> dict:
    """The STR analysis of an ``evaluate_str`` result, and STRS, for --json."""
    a = result.analysis
    return {"classes": list(a.classes), "pairs": a.n_pairs, "accuracy": a.accuracy, "precision": a.precision,
            "recall": a.recall, "f1": a.f1, "uf1": a.uf1, "uar": a.uar, "left_out": list(a.left_out),
            "zeroed": list(a.zeroed), "unlabelled_truth": a.unlabelled_truth, "strs": result.strs}


def _print_analysis(result) -> None:
    a = result.analysis
    print(f"STR analysis: {a.n_pairs} true positive(s) with truth in {', '.join(a.classes) or '-'}; accuracy "
          f"{a.accuracy:.3f}, UF1 {a.uf1:.3f}, UAR {a.uar:.3f}, P {a.precision:.3f}, R {a.recall:.3f} (class means), "
          f"analysis F1 {a.f1:.3f} (2PR/(P+R))")
    if a.zeroed:
        print(f"  counted as P = R = 0 (one-vs-rest table collapsed, as STRS-Metric): {', '.join(a.zeroed)}")
    if a.left_out:
        print(f"  left out (no pair): {', '.join(a.left_out)}")
    if a.unlabelled_truth:
        print(f"  left out: {a.unlabelled_truth} true positive(s) whose ground truth has no emotion (counted in the "
              "spotting scores)")
    print(f"STRS = micro spotting F1 {result.spotting.counts['micro'].f1:.3f} x analysis F1 {a.f1:.3f} "
          f"= {result.strs:.3f}")


def run(args: argparse.Namespace) -> int:
    import json

    from ..errors import ConfigError, DataError
    from ..spotting.intervals import TYPES
    from ..spotting.megc import evaluate_spotting, evaluate_str, subject_of_key
    from .score_spots_str import case_warnings, dataset_str_truth

    from_dataset = args.dataset is not None or args.root is not None
    if from_dataset and (args.dataset is None or args.root is None):
        raise ConfigError("--dataset and --root go together: the dataset's annotation is the ground truth.")
    if len(args.files) < (1 if from_dataset else 2):
        raise ConfigError("give TRUTH PREDICTIONS..., or PREDICTIONS... alone with --dataset and --root.")
    if args.annotation is not None and not from_dataset:
        raise ConfigError("--annotation goes with --dataset and --root.")
    prediction_files = args.files if from_dataset else args.files[1:]
    read = [(path, *read_intervals(path)) for path in prediction_files]
    truth, truth_is_str = ({}, False) if from_dataset else read_intervals(args.files[0])
    # STR CSVs on both sides keep (subject, video) as the key: CAS(ME)^3 names videos "a", "b" for every subject
    by_subject = truth_is_str and all(is_str for _, _, is_str in read)
    plain = ["the dataset's annotation"] if from_dataset else [
        f"'{path}'" for path, is_str in [(args.files[0], truth_is_str)] + [(p, s) for p, _, s in read] if not is_str]
    predictions, subjects, file_of = {}, {}, {}
    for path, intervals, is_str in read:  # several: `mmnet spot --out` writes one spotting.csv per recording
        if is_str and not by_subject:
            intervals, named = _by_video(path, intervals, plain[0])
            subjects.update(named)
        for key in intervals:
            if key in file_of:
                raise DataError(f"video {_shown(key)!r} is in both '{file_of[key]}' and '{path}': give each video's "
                                "predictions once (`mmnet spot --video-id` names a recording).")
            file_of[key] = path
        predictions.update(intervals)
    if from_dataset:
        from ..data import load_dataset

        load = load_dataset(args.dataset, str(args.root), annotation=args.annotation)
        load.raise_if_errors()
        truth, types = load.truth(), tuple(load.types)
        subjects.update({v.video: v.subject for v in load.videos})
        _match_file_names(predictions, file_of, truth)
    else:
        if truth_is_str and not by_subject:
            truth, named = _by_video(args.files[0], truth, plain[0])
            subjects.update(named)
        types = ("micro",) if truth_is_str else TYPES  # an STR file holds micro-expressions only
    str_predictions = all(is_str for _, _, is_str in read)
    if args.mode == "strs" or str_predictions:
        types = ("micro",)  # STRS-Metric scores micro-expressions only; an STR CSV holds nothing else
    unknown = [v for v in predictions if v not in truth]
    if unknown and args.mode != "strs":
        where = "the dataset's annotation" if from_dataset else f"'{args.files[0]}'"
        hint = _dataset_ids_hint(unknown[0], truth) if from_dataset else (_other_subjects_hint(unknown, truth) or (
            " A truth CSV lists only videos with an expression: take the ground truth from the dataset (--dataset, "
            "--root) to score videos without one."))
        path = file_of[unknown[0]]
        raise DataError(f"'{path}' row {_first_row(path, unknown[0])}: video {_shown(unknown[0])!r} "
                        f"is not in {where} ({len(unknown)} such video(s)).{hint}")
    if unknown and (said := _other_subjects_hint(unknown, truth)):  # strs mode: scored, but likely a misnaming
        print(f"note:{said}", file=sys.stderr)
    _note_unpredicted(truth, predictions)
    scoring = dict(threshold=args.iou, mode=args.mode, subject_of=lambda v: subjects.get(v) or subject_of_key(v))
    classes, str_truth = args.classes, None
    if by_subject and _analysable(args.files[0], truth, classes):
        str_truth = truth
        if classes is None:
            _note_others(truth)
    elif from_dataset and str_predictions:  # the dataset's emotions, grouped into its STR scheme's classes
        str_truth, classes = dataset_str_truth(args.dataset, truth, classes)
    elif classes is not None:
        print("note: --classes is not used: the STR analysis needs emotions on both sides (STR CSVs, or STR "
              "predictions against --dataset)", file=sys.stderr)
    str_result = evaluate_str(str_truth, predictions, classes=classes, **scoring) if str_truth is not None else None
    result = str_result.spotting if str_result is not None else evaluate_spotting(truth, predictions, types=types,
                                                                                  **scoring)
    rows = result.table()
    if str_predictions:  # micro-expressions only: "overall" would repeat the micro row
        rows = [r for r in rows if r["type"] == "micro"]
    warnings = case_warnings(args.files[0], prediction_files) if args.mode == "strs" and by_subject else []
    if args.json:
        print(json.dumps({"mode": result.mode, "iou": result.threshold, "videos_scored": result.videos_scored,
                          "unscored": result.unscored, "counts": rows}
                         | ({"analysis": _analysis(str_result)} if str_result is not None else {})
                         | ({"warnings": warnings} if warnings else {}), indent=2))
        return 0
    print(f"mode {result.mode}, IoU >= {result.threshold:g}: {result.videos_scored} video(s) scored"
          + (f", {result.unscored} prediction(s) not scored by this mode" if result.unscored else ""))
    print(f"{'type':8} {'TP':>5} {'FP':>5} {'FN':>5} {'P':>6} {'R':>6} {'F1':>6}")
    for r in rows:
        # A type neither file holds has nothing to score: "-", not a precision of 0 that reads as a failure.
        scored = r["tp"] + r["fp"] + r["fn"] > 0
        p, rec, f1 = (f"{r[k]:>6.3f}" if scored else f"{'-':>6}" for k in ("precision", "recall", "f1"))
        print(f"{r['type']:8} {r['tp']:>5} {r['fp']:>5} {r['fn']:>5} {p} {rec} {f1}")
    if str_result is not None:
        _print_analysis(str_result)
    for warning in warnings:
        print(f"WARNING: {warning}")
    return 0
