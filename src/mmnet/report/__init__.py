"""Reports: read a run folder, choose the scored epochs, compute the MEGC metrics, write the report.

What each module holds: docs/architecture.md, "Package map"."""

from .build import build_report, summarize_run
from .compare import CompareError, compare_runs, render_compare_markdown
from .render import format_results_table, render_markdown
from .run_reader import RunFolderError, load_run, read_predictions
from .scores import REPORT_FILES, compute_report

__all__ = ["build_report", "compute_report", "summarize_run", "format_results_table", "render_markdown",
           "load_run", "read_predictions", "RunFolderError", "REPORT_FILES", "compare_runs", "render_compare_markdown",
           "CompareError"]
