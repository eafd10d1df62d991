"""Run a sweep (settings x seeds, one YAML file) and write a table comparing the settings.

Each setting gets its own run folder OUT/<setting>/ (the same layout as `mmnet train`); the
comparison (mean and std over seeds of Acc, UF1, UAR) goes to OUT/summary.md and OUT/summary.csv.
With --executor ray or slurm the folds of all settings go to the cluster together (docs/cluster.md).
Rerunning the same command continues an interrupted sweep; --restart moves each setting's earlier run aside.

Examples:
  mmnet sweep casme2_5class_ablations --root /data/CASME2 --out runs/ablations   (a sweep shipped with mmnet)
  mmnet sweep SWEEP.yaml --root DIR --out OUT --executor ray --address auto --gpus-per-fold 0.25
  mmnet sweep SWEEP.yaml --root DIR --out OUT --only paper --only no_ca --seeds 2 --set train.epochs=10
"""

from __future__ import annotations

import argparse
from pathlib import Path

ON_MIMALLOC = True  # tensor work: the `mmnet` command restarts on mimalloc for it (runtime.py, "Allocator")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..recipes import sweep_names
    from .common import add_executor_arguments, add_root_argument

    p.add_argument("sweep", type=Path, help="sweep YAML, or the name of one shipped with mmnet: "
                   + ", ".join(sweep_names()))
    p.add_argument("--out", type=Path, required=True, help="sweep folder: one run folder per setting + summary")
    add_root_argument(p)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value in every setting, e.g. --set train.epochs=10 (repeatable)")
    p.add_argument("--seeds", type=int, default=None, help="run N seeds instead of the sweep file's")
    p.add_argument("--only", action="append", default=None, metavar="SETTING",
                   help="run only this setting (repeatable)")
    add_executor_arguments(p)
    p.add_argument("--restart", action="store_true",
                   help="move each setting's earlier run (OUT/SETTING) aside to OUT/SETTING.old-<time> and train it "
                        "anew, as `mmnet train --restart`")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print the summary rows as JSON instead of the table")


def run(args: argparse.Namespace) -> int:
    from ..train.sweep import format_summary_table, load_sweep, train_sweep
    from .common import executor_config, refuse_flag_clashes, root_override

    executor = executor_config(args)
    flags = [(" ".join(f"--root {r}" for r in args.root), item) for item in root_override(None, args.root)]
    if args.seeds is not None:
        flags.append((f"--seeds {args.seeds}", f"seeds={args.seeds}"))
    refuse_flag_clashes(flags, list(args.overrides))  # a flag and --set disagreeing: neither wins silently
    sweep = load_sweep(args.sweep, root_override(None, args.root) + list(args.overrides), seeds=args.seeds,
                       only=args.only)
    rows = train_sweep(sweep, args.out, executor=executor, progress=not args.no_progress, restart=args.restart)
    if rows is None:
        return 0  # --no-wait: the folds were submitted (the executor said where and what next)
    ran = {s.name for s in sweep.settings}  # the summary also lists the settings --only left out
    done = all(r["complete"] for r in rows if r["setting"] in ran)
    if args.json:
        import json

        print(json.dumps(rows, indent=2, default=str))
        return 0 if done else 1
    print(format_summary_table(rows))
    print(f"summary: {args.out / 'summary.md'}")
    return 0 if done else 1  # 1: a partial setting (docs/cli.md)
