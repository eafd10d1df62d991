"""Write a synthetic micro-expression dataset in the CASME II layout (for demos and tests).

By default 5 subjects x 20 clips (the size of `mmnet demo`'s set) with motion of 0.5-3 px, the size
of real micro-expressions (the demo's set: 8-12 px, --amplitude 8 12). The output is a CASME II root:
CASME2-coding-20190701.xlsx and Cropped/subNN/CLIP/reg_imgN.jpg, plus synth.json with the settings.

Examples:
  mmnet synth demo-data
  mmnet synth data --subjects 8 --clips-per-subject 20 --seed 3 --contact-sheet sheet.png
  mmnet synth demo-data --amplitude 8 12           (the data `mmnet demo` trains on)

Long recordings for spotting (--long): the CAS(ME)^2 layout instead, CAS(ME)^2code_final.xlsx and
rawpic/sNN/NN_CODEname/imgN.jpg (and/or rawvideo/sNN/NN_CODEname.mp4), one procedural face per
subject with macro- and micro-expressions at known random times, blinks, speech and head drift:
  mmnet synth long-data --long --minutes 2
  mmnet synth long-data --long --minutes 10 --format mp4 --subjects 2 --videos 3
`mmnet spot` reads a recording of either kind; `check-data casme-sq`, `train` and `train-spotter` read
the frames under rawpic/ (--format jpg, or --format jpg mp4 for both).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..shell_words import shell_quote

# Kept in step with mmnet.synth.DEMO_PRESET (a test checks); not imported so that --help stays fast.
_DEMO = {"subjects": 5, "clips_per_subject": 20, "seed": 0}
# the options of --long with their defaults (as in add_arguments): given without --long they would be ignored
_LONG_DEFAULTS = {"minutes": 1.0, "videos": 1, "format": ["jpg"], "fps": 30.0, "size": (640, 480)}


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .common import add_out_alias

    p.add_argument("out", type=Path, nargs="?", metavar="OUT", help="output folder (absent or empty)")
    add_out_alias(p, "out", "OUT")
    p.add_argument("--subjects", type=int, default=None,
                   help=f"number of subjects (default {_DEMO['subjects']}; with --long 1)")
    p.add_argument("--clips-per-subject", type=int, default=_DEMO["clips_per_subject"],
                   help="clips per subject (default %(default)s)")  # fmt: skip
    p.add_argument(
        "--seed", type=int, default=_DEMO["seed"], help="random seed; same seed, same files (default %(default)s)"
    )
    p.add_argument("--amplitude", type=float, nargs=2, metavar=("LOW", "HIGH"), default=None,
                   help="range of the peak action-unit displacement in pixels at 280x340 (default 0.5 3; "
                        "the demo's data: 8 12)")  # fmt: skip
    p.add_argument("--table", action="store_true",
                   help="write the clips as the 'table' dataset reads a lab's own: OUT/annotations.csv and "
                        "OUT/clips/P01/EP02_01f/frame_0046.jpg (default: the CASME II layout)")
    p.add_argument("--contact-sheet", type=Path, default=None, metavar="PNG",
                   help="also draw onset, apex and amplified difference per class into this PNG")  # fmt: skip
    p.add_argument("--overwrite", action="store_true", help="replace an earlier synthetic set in OUT")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress on stderr (by default, with --long: a bar per recording at a terminal, else a "
                        "line every 10 %% of its frames)")
    g = p.add_argument_group("long recordings (--long)")
    g.add_argument("--long", action="store_true", help="write long recordings for spotting (CAS(ME)^2 layout)")
    g.add_argument("--minutes", type=float, default=1.0, help="length of each recording (default %(default)s)")
    g.add_argument("--videos", type=int, default=1, help="recordings per subject, 1..9 (default %(default)s)")
    g.add_argument("--format", nargs="+", choices=("jpg", "mp4"), default=["jpg"],
                   help="JPEG frames under rawpic/ and/or H.264 .mp4 under rawvideo/ (default jpg)")
    g.add_argument("--fps", type=float, default=30.0,
                   help="frame rate (default %(default)s, as CAS(ME)^2; another rate with --format mp4 alone: "
                        "rawpic/ frames are read at CAS(ME)^2's 30 fps)")
    g.add_argument("--size", type=int, nargs=2, metavar=("W", "H"), default=(640, 480),
                   help="frame size; the face is 280 x 340 at 640 480, in proportion to the largest 4:3 area of "
                        "the frame (it keeps its shape in a 16:9 frame) (default 640 480)")


# cli.py's "interrupted: ..." line (the default says finished work is kept for a rerun to continue)
INTERRUPTED = "the incomplete set was removed from OUT; rerun the same command to write it"


def check_amplitude(amplitude: list[float] | None) -> None:
    """Refuse an --amplitude LOW HIGH that SynthConfig would refuse, under the option's name (also mmnet demo's)."""
    from math import isfinite

    from ..errors import ConfigError

    if amplitude is not None and not (all(isfinite(v) for v in amplitude) and 0 <= amplitude[0] <= amplitude[1]):
        low, high = (f"{v:g}" for v in amplitude)
        order = "the smaller first, " if amplitude[0] > amplitude[1] else ""
        raise ConfigError(f"--amplitude LOW HIGH must be finite pixel counts with 0 <= LOW <= HIGH, got --amplitude "
                          f"{low} {high}: give {order}e.g. --amplitude 8 12 (the demo's data).")


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import time

    from ..errors import ConfigError

    if args.seed < 0:
        raise ConfigError(f"--seed must be >= 0, got {args.seed}")
    check_amplitude(args.amplitude)
    if args.contact_sheet is not None:  # checked before the set is written, not after
        from PIL import Image

        if args.contact_sheet.suffix.lower() not in Image.registered_extensions() or args.contact_sheet.is_dir():
            raise ConfigError(f"--contact-sheet '{args.contact_sheet}' must be an image file name, e.g. sheet.png")
    if args.long:
        return _run_long(args)
    given = [f"--{n}" for n in ("minutes", "videos", "format", "fps", "size")
             if getattr(args, n) != _LONG_DEFAULTS[n]]
    if given:
        raise ConfigError(f"{', '.join(given)} only appl{'ies' if len(given) == 1 else 'y'} to long recordings: "
                          "add --long, or drop them.")
    from .common import say_step

    # its modules alone load in seconds
    say_step(f"writing a synthetic set to {args.out} ...", progress=not args.no_progress)
    from ..synth import SynthConfig, contact_sheet, sample_annotations, write_dataset

    args.subjects = _DEMO["subjects"] if args.subjects is None else args.subjects
    config = SynthConfig()
    if args.amplitude is not None:
        config = dataclasses.replace(config, amplitude_px=tuple(args.amplitude))
    start = time.perf_counter()
    if args.table and args.contact_sheet is not None:
        raise ConfigError("--contact-sheet draws a set in the CASME II layout: write one without --table for it.")
    root = write_dataset(args.out, subjects=args.subjects, clips_per_subject=args.clips_per_subject,
                         seed=args.seed, config=config, overwrite=args.overwrite, table=args.table)  # fmt: skip
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
    if args.table:
        print(f"next: mmnet check-data table --root {shell_quote(root)} (what training would use); mmnet train "
              f"--dataset table --root {shell_quote(root)} --out RUN (docs/datasets.md, \"Your own dataset\")")
        return 0
    print(f"next: mmnet check-data casme2 --root {shell_quote(root)} (what training would use); mmnet train --config "
          f"synth_demo --root {shell_quote(root)} --out RUN trains `mmnet demo`'s recipe on it (64 px: minutes on a "
          "CPU; the demo's data is --amplitude 8 12); without --config, the paper's recipe (224 px: hours on a CPU)")
    return 0


def _run_long(args: argparse.Namespace) -> int:
    import time

    from .common import say_step

    # its modules alone load in seconds
    say_step(f"writing synthetic recordings to {args.out} ...", progress=not args.no_progress)
    from ..data.common import SYNTH_MARKER
    from ..errors import ConfigError
    from ..synth.long import MIN_FACE, LongConfig, face_size_for
    from ..synth.long_writer import write_long_dataset

    if args.contact_sheet is not None or args.amplitude is not None or args.table or args.clips_per_subject != _DEMO[
            "clips_per_subject"]:
        raise ConfigError("--contact-sheet, --amplitude, --table and --clips-per-subject are for clip sets, not "
                          "--long.")
    w, h = args.size

    face = face_size_for((w, h))
    if min(face) < MIN_FACE:  # LongConfig would name face_size, which no option sets
        # a multiple of 8 keeps both sides even (x * 3/4), as an .mp4 (H.264, 4:2:0) needs
        least = next(x for x in range(8, 4000, 8) if min(face_size_for((x, x * 3 // 4))) >= MIN_FACE)
        raise ConfigError(f"--size {w} {h} is too small for the synthetic face; give at least "
                          f"--size {least} {least * 3 // 4} (default 640 480).")
    config = LongConfig(fps=args.fps, frame_size=(w, h), face_size=face)
    start = time.perf_counter()
    root = write_long_dataset(args.out, subjects=args.subjects or 1, videos_per_subject=args.videos,
                              minutes=args.minutes, seed=args.seed, config=config, formats=tuple(args.format),
                              overwrite=args.overwrite, progress=not args.no_progress)
    print(f"wrote {(args.subjects or 1) * args.videos} recording(s) of {args.minutes:g} min to {root} "
          f"in {time.perf_counter() - start:.1f} s (events in {root / SYNTH_MARKER})")
    print(_next_long(root, args.fps))
    return 0


def _next_long(root: Path, fps: float) -> str:
    """Where the recordings are and what to run on them (the planted expressions are the truth to compare with)."""
    from ..data.common import SYNTH_MARKER, SYNTH_TRUTH

    videos = sorted((root / "rawvideo").glob("*/*.mp4"))
    folders = sorted(p for p in (root / "rawpic").glob("*/*") if p.is_dir())
    lines = []
    if videos:
        lines.append(f"videos: {root / 'rawvideo'}/sNN/*.mp4; next: mmnet spot {shell_quote(videos[0])}")
    if folders:
        lines.append(f"frames: {root / 'rawpic'}/sNN/*/; next: mmnet spot {shell_quote(folders[0])} --fps {fps:g}, "
                     f"or the whole set: mmnet check-data casme-sq --root {shell_quote(root)}")
    elif fps == 30:
        lines.append("(check-data casme-sq, train and train-spotter read the frames under rawpic/: "
                     "write them too with --format jpg mp4)")
    else:  # rawpic/ is CAS(ME)^2's 30 fps layout: frames at another rate are refused there
        lines.append(f"(check-data casme-sq, train and train-spotter read 30 fps frames under rawpic/, CAS(ME)^2's "
                     f"rate: a {fps:g} fps set has videos alone; write a 30 fps one with --format jpg mp4 for them)")
    lines.append(f"the planted expressions are under 'events' in {root / SYNTH_MARKER}, numbered as the frames "
                 "img1.jpg... (from 1): subtract 1 for a video's frame numbers (from 0, as mmnet spot counts)")
    truth = shell_quote(root / SYNTH_TRUTH)
    lines.append(f"truth: {truth} (the planted expressions, MEGC's frame numbers); score `mmnet spot --out S` "
                 f"against it: mmnet score-spots {truth} S/spotting.csv")
    return "\n".join(lines)
