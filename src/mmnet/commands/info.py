"""Show what an mmnet checkpoint holds: model settings, classes, preprocessing, parameters.

With --cache: where mmnet's cache of derived data is and how large it is (see `mmnet cache prune`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", type=Path, nargs="?", help="mmnet checkpoint folder or its model.safetensors")
    p.add_argument("--cache", action="store_true", help="show the cache folder and its size instead")
    p.add_argument("--json", action="store_true", help="print the metadata as JSON")


def _cache_info(as_json: bool) -> int:
    import os

    from ..data.cache import cache_entries, default_cache_dir
    from .cache import human_size

    folder = default_cache_dir()
    entries = cache_entries(folder)
    size = sum(e.size for e in entries)
    source = "$MMNET_CACHE_DIR" if os.environ.get("MMNET_CACHE_DIR") else "default"
    if as_json:
        print(json.dumps({"cache_dir": str(folder), "bytes": size, "entries": len(entries)}, indent=2))
        return 0
    print(f"cache:   {folder} ({source}; data.cache_dir overrides it per run)")
    print(f"size:    {human_size(size)} in {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"
          + ("" if folder.is_dir() else " (the folder does not exist yet)"))
    print("prune:   mmnet cache prune --older-than DAYS | --max-size GB [--dry-run]")
    return 0


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..model import read_checkpoint

    if args.cache:
        return _cache_info(args.json)
    if args.checkpoint is None:
        raise ConfigError("mmnet info needs a CHECKPOINT (or --cache for the cache folder).")
    from ..model.mmnet import model_from_weights

    weights, meta = read_checkpoint(args.checkpoint)
    model_from_weights(weights, meta, source=str(args.checkpoint))  # the MMNet layout, as predict checks it
    n_params = sum(v.numel() for k, v in weights.items()
                   if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))
    if args.json:
        print(json.dumps({**meta, "parameters": n_params}, indent=2))
        return 0
    print(f"checkpoint:    {args.checkpoint}")
    print(f"mmnet version: {meta.get('mmnet_version')}")
    print(f"parameters:    {n_params:,}")
    print(f"classes:       {meta.get('class_names') or '(unnamed)'}")
    for key, value in meta["model"].items():
        print(f"  model.{key} = {value}")
    for key, value in (meta.get("preprocessing") or {}).items():
        print(f"  preprocessing.{key} = {value}")
    return 0
