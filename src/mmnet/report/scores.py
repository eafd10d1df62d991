"""Scoring a run folder: the chosen epoch of each fold, pooled predictions, MEGC metrics.

:func:`compute_report` reads the folder (:mod:`mmnet.report.run_reader`), chooses the scored epoch of each fold
(:mod:`mmnet.report.selection`), pools the chosen predictions over all finished folds and computes the metrics once
on the pool (:mod:`mmnet.report.metrics`). The headline is always the honest ``"last"`` selection. With ``"paper"``
selection the authors' test-set selection is added under the key :data:`~mmnet.report.selection.PAPER_KEY`, labelled
optimistic wherever it appears. With several seeds: per-seed numbers, mean and sample std (ddof=1) over seeds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..data.common import natural_key
from ..run_folder import FOLD_NUMERICS, PREDICTIONS, fold_numerics, fold_software, software_name, split_skipped
from ..shell_words import shell_quote
from ..version import __version__
from .bootstrap import LEVEL, RESAMPLES, SEED, bootstrap_ci, permutation_test
from .class_gaps import class_gaps
from .config_summary import config_summary
from .left_out import scheme_exclusions
from .methods import recipe
from .metrics import confusion_matrix, scores_from_confusion
from .one_class import single_predicted_class
from .parts import dataset_order, part_classes, part_rank
from .protocol_text import data_issue_lines, protocol_summary
from .reproduce_terms import bits_terms, data_terms, synthetic_terms
from .run_reader import Run, RunFolderError, config_value, load_run
from .selection import PAPER_KEY, check_selection, choose_epochs, optimistic_label
from .subject_spread import subject_spread

__all__ = ["compute_report", "score_run", "report_files", "REPORT_FILES", "ALL_REPORT_FILES", "HEADLINE",
           "LAST_NOTE", "FIGURES", "FIGURE_FORMATS", "DEFAULT_FIGURE_FORMATS"]

#: report.json's layout: raised when a key is removed or changes meaning, not when one is added (docs/reports.md)
REPORT_SCHEMA = 1
TEXT_FILES = ("report.json", "report.md", "megc_log.txt", "pooled_predictions.csv")
FIGURES = ("confusion_matrix", "per_subject", "learning_curves")
PAPER_FIGURES = ("confusion_matrix_paper_optimistic",)  # with --selection paper
FIGURE_FORMATS = ("png", "pdf", "svg")
DEFAULT_FIGURE_FORMATS = ("png", "pdf")


def report_files(formats=DEFAULT_FIGURE_FORMATS, paper: bool = False) -> tuple[str, ...]:
    """The files a report writes: the texts, then each figure in each format."""
    figures = FIGURES + (PAPER_FIGURES if paper else ())
    return TEXT_FILES + tuple(f"{name}.{fmt}" for name in figures for fmt in formats)


#: What a report writes by default (no paper selection), and every file a report may write.
REPORT_FILES = report_files()
ALL_REPORT_FILES = report_files(FIGURE_FORMATS, paper=True)
POOLING_NOTE = "metrics computed once on the test predictions pooled over all finished folds (not averaged per fold)"
LAST_NOTE = "honest: the model after the last epoch of the fixed schedule"
HEADLINE = ("acc", "uf1", "uar")


def _score(acc_pred: pd.DataFrame, f1_pred: pd.DataFrame, n_classes: int) -> dict:
    """Accuracy from ``acc_pred``; UF1, UAR, per-class numbers and confusion from ``f1_pred``."""
    cm = confusion_matrix(f1_pred["true"].to_numpy(), f1_pred["pred"].to_numpy(), n_classes)
    out = scores_from_confusion(cm)
    out["correct"] = int((acc_pred["true"] == acc_pred["pred"]).sum())
    out["n"] = len(acc_pred)
    out["acc"] = out["correct"] / out["n"]
    out["confusion"] = cm.tolist()
    return out


def _mean_std(per_seed: dict[str, dict]) -> tuple[dict, dict]:
    """Mean and sample std (ddof=1; None with one seed) of the headline numbers over seeds."""
    mean, std = {}, {}
    for k in HEADLINE:
        vals = np.array([s[k] for s in per_seed.values()], dtype=np.float64)
        mean[k] = float(vals.mean())
        std[k] = float(vals.std(ddof=1)) if len(vals) > 1 else None
    return mean, std


def _selected(run: Run, seed: int, mode: str) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """Pooled chosen predictions of one seed (for accuracy, for F1) and the per-fold choices."""
    acc_parts, f1_parts, folds = [], [], []
    for fold in run.folds[seed]:
        if not fold.finished:
            continue
        p = fold.predictions
        ch = choose_epochs(p["epoch"], p["true"], p["pred"], len(run.classes), mode)
        a = p[p["epoch"] == ch.acc_epoch].assign(fold=fold.name)
        f = p[p["epoch"] == ch.f1_epoch].assign(fold=fold.name)
        acc_parts.append(a)
        f1_parts.append(f)
        folds.append({"fold": fold.name, "name": str(fold.done.get("fold") or fold.name),  # folder; 'casme2/01'
                      "test_subjects": [str(s) for s in fold.done.get("test_subjects") or sorted(set(p["subject"]))],
                      "n": ch.n, "correct": ch.correct, "acc_epoch": ch.acc_epoch, "f1_epoch": ch.f1_epoch,
                      "epochs": fold.done.get("epochs"), "seconds": fold.done.get("seconds"),
                      "one_class": single_predicted_class(a["pred"])})  # one class for every test clip: report.md warns
    return pd.concat(acc_parts, ignore_index=True), pd.concat(f1_parts, ignore_index=True), folds


def _per_subject(acc_pred: pd.DataFrame) -> list[dict]:
    g = acc_pred.assign(ok=acc_pred["true"] == acc_pred["pred"]).groupby(["dataset", "subject"], sort=False)
    # uar: the mean recall over the classes this subject's clips hold (a class it lacks has no recall to average)
    rows = [{"dataset": d, "subject": s, "fold": str(x["fold"].iloc[0]), "n": len(x), "correct": int(x["ok"].sum()),
             "acc": float(x["ok"].mean()), "classes": int(x["true"].nunique()),
             "uar": float(x.groupby("true")["ok"].mean().mean())} for (d, s), x in g]
    return sorted(rows, key=lambda r: (part_rank(r["dataset"]), natural_key(r["subject"])))


def _status(run: Run) -> dict:
    unfinished = [{"seed": s, "fold": f.name} for s in sorted(run.folds) for f in run.folds[s] if not f.finished]
    expected_seeds = sorted(set(run.expected_seeds) | set(run.folds))
    missing_seeds = [s for s in expected_seeds if not run.folds.get(s)]  # an empty seed folder: not started either
    skipped = set(run.skipped["sample_id"])
    left_out = list(zip(run.skipped["sample_id"], run.skipped["reason"]))
    # skipped_samples: for a problem of the data; a composite's list leaving a part's sample out is counted apart
    problems, unlisted = split_skipped(left_out)
    problems, by_scheme = scheme_exclusions(problems)  # left out on purpose: not a problem of the data
    untested: dict[str, dict] = {}
    damaged = [{"seed": s, "fold": f.name, "file": str(f.path / PREDICTIONS), "samples": f.missing}
               for s in sorted(run.folds) for f in run.folds[s] if f.finished and f.missing]
    for seed, folds in sorted(run.folds.items()):
        if not folds:  # not started: said as such, its samples not counted again as untested
            continue
        tested = set().union(*[set(f.predictions["sample_id"]) | set(f.missing) for f in folds if f.finished])
        left = run.samples[~run.samples["sample_id"].isin(tested | skipped)]
        if len(left):
            subj = sorted({f"{d}/{s}" for d, s in zip(left["dataset"], left["subject"])}, key=natural_key)
            untested[str(seed)] = {"samples": len(left), "subjects": subj}
    complete = not (unfinished or missing_seeds or untested or damaged)
    # the protocol's folds per seed (data.folds.protocol_folds): folds never started have no folder to count
    kept = run.samples[~run.samples["sample_id"].isin(skipped)]
    lodo = (run.config.get("data") or {}).get("protocol") == "lodo"
    per_seed = kept["dataset"].nunique() if lodo else len(set(zip(kept["dataset"], kept["subject"])))
    return {"complete": complete, "folds_per_seed": per_seed, "unfinished_folds": unfinished,
            "expected_seeds": expected_seeds, "missing_seeds": missing_seeds,
            "damaged_folds": damaged,
            "untested": untested, "skipped_samples": len(problems), "not_listed": unlisted,
            "excluded_by_scheme": by_scheme,
            "skipped": [{"sample_id": str(i), "reason": str(r)} for i, r in left_out]}


def _learning_curves(run: Run) -> dict:
    """Mean over finished folds (all seeds) of the history columns, and pooled test acc/UF1 per epoch."""
    hist = [f.history for s in run.folds for f in run.folds[s] if f.finished and f.history is not None]
    out: dict = {}
    if hist:
        h = pd.concat(hist, ignore_index=True)
        cols = [c for c in ("train_loss", "train_acc", "test_loss", "test_acc") if c in h.columns]
        m = h.groupby("epoch")[cols].mean(numeric_only=True)
        out["epoch"] = [int(e) for e in m.index]
        out.update({f"{c}_mean_over_folds": [float(v) for v in m[c]] for c in cols})
    pooled: dict[int, list[tuple[float, float]]] = {}
    for s in run.folds:
        preds = [f.predictions for f in run.folds[s] if f.finished]
        if not preds:
            continue
        # Only epochs every finished fold reached, so each point pools the same samples.
        common = set.intersection(*[set(p["epoch"]) for p in preds])
        p = pd.concat(preds, ignore_index=True)
        for e, x in p[p["epoch"].isin(common)].groupby("epoch"):
            sc = scores_from_confusion(confusion_matrix(x["true"].to_numpy(), x["pred"].to_numpy(), len(run.classes)))
            pooled.setdefault(int(e), []).append((sc["acc"], sc["uf1"]))
    if pooled:
        epochs = sorted(pooled)
        out["pooled_epoch"] = epochs
        out["test_acc_pooled_mean_over_seeds"] = [float(np.mean([a for a, _ in pooled[e]])) for e in epochs]
        out["test_uf1_pooled_mean_over_seeds"] = [float(np.mean([u for _, u in pooled[e]])) for e in epochs]
    return out


def _intervals(frames: dict[str, pd.DataFrame], n_classes: int, resamples: int) -> dict:
    """Bootstrap 95 % intervals of the honest headline: over subjects (the LOSO unit), and over samples."""
    if resamples < 100:
        raise ValueError(f"resamples must be at least 100 for a 95 % interval, got {resamples}")
    return {"method": "percentile bootstrap", "level": LEVEL, "resamples": resamples, "seed": SEED,
            "subjects": bootstrap_ci(frames, n_classes, "subject", resamples=resamples),
            "samples": bootstrap_ci(frames, n_classes, "sample", resamples=resamples)}


def _untested_classes(classes: list[str], pooled: dict[str, dict[str, pd.DataFrame]], seeds: list[int],
                      absent: list[str]) -> dict[str, list[str]]:
    """Per seed, the classes with samples but none in the finished folds' pooled predictions."""
    out = {}
    for seed in seeds:
        tested = set(pooled[str(seed)]["f1"]["true"])
        names = [name for c, name in enumerate(classes) if c not in tested and name not in absent]
        if names:
            out[str(seed)] = names
    return out


_REALISED = ("device", "precision", "memory_format")  # train.* keys that "auto" resolves per machine


def _reproduce(run: Run) -> dict:
    """The command that trains this run again from its folder, with the numerics this machine chose where the
    config says "auto" (the realised values: each finished fold's done.json, else env.json). Folds that trained
    with different values (a resume on another machine, or with another thread count) are named per value."""
    name = run.path.resolve().name
    command = ["mmnet", "train", "--config", f"{name}/config.yaml", "--out", f"{name}-again"]
    finished = [f for seed in sorted(run.folds) for f in run.folds[seed] if f.finished]
    numerics = [(f, fold_numerics(f.done, run.env)) for f in finished]
    mixed = []
    for key in _REALISED:
        if (config_value(run.config, f"train.{key}") or "auto") != "auto":
            continue
        used = _folds_per_value(numerics, key)
        if len(used) == 1:
            command += ["--set", f"train.{key}={next(iter(used))}"]
        elif used:
            mixed.append(f"train.{key}: the folds ran with {_which_folds(run, used)}")
    threads = _folds_per_value(numerics, "torch_threads")
    (one,) = threads if len(threads) == 1 else (None,)
    devices = set(_folds_per_value(numerics, "device"))
    bits = bits_terms(run.env, devices, one, [f.done for f in finished])  # CUDA: the folds' versions
    note = f"{data_terms(run.config, run.env)} {bits}{synthetic_terms(run.env)}"
    if len(threads) > 1:
        mixed.append(f"the torch thread count: the folds ran with {_which_folds(run, threads)}")
    trained_by = _folds_per_value([(f, {"mmnet": software_name(fold_software(f.done, run.env))}) for f in finished],
                                  "mmnet")  # a resume after an upgrade
    if len(trained_by) > 1:
        mixed.append(f"the mmnet that trained them: {_which_folds(run, trained_by)}")
    if run.env.get("cpu_routes"):
        note += (f" The fp32 kernel routes {run.env['cpu_routes']} were chosen by this machine's calibration "
                 "and are not a setting.")
    if mixed:
        note += " No single setting reproduces " + "; ".join(mixed) + "."
    start = fold_numerics({}, run.env)  # env.json: written once, at the run's start
    differ = [k for k in FOLD_NUMERICS if start[k] is not None and any(v[k] != start[k] for _, v in numerics)]
    if run.env.get("mmnet_version") and set(trained_by) - {software_name(fold_software({}, run.env))}:
        differ.append("mmnet")  # a fold resumed by another mmnet than the one that started the run
    command_line = " ".join(map(shell_quote, command))  # on Windows in double quotes, as the other pasted commands
    return {"command": command_line, "note": note, **({"env_differs": differ} if differ else {})}


def _folds_per_value(numerics: list, key: str) -> dict:
    """The finished folds per value of one of FOLD_NUMERICS (folds with none recorded left out)."""
    used: dict = {}
    for fold, values in numerics:
        if values[key] is not None:
            used.setdefault(values[key], []).append(fold)
    return used


def _which_folds(run: Run, used: dict) -> str:
    """``1 (seed 0: all folds), 2 (seed 1: fold-sub01, fold-sub02)``: each value and the finished folds that ran
    with it, per seed."""
    parts = []
    for value, folds in sorted(used.items(), key=lambda item: str(item[0])):
        seeds = []
        for seed in sorted({f.seed for f in folds}):
            names = [f.name for f in folds if f.seed == seed]
            every = len(names) == sum(f.finished for f in run.folds[seed])
            seeds.append(f"seed {seed}: {'all finished folds' if every else ', '.join(names)}")
        parts.append(f"{value} ({'; '.join(seeds)})")
    return ", ".join(parts)


#: Why a class without samples counts 0 instead of being left out: the MEGC rule, as for the pooled scores.
ZERO_RULE = "the MEGC definition averages over every class and skips none, as docs/reports.md says"


def _absent_per_part(run: Run, datasets: list[str], absent_everywhere: list[str]) -> dict[str, list[str]]:
    """Per dataset of a composite, the classes with samples elsewhere but none in that dataset."""
    out = {}
    for d in datasets:
        present = set(run.samples.loc[run.samples["dataset"] == d, "class_index"])
        names = [name for c, name in enumerate(run.classes) if c not in present and name not in absent_everywhere]
        if names:
            out[d] = names
    return out


def compute_report(run_dir: str | Path, selection: str | None = None, resamples: int = RESAMPLES) -> dict:
    """Score a run folder without writing anything; see :func:`build_report` for the arguments."""
    return score_run(load_run(run_dir), selection, resamples)[0]


def score_run(run: Run, selection: str | None,
              resamples: int = RESAMPLES) -> tuple[dict, dict[str, dict[str, pd.DataFrame]]]:
    """The report dict of a loaded run, and the pooled chosen predictions per seed (for the logs)."""
    mode = check_selection(selection or config_value(run.config, "eval.selection") or "last")
    n_classes = len(run.classes)
    seeds = [s for s in sorted(run.folds) if any(f.finished for f in run.folds[s])]
    if not seeds:
        raise RunFolderError(f"'{run.path}' has no finished fold (no done.json): nothing to score yet.")
    datasets = dataset_order(run.samples["dataset"])
    modes = ["last"] + (["paper"] if mode == "paper" else [])
    key, label = {"last": "last", "paper": PAPER_KEY}, optimistic_label(config_value(run.config, "data.protocol"))

    per_seed: dict[str, dict] = {}
    pooled: dict[str, dict[str, pd.DataFrame]] = {}
    for seed in seeds:
        entry: dict = {}
        for m in modes:
            acc_pred, f1_pred, folds = _selected(run, seed, m)
            sc = _score(acc_pred, f1_pred, n_classes)
            sc["folds"] = folds
            if m == "last":
                sc["per_subject"] = _per_subject(acc_pred)
                pooled[str(seed)] = {"acc": acc_pred, "f1": f1_pred}
            else:
                sc["label"] = label
                pooled[f"{seed}-paper"] = {"acc": acc_pred, "f1": f1_pred}
            if len(datasets) > 1:
                sc["per_dataset"] = {
                    d: _score(acc_pred[acc_pred["dataset"] == d], f1_pred[f1_pred["dataset"] == d], n_classes)
                    for d in datasets if (acc_pred["dataset"] == d).any()
                }
            entry[key[m]] = sc
        per_seed[str(seed)] = entry

    def summary(m: str) -> dict:
        rows = {s: {k: e[key[m]][k] for k in (*HEADLINE, "n", "correct")} for s, e in per_seed.items()}
        mean, std = _mean_std(rows)
        out = {"per_seed": rows, "mean": mean, "std": std, "std_ddof": 1, "n_seeds": len(rows)}
        if len(datasets) > 1:
            out["per_dataset"] = {}
            for d in [d for d in datasets if any(d in e[key[m]]["per_dataset"] for e in per_seed.values())]:
                parts = {s: e[key[m]]["per_dataset"][d] for s, e in per_seed.items() if d in e[key[m]]["per_dataset"]}
                r = {s: {k: p[k] for k in (*HEADLINE, "n")} for s, p in parts.items()}
                dm, ds = _mean_std(r)
                out["per_dataset"][d] = {"per_seed": r, "mean": dm, "std": ds,
                                         "per_class": part_classes(list(parts.values()), run.classes)}
        return out

    status = _status(run)
    headline_frames = {str(s): pooled[str(s)]["acc"] for s in seeds}
    report = {
        "schema": REPORT_SCHEMA,
        "mmnet_version": __version__,  # the mmnet that wrote this report (the trainers': environment, seeds)
        "run": run.path.resolve().name,
        "started_at": run.env.get("started_at"),  # with the name, tells apart runs all named "run" (the demo's)
        "complete": status["complete"],
        "status": status,
        "pooling": POOLING_NOTE,
        "classes": run.classes,
        "datasets": datasets,
        "selection": mode, "selections_included": modes,  # "selection": what was asked; the headline is "last"
        "n_samples": len(run.samples),
        "n_folds": {str(s): sum(f.finished for f in run.folds[s]) for s in seeds},
        "headline": {"selection": "last", "description": LAST_NOTE, **summary("last"),
                     "ci": _intervals(headline_frames, n_classes, resamples),
                     "chance_test": permutation_test(headline_frames, n_classes, permutations=resamples),
                     "subject_spread": subject_spread(per_seed, n_classes)},
    }
    if mode == "paper":
        report[PAPER_KEY] = {"label": label, "description":
                             "per fold: accuracy from the epoch with most correct test predictions (first maximum); "
                             "F1/UAR counts from the epoch with the highest fold F1 (last maximum); "
                             "counts pooled over folds",
                             **summary("paper")}
    report["seeds"] = per_seed
    report["learning_curves"] = _learning_curves(run)
    report["config_summary"] = config_summary(run.config, run.classes)
    report["config"] = run.config
    report["environment"] = run.env
    report["reproduce"] = _reproduce(run)
    report["dataset_fingerprint"] = run.env.get("dataset_fingerprint")
    report["frames_digest"] = run.env.get("frames_digest")  # the pixels, wherever the files were
    report["labels_digest"] = run.env.get("labels_digest")  # the labels: the frames digest does not cover them
    report["annotation_sha256"] = run.env.get("annotation_sha256")
    report["protocol"] = protocol_summary(run, status["folds_per_seed"])
    done = [f.done for folds in run.folds.values() for f in folds if f.done]  # the devices the folds trained on
    report["recipe"] = recipe(run.config, run.env, report["protocol"]["network"], done)  # report.md's Methods summary
    report["data_issues"] = run.data_issues  # issues.csv: the data's warnings (the protocol ones in "issues")
    report["issues"] = data_issue_lines(run.data_issues) + list(run.issues)
    absent = [run.classes[c] for c in range(n_classes) if not (run.samples["class_index"] == c).any()]
    if absent:
        report["issues"].append(f"class(es) {absent} have no samples: their F1 and recall count as 0 in UF1/UAR.")
    if len(datasets) > 1:
        report["absent_classes_per_dataset"] = _absent_per_part(run, datasets, absent)
        for d, names in report["absent_classes_per_dataset"].items():
            report["issues"].append(f"{d} has no samples of class(es) {names}: its per-dataset UF1 and UAR count "
                                    f"their F1 and recall as 0, averaged over all {n_classes} classes ({ZERO_RULE}).")
    untested = _untested_classes(run.classes, pooled, seeds, absent)
    if untested:
        report["untested_classes"] = untested
        for names in sorted({tuple(v) for v in untested.values()}):
            where = ", ".join(s for s, v in untested.items() if tuple(v) == names)
            report["issues"].append(
                f"class(es) {list(names)} have no tested sample in the scored folds (seed {where}; their subjects' "
                "folds are unfinished): UF1 and UAR count their F1 and recall as 0 (averaged in, not left out), "
                "so both are lower than over the classes tested.")
    report.update(class_gaps(run, per_seed))  # beside the headline in report.md: classes no sample or fold holds
    report["files"] = list(report_files(paper=mode == "paper"))
    return report, pooled
