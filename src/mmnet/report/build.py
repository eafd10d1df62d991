"""Score a run folder and write an auditable report beside it.

:func:`build_report` writes into the run folder:

- ``report.json``: every number, machine-readable (no timestamps: a rebuild is byte-identical);
- ``report.md``: the same for people, with the protocol, status, config and environment;
- figures in each requested format (PNG, PDF, SVG; default PNG + PDF): ``confusion_matrix``,
  ``per_subject``, ``learning_curves`` and, with paper selection, ``confusion_matrix_paper_optimistic``;
- ``megc_log.txt``: per fold, subject, sample, true and predicted label (MEGC layout), and
  ``pooled_predictions.csv``: the scored predictions in one table, to recompute every number;
- for a long-video dataset (spot then recognise, ``str_report``): the spotting and STR tables in
  report.md/json, ``timelines/<video>.png`` and ``megc/seed-<S>/`` (MEGC log, spotting and STR CSVs).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from ..errors import ConfigError
from ..utils import atomic_write_bytes, atomic_write_text
from .bootstrap import RESAMPLES
from .figures import render_figures
from .render import megc_log, render_markdown
from .run_reader import load_run
from .scores import (
    ALL_REPORT_FILES,
    DEFAULT_FIGURE_FORMATS,
    FIGURE_FORMATS,
    REPORT_FILES,
    compute_report,
    report_files,
    score_run,
)
from .selection import OPTIMISTIC_LABEL, PAPER_KEY
from .str_report import str_section

__all__ = ["build_report", "summarize_run", "REPORT_FILES"]


def build_report(run_dir: str | Path, selection: str | None = None,
                 figure_formats: Sequence[str] = DEFAULT_FIGURE_FORMATS, resamples: int = RESAMPLES) -> dict:
    """Score a run folder and write the report files into it.

    Args:
        run_dir: the run folder written by ``mmnet train``.
        selection: ``"last"`` or ``"paper"``; None takes ``eval.selection`` from config.yaml
            (default ``"last"``). ``"paper"`` adds the optimistic numbers beside the honest ones.
        figure_formats: any of ``"png"``, ``"pdf"``, ``"svg"``; figures of other formats left by an
            earlier build are removed, so that none describes an older state of the folder.
        resamples: bootstrap resamples of the confidence intervals.

    Returns:
        The report dict, as written to ``report.json``.
    """
    run_dir = Path(run_dir)
    bad = [f for f in figure_formats if f not in FIGURE_FORMATS]
    if bad or not figure_formats:
        raise ConfigError(f"figure format(s) {bad or '(none)'} are not supported; choose from "
                          f"{', '.join(FIGURE_FORMATS)}, e.g. --figures-format png,pdf,svg")
    if resamples < 100:
        raise ConfigError(f"--resamples {resamples}: a 95 % bootstrap interval needs at least 100 resamples "
                          f"(default {RESAMPLES})")
    # Everything is computed before anything is written; when that fails, the report files of an
    # earlier build are removed, so that no report.md describes a run folder that has changed since.
    try:
        run = load_run(run_dir)
        report, pooled = score_run(run, selection, resamples)
        report["files"] = list(report_files(figure_formats, paper=PAPER_KEY in report))
        images = render_figures(report, figure_formats)
        log, pooled_csv = megc_log(report, pooled, run)
        spotting = str_section(run_dir, report)  # long-video datasets: spot then recognise
        if spotting is not None:
            report["spot_then_recognise"] = spotting.summary
        # default=str: YAML may hold dates; allow_nan=False: a NaN here is a bug, not a number.
        texts = {"report.json": json.dumps(report, indent=2, allow_nan=False, default=str) + "\n",
                 "report.md": render_markdown(report), "megc_log.txt": log, "pooled_predictions.csv": pooled_csv}
        if spotting is not None:
            texts["report.md"] += spotting.markdown
            texts.update(spotting.texts)
            images.update(spotting.images)
    except BaseException:
        if run_dir.is_dir():
            for name in ALL_REPORT_FILES:
                (run_dir / name).unlink(missing_ok=True)
            if (run_dir / "truth.csv").is_file():  # spot then recognise: its figures and MEGC files too
                for folder in ("timelines", "megc"):
                    shutil.rmtree(run_dir / folder, ignore_errors=True)
        raise
    for name in set(ALL_REPORT_FILES) - set(report["files"]):
        (run_dir / name).unlink(missing_ok=True)
    for name, text in texts.items():
        (run_dir / name).parent.mkdir(parents=True, exist_ok=True)  # spot then recognise: megc/seed-S/
        atomic_write_text(run_dir / name, text)
    for name, data in images.items():
        (run_dir / name).parent.mkdir(parents=True, exist_ok=True)  # spot then recognise: timelines/
        atomic_write_bytes(run_dir / name, data)
    return report


def summarize_run(run_dir: str | Path, selection: str | None = None) -> dict:
    """Headline numbers of a run, for a sweep table: per seed, mean and std (ddof=1) over seeds.

    Writes nothing. Paper-selection numbers, when selected, sit under ``paper_selection_optimistic``.
    ``ci``: the bootstrap 95 % intervals over subjects of the seed mean (of the one seed with one).
    """
    r = compute_report(run_dir, selection)
    out = {"run": r["run"], "path": str(run_dir), "complete": r["complete"], "selection": r["selection"],
           "dataset": r["config_summary"].get("data.dataset"), "scheme": r["config_summary"].get("data.scheme"),
           "n_samples": r["n_samples"], "n_folds": r["n_folds"],
           **{k: r["headline"][k] for k in ("per_seed", "mean", "std", "std_ddof", "n_seeds")}}
    subj = r["headline"]["ci"]["subjects"]
    out["ci"] = subj["mean"] or (next(iter(subj["per_seed"].values())) if len(subj["per_seed"]) == 1 else None)
    if PAPER_KEY in r:
        out[PAPER_KEY] = {"label": OPTIMISTIC_LABEL, **{k: r[PAPER_KEY][k] for k in ("per_seed", "mean", "std")}}
    return out
