"""`mmnet demo --spotting`: the optical-flow spotter on synthetic long recordings, beside a baseline.

The work is ``mmnet.spotting.demo.run_spotting_demo``; this module turns the demo's flags into its
arguments and prints the table. Data and results go to OUT/spotting (OUT/seed-N/spotting for --seed N).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def spotting_folder(out: Path, seed: int) -> Path:
    """Where the spotting demo of ``seed`` writes: OUT/spotting, or OUT/seed-N/spotting."""
    return (out if seed == 0 else out / f"seed-{seed}") / "spotting"


def run_spotting(args: argparse.Namespace) -> int:
    """Run the spotting demo from ``mmnet demo`` flags (--out, --seed, --subjects, --no-progress)."""
    from ..errors import ConfigError
    from ..spotting.demo import DEMO_SIZE, run_spotting_demo

    unused = [flag for flag, value in (("--permute-labels", getattr(args, "permute_labels", False)),
                                       ("--clips-per-subject", getattr(args, "clips_per_subject", None)),
                                       ("--amplitude", getattr(args, "amplitude", None)),
                                       ("--set", getattr(args, "overrides", None)),
                                       ("--restart", getattr(args, "restart", False)),
                                       ("--seeds", getattr(args, "seeds", None)),
                                       ("--with-control", getattr(args, "with_control", False)),
                                       ("--tensorboard", getattr(args, "tensorboard", False))) if value]
    if unused:
        raise ConfigError(f"mmnet demo --spotting does not take {', '.join(unused)} (it trains nothing); "
                          "it takes --out, --seed, --subjects and --no-progress.")
    subjects = getattr(args, "subjects", None) or DEMO_SIZE["subjects"]
    out = spotting_folder(args.out, args.seed)
    summary = run_spotting_demo(out, seed=args.seed, subjects=subjects, progress=not args.no_progress)
    print(format_spotting_table(summary))
    print(f"summary: {out / 'spotting-summary.md'}  ({summary['time_s']['total']:.0f} s)")
    return 0


def format_spotting_table(summary: dict) -> str:
    """Spotter and baseline side by side per type (TP/FP/FN, precision, recall, F1), for the terminal."""
    d = summary["data"]
    head = (f"{d['videos']} synthetic recording(s), {d['truth']['micro']} micro + {d['truth']['macro']} macro "
            "planted; MEGC rule (IoU >= 0.5)")
    lines = [head, f"{'type':8} {'method':9} {'TP':>4} {'FP':>4} {'FN':>4} {'P':>6} {'R':>6} {'F1':>6}"]
    for type_ in summary["spotter"]:
        for method in ("spotter", "baseline"):
            c = summary[method][type_]
            lines.append(f"{type_:8} {method:9} {c['tp']:>4} {c['fp']:>4} {c['fn']:>4} {c['precision']:>6.2f} "
                         f"{c['recall']:>6.2f} {c['f1']:>6.2f}")
    lines.append(f"baseline: {summary['setting']['baseline']}")
    return "\n".join(lines)
