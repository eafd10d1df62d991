"""Show what an mmnet checkpoint holds: model settings, classes, preprocessing, parameters."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", type=Path, help="mmnet checkpoint folder or its model.safetensors")
    p.add_argument("--json", action="store_true", help="print the metadata as JSON")


def run(args: argparse.Namespace) -> int:
    from ..model import read_checkpoint
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
