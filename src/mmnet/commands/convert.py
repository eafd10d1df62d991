"""Convert a checkpoint of the authors' code (.pth) to mmnet's format (safetensors + JSON).

Example: mmnet convert CASME2_5class_fold1.pth converted/ --class-names happiness,repression,disgust,surprise,others
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", type=Path, help="the authors' .pth file (state_dict, bare or wrapped)")
    p.add_argument("out", type=Path, help="output folder (model.safetensors + config.json)")
    p.add_argument("--pc-antialias", action="store_true",
                   help="use torchvision>=0.17's antialiased PC resize (default: the paper-era resize; no ONNX export)")
    p.add_argument("--class-names", type=str, default=None,
                   help="comma-separated class names in logit order (default for 5 classes: the "
                        "authors' CASME II ids happiness,repression,disgust,surprise,others)")


# The authors' CASME2_5.py label ids.
AUTHORS_5CLASS = ["happiness", "repression", "disgust", "surprise", "others"]


# cli.py's "interrupted: ..." line (the default says finished work is kept for a rerun to continue)
INTERRUPTED = "rerun the same command to write the checkpoint again"


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..model import IMAGENET_MEAN, IMAGENET_STD, CheckpointInfo, load_official_checkpoint

    src = args.checkpoint
    if src.suffix == ".safetensors" or (src.is_dir() and (src / "model.safetensors").is_file()):
        raise ConfigError(f"'{src}' is in mmnet's format already (safetensors): give it to --checkpoint of predict, "
                          "explain, export or serve as it is. convert reads the authors' .pth files.")
    model = load_official_checkpoint(args.checkpoint, pc_antialias=args.pc_antialias)
    n = model.config.num_classes
    names = None
    if args.class_names:
        names = [s.strip() for s in args.class_names.split(",")]
        if len(names) != n:
            raise ConfigError(f"--class-names gives {len(names)} names but the checkpoint has {n} classes")
        if len(set(names)) != n or not all(names):  # the checkpoint could not be loaded again
            raise ConfigError(f"--class-names must be {n} distinct, non-empty names, got {names}")
    elif n == 5:
        names = AUTHORS_5CLASS
    info = CheckpointInfo(class_names=names, preprocessing={"image_size": model.config.image_size,
                                                            "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)})
    out = model.save_pretrained(args.out, info)
    print(f"wrote {out} ({n} classes, {sum(p.numel() for p in model.parameters()):,} parameters)")
    return 0
