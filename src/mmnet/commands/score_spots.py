"""Score a file of spotted intervals against the ground truth with the MEGC rule or a published evaluator.

PREDICTIONS is a spotting CSV, vid,onset,offset,type (type me/mae or micro/macro; video is read as vid; an
optional score column, or confidence, conf, prob, probability, orders the matching: without one, the
predictions are matched in onset order, with a note), as `train-spotter --loso`, `demo --spotting` and
`mmnet train` write it (`mmnet spot --out` writes one per recording, spotting.csv: several files are
pooled), or an STR CSV, subject,video,onset,offset,emotion (micro-expressions; MEGC2024-2025; with a type
column, each row's type: macro rows are scored as macro, never in the STR analysis). The ground truth is
TRUTH, a file of either layout, or the dataset's own annotation with --dataset and --root, which lists
every video and the types the annotation covers. A truth CSV lists the videos it scores: a row with the
video and onset, offset, type (and emotion) empty lists a video without any expression, so that the
predictions there count as false positives; a prediction in a video the truth does not list is an error
(in --mode strs it is left unscored, as STRS-Metric does). Frame numbers are MEGC's, the datasets' frame
files counted from 1: `mmnet spot` writes a video's frame i (counted from 0) as i + 1 in spotting.csv, so
a truth for a video file numbers its frames from 1 too. A truth CSV:
  vid,onset,offset,type
  15_0101,557,584,me
  15_0102,,,

Either side may also be `mmnet spot --out`'s intervals.csv or the web page's CSV download (their
frame_numbering column says what their frames count: video_from_0, a video's frame i from 0, is MEGC's
i + 1; no_face and note rows are left out), or a coder's file holding times: an ELAN tab-delimited text
export, an ELAN .eaf, a BORIS aggregated-events export. --fps RATE (or --recording VIDEO, its rate)
converts their times (a begin time is the frame shown then; an end time ends after the last frame shown
before it; numbered from 1 as spotting.csv), --tier-type ME=micro,MaE=macro gives the type of each tier
or behaviour (default: tiers or values named micro/macro, me/mae), --video-id names the video,
--show-frames prints each one's frames.

An STR CSV names a video by subject and video (CAS(ME)^3's task letters repeat across subjects): with
STR CSVs on both sides a video is subject/video; against a file that names videos alone, an STR CSV
whose video names repeat across subjects is refused.

--mode chooses the matching (docs/spotting.md, "Other evaluators"): megc (default; IoU >= 0.5,
one-to-one, counts pooled), softnet (SoftNet, MEAN, Boost), megc2020 (the MEGC2020 baseline MDMD),
strs (STRS-Metric, MEGC2024-2025: micro-expressions only). --types micro or macro scores one type
(default: both, as far as the truth covers them; a note says when the truth holds no interval of a type the
predictions hold, as each is then a false positive). Prints a table per type (TP, FP, FN, precision,
recall, F1; STR predictions: the micro row only), with --per-video the counts of each video, or JSON
with --json; writes nothing but --log FILE, the matched pairs as a MEGC2020 log. With
STR CSVs as truth and predictions, or STR predictions against a --dataset whose micro-expressions carry
emotions (grouped as its default scheme's classes), it adds the STR analysis (recognition on the true
positives: accuracy, UF1, UAR, analysis F1) and STRS = micro spotting F1 x analysis F1; --classes picks
its classes (MEAN and BoostingVRME: negative,positive,surprise). Truth rows without an emotion count for spotting;
with --classes they are left out of the analysis (a note and the table say how many), without it there is no
analysis (the classes would be guessed from missing labels). Emotions are read in any letter case;
with --mode strs a warning under the table names the truth's emotions that the predictions write in another case,
as STRS-Metric compares them exactly. A note lists the truth's videos without any prediction row. A warning
says when scores are in-sample: the spot.json beside a `mmnet spot --out` file records the videos its spotter
was trained on and its recogniser's training subjects (docs/spotting.md).

Examples:
  mmnet score-spots truth.csv spots.csv
  mmnet score-spots truth.csv spots.csv --mode softnet --json
  mmnet score-spots --dataset casme-sq --root /data/CASME_sq spotter.pt.loso.spotting.csv
  mmnet score-spots str_truth.csv str_predictions.csv --mode strs --classes negative,positive,surprise
  mmnet score-spots truth.csv spots/*/spotting.csv          (one `mmnet spot --out spots/NAME` per recording)
  mmnet score-spots truth.csv spots.csv --types micro --per-video --log spots.log
  mmnet score-spots coded.txt spots/15_0101/intervals.csv --fps 30 --tier-type ME=micro,MaE=macro --show-frames
  mmnet score-spots coded.eaf spotting.csv --fps 30000/1001      (ELAN .eaf; video id from its media file)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..choices import LONG_VIDEO_DATASETS, SPOT_SCORE_MODES
from ..typed_separators import ascii_separators
from .score_spots_hints import shown
from .score_spots_read import ReadOptions, add_read_arguments, is_coder_file, read_intervals

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
    p.add_argument("--types", choices=("micro", "macro", "both"), default="both",
                   help="the expression types scored (default: both, those the truth covers; an STR CSV without a "
                        "type column covers micro-expressions only)")
    p.add_argument("--json", action="store_true", help="print the scores as JSON instead of a table")
    p.add_argument("--per-video", action="store_true", help="add the counts of each video and type (JSON: per_video)")
    p.add_argument("--log", type=Path, default=None, metavar="FILE",
                   help="write the matched pairs as a MEGC2020 log (dataset line: --dataset's MEGC number, 0 with a "
                        "truth CSV)")
    add_read_arguments(p, dataset=True)


def _classes(text: str) -> tuple[str, ...]:
    """--classes: comma-separated names (the full-width '，' too), lower-cased as the files' emotions are read."""
    names = tuple(c.strip().lower() for c in ascii_separators(text, ",").split(","))
    if not all(names) or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"{text!r}: give distinct class names separated by commas, e.g. "
                                         "negative,positive,surprise")
    return names


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


def _analysable(path: Path, truth: dict, classes) -> bool:
    """Whether the STR analysis can run on ``truth``, with a note when some of its intervals have no emotion: with
    --classes they still count for spotting and are left out of the recognition (MEGC STR analyses only the pairs
    whose truth emotion is a class); without, the classes would be guessed from missing labels, so no analysis."""
    unlabelled = sum(i.label is None for items in truth.values() for i in items if i.type == "micro")
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
    missing = [shown(k) for k in truth if k not in predictions]
    if missing:
        listed = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        print(f"note: {len(missing)} of {len(truth)} annotated videos have no prediction rows (nothing spotted, or "
              f"not run): {listed}", file=sys.stderr)


def _note_others(truth: dict) -> None:
    """The truth's emotions as classes hold 'others': MEAN and BoostingVRME leave it out, so say how to do the same."""
    if any(i.label == "others" for items in truth.values() for i in items if i.type == "micro"):
        print("note: the truth's emotions include 'others', scored as a class (every emotion of the truth is one); "
              "MEAN and BoostingVRME score negative, positive, surprise: give --classes negative,positive,surprise "
              "to compare with them", file=sys.stderr)


def _types(args, truth_types, read) -> tuple[str, ...]:
    """The types scored: those the truth covers and the predictions can hold, as --types narrows them (STRS-Metric:
    micro-expressions only)."""
    from ..errors import ConfigError
    from ..spotting.intervals import TYPES

    held = {t for _, _, _, file_types, _ in read for t in file_types}  # an STR CSV without type column: micro
    wanted = TYPES if args.types == "both" else (args.types,)
    types = tuple(t for t in wanted if t in truth_types and t in held and (args.mode != "strs" or t == "micro"))
    if not types:
        why = ("--mode strs scores micro-expressions only" if args.mode == "strs" else
               f"the truth covers {', '.join(truth_types)}, the predictions hold {', '.join(sorted(held))} (an STR "
               "CSV without a type column holds micro-expressions only)")
        raise ConfigError(f"--types {args.types}: nothing to score: {why}.")
    return types


def _note_types(truth: dict, predictions: dict, types, args, truth_name: str, truth_is_str: bool) -> None:
    """For a truth CSV: a note per scored type that the truth holds no interval of while the predictions do (each is
    then an FP, in "overall" too), and per type the predictions hold that is not scored."""
    from ..spotting.intervals import TYPES

    for t in TYPES:
        predicted = sum(i.type == t for items in predictions.values() for i in items)
        if not predicted:
            continue
        other = "micro" if t == "macro" else "macro"
        if t not in types:
            why = (f"--types {args.types}" if args.types not in ("both", t) else
                   "--mode strs scores micro-expressions only" if args.mode == "strs" else
                   f"{truth_name} covers {', '.join(types)} only" + (
                       ": an STR CSV without a type column holds micro-expressions" if truth_is_str else ""))
            print(f"note: {predicted} {t} prediction(s) not scored ({why})", file=sys.stderr)
        elif not any(i.type == t for items in truth.values() for i in items):
            print(f"note: {truth_name} holds no {t}-expression interval: the {predicted} {t} prediction(s) are all "
                  f"false positives (in '{t}' and 'overall'); give --types {other} to score "
                  f"{other}-expressions only", file=sys.stderr)


def _note_match_order(args, read) -> None:
    """Without a score column the one-to-one matching (megc, softnet) takes the predictions in onset order."""
    from ..spotting.megc_csv import SCORE_COLUMNS

    unscored = [f"'{path}'" for path, _, _, _, scored in read if not scored]
    if unscored and args.mode in ("megc", "softnet"):
        print(f"note: no score column ({', '.join(SCORE_COLUMNS)}) in {', '.join(unscored[:3])}"
              f"{', ...' if len(unscored) > 3 else ''}: predictions matched in onset order", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError, DataError, UsageError
    from ..spotting.megc import evaluate_spotting, evaluate_str, subject_of_key
    from .score_spots_hints import (
        dataset_ids_hint,
        first_row,
        match_file_names,
        other_subjects_hint,
        synth_truth_hint,
        truth_csv_hint,
    )
    from .score_spots_print import report, write_log
    from .score_spots_str import case_warnings, dataset_str_truth

    if not 0 < args.iou <= 1:  # before any file is read, as agree says it
        raise ConfigError(f"--iou {args.iou:g} must be in (0, 1].")
    from_dataset = args.dataset is not None or args.root is not None
    if from_dataset and (args.dataset is None or args.root is None):
        raise ConfigError("--dataset and --root go together: the dataset's annotation is the ground truth.")
    if len(args.files) < (1 if from_dataset else 2):
        raise UsageError("give TRUTH PREDICTIONS..., or PREDICTIONS... alone with --dataset and --root.")
    if args.annotation is not None and not from_dataset:
        raise ConfigError("--annotation goes with --dataset and --root.")
    prediction_files = args.files if from_dataset else args.files[1:]
    options = ReadOptions.of(args)
    texts: dict[Path, str] = {}  # each file's text, read once for every reader, warning and hint below
    read = [(path, *read_intervals(path, options, texts=texts)) for path in prediction_files]
    truth, truth_is_str, truth_types, _ = ({}, False, (), False) if from_dataset else read_intervals(
        args.files[0], options, texts=texts)
    # STR CSVs on both sides keep (subject, video) as the key: CAS(ME)^3 names videos "a", "b" for every subject
    str_predictions = all(is_str for _, _, is_str, _, _ in read)
    by_subject = truth_is_str and str_predictions
    plain = ["the dataset's annotation"] if from_dataset else [
        f"'{path}'" for path, is_str in [(args.files[0], truth_is_str)] + [(p, s) for p, _, s, _, _ in read]
        if not is_str]
    predictions, subjects, file_of = {}, {}, {}
    for path, intervals, is_str, _, _ in read:  # several: `mmnet spot --out` writes one spotting.csv per recording
        if is_str and not by_subject:
            intervals, named = _by_video(path, intervals, plain[0])
            subjects.update(named)
        for key in intervals:
            if key in file_of:
                raise DataError(f"video {shown(key)!r} is in both '{file_of[key]}' and '{path}': give each video's "
                                "predictions once (`mmnet spot --video-id` names a recording).")
            file_of[key] = path
        predictions.update(intervals)
    if from_dataset:
        from ..data import load_dataset
        from ..data.table_long import fps_option

        # --fps converts coders' times; with table-long it is also the rate of recordings whose rows give none
        given = args.fps is not None and args.dataset == "table-long"
        rate = fps_option(args.dataset, float(args.fps)) if given else {}
        if (hint := synth_truth_hint(args.dataset, args.root, prediction_files)) is not None:
            raise ConfigError(hint)
        load = load_dataset(args.dataset, str(args.root), annotation=args.annotation, **rate)
        load.raise_if_errors()
        truth, truth_types = load.truth(), tuple(load.types)
        subjects.update({v.video: v.subject for v in load.videos})
        match_file_names(predictions, file_of, truth)
    elif truth_is_str and not by_subject:
        truth, named = _by_video(args.files[0], truth, plain[0])
        subjects.update(named)
    types = _types(args, truth_types, read)
    unknown = [v for v in predictions if v not in truth]
    if unknown and args.mode != "strs":
        where = "the dataset's annotation" if from_dataset else f"'{args.files[0]}'"
        hint = dataset_ids_hint(unknown[0], truth) if from_dataset else (
            other_subjects_hint(unknown, truth) or truth_csv_hint(unknown[0], truth, truth_is_str))
        path = file_of[unknown[0]]
        row = first_row(path, unknown[0], texts[path])  # 0: a file without a vid or video column (ELAN, BORIS, ...)
        named = " Give `score-spots --video-id ID` to name the video of an ELAN or BORIS file (or the web page's " \
            "CSV) as the other file does." if not row or any(is_coder_file(f, texts) for f in args.files) else ""
        raise DataError(f"'{path}'{f' row {row}' if row else ''}: video {shown(unknown[0])!r} "
                        f"is not in {where} ({len(unknown)} such video(s)).{named}{hint}")
    if unknown and (said := other_subjects_hint(unknown, truth)):  # strs mode: scored, but likely a misnaming
        from .score_spots_hints import zeros_dropped  # then nothing at all is scored

        zeros = zeros_dropped(predictions, truth)
        print(f"warning:{said}{zeros}" if zeros else f"note:{said}", file=sys.stderr)
    _note_unpredicted(truth, predictions)
    _note_types(truth, predictions, types, args, "the dataset's annotation" if from_dataset else
                f"'{args.files[0]}'", truth_is_str)
    _note_match_order(args, read)
    scoring = dict(threshold=args.iou, mode=args.mode, subject_of=lambda v: subjects.get(v) or subject_of_key(v))
    classes, str_truth = args.classes, None
    micro = "micro" in types  # the STR analysis is of micro-expressions
    if micro and by_subject and _analysable(args.files[0], truth, classes):
        str_truth = truth
        if classes is None:
            _note_others(truth)
    elif micro and from_dataset and str_predictions:  # the dataset's emotions, grouped into its STR scheme's classes
        str_truth, classes = dataset_str_truth(args.dataset, truth, classes)
    elif classes is not None:
        print("note: --classes is not used: the STR analysis needs emotions on both sides (STR CSVs, or STR "
              "predictions against --dataset)", file=sys.stderr)
    macro = sum(i.type == "macro" for items in (str_truth or {}).values() for i in items)
    if macro and "macro" in types:  # a type column in the STR CSVs: their macro rows are spotted, not recognised
        print(f"note: the STR analysis and STRS are of micro-expressions: the truth's {macro} macro-expression(s) "
              "count in the macro and overall rows only", file=sys.stderr)
    str_result = evaluate_str(str_truth, predictions, classes=classes, **scoring) if str_truth is not None else None
    # the STR analysis scores micro-expressions; STR CSVs with a type column may hold macro ones to count as well
    result = str_result.spotting if str_result is not None and types == ("micro",) else evaluate_spotting(
        truth, predictions, types=types, **scoring)
    rows = result.table()
    if str_predictions and types == ("micro",):  # micro-expressions only: "overall" would repeat the micro row
        rows = [r for r in rows if r["type"] == "micro"]
    warnings = case_warnings(args.files[0], prediction_files, texts) if args.mode == "strs" and by_subject else []
    from ..spotting.in_sample import in_sample_warnings  # the spot.json beside a file: its models' training data

    in_sample, notes = in_sample_warnings(file_of, dataset=args.dataset, subject_of=scoring["subject_of"],
                                          classes=str_result is not None)
    warnings += in_sample
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if args.log is not None:
        write_log(args.log, result, args.dataset)
    report(result, rows, str_result, warnings, as_json=args.json, per_video=args.per_video, args=args)
    return 0
