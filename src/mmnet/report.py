"""Score a LOSO run folder and write an auditable report beside it.

``build_report(run_dir)`` reads the folder (:mod:`mmnet.run_folder`), chooses the scored epoch of
each fold (:mod:`mmnet.selection`), pools the chosen predictions over all finished folds and
computes the MEGC metrics once on the pool (:mod:`mmnet.metrics`). It writes:

- ``report.json``: every number, machine-readable (no timestamps: a rebuild is byte-identical);
- ``report.md``: the same for people, with the protocol, status, config and environment;
- ``confusion_matrix.png``, ``learning_curves.png``;
- ``megc_log.txt``: per fold, subject, sample, true and predicted label (MEGC layout), and
  ``pooled_predictions.csv``: the scored predictions in one table, to recompute every number.

The headline is always the honest ``"last"`` selection. With ``"paper"`` selection the authors'
test-set selection is shown beside it under the key :data:`~mmnet.selection.PAPER_KEY`, labelled
optimistic wherever it appears. With several seeds: per-seed numbers, mean and sample standard
deviation (ddof=1) over seeds.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from .data.common import natural_key
from .metrics import confusion_matrix, scores_from_confusion
from .run_folder import Run, RunFolderError, _get, load_run
from .selection import OPTIMISTIC_LABEL, PAPER_KEY, check_selection, choose_epochs
from .utils import atomic_write_bytes, atomic_write_text

__all__ = ["compute_report", "build_report", "summarize_run", "format_results_table", "render_markdown", "REPORT_FILES"]

REPORT_FILES = ("report.json", "report.md", "confusion_matrix.png", "learning_curves.png", "megc_log.txt",
                "pooled_predictions.csv")
POOLING_NOTE = "metrics computed once on the test predictions pooled over all finished folds (not averaged per fold)"
LAST_NOTE = "honest: the model after the last epoch of the fixed schedule"
HEADLINE = ("acc", "uf1", "uar")


# ----------------------------------------------------------------------------- scoring
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
        folds.append({"fold": fold.name, "test_subjects": [str(s) for s in fold.done.get("test_subjects") or sorted(set(p["subject"]))],
                      "n": ch.n, "correct": ch.correct, "acc_epoch": ch.acc_epoch, "f1_epoch": ch.f1_epoch,
                      "epochs": fold.done.get("epochs"), "seconds": fold.done.get("seconds")})
    return pd.concat(acc_parts, ignore_index=True), pd.concat(f1_parts, ignore_index=True), folds


def _per_subject(acc_pred: pd.DataFrame) -> list[dict]:
    g = acc_pred.assign(ok=acc_pred["true"] == acc_pred["pred"]).groupby(["dataset", "subject"], sort=False)
    rows = [{"dataset": d, "subject": s, "fold": str(x["fold"].iloc[0]), "n": len(x), "correct": int(x["ok"].sum()),
             "acc": float(x["ok"].mean())} for (d, s), x in g]
    return sorted(rows, key=lambda r: (r["dataset"], natural_key(r["subject"])))


def _status(run: Run) -> dict:
    unfinished = [{"seed": s, "fold": f.name} for s in sorted(run.folds) for f in run.folds[s] if not f.finished]
    missing_seeds = sorted(set(run.expected_seeds) - set(run.folds))
    skipped = set(run.skipped["sample_id"])
    untested: dict[str, dict] = {}
    for seed, folds in sorted(run.folds.items()):
        tested = set().union(*[set(f.predictions["sample_id"]) for f in folds if f.finished])
        left = run.samples[~run.samples["sample_id"].isin(tested | skipped)]
        if len(left):
            subj = sorted({f"{d}/{s}" for d, s in zip(left["dataset"], left["subject"])}, key=natural_key)
            untested[str(seed)] = {"samples": len(left), "subjects": subj}
    complete = not (unfinished or missing_seeds or untested)
    return {"complete": complete, "unfinished_folds": unfinished, "missing_seeds": missing_seeds,
            "untested": untested, "skipped_samples": len(skipped)}


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


def _config_summary(cfg: dict, classes: list[str]) -> dict:
    keys = ("data.dataset", "data.scheme", "data.protocol", "train.epochs", "train.batch_size", "train.lr", "train.weight_decay",
            "eval.selection")
    out = {k: _get(cfg, k) for k in keys if _get(cfg, k) is not None}
    out["classes"] = classes
    out["seeds"] = cfg.get("seeds")
    return out


def compute_report(run_dir: str | Path, selection: str | None = None) -> dict:
    """Score a run folder without writing anything; see :func:`build_report` for the arguments."""
    return _compute(load_run(run_dir), selection)[0]


def _compute(run: Run, selection: str | None) -> tuple[dict, dict[str, dict[str, pd.DataFrame]]]:
    mode = check_selection(selection or _get(run.config, "eval.selection") or "last")
    n_classes = len(run.classes)
    seeds = [s for s in sorted(run.folds) if any(f.finished for f in run.folds[s])]
    if not seeds:
        raise RunFolderError(f"'{run.path}' has no finished fold (no done.json): nothing to score yet.")
    datasets = sorted(set(run.samples["dataset"]))
    modes = ["last"] + (["paper"] if mode == "paper" else [])
    key = {"last": "last", "paper": PAPER_KEY}

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
                sc["label"] = OPTIMISTIC_LABEL
                pooled[f"{seed}-paper"] = {"acc": acc_pred, "f1": f1_pred}
            if len(datasets) > 1:
                sc["per_dataset"] = {d: _score(acc_pred[acc_pred["dataset"] == d], f1_pred[f1_pred["dataset"] == d], n_classes)
                                     for d in datasets if (acc_pred["dataset"] == d).any()}
            entry[key[m]] = sc
        per_seed[str(seed)] = entry

    def summary(m: str) -> dict:
        rows = {s: {k: e[key[m]][k] for k in (*HEADLINE, "n", "correct")} for s, e in per_seed.items()}
        mean, std = _mean_std(rows)
        out = {"per_seed": rows, "mean": mean, "std": std, "std_ddof": 1, "n_seeds": len(rows)}
        if len(datasets) > 1:
            out["per_dataset"] = {}
            for d in datasets:
                r = {s: {k: e[key[m]]["per_dataset"][d][k] for k in (*HEADLINE, "n")} for s, e in per_seed.items()
                     if d in e[key[m]]["per_dataset"]}
                dm, ds = _mean_std(r)
                out["per_dataset"][d] = {"per_seed": r, "mean": dm, "std": ds}
        return out

    status = _status(run)
    report = {
        "schema": 1,
        "run": run.path.resolve().name,
        "complete": status["complete"],
        "status": status,
        "pooling": POOLING_NOTE,
        "classes": run.classes,
        "datasets": datasets,
        "selection": mode,
        "n_samples": len(run.samples),
        "n_folds": {str(s): sum(f.finished for f in run.folds[s]) for s in seeds},
        "headline": {"selection": "last", "description": LAST_NOTE, **summary("last")},
    }
    if mode == "paper":
        report[PAPER_KEY] = {"label": OPTIMISTIC_LABEL, "description":
                             "per fold: accuracy from the epoch with most correct test predictions (first maximum); "
                             "F1/UAR counts from the epoch with the highest fold F1 (last maximum); counts pooled over folds",
                             **summary("paper")}
    report["seeds"] = per_seed
    report["learning_curves"] = _learning_curves(run)
    report["config_summary"] = _config_summary(run.config, run.classes)
    report["config"] = run.config
    report["environment"] = run.env
    report["dataset_fingerprint"] = run.env.get("dataset_fingerprint")
    report["issues"] = list(run.issues)
    absent = [run.classes[c] for c in range(n_classes) if not (run.samples["class_index"] == c).any()]
    if absent:
        report["issues"].append(f"class(es) {absent} have no samples: their F1 and recall count as 0 in UF1/UAR.")
    report["files"] = list(REPORT_FILES)
    return report, pooled


# ----------------------------------------------------------------------------- writing
def _fmt(v, pct: bool = False) -> str:
    if v is None:
        return "n/a"
    return f"{100 * v:.2f}" if pct else f"{v:.4f}"


def _pm(mean: float, std: float | None, pct: bool = False) -> str:
    """'mean ± std' with several seeds, 'mean' with one."""
    return _fmt(mean, pct) if std is None else f"{_fmt(mean, pct)} ± {_fmt(std, pct)}"


def _headline_rows(block: dict) -> list[str]:
    rows = [f"| {s} | {r['n']} | {r['correct']} | {_fmt(r['acc'], True)} | {_fmt(r['uf1'])} | {_fmt(r['uar'])} |"
            for s, r in block["per_seed"].items()]
    if block["n_seeds"] > 1:
        cells = " | ".join(_pm(block["mean"][k], block["std"][k], k == "acc") for k in HEADLINE)
        rows.append(f"| mean ± std (ddof=1, {block['n_seeds']} seeds) | | | {cells} |")
    return ["| seed | n | correct | Acc % | UF1 | UAR |", "|---|---|---|---|---|---|", *rows]


def _class_table(sc: dict, classes: list[str]) -> list[str]:
    rows = ["| class | n (true) | predicted | F1 | recall |", "|---|---|---|---|---|"]
    cm = np.array(sc["confusion"])
    for i, c in enumerate(classes):
        rows.append(f"| {i} {c} | {int(cm[i].sum())} | {int(cm[:, i].sum())} | {_fmt(sc['f1'][i])} | {_fmt(sc['recall'][i])} |")
    return rows


def _confusion_table(cm: list[list[int]], classes: list[str]) -> list[str]:
    rows = ["| true \\ predicted | " + " | ".join(classes) + " |", "|---" * (len(classes) + 1) + "|"]
    rows += [f"| {c} | " + " | ".join(str(v) for v in cm[i]) + " |" for i, c in enumerate(classes)]
    return rows


def render_markdown(report: dict) -> str:
    """report.md text for a report dict from :func:`compute_report`."""
    classes, st = report["classes"], report["status"]
    L = [f"# MMNet LOSO report: {report['run']}", ""]
    if report["complete"]:
        L.append("**Status: complete** (every sample tested by a finished fold, every configured seed present).")
    else:
        L.append("**Status: PARTIAL — numbers cover finished folds only.**")
        L += [f"- unfinished fold (no done.json): seed {u['seed']} {u['fold']}" for u in st["unfinished_folds"]]
        L += [f"- seed {s} not started" for s in st["missing_seeds"]]
        L += [f"- seed {s}: {u['samples']} sample(s) not tested yet, subjects {', '.join(u['subjects'])}"
              for s, u in st["untested"].items()]
    protocol = {"loso": "leave-one-subject-out", "lodo": "leave-one-dataset-out"}.get(
        report["config_summary"].get("data.protocol", "loso"), report["config_summary"].get("data.protocol"))
    skipped = f"{st['skipped_samples']} more skipped, listed in skipped.csv" if st["skipped_samples"] else "none skipped"
    L += ["", f"Protocol: {protocol}; {report['pooling']}.",
          f"Samples: {report['n_samples']} in samples.csv ({skipped}); "
          f"finished folds per seed: {', '.join(f'{s}: {n}' for s, n in report['n_folds'].items())}; "
          f"classes: {', '.join(f'{i} {c}' for i, c in enumerate(classes))}.", ""]
    h = report["headline"]
    L += [f"## Headline ({h['description']})", "", *_headline_rows(h), ""]
    paper = report.get(PAPER_KEY)
    if paper:
        L += [f"## Paper selection — {OPTIMISTIC_LABEL}", "", f"{paper['description']}. Shown beside the honest "
              "numbers above for comparison with the paper; it selects on the test subject and is not a valid estimate.",
              "", *_headline_rows(paper), ""]
    if "per_dataset" in h:
        L += ["## Per dataset (composite protocol: the whole above, each part here)", "",
              "| dataset | selection | n | Acc % | UF1 | UAR |", "|---|---|---|---|---|---|"]
        for name, block in (("last", h), (f"paper ({OPTIMISTIC_LABEL})", paper)):
            if block:
                for d, r in block["per_dataset"].items():
                    n = next(iter(r["per_seed"].values()))["n"]
                    cells = " | ".join(_pm(r["mean"][k], r["std"][k], k == "acc") for k in HEADLINE)
                    L.append(f"| {d} | {name} | {n} | {cells} |")
        L.append("")
    for seed, entry in report["seeds"].items():
        for k, title in (("last", "honest, last epoch"), (PAPER_KEY, OPTIMISTIC_LABEL)):
            if k not in entry:
                continue
            sc = entry[k]
            L += [f"## Seed {seed}: per class and confusion matrix ({title})", "", *_class_table(sc, classes), "",
                  *_confusion_table(sc["confusion"], classes), ""]
        last = entry["last"]
        L += [f"## Seed {seed}: per subject (honest, last epoch)", "", "| subject | fold | n | correct | acc % |", "|---|---|---|---|---|"]
        many = len(report["datasets"]) > 1
        L += [f"| {r['dataset'] + '/' if many else ''}{r['subject']} | {r['fold']} | {r['n']} | {r['correct']} | {_fmt(r['acc'], True)} |"
              for r in last["per_subject"]]
        L += ["", f"## Seed {seed}: folds", ""]
        if PAPER_KEY in entry:
            L += ["| fold | n | epochs | seconds | correct (last) | acc epoch* | correct* | F1 epoch* |", "|---|---|---|---|---|---|---|---|"]
            for a, b in zip(last["folds"], entry[PAPER_KEY]["folds"]):
                L.append(f"| {a['fold']} | {a['n']} | {a['epochs']} | {a['seconds']} | {a['correct']} | {b['acc_epoch']} | {b['correct']} | {b['f1_epoch']} |")
            L += ["", f"\\* {OPTIMISTIC_LABEL}.", ""]
        else:
            L += ["| fold | n | epochs | seconds | correct |", "|---|---|---|---|---|"]
            L += [f"| {a['fold']} | {a['n']} | {a['epochs']} | {a['seconds']} | {a['correct']} |" for a in last["folds"]]
            L.append("")
    L += ["## Configuration", "", *[f"- {k}: {v}" for k, v in report["config_summary"].items()],
          "", "Full resolved configuration: config.yaml.", "", "## Environment", ""]
    L += [f"- {k}: {v}" for k, v in sorted(report["environment"].items())] or ["- (env.json missing)"]
    L += ["", f"Dataset fingerprint: {report['dataset_fingerprint'] or 'n/a'}", ""]
    if report["issues"]:
        L += ["## Issues", "", *[f"- {i}" for i in report["issues"]], ""]
    L += ["## Files", "", "confusion_matrix.png, learning_curves.png, megc_log.txt (MEGC prediction log), "
          "pooled_predictions.csv (the scored predictions), report.json (every number above).", ""]
    return "\n".join(L)


def _megc_log(report: dict, pooled_by_tag: dict[str, dict[str, pd.DataFrame]], run: Run) -> tuple[str, str]:
    """MEGC-style log (per fold: subject, sample, true, predicted) and the pooled predictions CSV."""
    classes, many = report["classes"], len(report["datasets"]) > 1
    clip = run.samples.set_index("sample_id")["clip"] if "clip" in run.samples.columns else None
    lines = [f"# MEGC-style prediction log of run {report['run']}; {LAST_NOTE}.",
             "# classes: " + ", ".join(f"{i}={c}" for i, c in enumerate(classes))]
    frames = []
    for tag, parts in pooled_by_tag.items():
        seed, _, paper = tag.partition("-")
        for which in ("acc", "f1") if paper else ("acc",):
            p = parts[which].copy()
            p.insert(0, "selection", f"paper_{which}_optimistic" if paper else "last")
            p.insert(0, "seed", int(seed))
            frames.append(p)
        if paper:
            continue
        p = parts["acc"]
        lines.append(f"\n## seed {seed}")
        for i, (fold, x) in enumerate(sorted(p.groupby("fold"), key=lambda t: natural_key(t[0])), start=1):
            who = (x["dataset"] + "/" + x["subject"]) if many else x["subject"]
            subj = ", ".join(sorted(set(who), key=natural_key))
            lines += [f"Fold {i}: {fold} (test subject {subj}, epoch {int(x['epoch'].iloc[0])})", "subject,sample,true,pred"]
            for r in x.sort_values("sample_id", key=lambda c: c.map(natural_key)).itertuples():
                sample = clip[r.sample_id] if clip is not None else r.sample_id
                who = f"{r.dataset}/{r.subject}" if many else r.subject
                lines.append(f"{who},{sample},{classes[r.true]},{classes[r.pred]}")
    pooled = pd.concat(frames, ignore_index=True)
    pooled["true_label"] = [classes[i] for i in pooled["true"]]
    pooled["pred_label"] = [classes[i] for i in pooled["pred"]]
    cols = ["seed", "selection", "fold", "epoch", "sample_id", "dataset", "subject", "true", "pred", "true_label", "pred_label"]
    cols += [c for c in pooled.columns if c.startswith("prob_")]
    pooled = pooled.sort_values(["seed", "selection", "fold", "sample_id"], key=lambda s: s.map(natural_key) if s.dtype == object else s)
    return "\n".join(lines) + "\n", pooled[cols].to_csv(index=False, lineterminator="\n")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})  # no version string: rebuilds compare equal
    return buf.getvalue()


def _confusion_png(report: dict) -> bytes:
    from matplotlib.figure import Figure

    classes = report["classes"]
    panels = [("last", "honest: last epoch")]
    if PAPER_KEY in report:
        panels.append((PAPER_KEY, "paper selection (F1 epochs)\n" + OPTIMISTIC_LABEL.replace(" (", "\n(")))
    size = 1.2 + 0.75 * len(classes)
    fig = Figure(figsize=(size * len(panels) + 0.5, size + 1.0), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (k, title) in zip(axes, panels):
        cm = sum(np.array(e[k]["confusion"]) for e in report["seeds"].values())
        rate = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)  # row-normalised colour, counts as text
        ax.imshow(rate, cmap="Blues", vmin=0, vmax=1)
        for i in range(len(classes)):
            for j in range(len(classes)):
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", color="white" if rate[i, j] > 0.5 else "black")
        ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
        ax.set_yticks(range(len(classes)), classes)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        n_seeds = len(report["seeds"])
        ax.set_title(title + (f"\ncounts summed over {n_seeds} seeds" if n_seeds > 1 else ""), fontsize=8)
    return _png(fig)


def _curves_png(report: dict) -> bytes:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    lc = report["learning_curves"]
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    for col, label in (("train_loss", "train loss"), ("test_loss", "test loss")):
        if f"{col}_mean_over_folds" in lc:
            ax1.plot(lc["epoch"], lc[f"{col}_mean_over_folds"], label=f"{label} (mean over folds)")
    for col, label in (("train_acc", "train acc"), ("test_acc", "test acc")):
        if f"{col}_mean_over_folds" in lc:
            ax2.plot(lc["epoch"], lc[f"{col}_mean_over_folds"], label=f"{label} (mean over folds)")
    if "pooled_epoch" in lc:
        ax2.plot(lc["pooled_epoch"], lc["test_acc_pooled_mean_over_seeds"], "--", label="test acc (pooled over folds)")
        ax2.plot(lc["pooled_epoch"], lc["test_uf1_pooled_mean_over_seeds"], ":", label="test UF1 (pooled over folds)")
    ax1.set_title("loss")
    ax2.set_title("accuracy / UF1 (test curves are for monitoring, not selection)", fontsize=9)
    for ax in (ax1, ax2):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    return _png(fig)


def build_report(run_dir: str | Path, selection: str | None = None) -> dict:
    """Score a run folder and write the report files into it.

    Args:
        run_dir: the run folder written by ``mmnet train``.
        selection: ``"last"`` or ``"paper"``; None takes ``eval.selection`` from config.yaml
            (default ``"last"``). ``"paper"`` adds the optimistic numbers beside the honest ones.

    Returns:
        The report dict, as written to ``report.json``.
    """
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    report, pooled = _compute(run, selection)
    log, pooled_csv = _megc_log(report, pooled, run)
    # default=str: YAML may hold dates; allow_nan=False: a NaN here is a bug, not a number.
    atomic_write_text(run_dir / "report.json", json.dumps(report, indent=2, allow_nan=False, default=str) + "\n")
    atomic_write_text(run_dir / "report.md", render_markdown(report))
    atomic_write_text(run_dir / "megc_log.txt", log)
    atomic_write_text(run_dir / "pooled_predictions.csv", pooled_csv)
    atomic_write_bytes(run_dir / "confusion_matrix.png", _confusion_png(report))
    atomic_write_bytes(run_dir / "learning_curves.png", _curves_png(report))
    return report


def summarize_run(run_dir: str | Path, selection: str | None = None) -> dict:
    """Headline numbers of a run, for a sweep table: per seed, mean and std (ddof=1) over seeds.

    Writes nothing. Paper-selection numbers, when selected, sit under ``paper_selection_optimistic``.
    """
    r = compute_report(run_dir, selection)
    out = {"run": r["run"], "path": str(run_dir), "complete": r["complete"], "selection": r["selection"],
           "dataset": r["config_summary"].get("data.dataset"), "scheme": r["config_summary"].get("data.scheme"),
           "n_samples": r["n_samples"], "n_folds": r["n_folds"],
           **{k: r["headline"][k] for k in ("per_seed", "mean", "std", "std_ddof", "n_seeds")}}
    if PAPER_KEY in r:
        out[PAPER_KEY] = {"label": OPTIMISTIC_LABEL, **{k: r[PAPER_KEY][k] for k in ("per_seed", "mean", "std")}}
    return out


def format_results_table(report: dict) -> str:
    """A compact terminal table of the headline (and optimistic paper) numbers of a report dict."""
    rows = [("selection", "seed", "n", "Acc %", "UF1", "UAR")]
    blocks = [("last", report["headline"])] + ([("paper*", report[PAPER_KEY])] if PAPER_KEY in report else [])
    for name, b in blocks:
        for s, r in b["per_seed"].items():
            rows.append((name, s, str(r["n"]), _fmt(r["acc"], True), _fmt(r["uf1"]), _fmt(r["uar"])))
        if b["n_seeds"] > 1:
            m, sd = b["mean"], b["std"]
            rows.append((name, "mean±std", "", f"{_fmt(m['acc'], True)}±{_fmt(sd['acc'], True)}",
                         f"{_fmt(m['uf1'])}±{_fmt(sd['uf1'])}", f"{_fmt(m['uar'])}±{_fmt(sd['uar'])}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = ["pooled over folds; std over seeds with ddof=1" if report["headline"]["n_seeds"] > 1 else "pooled over folds"]
    if PAPER_KEY in report:
        notes.append(f"* {OPTIMISTIC_LABEL}")
    if not report["complete"]:
        notes.append("PARTIAL run: finished folds only (see report.md)")
    return "\n".join(lines + notes)
