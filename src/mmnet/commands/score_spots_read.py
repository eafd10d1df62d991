"""The files `mmnet score-spots` reads, as truth or predictions: MEGC's spotting and STR CSVs, `mmnet spot --out`'s
intervals.csv and the web page's CSV download, and a coder's ELAN or BORIS files (times, converted at --fps)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path


@dataclass(frozen=True)
class ReadOptions:
    """What reading a file needs beyond its text: --fps, --tier-type, --video-id, --show-frames."""

    fps: Fraction | None = None
    tier_type: dict | None = None
    video_id: str | None = None
    show_frames: bool = False

    @classmethod
    def of(cls, args: argparse.Namespace) -> ReadOptions:
        return cls(args.fps, args.tier_type, args.video_id, args.show_frames)


def add_read_arguments(p: argparse.ArgumentParser) -> None:
    from ..spotting.coder_files import IGNORE

    p.add_argument("--fps", type=_fps, default=None, metavar="RATE",
                   help="the recording's frame rate, to convert the times of ELAN and BORIS files to frames (e.g. 30, "
                        "29.97 or 30000/1001): a begin time is the frame shown then, an end time ends after the last "
                        "frame before it; frames numbered from 1 as spotting.csv")
    p.add_argument("--tier-type", type=_tier_types, default=None, metavar="NAME=TYPE,...",
                   help="the type of each ELAN tier (or annotation value) or BORIS behaviour, e.g. ME=micro,MaE=macro "
                        f"(TYPE micro, macro or {IGNORE}; default: a tier, else a value, named micro/macro, me/mae, "
                        "micro-expression/macro-expression)")
    p.add_argument("--video-id", default=None, metavar="ID",
                   help="the video id of an ELAN or BORIS file, intervals.csv or web CSV (default: its media file's "
                        "name, BORIS's Observation id, intervals.csv's video column, the file's name)")
    p.add_argument("--show-frames", action="store_true",
                   help="print (stderr) the frames each ELAN or BORIS annotation becomes at --fps")


def _fps(text: str) -> Fraction:
    from ..spotting.coder_times import parse_fps

    try:
        return parse_fps(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _tier_types(text: str) -> dict:
    from ..spotting.coder_files import parse_tier_types

    try:
        return parse_tier_types(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def read_intervals(path: Path, options: ReadOptions = ReadOptions()) -> tuple[dict, bool, tuple[str, ...], bool]:
    """The intervals of a file of any layout read, MEGC frame numbers; whether it is an STR CSV
    (subject,video,onset,offset,emotion: keyed (subject, video) if so, else by video id); the types it can hold (an
    STR CSV without a type column: micro only); and whether it has a score column."""
    from ..errors import DataError
    from ..spotting.intervals import TYPES
    from ..spotting.megc_csv import STR_COLUMNS, csv_header, read_spotting_csv, read_str_csv, score_column, utf8_text
    from ..spotting.spot_output_csv import is_spot_output, read_spot_output

    if not path.is_file():
        raise DataError(f"'{path}' is not a file.")
    text = utf8_text(path)
    coder = _coder_kind(path, text)
    if coder is not None:
        return _read_coder(path, text, coder, options), False, TYPES, False
    header = csv_header(path)
    if is_spot_output(header):
        read = read_spot_output(path, header, options.video_id, options.fps)
        for note in read.notes:
            print(f"note: {note}", file=sys.stderr)
        return read.intervals, False, TYPES, read.scored
    scored = score_column(header) is not None
    if not set(STR_COLUMNS) <= set(header):
        intervals, is_str, types = read_spotting_csv(path), False, TYPES
    else:
        intervals, is_str, types = read_str_csv(path), True, TYPES if "type" in header else ("micro",)
    _warn_times(path, intervals)
    return intervals, is_str, types, scored


def is_coder_file(path: Path) -> bool:
    """Whether ``path`` is an ELAN or BORIS file (its video named by --video-id, its file or its media)."""
    from ..spotting.megc_csv import utf8_text

    try:
        return path.is_file() and _coder_kind(path, utf8_text(path)) is not None
    except Exception:  # noqa: BLE001 - only a hint: a file that cannot be read is no coder's file here
        return False


def _coder_kind(path: Path, text: str) -> str | None:
    from ..spotting.coder_files import sniff

    return sniff(path, text)


def _read_coder(path: Path, text: str, kind: str, options: ReadOptions) -> dict:
    from ..errors import AnnotationError
    from ..spotting.coder_files import CoderOptions, boris_fps, needs_fps, read_coder_file, show_rows

    if options.fps is None:
        rate = boris_fps(text) if kind == "boris" else None
        raise AnnotationError(needs_fps(path, kind, f" (its FPS column says {rate})" if rate else ""))
    read = read_coder_file(path, text, kind, CoderOptions(options.fps, options.tier_type or {}, options.video_id))
    ignored = sum(r.onset is None for r in read.rows)
    print(f"note: '{path}' read as {_kind_name(kind)}: {len(read.rows) - ignored} interval(s) converted at "
          f"{float(options.fps):g} fps{f', {ignored} left out (--tier-type)' if ignored else ''}, video id from "
          f"{read.video_from}" + ("" if options.show_frames else " (--show-frames prints each one's frames)"),
          file=sys.stderr)
    if options.show_frames:
        print("\n".join(show_rows(read, path, options.fps)), file=sys.stderr)
    return read.intervals


def _kind_name(kind: str) -> str:
    from ..spotting.coder_files import KINDS

    return KINDS[kind]


def _warn_times(path: Path, intervals: dict) -> None:
    """A MEGC CSV whose onsets and offsets are all written with decimals (13.000) holds times, most likely: read as
    frames they would be scored as frames 13 and 15 without a word."""
    from ..spotting.megc_csv import decimal_frames

    if decimal_frames(path):
        print(f"WARNING: '{path}': every onset and offset is written with decimals (e.g. 13.000), and MEGC's files "
              "hold frame numbers: these look like times, read here as frame numbers. If they are times, give the "
              "file as an ELAN tab-delimited export or a BORIS aggregated-events export with --fps RATE (docs: "
              "spotting.md, score-spots), or write frame numbers.", file=sys.stderr)
