"""Score a run folder and (re)write its report: report.md, report.json, plots, MEGC log.

Metrics are computed once on the test predictions pooled over all finished folds. The headline
is the honest selection (the model after the last epoch). `--selection paper` adds the authors'
test-set epoch selection beside it, labelled optimistic. A run with unfinished folds is reported
as PARTIAL, listing what is missing; with --strict the exit code is then 1 (docs/cli.md).
The headline comes with bootstrap 95% confidence intervals (over subjects, and over samples);
figures are one column wide, as PNG and vector PDF (and SVG with --figures-format).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..choices import SELECTIONS
from ..shell_words import shell_quote

# cli.py's "interrupted: ..." line
INTERRUPTED = "an earlier report is kept as it was; rerun the same command to rebuild it"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", type=Path, help="run folder written by `mmnet train` (holds samples.csv, seed-*/fold-*/); "
                   "a sweep folder (holds sweep.yaml) gets its summary rebuilt")
    p.add_argument("--selection", type=str, choices=SELECTIONS, default=None,
                   help="epoch selection; default: eval.selection of the run's config.yaml, else 'last'. "
                        "'paper' adds the authors' optimistic test-set selection beside the honest numbers")
    p.add_argument("--json", action="store_true", help="print report.json instead of the results table")
    p.add_argument("--strict", action="store_true",
                   help="exit with code 1 when the run is partial (unfinished folds or seeds)")
    p.add_argument("--figures-format", type=_formats, default=("png", "pdf"), metavar="FMT[,FMT...]",
                   help="figure formats, any of png,pdf,svg (default: png,pdf); PDF and SVG are vector, "
                        "with text kept as text")
    p.add_argument("--resamples", type=int, default=10_000, metavar="N",
                   help="bootstrap resamples of the 95%% confidence intervals (default: 10000, seeded)")


def _formats(text: str) -> tuple[str, ...]:
    return tuple(f.strip().lower().lstrip(".") for f in text.split(",") if f.strip())


def run(args: argparse.Namespace) -> int:
    import json

    from ..report import build_report, format_results_table
    from ..report.build import ReportNotWritten
    from ..report.verdict import chance_lines
    from ..run_log import read_status, running_note

    if not (args.run / "samples.csv").is_file() and (args.run / "sweep.yaml").is_file():
        return _sweep_summary(args)
    markdown: Path | None = args.run / "report.md"
    try:
        report = build_report(args.run, selection=args.selection, figure_formats=args.figures_format,
                              resamples=args.resamples)
    except ReportNotWritten as exc:  # someone else's run (a student's, for a teaching assistant): scores printed
        report, markdown = exc.report, None
        print(f"warning: {exc}; the report is printed only.{exc.remedy}", file=sys.stderr)
    # cli.EXIT_INCOMPLETE: finished, but its files were not written (a script must not read a stale report.md)
    failed = 1 if markdown is None or (args.strict and not report["complete"]) else 0
    # RUN/status.json: a partial run may still be training ("running"), or its command was killed
    status = None if report["complete"] else read_status(args.run)
    if args.json:
        print(json.dumps({**report, "run_state": status["state"]} if status else report, indent=2, default=str))
    else:
        print(format_results_table(report))
        if "headline" in report and (lines := chance_lines(report)):  # whether they beat chance, as report.md says
            print("\n".join(lines))
        if markdown is not None:
            print(f"report written to {markdown}")
    if not report["complete"]:  # exit code 0 without --strict: a script that reads only stdout is told here
        print(_partial_warning(report, markdown, args.strict), file=sys.stderr)
        if note := running_note(status):
            print(f"note: {note}: the report covers the folds finished so far", file=sys.stderr)
    return failed


def _partial_warning(report: dict, markdown: Path | None, strict: bool) -> str:
    """One line: how many folds finished of how many, and what else is missing."""
    status = report["status"]
    folds = dict(report["n_folds"])  # finished folds per seed, then the unfinished ones added
    for fold in status["unfinished_folds"]:
        folds[str(fold["seed"])] = folds.get(str(fold["seed"]), 0) + 1
    # the config's seeds and every seed folder (a report.json of an earlier version lists none: those found)
    seeds = len(status["expected_seeds"]) if "expected_seeds" in status else len(folds) + len(status["missing_seeds"])
    # the protocol's count (a report.json of an earlier version has none: a seed not started as the others)
    expected = (status["folds_per_seed"] * seeds if status.get("folds_per_seed")
                else sum(folds.values()) + len(status["missing_seeds"]) * max(folds.values(), default=0))
    missing = [f"seed(s) {', '.join(map(str, status['missing_seeds']))} not started"] if status["missing_seeds"] else []
    if status.get("damaged_folds"):
        missing.append(f"{len(status['damaged_folds'])} finished fold(s) with a damaged predictions file")
    where = "the report's status (--json)" if markdown is None else f"'{markdown}'"  # not written: as printed
    untested = sum(u["samples"] for u in status["untested"].values())
    if untested:
        missing.append(f"{untested} sample(s) not tested")
    return (f"warning: the run is partial: {sum(report['n_folds'].values())} of {expected} folds finished"
            f"{''.join('; ' + m for m in missing)}. The scores cover the finished folds only; {where} lists what is "
            f"missing{' (--strict: exit code 1)' if strict else ''}.")


def _sweep_summary(args: argparse.Namespace) -> int:
    """A sweep folder: the comparison of its settings (summary.md, summary.csv) rebuilt from their run folders."""
    import json

    import yaml

    from ..train.sweep import format_summary_table, summarize_sweep

    settings = (yaml.safe_load((args.run / "sweep.yaml").read_text(encoding="utf-8")) or {}).get("settings") or {}
    rows = summarize_sweep(args.run, list(settings), overrides=settings)
    print(json.dumps(rows, indent=2, default=str) if args.json else format_summary_table(rows))
    if not args.json:
        print(f"'{args.run}' is a sweep folder: summary written to {args.run / 'summary.md'}; each setting's report "
              f"is rebuilt with `mmnet report {shell_quote(args.run)}/SETTING`")
    unfinished = [f"{r['setting']} ({r['status']})" for r in rows if not r["complete"]]
    if unfinished:  # as a run's partial warning: on stderr in every format, exit code 1 only with --strict
        print(f"warning: the sweep is partial: {len(rows) - len(unfinished)} of {len(rows)} settings finished; not "
              f"finished: {', '.join(unfinished)}. Rerun the same `mmnet sweep` command to continue"
              f"{' (--strict: exit code 1)' if args.strict else ''}.", file=sys.stderr)
    return 1 if args.strict and unfinished else 0
