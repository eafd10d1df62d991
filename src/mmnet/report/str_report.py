"""The spot-then-recognise part of a report (runs on a long-video dataset).

Read from the run folder (``run_folder``: truth.csv, truth_types.txt, videos.csv, each fold's spots.csv,
in its layout or the earlier one with the probabilities packed in one cell) and scored with
``spotting.megc``'s MEGC rule: IoU >= 0.5 with a ground truth of the same recording and type,
one-to-one, counts pooled over the recordings of every finished fold before the ratios. Only the types
the annotation covers are scored (truth_types.txt: CAS(ME)^3 read from its label file alone has no
macro-expressions, so its spotted macro intervals are neither false positives nor a row of zeros; the
MEGC files then hold the micro intervals only). Tables:

* spotting per type (micro, macro, overall): ground truth, TP, FP, FN, precision, recall, F1;
* STR (MEGC2024-2025): the micro-expression spotting F1, the recognition on its true positives
  whose ground truth is one of the run's classes (accuracy, UF1, UAR and MEGC's analysis F1 =
  2 P R / (P + R) over the class means), and STRS = spotting F1 x analysis F1. The means follow
  MEAN's evaluator (a class that no pair has is left out; the classes averaged and those left out are
  printed, as UF1 means another thing there than in the recognition table, where every class counts),
  and beside them the analysis F1 and STRS under STRS-Metric's rule on the same pairs (such a class
  counts as P = R = 0), so that the two conventions can be compared.

Files (``StrSection.files``): ``timelines/<video>.png`` (ground truth against the spotted
intervals, coloured by outcome) and, per seed, ``megc/seed-<S>/``: the MEGC2020 log, the spotting
CSV (``vid,onset,offset,type``, MEGC2023's layout, and ``score``, which orders the matching) and the
STR CSV (``subject,video,onset,offset,emotion``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from .. import run_folder as rf
from ..errors import DataError
from ..spotting.dataset_settings import dataset_number
from ..spotting.intervals import TYPES, Interval
from ..spotting.megc import RULE as MEGC_RULE
from ..spotting.megc import evaluate_analysis, evaluate_spotting, evaluate_str
from ..spotting.megc_files import format_megc2020_log, format_spotting_csv, format_str_csv
from .rounding import half_up
from .str_figures import scored_timeline_png

__all__ = ["StrSection", "str_section", "classes_note"]

RULE = MEGC_RULE + " of every finished fold"


@dataclass
class StrSection:
    summary: dict  # report.json["spot_then_recognise"]
    markdown: str  # appended to report.md
    images: dict[str, bytes] = field(default_factory=dict)  # run-folder relative name -> PNG
    texts: dict[str, str] = field(default_factory=dict)  # run-folder relative name -> text


def _read(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != columns:
            raise DataError(f"'{path}' has columns {reader.fieldnames}, expected {list(columns)}; the run folder "
                            "was written by another version or changed by hand.")
        return list(reader)


def _int(text: str) -> int | None:
    return int(text) if text != "" else None


def _probabilities(r: dict[str, str]) -> dict[str, float] | None:
    """A spots.csv row's probabilities: its p_<class> cells, or (a file written before them) the packed
    "class=p;..." cell; None when empty (not classified)."""
    if "probabilities" in r:
        text = r["probabilities"]
        return {k: float(v) for k, v in (item.split("=", 1) for item in text.split(";"))} if text else None
    cells = {k[2:]: v for k, v in r.items() if k.startswith("p_")}
    return {c: float(v) for c, v in cells.items() if v} or None


def _spots_reader(path: Path, f) -> csv.DictReader:
    """A DictReader over spots.csv in its layout (SPOTS_COLUMNS and a p_<class> column per class) or the earlier
    one (SPOTS_PACKED_COLUMNS), else a DataError naming both."""
    reader = csv.DictReader(f)
    columns = tuple(reader.fieldnames or ())
    if columns != rf.SPOTS_PACKED_COLUMNS and (columns[:len(rf.SPOTS_COLUMNS)] != rf.SPOTS_COLUMNS or not all(
            c.startswith("p_") for c in columns[len(rf.SPOTS_COLUMNS):])):
        raise DataError(f"'{path}' has columns {list(columns)}, expected {list(rf.SPOTS_COLUMNS)} and a p_<class> "
                        f"column per class (or, written by earlier versions, {list(rf.SPOTS_PACKED_COLUMNS)}); the "
                        "run folder was written by another version or changed by hand.")
    return reader


def _spots(path: Path) -> dict[str, list[Interval]]:
    out: dict[str, list[Interval]] = {}
    with open(path, newline="", encoding="utf-8") as f:
        reader = _spots_reader(path, f)
        for r in reader:
            n = reader.line_num  # the row's line in the file (DictReader skips blank lines, an editor counts them)
            try:
                iv = Interval(int(r["onset"]), _int(r["apex"]), int(r["offset"]), r["type"], r["label"] or None,
                              float(r["score"]) if r["score"] else None, probabilities=_probabilities(r))
            except (ValueError, DataError) as exc:
                raise DataError(f"'{path}' row {n}: {exc}") from None
            out.setdefault(r["video"], []).append(iv)
    return out


def _types(run_dir: Path) -> tuple[str, ...]:
    """The interval types the run's annotation covers (truth_types.txt; both when absent, as in older runs)."""
    path = run_dir / rf.TRUTH_TYPES
    if not path.is_file():
        return TYPES
    types = tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    unknown = [t for t in types if t not in TYPES]
    if unknown or not types:
        raise DataError(f"'{path}' lists {list(types)}; expected one or more of {list(TYPES)}, one a line. The run "
                        "folder was written by another version or changed by hand.")
    return tuple(t for t in TYPES if t in types)


def _truth(run_dir: Path) -> dict[str, list[Interval]]:
    """video -> truth; a micro interval's label is its class, or the annotated label in parentheses when unscored."""
    out: dict[str, list[Interval]] = {}
    for r in _read(run_dir / rf.TRUTH, rf.TRUTH_COLUMNS):
        label = r["class"] or f"({r['label'] or 'no label'})"
        out.setdefault(r["video"], []).append(Interval(int(r["onset"]), _int(r["apex"]), int(r["offset"]), r["type"],
                                                       label))
    return out


def str_section(run_dir: str | Path, report: dict) -> StrSection | None:
    """The spot-then-recognise section of a run's report; None when the run has no truth.csv (a clip dataset)."""
    run_dir = Path(run_dir)
    if not (run_dir / rf.TRUTH).is_file():
        return None
    cfg = report["config"]
    classes = tuple(cfg["data"]["classes"] or ())
    videos = _read(run_dir / rf.VIDEOS, rf.VIDEOS_COLUMNS)
    truth_all = _truth(run_dir)
    types = _types(run_dir)
    subject = {v["video"]: v["subject"] for v in videos}
    folds = sorted({v["fold"] for v in videos})
    per_seed, images, texts, missing = [], {}, {}, []
    for seed in cfg["seeds"]:
        done = [f for f in folds if (rf.fold_path(run_dir, seed, f) / rf.SPOTS).is_file()]
        missing += [f"seed {seed} fold {f}" for f in folds if f not in done]
        scored = [v["video"] for v in videos if v["fold"] in done]
        preds: dict[str, list[Interval]] = {v: [] for v in scored}
        for f in done:
            for video, items in _spots(rf.fold_path(run_dir, seed, f) / rf.SPOTS).items():
                if video not in preds:
                    raise DataError(f"'{rf.fold_path(run_dir, seed, f) / rf.SPOTS}': recording {video!r} is not one "
                                    f"of the fold's recordings in {rf.VIDEOS}.")
                preds[video] = items
        truth = {v: truth_all.get(v, []) for v in scored}
        spotting = evaluate_spotting(truth, preds, types=types)
        preds = {v: [i for i in items if i.type in types] for v, items in preds.items()}  # the scored spots
        strr = evaluate_str(truth, preds, classes=classes)
        a = strr.analysis
        # STRS-Metric's class rule on the same pairs: a class without pairs counts as 0 instead of being left out
        z = evaluate_analysis(strr.spotting.pairs, classes, mode="strs")
        spotting_f1 = strr.spotting.counts["micro"].f1
        # spotted micro-expressions without a class (onset = apex: zero motion, as `mmnet spot --checkpoint`)
        unlabelled = [p for p in strr.spotting.pairs if p.type == "micro" and p.prediction is not None
                      and p.prediction.label is None]
        per_seed.append({
            "seed": seed, "folds_spotted": len(done), "recordings": len(scored),
            "truth": {t: sum(i.type == t for v in truth.values() for i in v) for t in types},
            "spotting": {r.pop("type"): r for r in spotting.table()},
            "str": {"spotting_f1": spotting_f1, "pairs": a.n_pairs, "accuracy": a.accuracy,
                    "uf1": a.uf1, "uar": a.uar, "analysis_f1": a.f1, "strs": strr.strs,
                    "classes_averaged": list(a.per_class), "classes_left_out": list(a.left_out),
                    "strs_metric": {"analysis_f1": z.f1, "uf1": z.uf1, "strs": spotting_f1 * z.f1,
                                    "classes_zeroed": list(z.zeroed)},
                    "unclassified": len(unlabelled),
                    "unclassified_tp": sum(p.outcome == "TP" for p in unlabelled)},
        })
        megc = f"megc/seed-{seed}"
        number = dataset_number(cfg["data"]["dataset"])
        texts[f"{megc}/megc2020_log.txt"] = format_megc2020_log([(number, spotting.pairs)])
        # with the scores: the matching takes predictions by descending score, so score-spots gives this table
        texts[f"{megc}/spotting.csv"] = format_spotting_csv(preds, scores=True)
        texts[f"{megc}/str.csv"] = format_str_csv(preds, subject_of=subject.__getitem__)
        if seed == cfg["seeds"][0]:
            by_video: dict[str, list] = {}
            for p in spotting.pairs:
                by_video.setdefault(p.video, []).append(p)
            for v in videos:
                if v["video"] in truth:
                    images[f"timelines/{v['video']}.png"] = scored_timeline_png(
                        v["video"], int(v["first_frame"]), int(v["last_frame"]), float(v["fps"]),
                        by_video.get(v["video"], []))
    summary = {"rule": RULE, "types": list(types), "classes": list(classes), "spotter": dict(cfg.get("spotting") or {}),
               "complete": not missing, "unspotted_folds": missing, "recordings": len(videos), "folds": len(folds),
               "per_seed": per_seed, "files": sorted(texts) + sorted(images)}
    return StrSection(summary, _markdown(summary), images, texts)


def _f(x: float) -> str:
    return f"{half_up(x, 4)}"


def _opt(x: float | None) -> str:
    return "-" if x is None else _f(x)  # a report.json written before the STRS-Metric columns


def classes_note(r: dict) -> str:
    """Which classes a seed's STR means are over: averaged, left out (no pair), counted as 0 by STRS-Metric."""
    if "classes_averaged" not in r:  # a report.json written before the list was kept
        left = r.get("classes_left_out") or []
        return f"left out (no pair): {', '.join(left) or 'none'}"
    z = (r.get("strs_metric") or {}).get("classes_zeroed") or []
    return (f"analysis over {', '.join(r['classes_averaged']) or 'no class'}; left out (no pair): "
            f"{', '.join(r['classes_left_out']) or 'none'}; STRS-Metric counts as P = R = 0: {', '.join(z) or 'none'}")


def _types_note(types: list[str]) -> list[str]:
    """A sentence when the annotation covers only some types (nothing when it covers both)."""
    left = [t for t in TYPES if t not in types]
    if not left:
        return []
    return [f"The annotation has no {' or '.join(left)}-expressions: only {' and '.join(types)} intervals are scored "
            f"(spotted {' and '.join(left)} intervals are kept in spots.csv but are neither true nor false "
            "positives).", ""]


def _markdown(s: dict) -> str:
    spotter = s["spotter"]
    preset = spotter.get("preset") or "the dataset's"
    L = ["", "## Spot then recognise", ""]
    if not s["complete"]:
        L += ["**PARTIAL: recordings of these folds are not spotted yet:** " + ", ".join(s["unspotted_folds"]), ""]
    L += [f"{s['recordings']} recording(s) in {s['folds']} fold(s); each fold's test subject's recordings are "
          "spotted and every spotted micro-expression is recognised by that fold's MMNet (onset and apex frames). "
          f"Spotter preset: {preset}, overrides: "
          f"{', '.join(spotter.get('overrides') or []) or 'none'}.", "", f"Scoring: {s['rule']}.", "",
          *_types_note(s.get("types", list(TYPES))),
          "### Spotting", "", "| seed | type | truth | TP | FP | FN | precision | recall | F1 |",
          "|---|---|---|---|---|---|---|---|---|"]
    for e in s["per_seed"]:
        for t, c in e["spotting"].items():
            n = e["truth"].get(t, sum(e["truth"].values()))
            L.append(f"| {e['seed']} | {t} | {n} | {c['tp']} | {c['fp']} | {c['fn']} | {_f(c['precision'])} | "
                     f"{_f(c['recall'])} | {_f(c['f1'])} |")
    L += ["", "### STR: recognition of the spotted micro-expressions", "",
          f"On the true-positive micro intervals (pairs) whose ground truth is one of {', '.join(s['classes'])}; "
          "analysis F1 = 2 P R / (P + R) over the class means of precision and recall (MEGC), "
          "STRS = micro spotting F1 x analysis F1. The means are taken two ways: as MEAN's MEGC evaluator, over "
          "the classes with pairs (a class that no pair has as truth or prediction is left out; UAR over the "
          "classes some pair has as truth), and as STRS-Metric, over every class (one without pairs, or one that "
          "every pair has as truth and prediction, counts as P = R = 0). The UF1 here is over the classes "
          "with pairs; the recognition table's UF1 averages every class.", "",
          "| seed | micro spotting F1 | pairs | Acc | UF1 over classes with pairs | UAR | analysis F1 over classes "
          "with pairs (MEGC evaluator) | STRS (MEGC evaluator) | analysis F1 over every class (STRS-Metric) | "
          "STRS (STRS-Metric) |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for e in s["per_seed"]:
        r = e["str"]
        z = r.get("strs_metric") or {}
        L.append(f"| {e['seed']} | {_f(r['spotting_f1'])} | {r['pairs']} | {_f(r['accuracy'])} | {_f(r['uf1'])} | "
                 f"{_f(r['uar'])} | {_f(r['analysis_f1'])} | {_f(r['strs'])} | {_opt(z.get('analysis_f1'))} | "
                 f"{_opt(z.get('strs'))} |")
    L.append("")
    for e in s["per_seed"]:
        L.append(f"Seed {e['seed']}: {classes_note(e['str'])}.")
    for e in s["per_seed"]:
        r = e["str"]
        if r.get("unclassified"):
            L += ["", f"Seed {e['seed']}: {r['unclassified']} spotted micro-expression(s) not classified: their "
                  "onset is their apex, so the motion between the two frames is zero and a class would reflect no "
                  "expression (as `mmnet spot --checkpoint`); empty emotion in str.csv. "
                  f"{r['unclassified_tp']} of them matched a ground truth: each counts as a wrong class for its "
                  "truth (a false negative of that class)."]
    timelines = [f for f in s["files"] if f.startswith("timelines/")]
    L += ["", "### Timelines", "", "Ground truth against the spotted intervals (green: matched, red: false "
          "positive, orange: missed); micro-expressions carry the recognised / annotated class.", ""]
    L += [f"![{Path(f).stem}]({f})" for f in timelines]
    L += ["", "MEGC files: " + ", ".join(f"`{f}`" for f in s["files"] if f.startswith("megc/")), ""]
    return "\n".join(L)
