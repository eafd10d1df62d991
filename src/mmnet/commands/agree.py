"""Agreement between coders: interval matching, boundary differences and frame-wise kappa of two or more files.

Each FILE is read as `mmnet score-spots` reads it: a vid,onset,offset,type CSV (MEGC), an STR CSV, `mmnet spot
--out`'s intervals.csv or the web page's CSV download, an ELAN tab-delimited export or .eaf, or a BORIS
aggregated-events export (times converted at --fps, or a spots.eaf at the rate its header records; --tier-type,
--video-id as for score-spots). A coder is a file,
a folder of one coder's files (one per recording, each file's video from its media or name), or FILE#TIER (one
coder's tiers, by id or annotator, of an .eaf holding several coders'). Every pair of coders is compared on the
videos both hold (a pair holding none is left out, with a note), per type (micro with micro, macro with macro):

- intervals are matched one to one when their IoU (inclusive frame spans, as MEGC) is at least --iou (default
  0.5): the most pairs, then the largest total IoU, so that the figures do not depend on which file comes first;
  F1 = 2 x matched / (n A + n B);
- over the matched pairs: mean and median IoU, and the onset and offset differences B - A in frames (mean, median,
  mean absolute), in milliseconds too at --fps, --recording's rate, or the rate an intervals.csv's seconds give
  (where --recording's frame rate varies: between the two frames' own presentation times);
- Cohen's kappa over the frames of each video, each frame none, micro or macro (micro where a file's micro- and
  macro-expression intervals overlap), N frames, 1..N (0..N-1 where a file marks frame 0): N from --frames or
  --recording, else the media duration a BORIS file gives, else the last annotated frame of the video in any file
  (kappa depends on N: the output says which);
  with three or more coders also Krippendorff's alpha (nominal) over all of them;
- per video: each pair's intervals, matched, F1 and kappa over that video's frames alone (with three or more coders
  the video's alpha), beside the pooled figures; a kappa or alpha that is undefined (no frame marked, or one
  category only) is n/a, with the reason.

Prints a table, or JSON with --json; --pairs FILE writes every matched pair and every interval left unmatched
(CSV); --write-truth FILE the coders' intervals as table-long's intervals.csv (--truth: of the intervals all
coders matched, the frames all or any marked, intersection or union; of those more than half matched, the frames
more than half marked, majority; or the first coder's intervals). Neither writes over a coder's file or into a
coder's folder, nor replaces an existing file without --overwrite. Notes on stderr name the videos that only some
coders hold (they are compared where two files hold them).

Examples:
  mmnet agree coder1.csv coder2.csv
  mmnet agree coder1.eaf coder2.eaf --fps 30 --tier-type ME=micro,MaE=macro --video-id clip --frames 9000
  mmnet agree a.csv b.csv c.csv --types micro --json --pairs pairs.csv
  mmnet agree coder1/ coder2/ --fps 25 --write-truth lab/intervals.csv
  mmnet agree 'both.eaf#ME_coder1' 'both.eaf#ME_coder2' --fps 25 --tier-type ME_coder1=micro,ME_coder2=micro
  mmnet agree coder1/ coder2/ --fps 25 --write-truth lab/truth.csv --overwrite
  mmnet agree c1/ c2/ c3/ --fps 25 --write-truth lab/intervals.csv --truth majority
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .agree_read import check_outputs, parse_coder, read_coders, shared_videos
from .agree_truth import TRUTHS
from .score_spots_read import ReadOptions, add_read_arguments

INTERRUPTED = "nothing was written"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="two or more coders (any order): each a file, a folder of one coder's files (one per "
                        "recording: each file's video from its media or name), or FILE#TIER[,TIER...] for one coder's "
                        "tiers of a file holding several coders' (tier ids, or the annotator of the tiers)")
    p.add_argument("--iou", type=float, default=0.5, help="the IoU a matched pair needs (default 0.5, MEGC's)")
    p.add_argument("--types", choices=("micro", "macro", "both"), default="both",
                   help="the expression types compared (default: both, those the files hold)")
    p.add_argument("--frames", type=_frames, default=None, metavar="N|ID=N,...",
                   help="the recording's length in frames, for the frame-wise kappa: N frames, 1..N, or 0..N-1 "
                        "where a file marks frame 0 (one N for every video, or per video id); default: --recording's "
                        "frame count, else a BORIS file's Media duration (s), else each video's last annotated frame "
                        "in any file")
    p.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    p.add_argument("--pairs", type=Path, default=None, metavar="FILE",
                   help="write the matched pairs and the unmatched intervals of each pair of files (CSV)")
    p.add_argument("--write-truth", type=Path, default=None, metavar="FILE",
                   help="write the coders' intervals as ground truth in the table-long dataset's intervals.csv "
                        "layout (subject,video,onset,offset,type,apex,fps,emotion, then coders,video_coders: how many "
                        "coders marked each interval and how many hold its video; the subject column left to fill in)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing --pairs or --write-truth FILE (never a coder's own file)")
    p.add_argument("--truth", choices=TRUTHS, default=None,
                   help="what --write-truth writes: per interval all coders matched (every two IoU >= --iou) the "
                        "frames all marked (intersection, the default) or any marked (union); per interval more than "
                        "half of the coders matched the frames more than half marked (majority); intervals matched "
                        "by fewer left out; or the first coder's intervals (first: a primary coder; one FILE then "
                        "converts it alone)")
    add_read_arguments(p)


def _frames(text: str) -> int | dict[str, int]:
    """--frames: N, or ID=N,ID=N (or ，and ＝, as Chinese and Japanese input methods type them)."""
    def count(value: str) -> int:  # a whole number; run checks that it is >= 1 (out of range: exit 3, not 2)
        try:
            return int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: give a number of frames (N >= 1), or ID=N,... per video"
                                             ) from None

    from ..typed_separators import ascii_separators

    text = ascii_separators(text)
    if "=" not in text:
        return count(text)
    pairs = [item.partition("=") for item in text.split(",")]
    if any(not name.strip() for name, _, _ in pairs):
        raise argparse.ArgumentTypeError(f"{text!r}: give ID=N for each video, e.g. clip1=9000,clip2=7200")
    from ..unicode_names import nfc

    # an id the shell completed from a Mac's file name is NFD; the ids read are NFC (unicode_names)
    return {nfc(name.strip()): count(value) for name, _, value in pairs}


def _lengths(args, files: list[dict], videos: list, recording_frames: int | None, media: dict) -> dict:
    """video -> (the last frame counted; where the number of frames N comes from; the first frame counted: 0 where a
    file marks frame 0, else 1): N frames, 1..N or 0..N-1 (a recording of N frames numbered from 0 has no frame N),
    else the last annotated frame; an interval past a given length, or before frame 0, is an error."""
    from ..errors import DataError
    from .score_spots_hints import shown

    out = {}
    for video in videos:
        held = [(path, x) for path, f in zip(args.files, files) for x in f.get(video, ())]
        last = max((x.offset for _, x in held), default=0)
        below = next(((path, x) for path, x in held if x.onset < 0), None)
        if below:
            path, x = below
            raise DataError(f"'{path}': video {shown(video)!r} has an interval {x.onset}..{x.offset}, before frame 0: "
                            "frame numbers count from 1 (MEGC's) or from 0 (a frame folder's file numbers); correct "
                            "the row.")
        # a file that marks frame 0 numbers its frames from 0 (a frame folder's files, a CSV counting from 0): the
        # frame is counted, not cut off at 1
        first = 0 if any(x.onset == 0 for _, x in held) else 1
        given = args.frames.get(shown(video)) if isinstance(args.frames, dict) else args.frames
        if given is not None:
            n, source = given, "--frames"
        elif recording_frames:
            n, source = recording_frames, "--recording"
        elif known := {path: f[video] for path, f in media.items() if video in f}:  # a coder's file's media length
            path, n = max(known.items(), key=lambda item: item[1])
            source = f"the media duration in '{path}' (Media duration (s))"
            if len(set(known.values())) > 1:  # two files' media of one video differ: the longer is counted, said
                print(f"warning: video {shown(video)!r}: the coders' files give different media durations ("
                      + ", ".join(f"'{p}' {k} frames" for p, k in known.items()) + f"): {n} frames counted, the "
                      "longest; check that they annotate the same media file, or give --frames ID=N.",
                      file=sys.stderr)
        else:
            out[video] = (last, "the last annotated frame", first)
            continue
        end = first + n - 1
        if last > end:
            path = next(p for p, f in zip(args.files, files) if any(x.offset == last for x in f.get(video, ())))
            raise DataError(f"'{path}': video {shown(video)!r} has an interval ending at frame {last}, past the "
                            f"{n} frames of {source} ({first}..{end}{', as a file marks frame 0' if first == 0 else ''}"
                            "): give the recording's length in frames, or check --fps and that the file annotates "
                            "this recording.")
        out[video] = (end, source, first)
    if isinstance(args.frames, dict) and (unknown := set(args.frames) - {shown(v) for v in videos}):
        print(f"note: --frames names video(s) no two files hold: {', '.join(sorted(unknown))}", file=sys.stderr)
    return out


def _one_recording(args, files: list[dict]) -> None:
    """--recording is one recording: its frame rate (or frame times) and count would be every video's."""
    from ..errors import ConfigError
    from .score_spots_hints import shown

    videos = list(dict.fromkeys(v for f in files for v in f))
    if args.recording is not None and len(videos) > 1:
        raise ConfigError(f"--recording '{args.recording}' is one recording, and the files hold {len(videos)} videos "
                          f"({', '.join(repr(shown(v)) for v in videos[:5])}{', ...' if len(videos) > 5 else ''}): "
                          "its frame rate and frame count would be taken for each; give --fps RATE and --frames "
                          "ID=N,... (each recording's length), or compare one recording's files with --recording.")


def _truth(args) -> str | None:
    """--truth's choice (intersection by default) where --write-truth is given; all but first match two or more
    coders' intervals."""
    from ..errors import ConfigError

    if args.write_truth is None:
        if args.truth is not None:
            raise ConfigError(f"--truth {args.truth} says what --write-truth FILE writes: give --write-truth FILE.")
        return None
    truth = args.truth or "intersection"
    if truth != "first" and len(args.files) < 2:
        raise ConfigError(f"--truth {truth} matches the intervals of two or more coders, and one is given: give "
                          "every coder's files, or --truth first (the first coder's intervals).")
    return truth


def _rate(options, rates: dict):
    """The truth's frame rate: --fps or --recording's, else the one the files' seconds agree on."""
    if options.fps is not None:
        return options.fps
    known = {round(r, 6) for r in rates.values() if r}
    return known.pop() if len(known) == 1 else None


def _files_rate(rates: dict) -> float | None:
    """Without --fps or --recording, the frame rate that the seconds of intervals.csv files give, for the boundary
    differences in milliseconds: when they agree (within 0.5%), with a note; else none."""
    known = {path: rate for path, rate in rates.items() if rate}
    if not known:
        return None
    low, high = min(known.values()), max(known.values())
    said = ", ".join(f"'{p}' {r:g} fps" for p, r in known.items())
    if high / low - 1 > 0.005:
        print(f"note: the files' seconds give different frame rates ({said}): no differences in milliseconds (give "
              "--fps RATE)", file=sys.stderr)
        return None
    rate = sorted(known.values())[len(known) // 2]
    # the same figure as the table's header ("in ms at ... fps")
    print(f"note: milliseconds at {rate:g} fps, the rate the seconds of the files give ({said}); give --fps RATE "
          "to set it", file=sys.stderr)
    return rate


def _types(args, files: list[dict]) -> tuple[str, ...]:
    from ..spotting.intervals import TYPES

    if args.types != "both":
        return (args.types,)
    held = tuple(t for t in TYPES if any(x.type == t for f in files for items in f.values() for x in items))
    return held or TYPES


def run(args: argparse.Namespace) -> int:
    from ..errors import ConfigError, UsageError
    from ..spotting.agreement import compare_files
    from ..spotting.agreement_frames import frame_agreement
    from .agree_print import report, write_pairs
    from .agree_truth import write_truth

    truth = _truth(args)
    if len(args.files) < 2 and truth != "first":
        raise UsageError("give two or more files to compare (one per coder), e.g. `mmnet agree coder1.csv "
                          "coder2.csv`.")
    if not 0 < args.iou <= 1:
        raise ConfigError(f"--iou {args.iou:g} must be in (0, 1].")
    counts = args.frames.items() if isinstance(args.frames, dict) else [(None, args.frames)]
    if bad := [f"{video}={n}" if video else str(n) for video, n in counts if n is not None and n < 1]:
        raise ConfigError(f"--frames {','.join(bad)} must be a number of frames >= 1 (frames 1..N).")
    options = ReadOptions.of(args)  # --recording: its rate and frame count
    coders = [parse_coder(text) for text in args.files]
    check_outputs(args, coders)
    rates: dict = {}
    media: dict = {}  # path -> {video: frames}: the media duration a coder's file gives (BORIS)
    files = read_coders(coders, options, rates, media)
    args.files = [c.label for c in coders]
    _one_recording(args, files)
    if len(files) == 1:  # --truth first of one coder: its files converted, nothing compared
        write_truth(args.write_truth, truth, files, {}, {}, _rate(options, rates), _types(args, files))
        return 0
    shared = shared_videos(args.files, files)
    types = _types(args, files)
    videos = list(dict.fromkeys(v for both in shared.values() for v in both))
    lengths = _lengths(args, files, videos, options.frames, media)
    pairs = {(i, j): compare_files(files[i], files[j], both, types=types, threshold=args.iou)
             for (i, j), both in shared.items()}
    frames = frame_agreement(files, shared, {v: n for v, (n, _, _) in lengths.items()}, types,
                             {v: first for v, (_, _, first) in lengths.items()})
    for path, overlap in zip(args.files, frames.overlapping):
        if overlap:
            print(f"note: '{path}': {overlap} frame(s) lie in both a micro- and a macro-expression interval: counted "
                  "as micro in the frame-wise agreement", file=sys.stderr)
    fps = float(options.fps) if options.fps is not None else _files_rate(rates)
    if args.pairs is not None:
        write_pairs(args.pairs, args.files, pairs)
    if args.write_truth is not None:
        write_truth(args.write_truth, truth, files, pairs, shared, _rate(options, rates), types)
    report(args, pairs, frames, lengths, types, fps, options.times)
    return 0
