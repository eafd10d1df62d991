"""Write a synthetic micro-expression dataset in the CASME II layout (for demos and tests).

The default size is the demo preset (mmnet.synth.DEMO_PRESET). The output is a CASME II root:
CASME2-coding-20190701.xlsx and Cropped/subNN/CLIP/reg_imgN.jpg, plus synth.json with the settings.

Examples:
  mmnet synth demo-data
  mmnet synth data --subjects 8 --clips-per-subject 20 --seed 3 --contact-sheet sheet.png
  mmnet synth demo-data --amplitude 8 12           (the data `mmnet demo` trains on)
"""

from __future__ import annotations

import argparse
from pathlib import Path

# Kept in step with mmnet.synth.DEMO_PRESET (a test checks); not imported so that --help stays fast.
_DEMO = {"subjects": 5, "clips_per_subject": 14, "seed": 0}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", type=Path, help="output folder (absent or empty)")
    p.add_argument("--subjects", type=int, default=_DEMO["subjects"], help="number of subjects (default %(default)s)")
    p.add_argument("--clips-per-subject", type=int, default=_DEMO["clips_per_subject"],
                   help="clips per subject (default %(default)s)")  # fmt: skip
    p.add_argument(
        "--seed", type=int, default=_DEMO["seed"], help="random seed; same seed, same files (default %(default)s)"
    )
    p.add_argument("--amplitude", type=float, nargs=2, metavar=("LOW", "HIGH"), default=None,
                   help="range of the peak action-unit displacement in pixels at 280x340 (default 0.5 3; "
                        "the demo's data: 8 12)")  # fmt: skip
    p.add_argument("--contact-sheet", type=Path, default=None, metavar="PNG",
                   help="also draw onset, apex and amplified difference per class into this PNG")  # fmt: skip
    p.add_argument("--overwrite", action="store_true", help="replace an earlier synthetic set in OUT")


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import time

    from ..synth import SynthConfig, contact_sheet, sample_annotations, write_dataset

    config = SynthConfig()
    if args.amplitude is not None:
        config = dataclasses.replace(config, amplitude_px=tuple(args.amplitude))
    start = time.perf_counter()
    root = write_dataset(args.out, subjects=args.subjects, clips_per_subject=args.clips_per_subject,
                         seed=args.seed, config=config, overwrite=args.overwrite)  # fmt: skip
    rows = sample_annotations(
        subjects=args.subjects, clips_per_subject=args.clips_per_subject, seed=args.seed, config=config
    )
    counts = {c: sum(r.label == c for r in rows) for c in dict.fromkeys(r.label for r in rows)}
    mix = ", ".join(f"{c} {n}" for c, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    print(
        f"wrote {len(rows)} clips of {args.subjects} subjects to {root} in {time.perf_counter() - start:.1f} s ({mix})"
    )
    if args.contact_sheet is not None:
        print(f"contact sheet: {contact_sheet(root, args.contact_sheet)}")
    return 0
