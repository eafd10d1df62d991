"""Convert a checkpoint of the authors' code (.pth) to mmnet's format (safetensors + JSON).

Example: mmnet convert CASME2_5class_fold1.pth converted/ --class-names happiness,repression,disgust,surprise,others

The output folder must be new, empty, or hold an mmnet checkpoint (model.safetensors + config.json and nothing
else), which is replaced only with --force; a folder holding anything else is never written into.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", type=Path, help="the authors' .pth file (state_dict, bare or wrapped)")
    from .common import add_out_alias

    p.add_argument("out", type=Path, nargs="?", metavar="OUT", help="output folder (model.safetensors + config.json)")
    add_out_alias(p, "out", "OUT")
    p.add_argument("--force", action="store_true",
                   help="replace the mmnet checkpoint already in OUT (never a folder holding anything else)")
    p.add_argument("--pc-antialias", action="store_true",
                   help="use torchvision>=0.17's antialiased PC resize (default: the paper-era resize; ONNX export "
                        "with the dynamo exporter only)")
    p.add_argument("--class-names", type=str, default=None,
                   help="comma-separated class names in logit order (default only for the authors' 5-class "
                        "CASME2_5.py layout: their CASME II ids happiness,repression,disgust,surprise,others; "
                        "their CASME2_3.py's ids are positive,surprise,negative)")
    p.add_argument("--num-classes", type=int, default=None, metavar="N",
                   help="keep only the head's first N logits (3 for the authors' CASME2_3.py, whose head has 5 "
                        "outputs of which only the first 3 were trained)")
    from ..choices import DATASETS

    p.add_argument("--trained-on", choices=DATASETS, default=None, metavar="DATASET",
                   help="the dataset the weights were trained on, recorded in the checkpoint (default: casme2 for "
                        "the authors' 5-class layout with their class names, else not stated)")


# The authors' CASME2_5.py label ids.
AUTHORS_5CLASS = ["happiness", "repression", "disgust", "surprise", "others"]
# (PC depth, MLP ratio) of the authors' CASME2_5.py and CASME2_3.py; both scripts' heads have 5 outputs
AUTHORS_5CLASS_PC, AUTHORS_3CLASS_PC = (2, 4.0), (3, 2.0)
AUTHORS_3CLASS_HINT = ("; for the authors' CASME2_3.py, whose ids are positive (happiness) 0, surprise 1, negative 2: "
                       "--class-names positive,surprise,negative")
#: Where converted weights come from, as their checkpoint records it (`mmnet info` shows it).
AUTHORS_ORIGIN = "the MMNet authors' released code (muse1998/MMNet; no licence stated in that repository)"


# cli.py's "interrupted: ..." line (the default says finished work is kept for a rerun to continue)
INTERRUPTED = "rerun the same command to write the checkpoint again"


def _check_out(out: Path, force: bool) -> bool:
    """Whether ``out`` holds a checkpoint to replace; ConfigError unless it is new, empty, or (with ``force``)
    holds only an mmnet checkpoint."""
    from ..errors import ConfigError
    from ..model.mmnet import CONFIG_NAME, WEIGHTS_NAME

    if out.exists() and not out.is_dir():
        raise ConfigError(f"'{out}' is a file; convert writes a folder ({WEIGHTS_NAME} + {CONFIG_NAME}): give a new "
                          "folder's name.")
    held = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if not held:
        return False
    if set(held) <= {WEIGHTS_NAME, CONFIG_NAME} and WEIGHTS_NAME in held:
        if force:
            return True
        raise ConfigError(f"'{out}' holds an mmnet checkpoint already; rerun with --force to replace it, or give "
                          "another folder.")
    shown = ", ".join(held[:3]) + (" ..." if len(held) > 3 else "")
    raise ConfigError(f"'{out}' holds files that are not an mmnet checkpoint ({shown}); convert writes only into a "
                      "new or empty folder, or over a checkpoint it wrote (with --force). Give another folder.")


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..model import IMAGENET_MEAN, IMAGENET_STD, CheckpointInfo, load_official_checkpoint
    from ..model.convert import _refuse_other_formats

    src = args.checkpoint
    _refuse_other_formats(src)  # before the output folder is looked at
    replacing = _check_out(args.out, args.force)
    model = load_official_checkpoint(src, pc_antialias=args.pc_antialias, num_classes=args.num_classes)
    n = model.config.num_classes
    names = None
    if args.class_names:
        from ..typed_separators import ascii_separators

        names = [s.strip() for s in ascii_separators(args.class_names, ",").split(",")]  # '，' as ','
        if len(names) != n:
            raise ConfigError(f"--class-names gives {len(names)} names but the checkpoint has {n} classes")
        if len(set(names)) != n or not all(names):  # the checkpoint could not be loaded again
            raise ConfigError(f"--class-names must be {n} distinct, non-empty names, got {names}")
    elif n == 5:
        names = _authors_5class_names(src, model.config, args.trained_on)
    info = CheckpointInfo(class_names=names, preprocessing={"image_size": model.config.image_size,
                                                            "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)},
                          training=authors_training(src, n, names, args.trained_on, model.config))
    out = model.save_pretrained(args.out, info)
    done = "replaced the checkpoint in" if replacing else "wrote"
    print(f"{done} {out} ({n} classes, {sum(p.numel() for p in model.parameters()):,} parameters)")
    if names is None:  # predict would show class_0, class_1, ...
        print(f"note: no class names given, so predict shows class_0..class_{n - 1}. Convert again with --force "
              f"--class-names NAME,... (in logit order{AUTHORS_3CLASS_HINT if n == 3 else ''}).")
    return 0


def _authors_5class_names(src: Path, config, trained_on: str | None) -> list[str]:
    """The authors' CASME2_5.py names, for a 5-logit checkpoint of that script only; ConfigError for another: the
    authors' CASME2_3.py also has a 5-output head, and other data has other classes."""
    from ..errors import ConfigError

    if (config.pc_depth, config.pc_mlp_ratio) == AUTHORS_5CLASS_PC and trained_on in (None, "casme2"):
        return AUTHORS_5CLASS
    if (config.pc_depth, config.pc_mlp_ratio) == AUTHORS_3CLASS_PC:
        raise ConfigError(
            f"'{src}' has the PC module of the authors' 3-class script CASME2_3.py (depth 3, MLP ratio 2), whose head "
            "has 5 outputs: logits 0-2 are positive (happiness), surprise, negative in that script's ids, and no "
            "sample ever had class 3 or 4. Rerun with --num-classes 3 --class-names positive,surprise,negative "
            "(keeping the head's first three logits), or give --class-names for all 5 if it was trained otherwise.")
    why = (f"it was trained on {trained_on}" if trained_on not in (None, "casme2") else
           f"its PC module (depth {config.pc_depth}, MLP ratio {config.pc_mlp_ratio:g}) is not the one of the "
           "authors' CASME2_5.py (depth 2, MLP ratio 4)")
    raise ConfigError(f"'{src}' has 5 logits, but the authors' CASME II names ({','.join(AUTHORS_5CLASS)}) do not "
                      f"apply: {why}. Give the names in logit order with --class-names NAME1,...,NAME5.")


def authors_training(src: Path, n_classes: int, names: list[str] | None = None,
                     trained_on: str | None = None, config=None) -> dict:
    """The ``training`` record of weights converted from the authors' ``src``: the file (name and SHA-256), its
    origin, and the data they were trained on: ``trained_on`` when given, else CASME II only for the authors'
    5-class layout (and ``config``'s PC module, when given) with their class names (their CASME2_5.py), else not
    stated (None); with a licence note: the authors state no licence, and the dataset's owners have their own
    agreement."""
    from ..run_folder import file_sha256
    from ..train.model_card import _licence

    authors_layout = (n_classes == 5 and (names is None or list(names) == AUTHORS_5CLASS)
                      and (config is None or (config.pc_depth, config.pc_mlp_ratio) == AUTHORS_5CLASS_PC))
    dataset = trained_on or ("casme2" if authors_layout else None)
    data = (_licence({dataset: {}}) if dataset else  # the model card's note: the dataset owners' agreements
            "The data these weights were trained on is not stated: check it, and its licence, before using or "
            "sharing them.")
    return {
        "dataset": dataset,
        # the authors' released script is CASME2_5.py; another class count is a scheme the file does not name
        "scheme": "casme2-5class" if dataset == "casme2" and authors_layout else None,
        "classes": n_classes, "epochs": None, **({"synthetic": False} if dataset else {}),
        "source": {"file": src.name, "sha256": file_sha256(src), "origin": AUTHORS_ORIGIN,
                   "converted_by": "mmnet convert"},
        "licence": ("Converted from a checkpoint of the MMNet authors' released code, whose repository "
                    "(muse1998/MMNet) states no licence: the authors' weights come with none, and redistributing "
                    f"them needs their permission. {data}"),
    }
