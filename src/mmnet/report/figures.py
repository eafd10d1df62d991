"""The report's figures: confusion matrix and learning curves, as PNG bytes."""

from __future__ import annotations

import io

import numpy as np

from .selection import OPTIMISTIC_LABEL, PAPER_KEY

__all__ = ["confusion_png", "curves_png"]


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})  # no version string: rebuilds compare equal
    return buf.getvalue()


def confusion_png(report: dict) -> bytes:
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


def curves_png(report: dict) -> bytes:
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
