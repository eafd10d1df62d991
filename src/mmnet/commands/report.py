"""Score a run folder and (re)write its report: report.md, report.json, plots, MEGC log.

Metrics are computed once on the test predictions pooled over all finished folds. The headline
is the honest selection (the model after the last epoch). `--selection paper` adds the authors'
test-set epoch selection beside it, labelled optimistic. A run with unfinished folds is reported
as PARTIAL, listing what is missing.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", type=Path, help="run folder written by `mmnet train` (holds samples.csv, seed-*/fold-*/)")
    p.add_argument("--selection", type=str, choices=("last", "paper"), default=None,
                   help="epoch selection; default: eval.selection of the run's config.yaml, else 'last'. "
                        "'paper' adds the authors' optimistic test-set selection beside the honest numbers")
    p.add_argument("--json", action="store_true", help="print report.json instead of the results table")


def run(args: argparse.Namespace) -> int:
    import json

    from ..report import build_report, format_results_table

    report = build_report(args.run, selection=args.selection)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    print(format_results_table(report))
    print(f"report written to {args.run / 'report.md'}")
    return 0
