"""Compare run folders: scores with confidence intervals, and paired tests against the first run.

Each run is scored with the honest selection (model after the last epoch). The runs must be
comparable with the first one, the reference: same classes, dataset, label scheme and scored samples
(an error names the difference); a run of another protocol (a composite's LOSO against its LODO) is paired
by sample, and the output says so. For each run against the reference: the Acc/UF1/UAR
difference with a paired bootstrap interval over subjects, a paired sign-flip test over subjects (the
p-value; UAR's is the primary one), and McNemar's exact test on per-sample correctness. Prints markdown
(or JSON with --json); writes nothing (docs/reports.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", type=Path, nargs="+", metavar="RUN",
                   help="run folders written by `mmnet train`; the first is the reference")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON instead of markdown")
    p.add_argument("--resamples", type=int, default=10_000, metavar="N",
                   help="bootstrap resamples, and sign flips above 16 subjects (default: 10000, seeded)")


# cli.py's "interrupted: ..." line (the default says finished work is kept for a rerun to continue)
INTERRUPTED = "nothing was written"


def run(args: argparse.Namespace) -> int:
    import json

    from ..errors import ConfigError, UsageError
    from ..report.compare import compare_runs, render_compare_markdown

    if len(args.runs) < 2:  # a needed argument missing: the usage (compare_runs says it to a caller from Python)
        raise UsageError(f"compare needs at least two run folders, got {len(args.runs)}.")
    if args.resamples < 100:
        raise ConfigError(f"--resamples {args.resamples}: a 95% bootstrap interval needs at least 100 resamples")
    result = compare_runs(args.runs, resamples=args.resamples)
    print(json.dumps(result, indent=2, default=str) if args.json else render_compare_markdown(result), end="")
    return 0
