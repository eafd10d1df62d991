"""Find micro- and macro-expressions in one long recording (training-free optical-flow spotter).

The recording is a video file or a folder of numbered frames (give --fps for a folder). Frame numbers
follow mmnet's one convention (docs/inference.md, "Frame numbers"): a video's frames are counted
from 0, a folder's frames by the number in their file name; onset, apex and offset are inclusive.
Frames where no face is found are reported as gaps, never interpolated.

Examples:
  mmnet spot recording.mp4 --json
  mmnet spot rawpic/s15/15_0101disgustingteeth --fps 30 --out spots/
  mmnet spot samm/006_1 --fps 200 --preset samm --set macro.p=0.1
  mmnet spot recording.mp4 --checkpoint ckpt/ --out spots/recording/     (also classify each micro-expression)
  mmnet spot face-crops/ --fps 30 --no-align                   (frames already cropped to the face)
  mmnet spot highspeed.mp4 --fps 200   (a high-speed camera's 200 fps footage exported at a 30 fps playback rate)
  mmnet spot recording.mp4 --spotter-model spotter.pt          (a learned spotter, `mmnet train-spotter`)

The table printed gives each interval's type (micro or macro), onset, apex and offset frames, its span in
seconds from the first frame (a video's frame presentation times: from the onset frame's start to the offset
frame's end, onset_s-end_s of intervals.csv), the height of its motion peak
(score) and, with --checkpoint, the class of a micro-expression and its score (macro-expressions are not
classified).
--out DIR writes intervals.csv, spot.json, timeline.png (motion curves, thresholds, intervals) and spots.eaf
(the intervals and gaps as an ELAN document that names the video; docs/spotting.md, "The times written"):
one folder per recording (a folder holding another recording's results is refused unless --overwrite). An
interrupted run keeps its spotting (and, with --checkpoint, its classifying) there (.mmnet-spot-partial.npz), with
the flow spotter and with a learned one (--spotter-model) alike: the same command resumes from it
(docs/spotting.md).
intervals.csv has the columns video (the video id below, on every row, as spot.json names it),
frame_numbering (video_from_0 for a video file, file_number for a frame folder: how its frame numbers
count), onset, apex, offset, type, score, label, onset_s, apex_s, offset_s (the start of those frames in seconds
from the first frame, rounded up to the millisecond: a player sought there shows that frame), note, end_s (the end
of the offset frame: the interval spans onset_s to end_s, as the table and spots.eaf give it) and, with
--checkpoint, one p_<class> column per class (after its first
two columns, the layout of `mmnet serve`'s CSV download), then model_note (what the model's classes are worth:
synthetic faces, permuted labels, training data unknown; empty when nothing); after the intervals, rows of type
no_face (the gaps) and note (the notes). spotting.csv holds the same intervals in the MEGC layout,
vid,onset,offset,type,score, the video named by --video-id (default: the recording's name, or its id by
the datasets' rules: 15_0101 for CAS(ME)^2's rawpic/s15/15_0101disgustingteeth, spNO.1_a for CAS(ME)^3's
spNO.1/a/color), for `mmnet score-spots TRUTH spots/*/spotting.csv`; its frame numbers are MEGC's,
counted from 1 as the datasets' frame files (img1.jpg), so a video's frame i (from 0 elsewhere) is
i + 1 there. With --checkpoint, str.csv holds the micro-expressions in the MEGC2024-2025 STR layout,
subject,video,onset,offset,emotion, with the same frame numbers and video id, and --subject (default:
the subject as the dataset loaders name it, from the video id: s15 for CAS(ME)^2's 15_0101, else the id's
text before its first '_', 006 for 006_1, spNO.1 for spNO.1_a; as `mmnet train` writes its str.csv).
To try it without a recording: mmnet synth long-data --long --format mp4 writes one with expressions
planted at known times (listed in long-data/synth.json).
Parameters: docs/spotting.md; --set takes key=value or section.key=value (micro., macro., face.).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from contextlib import contextmanager
from pathlib import Path

from .spot_ids import megc_ids
from .spot_table import format_text  # the printed table

ON_MIMALLOC = True  # tensor work: the `mmnet` command restarts on mimalloc for it (runtime.py, "Allocator")

PRESETS = ("casme2", "samm", "casme3")  # kept in step with mmnet.spotting.config.PRESETS (a test checks)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .common import INFERENCE_DEVICE, add_device_argument

    p.add_argument("source", type=Path, metavar="VIDEO|FRAME_FOLDER", help="a video file or a folder of frames")
    p.add_argument("--fps", type=float, default=None,
                   help="frame rate (required for a frame folder); replaces a video's own. High-speed cameras often "
                        "export at a playback rate (200 fps footage declared as 30 fps: slow motion): give the "
                        "capture rate here (check the camera's settings or log; `ffprobe VIDEO` shows the declared "
                        "rate). spot.json then records both (fps, declared_fps); spots.eaf keeps the file's timeline")
    p.add_argument("--preset", choices=PRESETS, default="casme2",
                   help="published per-dataset parameters (default %(default)s: CAS(ME)^2, 30 fps); scaled to --fps")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter, e.g. macro.p=0.1 or face.check_every=0.5 (repeatable)")
    p.add_argument("--no-align", action="store_true",
                   help="frames are face crops already: skip face detection (face.mode=none); whole uncropped "
                        "frames find nothing (a note says so where the first frame shows a small face)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="write intervals.csv, spotting.csv, spot.json, timeline.png and spots.eaf (ELAN) here")
    p.add_argument("--overwrite", action="store_true",
                   help="replace another recording's results in --out (without it, a folder holding them is refused: "
                        "give each recording its own, e.g. --out spots/VIDEO_ID/)")
    p.add_argument("--video-id", default=None, metavar="ID",
                   help="the video's name in --out's spotting.csv and str.csv (MEGC layouts; default: the "
                        "recording's name, e.g. 006_1 for 006_1.mp4 or a folder 006_1, by the datasets' rules "
                        "15_0101 for CAS(ME)^2's rawpic/s15/15_0101disgustingteeth and spNO.1_a for spNO.1/a/color); "
                        "as MEGC's ids, without a space, comma or quote")
    p.add_argument("--subject", default=None, metavar="NAME",
                   help="the subject in --out's str.csv (written with --checkpoint; default: the subject as the "
                        "dataset loaders name it: s15 for CAS(ME)^2's 15_0101, else the video id's text before "
                        "its first '_', e.g. 006 for 006_1, spNO.1 for spNO.1_a)")
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="classify each micro-expression with this trained model (a model folder, as for "
                        "`mmnet predict`) from its onset and apex frames")
    p.add_argument("--spotter-model", type=Path, default=None, metavar="MODEL",
                   help="spot with this saved spotter (mmnet train-spotter, or Spotter.save of a spotter of your "
                        "own); it carries its own parameters")
    add_device_argument(p, default="cpu", note=f"{INFERENCE_DEVICE}; for --checkpoint and --spotter-model")
    p.add_argument("--no-progress", action="store_true", help="no progress output on stderr")


# cli.py's "interrupted: ..." line; with --out, run() says what was kept (spotting.partial_state), for the flow
# spotter and the learned one (--spotter-model) alike
INTERRUPTED = "nothing was written or kept (give --out DIR to keep partial progress); a rerun spots the recording " \
    "from its start"


def run(args: argparse.Namespace) -> int:
    from ..folder_lock import folder_lock
    from ..utils import check_writable
    from .common import check_device_argument

    check_device_argument(args)  # a typo or a missing GPU: one line before any work
    if not args.source.exists():  # said before the models load (seconds), in flow_spotter.open_recording's words
        from ..errors import DataError

        raise DataError(f"'{args.source}' does not exist; give a video file or a folder of numbered frames.")
    if args.out is None:
        return _spot(args)
    # one spot at a time on a --out folder: two would replace each other's results and sweep each other's progress
    # (the folder is made: a file in the way or no permission is said before spotting; one that ends with nothing
    # written in it is removed, not left behind empty as if results were there)
    with folder_lock(args.out, SPOT_LOCK, _refused(args.out), what="--out folder", remove=True):
        check_writable(args.out / "intervals.csv")  # a lock file left there opens in a folder that takes no new files
        return _spot(args)


SPOT_LOCK = ".spot.lock"


def _refused(out: Path):
    from ..errors import ConfigError

    return lambda holder: ConfigError(
        f"'{out}' is in use by another mmnet spot ({holder}): two runs into one --out folder would replace each "
        "other's results and progress. Wait for it to end, or give this recording another --out folder.")


def _spot(args: argparse.Namespace) -> int:
    from ..spotting.config import spot_config
    from ..spotting.partial_state import PARTIAL_NAME, PartialSpot
    from ..utils import replace_files_together
    from .common import say_landmarks, say_step

    if args.out is not None:  # until the spotting starts
        args._interrupted = f"nothing was written; a rerun resumes from the progress kept in {args.out}, if any"
    overrides = list(args.set) + (["face.mode=none"] if args.no_align else [])
    video_id, subject = megc_ids(args) if args.out is not None else (None, None)  # before the recording is read
    if args.out is not None:  # another recording's results are not replaced unasked
        from .spot_out import check_out_folder

        check_out_folder(args, video_id)
    spotter = None
    if args.spotter_model is not None:
        from ..errors import ConfigError
        from ..spotting.base import load_spotter

        if overrides or args.preset != "casme2":
            raise ConfigError("--spotter-model carries its own parameters: drop --preset, --set and --no-align "
                              "(train another spotter with `mmnet train-spotter` to change them).")
        say_step(f"loading the spotter {args.spotter_model} ...", progress=not args.no_progress)
        spotter = load_spotter(args.spotter_model, device=_model_device(args))
        config = spotter.config
    else:
        config = spot_config(args.preset, overrides)
        from ..spotting.spotters import spotter_class

        # a spotter that learns must be trained first (another would be run as flow, unsaid); one that learns
        # nothing (fold_independent, as the flow spotter) runs as it is
        if config.method != "flow" and not getattr(spotter_class(config.method), "fold_independent", False):
            from ..errors import ConfigError

            raise ConfigError(f"--set method={config.method}: a {config.method} spotter must be trained first: "
                              f"train one with `mmnet train-spotter DATASET --root DIR --out spotter.pt --set "
                              f"method={config.method}` and pass --spotter-model spotter.pt (without --set method).")
    predictor = landmarks = None  # the classifier's landmark model (None: the checkpoint's, else config's)
    if args.checkpoint is not None:  # a bad model is said before the recording is read
        from .common import load_predictor

        predictor = load_predictor(args.checkpoint, device=_model_device(args), progress=not args.no_progress)
        if config.face.mode != "align":  # face crops: the checkpoint's alignment record is not needed (nor read)
            pass
        elif args.spotter_model is None:  # faces aligned with the checkpoint's landmark model unless --set chose one
            config = _classifier_landmarks(config, overrides, predictor)
            landmarks = config.face.landmarks  # the classifier's too: --set's choice is the user's, for both
        else:  # a saved spotter keeps its own model; the classifier's crops still follow the checkpoint
            from ..infer.alignment import recorded_landmarks

            landmarks = recorded_landmarks(predictor)
    if spotter is None and config.method != "flow":  # one's own, untrained: with the classifier's landmark model
        from ..spotting.spotters import make_spotter

        spotter = make_spotter(config, device=_model_device(args))
    from ..infer.recordings import spot_and_classify
    from ..progress import FrameProgress

    if config.face.mode == "align":  # the recording's faces are found with it, before the first frame is measured
        say_landmarks(config.face.landmarks, progress=not args.no_progress)

    declared, rate_note = _declared(args)  # said before the recording is read: which rate the times will be on
    progress = FrameProgress(args.source.name, progress=not args.no_progress)
    # with --out, the spotting's progress (and the classifying's) is kept there as it goes, and a rerun continues
    # from it: the flow spotter's (a saved flow spotter is the flow path with its own parameters) and the learned's
    partial = None if args.out is None else PartialSpot(args.out)

    def on_total(total):  # the frames measured before are streamed by first: not this run's pace
        progress.start(total, before=partial.saved if partial is not None and partial.resume else 0)

    try:
        with _classifying(args) as reading:
            if spotter is not None and spotter.method != "flow":
                result = _spot_trained(args, spotter, predictor, landmarks, partial, progress, on_total, reading)
            elif partial is not None and predictor is not None:  # the classifying is kept too
                from ..infer.kept_classification import classifier_identity, spot_and_classify_kept

                result, _ = spot_and_classify_kept(
                    args.source, predictor, config, partial, classifier_identity(args.checkpoint, predictor),
                    fps=args.fps, progress=progress, on_total=on_total, classify_progress=reading.reached,
                    classifier_landmarks=landmarks)
            else:  # the one path of `mmnet spot --checkpoint` and of the server's recordings
                result, _ = spot_and_classify(args.source, predictor, config, fps=args.fps, progress=progress,
                                              on_total=on_total, classify_progress=reading.reached, partial=partial,
                                              classifier_landmarks=landmarks)
    finally:  # also on Ctrl-C and SIGTERM (cli.Terminated): the interrupted line says what was kept
        progress.close()
        if partial is not None:
            args._interrupted = partial.interrupted()
    data = result.to_dict()
    if video_id is not None:  # --out: the id that intervals.csv, spotting.csv and str.csv name the recording by
        data = {"source": data.pop("source"), "video": video_id, **data}
    if declared is not None:  # spot.json: the file's own rate after the one used, and the note when far apart
        from ..spotting.declared_rate import DECLARED_FPS

        items = list(data.items())
        at = next(k for k, (key, _) in enumerate(items) if key == "fps") + 1
        data = dict([*items[:at], (DECLARED_FPS, declared), *items[at:]])
        data["notes"] = [*data.get("notes", []), *([rate_note] if rate_note else [])]
    summary = None  # the classifier's title, synthetic, permuted labels, note and performance, kept with its classes
    if args.checkpoint is not None and (args.out is not None or args.json):
        from ..infer.model_summary import model_summary

        summary = model_summary(args.checkpoint, list(predictor.class_names))
    if args.out is not None or args.json:  # a result kept or handed on says what it was made from
        from ..infer.training_subjects import classifier_trained_on
        from ..spotting.in_sample import model_summaries
        from ..spotting.provenance import spot_provenance

        models = {role: path for role, path in (("classifier", args.checkpoint), ("spotter", args.spotter_model))
                  if path is not None}
        # with what each model learnt from: score-spots warns when the scored recording is among it (in-sample)
        data["provenance"] = spot_provenance(args.source, models=models, summaries=model_summaries(
            summary, args.checkpoint and classifier_trained_on(args.checkpoint),
            spotter if args.spotter_model is not None else None, classified=args.checkpoint is not None))
    if args.out is not None:
        from ..spotting.timeline import timeline_png

        args.out.mkdir(parents=True, exist_ok=True)
        # the model's classes name the p_ columns even when no micro interval was found (as the server's CSV)
        classes = None if predictor is None else predictor.class_names
        # together: never one recording's intervals beside another's timeline; a full disk names the file
        from ..spotting.elan import EAF_NAME, spots_eaf
        from ..spotting.megc_files import format_spotting_csv, format_str_csv

        from_video = Path(result.source).is_file()
        # MEGC's numbers are the datasets' frame-file numbers, counted from 1: a video's frame i (from 0) is i + 1
        megc = {video_id: [dataclasses.replace(i, onset=i.onset + 1, apex=i.apex + 1, offset=i.offset + 1)
                           if from_video else i for i in result.intervals]}
        intervals_csv = result.to_csv(classes, video=video_id)
        if summary is not None:  # classified: the model's note on every row (last column; empty: nothing to say)
            from ..infer.model_summary import with_note_column

            intervals_csv = with_note_column(intervals_csv, summary["note"])
        files = {"intervals.csv": intervals_csv.encode("utf-8"),
                 "spotting.csv": format_spotting_csv(megc, scores=True).encode("utf-8"),
                 "spot.json": (json.dumps(data, indent=2) + "\n").encode("utf-8"),
                 "timeline.png": timeline_png(result),
                 # ELAN's document of the same spans, with the video it belongs to (a frame folder: none)
                 # read back (score-spots, agree) as spotting.csv's frames: its id, its number of the first frame
                 EAF_NAME: spots_eaf(data, media=args.source if from_video else None, folder=args.out,
                                     video_id=video_id, first_frame=result.first_frame + (1 if from_video else 0),
                                     media_fps=declared)}
        if predictor is not None:  # classified: the MEGC2024-2025 STR layout too
            files["str.csv"] = format_str_csv(megc, subject_of=lambda _: subject).encode("utf-8")
        # the progress kept, gone with the results written; a str.csv of an earlier --checkpoint run would
        # stand beside other intervals
        replace_files_together(args.out, files, remove=[PARTIAL_NAME, "str.csv"])
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(format_text(result))
        if args.out is not None:
            numbering = ", frames counted from 1 as a dataset's frame files" if Path(result.source).is_file() else ""
            str_csv = f", {args.out / 'str.csv'} (STR layout, subject {subject})" if predictor is not None else ""
            print(f"wrote {args.out / 'intervals.csv'}, {args.out / 'spotting.csv'} (MEGC layout, video "
                  f"{video_id}{numbering}){str_csv}, {args.out / 'spot.json'}, {args.out / 'timeline.png'}, "
                  f"{args.out / 'spots.eaf'} (ELAN)")
        else:
            more = "" if args.checkpoint is not None else "; --checkpoint MODEL also classifies each micro-expression"
            print(f"(--out DIR saves them as CSV and JSON with a timeline figure{more})")
    if args.checkpoint is not None:
        from ..infer.provenance import label_warning

        warning = label_warning(args.checkpoint)
        if warning:
            print(f"note: {warning}", file=sys.stderr)
    return 0


def _declared(args: argparse.Namespace) -> tuple[float | None, str | None]:
    """The rate the video declares where --fps replaces it (a high-speed camera's playback rate), and the note, printed
    here, when the two are far apart (``spotting.declared_rate``)."""
    from ..spotting.declared_rate import declared_rate, override_note

    declared = declared_rate(args.source, args.fps)
    note = None if declared is None else override_note(args.source, float(args.fps), declared)
    if note:
        print(f"note: {note}", file=sys.stderr)
    return declared, note


def _model_device(args: argparse.Namespace) -> str:
    """--device resolved ('auto': a GPU when there is one), for a model that loads: only then is torch imported
    (the flow spotter without a model never needs it: about 2 s of CPU and 200 MB of memory spared)."""
    from ..runtime import resolve_device

    args.device = str(resolve_device(args.device))
    return args.device


def _classifier_landmarks(config, overrides: list[str], predictor):
    """``config`` with the landmark model ``--set face.landmarks`` chose, else the checkpoint's recorded one
    (``infer.alignment.spotting_alignment``); a chosen one other than the recorded one is warned about."""
    from ..infer.alignment import spotting_alignment
    from ..overrides import parse_override

    chosen = [o for o in overrides if parse_override(o)[0].strip() == "face.landmarks"]
    config, warning = spotting_alignment(config, predictor, config.face.landmarks if chosen else None,
                                         "--set face.landmarks=")
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return config


def _spot_trained(args: argparse.Namespace, spotter, predictor, landmarks, partial, progress, on_total, reading):
    """The result of a trained spotter (``spotter.spot_kept``) and, with ``predictor``, its micro intervals
    classified, cropped with the ``landmarks``-point model (the checkpoint's; None: the spotter's); with ``partial``
    (--out) both are kept and continued as the flow path's are."""
    from ..infer.recordings import classifier_aligner, classify_micro

    result = spotter.spot_kept(args.source, fps=args.fps, progress=progress, on_total=on_total, keep=partial)
    if predictor is not None and partial is not None:
        from ..infer.kept_classification import classifier_identity, classify_kept

        classify_kept(result, predictor, classifier_aligner(spotter.config, predictor, landmarks),
                      partial,
                      classifier_identity(args.checkpoint, predictor), progress=reading.reached)
    elif predictor is not None:
        classify_micro(result, predictor, classifier_aligner(spotter.config, predictor, landmarks),
                       progress=reading.reached)
    return result


@contextmanager
def _classifying(args: argparse.Namespace):
    """The progress of the second pass of --checkpoint: the intervals' frames decoded again, up to the last apex."""
    from ..progress import FrameProgress

    reading = FrameProgress(args.source.name, progress=not args.no_progress, doing="classifying")
    try:
        yield reading
    finally:
        reading.close()
