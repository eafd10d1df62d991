"""Export a checkpoint to ONNX for onnxruntime (needs the onnx extra: pip install onnx onnxruntime onnxscript).

Example:
  mmnet export --checkpoint ckpt/ --onnx mmnet.onnx

OUT must end in .onnx; an existing .onnx file there (an earlier export) is replaced, whole or not at all.

The graph takes normalised onset and apex (or, for a flow model, flow) tensors (B, 3, S, S) float32, batch
size free (equal for both), and returns logits; class names and preprocessing are stored in its metadata.
Before the file replaces OUT, it is run in onnxruntime and compared with PyTorch (skip with --no-check):
a file that fails the check is not kept, and an earlier export at OUT stays as it was.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
from pathlib import Path

from ..shell_words import shell_quote

ON_MIMALLOC = True  # tensor work: the `mmnet` command restarts on mimalloc for it (runtime.py, "Allocator")

# Largest |logit difference| accepted between onnxruntime and PyTorch.
PARITY_TOLERANCE = 1e-4


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", type=Path, required=True, help="mmnet checkpoint folder or its model.safetensors")
    from .common import add_out_alias

    p.add_argument("--onnx", type=Path, default=None, metavar="OUT",
                   help="ONNX file to write (.onnx; an existing one is replaced); required, as --onnx or --out")
    add_out_alias(p, "onnx", "--onnx")
    p.add_argument("--opset", type=int, default=None,
                   help="ONNX opset, 11 (18 with the dynamo exporter) up to what torch and onnx support (default: 18)")
    p.add_argument("--exporter", choices=["auto", "dynamo", "torchscript"], default="auto",
                   help="torch.onnx exporter: dynamo (needs onnxscript, opset >= 18) or the deprecated torchscript "
                        "one; auto (default): dynamo when onnxscript is installed and the opset is 18 or newer")
    p.add_argument("--no-check", action="store_true", help="skip the onnxruntime-vs-PyTorch comparison")


# cli.py's "interrupted: ..." line (the default says finished work is kept for a rerun to continue)
INTERRUPTED = "no model file was written (it is written whole or not at all)"


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError, MMNetError, install_hint
    from ..infer.export import DEFAULT_OPSET, check_opset, export_onnx, onnx_parity
    from ..infer.onnx_metadata import input_names
    from ..model import load_checkpoint
    from ..utils import check_writable

    # the file is replaced whole: only an ONNX file, which an earlier export wrote, may stand in the way
    if args.onnx.suffix.lower() != ".onnx":
        raise ConfigError(f"OUT '{args.onnx}' must name a .onnx file (export writes ONNX and replaces the file it "
                          f"names), e.g. {args.onnx.with_suffix('.onnx').name}.")
    if not args.no_check and importlib.util.find_spec("onnxruntime") is None:  # found before the export
        raise MMNetError(f"Checking the ONNX export needs onnxruntime: {install_hint('onnx')}; or export without "
                         "the check: mmnet export ... --no-check")
    opset = DEFAULT_OPSET if args.opset is None else args.opset
    exporter = check_opset(opset, args.exporter)  # a mistyped opset: said before the model loads
    check_writable(args.onnx)  # a folder that refuses the file: said now, not after the export (tens of seconds)
    replacing = args.onnx.is_file()
    model, info = load_checkpoint(args.checkpoint)
    model.eval()
    kept = "nothing was written" if not replacing else f"'{args.onnx}' was left as it was"
    diffs = []

    def check(written: Path) -> None:  # the temporary file, before it replaces OUT
        diff = onnx_parity(model, written)
        if not math.isfinite(diff):
            raise MMNetError(f"onnxruntime or PyTorch gave non-finite logits (max |difference| {diff}); the export "
                             f"was not kept ({kept}). Check the checkpoint with: "
                             f"mmnet info {shell_quote(args.checkpoint)}")
        if diff > PARITY_TOLERANCE:
            raise MMNetError(f"onnxruntime logits differ from PyTorch by {diff:.2e} (> {PARITY_TOLERANCE:g}); the "
                             f"export was not kept ({kept}). Please report this with the checkpoint's config.")
        diffs.append(diff)

    # quiet: torch.onnx's graph dump on a failed export goes to devnull (this process prints nothing else meanwhile)
    out = export_onnx(model, args.onnx, info, opset=opset, exporter=exporter,
                      checkpoint=args.checkpoint,  # its model card, when beside the weights, goes into the file
                      quiet=True, check=None if args.no_check else check)
    size_mb = out.stat().st_size / 1e6
    done = "replaced" if replacing else "wrote"
    size = model.config.image_size
    print(f"{done} {out} ({size_mb:.1f} MB), inputs {'/'.join(input_names(model))} (B, 3, {size}, {size}) float32, "
          f"output logits (B, {model.config.num_classes}); opset {opset}, torch.onnx {exporter} exporter")
    for diff in diffs:
        print(f"onnxruntime vs PyTorch: max |logit difference| {diff:.2e} (tolerance {PARITY_TOLERANCE:g})")
    return 0
