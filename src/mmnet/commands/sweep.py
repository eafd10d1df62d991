"""Run a sweep (settings x seeds, one YAML file) and write a table comparing the settings.

Each setting gets its own run folder OUT/<setting>/ (the same layout as `mmnet train`); the
comparison (mean and std over seeds of Acc, UF1, UAR) goes to OUT/summary.md and OUT/summary.csv.
With --executor ray the folds of all settings go to the cluster together (docs/cluster.md).
Rerunning the same command continues an interrupted sweep.

Examples:
  mmnet sweep configs/sweeps/casme2_5class_ablations.yaml --root /data/CASME2 --out runs/ablations
  mmnet sweep SWEEP.yaml --root DIR --out OUT --executor ray --address auto --gpus-per-fold 0.25
  mmnet sweep SWEEP.yaml --root DIR --out OUT --only paper --only no_ca --seeds 2 --set train.epochs=10
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sweep", type=Path, help="sweep YAML (see configs/sweeps/)")
    p.add_argument("--out", type=Path, required=True, help="sweep folder: one run folder per setting + summary")
    p.add_argument("--root", type=str, default=None, help="dataset root (same as --set data.root=DIR)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value in every setting, e.g. --set train.epochs=10 (repeatable)")
    p.add_argument("--seeds", type=int, default=None, help="run N seeds instead of the sweep file's")
    p.add_argument("--only", action="append", default=None, metavar="SETTING",
                   help="run only this setting (repeatable)")
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="run folds in this process (default) or as Ray tasks (pip install 'mmnet[ray]')")
    p.add_argument("--address", type=str, default=None,
                   help="Ray cluster address, e.g. auto or HEAD:6379 (default: a private local Ray)")
    p.add_argument("--gpus-per-fold", type=float, default=None,
                   help="Ray: GPU share per fold, e.g. 0.25 (default: 1 if the cluster has GPUs, else 0)")
    p.add_argument("--cpus-per-fold", type=float, default=None, help="Ray: CPUs per fold (default 1)")
    p.add_argument("--transport", choices=("object-store", "shared-fs"), default=None,
                   help="Ray: ship the frame cache through the object store (default) or read it from shared storage")
    p.add_argument("--max-retries", type=int, default=None, help="Ray: reruns of a fold whose worker died (default 3)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from ..sweep import format_summary_table, load_sweep, run_sweep

    overrides = ([f"data.root={args.root}"] if args.root is not None else []) + list(args.overrides)
    sweep = load_sweep(args.sweep, overrides, seeds=args.seeds, only=args.only)
    options = {k: v for k, v in (("address", args.address), ("gpus_per_fold", args.gpus_per_fold),
                                 ("cpus_per_fold", args.cpus_per_fold), ("transport", args.transport),
                                 ("max_retries", args.max_retries)) if v is not None}
    if options and args.executor == "local":
        from ..errors import ConfigError

        raise ConfigError(f"--{next(iter(options)).replace('_', '-')} only applies with --executor ray")
    rows = run_sweep(sweep, args.out, executor=args.executor, executor_options=options, progress=not args.no_progress)
    print(format_summary_table(rows))
    print(f"summary: {args.out / 'summary.md'}")
    return 0
