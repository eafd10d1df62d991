"""Draw MMNet's attention maps for one clip as a PNG (onset, apex, motion, CA stages 1-4).

Examples:
  mmnet explain --checkpoint ckpt/ onset.png apex.png --out figure.png
  mmnet explain --checkpoint ckpt/ clips/EP02_01f --onset 46 --apex 59 --out figure.png

The clip is given as for `mmnet predict` (image pair, frame folder or video; --onset/--apex are
frame numbers, the apex is spotted when not given).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .predict import add_clip_options


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", type=Path, nargs="+", metavar="INPUT",
                   help="a frame folder or video file, or two images: ONSET APEX")
    add_clip_options(p)
    p.add_argument("--out", type=Path, required=True, help="PNG file to write")
    p.add_argument("--dpi", type=int, default=100, help="figure resolution")


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..infer import Predictor, align_clip, explain_clip, load_clip, render_explanation
    from .predict import requests_from_args

    requests = requests_from_args(args)
    if len(requests) != 1:
        names = ", ".join(str(r.source) for r in requests)
        raise ConfigError(f"explain draws one clip; got {len(requests)} ({names}). "
                          "Run it once per clip, each with its own --out.")
    (request,) = requests
    if args.threads is not None:
        if args.threads < 1:
            raise ConfigError(f"--threads must be >= 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    predictor = Predictor.from_checkpoint(args.checkpoint, device=args.device)
    clip = load_clip(request.source, request.apex_image)
    if args.align:
        clip = align_clip(clip, request.onset)
    explanation = explain_clip(predictor, clip, onset=request.onset, apex=request.apex)
    out = render_explanation(explanation, args.out, dpi=args.dpi)
    p = explanation.probabilities[explanation.label]
    print(f"{clip.source}: {explanation.label} (p = {p:.3f}), onset {explanation.onset_frame}, "
          f"apex {explanation.apex_frame}; figure written to {out}")
    return 0
