"""Reports: read a run folder, choose the scored epochs, compute the MEGC metrics, write the report.

    run_reader.py   load_run: the run folder's files, checked against each other
    selection.py    which epoch of a fold is scored (honest "last"; the authors' optimistic "paper")
    metrics.py      Acc, UF1, UAR, confusion matrices
    bootstrap.py    bootstrap confidence intervals, paired bootstrap, McNemar's exact test
    scores.py       compute_report: pooled predictions -> every number of the report
    render.py       report.md, the MEGC prediction log, the terminal table
    figures.py      confusion matrix, per-subject accuracy, learning curves (PNG, PDF, SVG)
    build.py        build_report: score and write every report file; summarize_run for sweeps
    compare.py      compare_runs: several runs side by side, paired tests against the first
"""

from .build import build_report, summarize_run
from .compare import CompareError, compare_runs, render_compare_markdown
from .render import format_results_table, render_markdown
from .run_reader import RunFolderError, load_run
from .scores import REPORT_FILES, compute_report

__all__ = ["build_report", "compute_report", "summarize_run", "format_results_table", "render_markdown",
           "load_run", "RunFolderError", "REPORT_FILES", "compare_runs", "render_compare_markdown", "CompareError"]
