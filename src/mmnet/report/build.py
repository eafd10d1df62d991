"""Score a run folder and write an auditable report beside it.

:func:`build_report` writes into the run folder:

- ``report.json``: every number, machine-readable (no timestamps: a rebuild is byte-identical);
- ``report.md``: the same for people, with the protocol, status, config and environment;
- ``confusion_matrix.png``, ``learning_curves.png``;
- ``megc_log.txt``: per fold, subject, sample, true and predicted label (MEGC layout), and
  ``pooled_predictions.csv``: the scored predictions in one table, to recompute every number;
- for a long-video dataset (spot then recognise, ``str_report``): the spotting and STR tables in
  report.md/json, ``timelines/<video>.png`` and ``megc/seed-<S>/`` (MEGC log, spotting and STR CSVs).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..utils import atomic_write_bytes, atomic_write_text
from .figures import confusion_png, curves_png
from .render import megc_log, render_markdown
from .run_reader import load_run
from .scores import compute_report, score_run
from .selection import OPTIMISTIC_LABEL, PAPER_KEY
from .str_report import str_section

__all__ = ["build_report", "summarize_run", "REPORT_FILES"]

#: What build_report writes into a run folder.
REPORT_FILES = ("report.json", "report.md", "megc_log.txt", "pooled_predictions.csv", "confusion_matrix.png",
                "learning_curves.png")


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
    # Everything is computed before anything is written; when that fails, the report files of an
    # earlier build are removed, so that no report.md describes a run folder that has changed since.
    try:
        run = load_run(run_dir)
        report, pooled = score_run(run, selection)
        log, pooled_csv = megc_log(report, pooled, run)
        spotting = str_section(run_dir, report)  # long-video datasets: spot then recognise
        if spotting is not None:
            report["spot_then_recognise"] = spotting.summary
        # default=str: YAML may hold dates; allow_nan=False: a NaN here is a bug, not a number.
        texts = {"report.json": json.dumps(report, indent=2, allow_nan=False, default=str) + "\n",
                 "report.md": render_markdown(report), "megc_log.txt": log, "pooled_predictions.csv": pooled_csv}
        images = {"confusion_matrix.png": confusion_png(report), "learning_curves.png": curves_png(report)}
        if spotting is not None:
            texts["report.md"] += spotting.markdown
            texts.update(spotting.texts)
            images.update(spotting.images)
    except BaseException:
        if run_dir.is_dir():
            for name in REPORT_FILES:
                (run_dir / name).unlink(missing_ok=True)
            if (run_dir / "truth.csv").is_file():  # spot then recognise: its figures and MEGC files too
                for folder in ("timelines", "megc"):
                    shutil.rmtree(run_dir / folder, ignore_errors=True)
        raise
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
    """
    r = compute_report(run_dir, selection)
    out = {"run": r["run"], "path": str(run_dir), "complete": r["complete"], "selection": r["selection"],
           "dataset": r["config_summary"].get("data.dataset"), "scheme": r["config_summary"].get("data.scheme"),
           "n_samples": r["n_samples"], "n_folds": r["n_folds"],
           **{k: r["headline"][k] for k in ("per_seed", "mean", "std", "std_ddof", "n_seeds")}}
    if PAPER_KEY in r:
        out[PAPER_KEY] = {"label": OPTIMISTIC_LABEL, **{k: r[PAPER_KEY][k] for k in ("per_seed", "mean", "std")}}
    return out
