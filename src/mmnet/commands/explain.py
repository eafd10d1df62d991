"""Draw MMNet's attention maps for one clip as a PNG (onset, apex, motion, Grad-CAM; below, CA stages 1-4).

Examples:
  mmnet explain --checkpoint ckpt/ onset.png apex.png --out figure.png
  mmnet explain --checkpoint ckpt/ clips/EP02_01f --onset 40 --apex 52 --out figure.png

The clip is given as for `mmnet predict` (image pair, frame folder or video; the apex is spotted
when not given). On a folder that `mmnet prepare` wrote, an onset or apex frame where prepare found the face
moved out of the crop is refused and one near such frames is a warning, as `mmnet predict` says them.
Frame numbers (--onset, --apex) are the number in each file name for a frame folder
(reg_img46.jpg is frame 46) and the decode index counted from 0 for a video (its first frame is 0,
as OpenCV, FFmpeg and PyAV count), so `mmnet prepare` writes a video's frame i as `reg_img{i}.jpg`.

The maps are the class-independent attention gates of the motion branch (the same whatever the class, without
the onset-appearance PC branch; not an attribution, not tested for faithfulness): the heading of their row
says so. The panel after the motion (top right) is the class-specific Grad-CAM of the predicted class (or
--target-class), only S/16 cells on a side. Each attention map is drawn in --cmap (default viridis) over its
own range, given in its title and colour bar (a narrow range is a nearly flat map, as an untrained model's);
--shared-scale puts the four maps on one scale. Panels keep the face's aspect ratio. A line under the panels
says what the model was trained on (from its run folder), and warns when that was synthetic faces only (mmnet
demo) or is not recorded (a checkpoint outside its run folder, possibly untrained); it warns first when the onset
and apex frames are identical (zero motion). The figure shows the input's faces: a "faces:" line (and the PNG's
mmnet.faces) says to publish it only as the agreement covering those recordings allows, naming the dataset
when the input lies in a known dataset layout. The apex panel says "spotted" when the apex was found automatically; the
panels of two images are named by their files. The PNG's text entries record how the figure was made (method,
native map sizes, interpolation, colours, checkpoint SHA-256, version, onset/apex, --align); --save-maps
FILE.npz writes the maps at their native size with the same record.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .predict import add_clip_options

ON_MIMALLOC = True  # tensor work: the `mmnet` command restarts on mimalloc for it (runtime.py, "Allocator")

# The figure is about 9.6 inches wide: 30 dpi is a thumbnail whose titles are still drawn (FreeType fails near
# 1 dpi), 600 dpi is print quality at some 5800 px wide; far beyond it the canvas outgrows memory (100000 dpi: 23 GB).
DPI_RANGE = (30, 600)


def _dpi(text: str) -> int:
    try:
        dpi = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of dots per inch, got {text!r}") from None
    return dpi  # its range is checked by run: a number out of range is a bad value (exit 3), not a usage error


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", type=Path, nargs="+", metavar="INPUT",
                   help="a frame folder or video file, or two images: ONSET APEX")
    add_clip_options(p)
    p.add_argument("--out", type=Path, required=True, help="PNG file to write")
    p.add_argument("--dpi", type=_dpi, default=100,
                   help=f"figure resolution in dots per inch, {DPI_RANGE[0]}-{DPI_RANGE[1]} (default 100, print 300)")
    p.add_argument("--shared-scale", action="store_true",
                   help="one colour scale for the four attention maps (default: each map on its own range, "
                        "given in its title; a narrow range means a nearly flat map)")
    p.add_argument("--save-maps", type=Path, metavar="FILE.npz",
                   help="also write the four maps at their native size (S/2 ... S/16 on a side), their strides and "
                        "the figure's record to this .npz file (numpy.load reads it)")
    p.add_argument("--target-class", metavar="CLASS",
                   help="the class of the Grad-CAM panel (default: the predicted class)")
    p.add_argument("--no-deletion-check", action="store_true",
                   help="skip the Grad-CAM map's deletion check (7 more predictions, seconds at 224 px on a CPU); "
                        "the figure then says the map is not tested for faithfulness")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress lines on stderr (at a terminal: 'loading the model ...', 'loading the landmark "
                        "model ...'), as predict and spot take it")
    p.add_argument("--cmap", type=str, default="viridis", choices=("viridis", "magma", "inferno", "plasma", "cividis"),
                   help="perceptual colour map of the attention (default viridis)")


# cli.py's "interrupted: ..." line (the default says finished work is kept for a rerun to continue)
INTERRUPTED = "no figure was written"


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from .common import align_landmarks, check_device_argument, footage_aligner, load_predictor
    from .predict import refuse_missing_inputs, requests_from_args

    if not DPI_RANGE[0] <= args.dpi <= DPI_RANGE[1]:  # a whole number out of range: a bad value (3), not usage (2)
        raise ConfigError(f"--dpi {args.dpi} must be between {DPI_RANGE[0]} and {DPI_RANGE[1]} (screen 100, print 300)")
    check_device_argument(args)
    landmarks = align_landmarks(args)
    requests = requests_from_args(args)
    if len(requests) != 1:
        names = ", ".join(str(r.source) for r in requests)
        raise ConfigError(f"explain draws one clip; got {len(requests)} ({names}). "
                          "Run it once per clip, each with its own --out.")
    (request,) = requests
    refuse_missing_inputs(requests)  # before the model loads
    if args.out.suffix.lower() != ".png":  # the figure is a PNG whatever the name says
        raise ConfigError(f"--out '{args.out}' must name a .png file (explain writes PNG), e.g. "
                          f"{args.out.with_suffix('.png').name}.")
    if args.save_maps is not None and args.save_maps.suffix.lower() != ".npz":
        raise ConfigError(f"--save-maps '{args.save_maps}' must name a .npz file, e.g. "
                          f"{args.save_maps.with_suffix('.npz').name}.")
    from ..utils import check_writable

    for path in (args.out, args.save_maps):  # a folder that refuses the file: said now, not after the work
        if path is not None:
            check_writable(path)
    if args.threads is not None:
        if args.threads < 1:
            raise ConfigError(f"--threads must be >= 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    # torch loads here (seconds), after every check of the arguments above
    from ..infer import align_clip, explain_clip, load_clip, render_explanation
    from ..infer.attribution import gradcam_heading
    from ..infer.explain_record import ALPHA, checkpoint_record, figure_record, save_maps
    from ..infer.faces_note import faces_note
    from ..infer.provenance import licence_note, record_caption, training_record

    predictor = load_predictor(args.checkpoint, device=args.device, progress=not args.no_progress)
    clip = load_clip(request.source, request.apex_image)
    aligner = None
    if args.align:  # the checkpoint's landmark model and crop, unless --landmarks chose another
        aligner = footage_aligner(predictor, landmarks, progress=not args.no_progress)
        clip = align_clip(clip, request.onset, aligner=aligner)
    explanation = explain_clip(predictor, clip, onset=request.onset, apex=request.apex,
                               target_class=args.target_class, check_deletion=not args.no_deletion_check)
    record = training_record(args.checkpoint)
    explanation.caption = record_caption(record)
    faces = faces_note(args.inputs[0])  # the licence line below is the model's; this one is the input's faces
    explanation.provenance = {**checkpoint_record(args.checkpoint), "aligned": str(bool(args.align)).lower(),
                              "landmarks": str(aligner.points) if aligner is not None else "", "faces": faces}
    out = render_explanation(explanation, args.out, dpi=args.dpi, shared_scale=args.shared_scale, cmap=args.cmap)
    if args.save_maps is not None:
        maps = save_maps(explanation, args.save_maps,
                         figure_record(explanation, alpha=ALPHA, cmap=args.cmap, shared_scale=args.shared_scale))
        print(f"maps at native size written to {maps}")
    p = explanation.probabilities[explanation.label]
    print(f"{clip.source}: {explanation.label} (score {p:.3f}), onset {explanation.onset_frame}, "
          f"apex {explanation.apex_frame}{' (spotted)' if explanation.apex_spotted else ''}; figure written to {out}")
    print("attention ranges (min-max): " + (", ".join(f"stage {k} {a.min():.3g}-{a.max():.3g}"
                                                      for k, a in enumerate(explanation.attention, start=1))
                                            or f"none ({explanation.network}: no CA blocks, no attention maps)"))
    print(f"Grad-CAM: {gradcam_heading(explanation).removeprefix('inputs, and ')}")
    print(explanation.caption)
    print(f"licence: {licence_note(record)}")  # printed, not drawn: the figure keeps one line
    print(f"faces: {faces}")  # also in the PNG's text (mmnet.faces)
    if explanation.still:  # as mmnet predict says it: the same frame twice shows no motion at all
        from ..infer.predictor import ZERO_MOTION

        print(f"note: {clip.source}: {ZERO_MOTION}", file=sys.stderr)
    from ..infer.predictor import NOT_CHECKED
    from ..infer.prepared_note import PREPARED_BY, prepared_note

    # as mmnet predict says it: nothing checked that the frames are a face crop, unless mmnet prepare wrote them
    checked = () if args.align else (NOT_CHECKED,) if clip.prepared is None else (
        f"{clip.source}: {prepared_note(clip.prepared, predictor.alignment)}",)
    for note in (*checked, *(f"{clip.source}: {note}" for note in explanation.notes)):
        said = note.startswith((NOT_CHECKED, f"{clip.source}: {PREPARED_BY}"))
        print(f"{'note' if said else 'warning'}: {note}", file=sys.stderr)
    return 0
