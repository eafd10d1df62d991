"""Score a run folder and (re)write its report: report.md, report.json, plots, MEGC log.

Metrics are computed once on the test predictions pooled over all finished folds. The headline
is the honest selection (the model after the last epoch). `--selection paper` adds the authors'
test-set epoch selection beside it, labelled optimistic. A run with unfinished folds is reported
as PARTIAL, listing what is missing; with --strict the exit code is then 1 (docs/cli.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", type=Path, help="run folder written by `mmnet train` (holds samples.csv, seed-*/fold-*/)")
    p.add_argument("--selection", type=str, choices=("last", "paper"), default=None,
                   help="epoch selection; default: eval.selection of the run's config.yaml, else 'last'. "
                        "'paper' adds the authors' optimistic test-set selection beside the honest numbers")
    p.add_argument("--json", action="store_true", help="print report.json instead of the results table")
    p.add_argument("--strict", action="store_true",
                   help="exit with code 1 when the run is partial (unfinished folds or seeds)")


def run(args: argparse.Namespace) -> int:
    import json

    from ..report import build_report, format_results_table

    report = build_report(args.run, selection=args.selection)
    failed = 1 if args.strict and not report["complete"] else 0  # cli.EXIT_INCOMPLETE
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return failed
    print(format_results_table(report))
    print(f"report written to {args.run / 'report.md'}")
    if failed:
        print("strict: the run is partial (see the report's status)", file=sys.stderr)
    return failed
