"""Options shared by several commands: the dataset root, the executor (local or Ray), --set."""

from __future__ import annotations

import argparse

__all__ = ["add_root_argument", "add_executor_arguments", "executor_config", "root_override"]

ROOT_HELP = ("dataset folder; for the composite: PART=DIR per part (casme2=DIR, samm=DIR, smic=DIR), repeated or "
             "comma-separated, or one folder holding casme2/ samm/ smic/")


def add_root_argument(p: argparse.ArgumentParser, *, required: bool = False) -> None:
    p.add_argument("--root", type=str, action="append", default=None, required=required, metavar="DIR",
                   help=ROOT_HELP)


def root_override(dataset: str | None, roots: list[str] | None) -> list[str]:
    """``--root`` values as the ``data.root=...`` override (parsed, so that errors come early)."""
    if not roots:
        return []
    from ..config import format_root, parse_root

    name = dataset or ("composite" if any("=" in r for r in roots) else "")
    return [f"data.root={format_root(parse_root(name, roots))}"]


def add_executor_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="run folds in this process (default) or as Ray tasks (extra ray: pip install -e '.[ray]' "
                        "in the checkout)")
    p.add_argument("--address", type=str, default=None,
                   help="Ray cluster address, e.g. auto or HEAD:6379 (default: a private local Ray)")
    p.add_argument("--gpus-per-fold", type=float, default=None,
                   help="Ray: GPU share per fold, e.g. 0.25 (default: 1 if the cluster has GPUs, else 0)")
    p.add_argument("--cpus-per-fold", type=float, default=None, help="Ray: CPUs per fold (default 1)")
    p.add_argument("--transport", choices=("object-store", "shared-fs"), default=None,
                   help="Ray: ship the frame cache through the object store (default) or read it from shared storage")
    p.add_argument("--max-retries", type=int, default=None, help="Ray: reruns of a fold whose worker died (default 3)")


def executor_config(args: argparse.Namespace):
    from ..config import ExecutorConfig

    return ExecutorConfig(executor=args.executor, address=args.address, cpus_per_fold=args.cpus_per_fold,
                          gpus_per_fold=args.gpus_per_fold, max_retries=args.max_retries, transport=args.transport)
