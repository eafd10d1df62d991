"""The report's figures, ready for a paper: confusion matrix, per-subject accuracy, learning curves.

Each figure is one journal column wide (3.3 in) and written in every requested format: PNG
(300 dpi), PDF (TrueType fonts embedded, not Type 3) and SVG (text kept as text, editable).
Colours come from ``cividis``, a perceptually uniform map whose lightness rises monotonically,
so a greyscale print keeps the order; lines differ by style and marker, not only by colour.
Rebuilds are byte-identical: no dates or version strings in the files, fixed SVG ids.
"""

from __future__ import annotations

import io
import textwrap
import warnings
from collections.abc import Sequence

import numpy as np

from ..data.common import natural_key
from .figure_fonts import GLYPH_WARNING, figure_fonts, figure_texts
from .rounding import half_up
from .selection import PAPER_F1_EPOCHS, PAPER_KEY, optimistic_label

__all__ = ["WIDTH_IN", "CMAP", "FORMATS", "render_figures", "row_percentages", "figure_names", "score_title"]

WIDTH_IN = 3.3  # one column of a two-column paper
CMAP = "cividis"
_NOTE_WIDTH = 48  # characters of 6 pt text that fit over the matrix of a one-column figure
FORMATS = ("png", "pdf", "svg")
_RC = {"font.size": 7, "axes.titlesize": 7, "axes.labelsize": 7, "xtick.labelsize": 6, "ytick.labelsize": 6,
       "legend.fontsize": 5.5, "axes.linewidth": 0.6, "lines.linewidth": 1.0, "xtick.major.width": 0.6,
       "ytick.major.width": 0.6, "pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "none",
       "svg.hashsalt": "mmnet-report"}
_METADATA = {"png": {"Software": None}, "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
             "svg": {"Creator": None, "Date": None}}
# Dark-to-light greys for lines, then style and marker: distinguishable in colour and in greyscale.
_LINES = {"train": ("#1b1b1b", "-", None), "test": ("#1b1b1b", "--", None),
          "pooled_acc": ("#0072B2", "-.", "o"), "pooled_uf1": ("#D55E00", ":", "s")}


def figure_names(report: dict) -> list[str]:
    """The figures of a report, without suffix."""
    names = ["confusion_matrix", "per_subject", "learning_curves"]
    return names + (["confusion_matrix_paper_optimistic"] if PAPER_KEY in report else [])


def render_figures(report: dict, formats: Sequence[str] = ("png", "pdf")) -> dict[str, bytes]:
    """Every figure of a report in every format: {"confusion_matrix.pdf": bytes, ...}."""
    import matplotlib

    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ValueError(f"figure format(s) {bad or '(none)'} are not supported; choose from {', '.join(FORMATS)}")
    out = {}
    # DejaVu Sans, then an installed font for the characters it lacks (a subject named in Chinese or Japanese)
    # (set only when one is needed: figures of Latin names stay byte for byte as they were)
    family, undrawable = figure_fonts(figure_texts(report))
    with matplotlib.rc_context({**_RC, "font.family": family} if len(family) > 1 else _RC), \
            warnings.catch_warnings():
        if undrawable:  # the report's note says it once (figure_fonts.missing_glyphs_note), not once a glyph
            warnings.filterwarnings("ignore", GLYPH_WARNING, UserWarning)
        for name in figure_names(report):
            fig = _BUILDERS[name](report)
            for fmt in formats:
                buf = io.BytesIO()
                fig.savefig(buf, format=fmt, dpi=300, metadata=_METADATA[fmt])
                out[f"{name}.{fmt}"] = buf.getvalue()
    return out


def row_percentages(cm: np.ndarray, decimals: int = 1) -> np.ndarray:
    """Row-normalised percentages, rounded so that each row's shown values sum to exactly 100.

    Largest-remainder rounding: plain rounding of 1/3, 1/3, 1/3 shows 33.3 + 33.3 + 33.3 = 99.9.
    Integer arithmetic throughout; a row without samples is NaN.
    """
    cm = np.asarray(cm, dtype=np.int64)
    unit = 100 * 10**decimals
    total = cm.sum(axis=1, keepdims=True)
    safe = np.maximum(total, 1)
    shown, remainder = (cm * unit) // safe, (cm * unit) % safe
    for i in range(len(cm)):
        give = unit - int(shown[i].sum()) if total[i, 0] else 0
        shown[i, np.argsort(-remainder[i], kind="stable")[:give]] += 1
    return np.where(total > 0, shown / 10**decimals, np.nan)


def score_title(report: dict, key: str = "headline", name: str = "honest, last epoch", *,
                acc: float | None = None) -> str:
    """The scores a figure carries in its title: "honest, last epoch: UF1 0.71, UAR 0.68, Acc 75.0 % (n=100)".

    Pooled over folds; with several seeds the mean over seeds, and n is the samples of one seed.
    ``acc`` replaces the block's accuracy (the paper figure's, which comes from other epochs).
    """
    block = report[key]
    m = {**block["mean"], **({} if acc is None else {"acc": acc})}
    ns = sorted({r["n"] for r in block["per_seed"].values()})
    n = f"n={ns[0]}" if len(ns) == 1 else f"n={ns[0]}–{ns[-1]}"
    k = block["n_seeds"]
    where = f"mean of {k} seeds, {n} each" if k > 1 else n
    acc_text = half_up(m["acc"], 1, 100)
    return f"{name}: UF1 {half_up(m['uf1'], 2)}, UAR {half_up(m['uar'], 2)}, Acc {acc_text} % ({where})"


def _suptitle(fig, text: str) -> None:
    """The scores above the figure, wrapped before the parenthesis when one column is too narrow for them,
    and after the name of the scores when what is left is still too wide."""
    lines = text.replace(" (", "\n(", 1).split("\n") if len(text) > 56 else [text]
    if len(lines[0]) > 56:
        lines[0] = lines[0].replace(": ", ":\n", 1)
    fig.suptitle("\n".join(lines), fontsize=_RC["axes.titlesize"])


def _confusion(report: dict, key: str, title: str, note: str):
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    classes = report["classes"]
    cm = sum(np.array(e[key]["confusion"]) for e in report["seeds"].values())
    pct = row_percentages(cm)
    n = len(classes)
    fig = Figure(figsize=(WIDTH_IN, WIDTH_IN * 0.92), layout="constrained")
    ax = fig.subplots()
    cmap = colormaps[CMAP]
    im = ax.imshow(np.nan_to_num(pct), cmap=cmap, vmin=0, vmax=100)
    size = 6 if n <= 5 else 5 if n <= 7 else 4
    for i in range(n):
        for j in range(n):
            r, g, b, _ = cmap(np.nan_to_num(pct[i, j]) / 100)
            light = 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45  # relative luminance: dark text on light cells
            text = "–" if np.isnan(pct[i, j]) else f"{half_up(pct[i, j], 1)}%\n({cm[i, j]})"
            ax.text(j, i, text, ha="center", va="center", fontsize=size, color="black" if light else "white",
                    linespacing=1.1, gid=f"cell-{i}-{j}")
    ax.set_xticks(range(n), classes, rotation=40, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(n), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.tick_params(length=0)
    n_seeds = len(report["seeds"])
    _suptitle(fig, title)
    notes = [note] + ([f"counts summed over {n_seeds} seeds"] if n_seeds > 1 else [])
    # wrapped: centred over the matrix, one line of a long note runs off the figure's right edge
    ax.set_title(textwrap.fill("; ".join(n for n in notes if n), width=_NOTE_WIDTH), fontsize=6)
    cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
    cb.set_label("% of the true class (row)")
    cb.outline.set_linewidth(0.5)
    return fig


def _honest_confusion(report: dict):
    return _confusion(report, "last", score_title(report), "")


def _paper_confusion(report: dict):
    # The paper's accuracy comes from each fold's epoch with most correct predictions, the matrix
    # (and UF1, UAR) from its epoch of highest fold F1: the title gives the matrix's own accuracy.
    diagonal_acc = np.mean([np.trace(cm) / np.sum(cm) for cm in
                            (np.array(e[PAPER_KEY]["confusion"]) for e in report["seeds"].values())])
    title = score_title(report, PAPER_KEY, f"paper selection, {PAPER_F1_EPOCHS}", acc=float(diagonal_acc))
    paper_acc = half_up(report[PAPER_KEY]["mean"]["acc"], 1, 100)
    honest = report["headline"]["mean"]  # a figure shown on its own carries the honest numbers beside the optimistic
    note = (f"{optimistic_label(report)}; the paper's Acc, from the epochs with most correct predictions: "
            f"{paper_acc} %; "
            f"honest (last epoch): UF1 {half_up(honest['uf1'], 2)}, UAR {half_up(honest['uar'], 2)}")
    return _confusion(report, PAPER_KEY, title, note)


def _per_subject(report: dict):
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    seeds = list(report["seeds"])
    rows = list({(r["dataset"], r["subject"]): r for s in reversed(seeds)  # every subject any seed tested
                 for r in report["seeds"][s]["last"]["per_subject"]}.values())
    rows.sort(key=lambda r: (r["dataset"], natural_key(r["subject"])))
    many = len(report["datasets"]) > 1
    names = [f"{r['dataset']}/{r['subject']}" if many else str(r["subject"]) for r in rows]
    by_seed = {s: {(r["dataset"], r["subject"]): r["acc"] for r in report["seeds"][s]["last"]["per_subject"]}
               for s in seeds}
    acc = np.array([[by_seed[s].get((r["dataset"], r["subject"]), np.nan) for s in seeds] for r in rows]) * 100
    # the legend takes a second row (UAR dots, pooled accuracy, chance, and the seeds' ticks): room for it
    fig = Figure(figsize=(WIDTH_IN, 1.15 + 0.13 * len(rows)), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(rows))
    ax.barh(y, np.nanmean(acc, axis=1), color="0.6", edgecolor="0.2", linewidth=0.4, height=0.7,
            label="mean over seeds" if len(seeds) > 1 else None)
    if len(seeds) > 1:
        for k in range(len(seeds)):
            ax.plot(acc[:, k], y, "|", color="black", markersize=4, label="one seed" if k == 0 else None)
    # each subject's UAR over the classes its clips hold, against chance (1 / classes): accuracy alone flatters
    # a subject whose clips are mostly one class
    uar = {s: {(r["dataset"], r["subject"]): r.get("uar", np.nan) for r in report["seeds"][s]["last"]["per_subject"]}
           for s in seeds}
    subject_uar = np.array([[uar[s].get((r["dataset"], r["subject"]), np.nan) for s in seeds] for r in rows]) * 100
    if not np.isnan(subject_uar).all():
        ax.plot(np.nanmean(subject_uar, axis=1), y, "o", color="black", markersize=2.5, markerfacecolor="white",
                markeredgewidth=0.6, label="UAR (its classes)")
    pooled = 100 * report["headline"]["mean"]["acc"]
    ax.axvline(pooled, color="black", linestyle="--", linewidth=0.8, label=f"pooled accuracy {half_up(pooled, 1)}%")
    # each subject's own chance (1 / the classes its clips hold), a tick across its bar: one line at 1 / the set's
    # classes put a model that answers one class above chance on every subject of fewer classes
    held = np.array([r.get("classes") or np.nan for r in rows], dtype=np.float64)  # an earlier report lacks it
    one = held == 1  # chance 1/1, at 100%: not comparable with chance, said beside the subject instead of a tick
    held[one] = np.nan
    if not np.isnan(held).all():
        ok = ~np.isnan(held)
        ax.vlines(100 / held[ok], y[ok] - 0.45, y[ok] + 0.45, color="0.35", linestyle=":", linewidth=1.0,
                  label="chance UAR (1 / its classes)")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.xaxis.set_major_formatter(PercentFormatter(decimals=0))
    for k, r in enumerate(rows):
        ax.annotate(f"n={r['n']}" + (", one class" if one[k] else ""), (100, k), xytext=(2, 0),
                    textcoords="offset points", va="center", fontsize=5,
                    annotation_clip=False)
    # two lines: on one the label was wider than the 3.3 in column and cut at both ends
    ax.set_xlabel("left-out subject: accuracy (bars), UAR (dots)\nagainst its own chance (ticks); honest, last epoch")
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2, frameon=False, borderaxespad=0.2)
    return fig


def _curves(report: dict):
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    lc = report["learning_curves"]
    fig = Figure(figsize=(WIDTH_IN, 3.9), layout="constrained")
    ax1, ax2 = fig.subplots(2, 1, sharex=True)

    def line(ax, x, values, style, label):
        color, dash, marker = _LINES[style]
        every = max(1, len(x) // 8)
        start = every // 2 if style == "pooled_uf1" else 0  # markers of the two pooled curves do not overlap
        ax.plot(x, values, color=color, linestyle=dash, marker=marker, markersize=2.5, markevery=(start, every),
                label=label)

    for ax, kind in ((ax1, "loss"), (ax2, "acc")):
        for part in ("train", "test"):
            if f"{part}_{kind}_mean_over_folds" in lc:
                line(ax, lc["epoch"], lc[f"{part}_{kind}_mean_over_folds"], part, f"{part} (mean over folds)")
    if "pooled_epoch" in lc:
        line(ax2, lc["pooled_epoch"], lc["test_acc_pooled_mean_over_seeds"], "pooled_acc", "test acc, pooled")
        line(ax2, lc["pooled_epoch"], lc["test_uf1_pooled_mean_over_seeds"], "pooled_uf1", "test UF1, pooled")
    ax1.set_ylabel("loss")
    ax2.set_ylabel("accuracy / UF1")
    ax2.set_xlabel("epoch")
    _suptitle(fig, score_title(report))
    ax1.set_title("test curves are for monitoring, not for choosing an epoch", fontsize=6)
    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, linewidth=0.3, color="0.85")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(frameon=False)
        else:
            ax.text(0.5, 0.5, "no history.csv", transform=ax.transAxes, ha="center", va="center")
    return fig


_BUILDERS = {"confusion_matrix": _honest_confusion, "confusion_matrix_paper_optimistic": _paper_confusion,
             "per_subject": _per_subject, "learning_curves": _curves}
