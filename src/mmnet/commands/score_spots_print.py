"""What `mmnet score-spots` prints (the table, or JSON) and writes (--log): counts per type, per video, STR analysis."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..display_width import display_width, pad
from .score_spots_hints import shown


def per_video_rows(result) -> list[dict]:
    """One row per scored video and type: video (subject/video for an STR key), type, TP, FP, FN."""
    return [{"video": shown(key), "type": t, "tp": c.tp, "fp": c.fp, "fn": c.fn}
            for key, by_type in result.per_video.items() for t, c in by_type.items()]


def write_log(path: Path, result, dataset: str | None) -> None:
    """The MEGC2020 log of the pairs (``megc_files``): the dataset line is --dataset's MEGC number, 0 without one."""
    from dataclasses import replace

    from ..spotting.megc_files import DATASET_NUMBERS, check_log_ids, log_id, write_megc2020_log

    number = DATASET_NUMBERS[dataset] if dataset is not None else 0
    videos = {shown(p.video) for p in result.pairs}
    check_log_ids(videos, "in the truth and prediction files, or score without --log")  # before anything is written
    # the log's columns are split at spaces: an STR key is written subject/video
    write_megc2020_log(path, [(number, [replace(p, video=shown(p.video)) for p in result.pairs])])
    spaced = sorted(v for v in videos if log_id(v) != v)
    print(f"wrote {path} (MEGC2020 log, dataset line {number}"
          + (": no dataset number for a truth CSV" if dataset is None else "") + ")", file=sys.stderr)
    if spaced:  # said, as the log's ids then differ from the files'
        print(f"note: the MEGC2020 log separates its columns by spaces: {len(spaced)} video id(s) with a space or a "
              f"tab are written there with '_' in place of each run of them ({', '.join(repr(v) for v in spaced[:3])}"
              f"{' ...' if len(spaced) > 3 else ''}), as MEGC2020's scorers read one column; rename them in the "
              "truth and prediction files for ids that are the same everywhere", file=sys.stderr)


#: the matching rule of each --mode, as mmnet.spotting.megc states it (docs/spotting.md has the whole of each)
RULES = {"megc": "MEGC2019-2025: per video and type, predictions in descending score each take the free ground truth "
                 "of highest IoU >= the threshold, one to one; counts pooled over videos",
         "softnet": "SoftNet/MEAN's evaluator: a prediction looks at its best-IoU ground truth only and is an FP if "
                    "that one is taken; only videos with a ground truth of the type are scored",
         "megc2020": "the MEGC2020 baseline (MDMD): intersection + 1 frames, TP = ground truths hit by any prediction, "
                     "FP = predictions - TP pooled",
         "strs": "STRS-Metric (MEGC2024-2025 STR): each prediction in input order claims every unclaimed ground truth "
                 "with IoU >= the threshold; only subjects with predictions scored"}


def provenance(args) -> dict:
    """--json's ``provenance``, as spot.json's: the mmnet that scored, the sha256 of the truth (or the dataset and
    annotation file it came from) and of each prediction file, the rule and options, and when (UTC)."""
    from datetime import datetime, timezone

    from ..run_folder import file_sha256
    from ..version import __version__, code_digest, git_revision

    def named(path) -> dict:
        try:
            return {"file": str(path), "sha256": file_sha256(Path(path))}
        except OSError as exc:  # read a moment ago: moved or removed since
            return {"file": str(path), "error": f"{type(exc).__name__}: {exc}"}

    from_dataset = args.dataset is not None
    truth = {"dataset": args.dataset, "root": str(args.root),
             **({"annotation": named(args.annotation)} if args.annotation else {})} if from_dataset else \
        named(args.files[0])
    return {"mmnet_version": __version__, "mmnet_git_revision": git_revision(), "mmnet_code_digest": code_digest(),
            "truth": truth, "predictions": [named(p) for p in (args.files if from_dataset else args.files[1:])],
            "rule": {"mode": args.mode, "iou": args.iou, "types": args.types, "classes": args.classes,
                     "matching": RULES.get(args.mode)},
            "scored_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def report(result, rows: list[dict], str_result, warnings: list[str], *, as_json: bool, per_video: bool,
           args=None) -> None:
    """Print the scores: a table per type (and per video), or JSON (with ``provenance`` when ``args`` is given)."""
    if as_json:
        print(json.dumps({"mode": result.mode, "iou": result.threshold, "videos_scored": result.videos_scored,
                          "unscored": result.unscored, "counts": rows}
                         | ({"per_video": per_video_rows(result)} if per_video else {})
                         | ({"analysis": _analysis(str_result)} if str_result is not None else {})
                         | ({"warnings": warnings} if warnings else {})
                         | ({"provenance": provenance(args)} if args is not None else {}), indent=2, default=str))
        return
    print(f"mode {result.mode}, IoU >= {result.threshold:g}: {result.videos_scored} video(s) scored"
          + (f", {result.unscored} prediction(s) not scored by this mode" if result.unscored else ""))
    _print_table(rows, "type")
    if str_result is not None:
        _print_analysis(str_result)
    if per_video:
        video_rows = per_video_rows(result)
        # padded by the columns a terminal shows: a video named in Chinese or Japanese takes two a character
        width = max([display_width(r["video"]) for r in video_rows] + [5])
        print()
        _print_table([r | {"label": f"{pad(r['video'], width)} {r['type']}"} for r in video_rows],
                     f"{pad('video', width)} type", counts_only=True)
    for warning in warnings:
        print(f"warning: {warning}")


def _print_table(rows: list[dict], head: str, *, counts_only: bool = False) -> None:
    label = max([display_width(head)] + [display_width(r.get("label", r.get("type"))) for r in rows] + [8])
    print(f"{pad(head, label)} {'TP':>5} {'FP':>5} {'FN':>5}"
          + ("" if counts_only else f" {'P':>6} {'R':>6} {'F1':>6}"))
    for r in rows:
        counts = f"{pad(r.get('label', r['type']), label)} {r['tp']:>5} {r['fp']:>5} {r['fn']:>5}"
        if counts_only:
            print(counts)
            continue
        # A type neither file holds has nothing to score: "-", not a precision of 0 that reads as a failure.
        scored = r["tp"] + r["fp"] + r["fn"] > 0
        p, rec, f1 = (f"{r[k]:>6.3f}" if scored else f"{'-':>6}" for k in ("precision", "recall", "f1"))
        print(f"{counts} {p} {rec} {f1}")


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


