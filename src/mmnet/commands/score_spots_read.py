"""The files `mmnet score-spots` reads, as truth or predictions: MEGC's spotting and STR CSVs, `mmnet spot --out`'s
intervals.csv and the web page's CSV download, and a coder's ELAN or BORIS files (times, converted at --fps, or at
--recording's frame times)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parser imports no spotting module
    from ..spotting.frame_times import FrameTimes


@dataclass(frozen=True)
class ReadOptions:
    """What reading a file needs beyond its text: --fps, --tier-type, --video-id, --show-frames."""

    fps: Fraction | None = None
    tier_type: dict | None = None
    video_id: str | None = None
    show_frames: bool = False
    frames: int | None = None  # the recording's frame count (--recording), to tell frames past its end
    times: FrameTimes | None = None  # --recording's frame times, where its frame rate varies: they convert
    tiers: tuple[str, ...] | None = None  # agree's FILE#TIER: the tiers, annotators or participants read
    empty_video: str | None = None  # agree's coder folder: an empty coder's file's video (its file name)

    @classmethod
    def of(cls, args: argparse.Namespace) -> ReadOptions:
        from ..errors import ConfigError

        fps, frames, times = args.fps, None, None
        if fps is not None and fps <= 0:
            raise ConfigError(f"--fps {float(fps):g} must be a frame rate above 0 (frames per second, e.g. 30, 29.97 "
                              "or 30000/1001).")
        if args.recording is not None:
            fps, frames, times = _recording(args.recording, args.fps)
        return cls(fps, args.tier_type, args.video_id, args.show_frames, frames, times)


def _recording(path: Path, fps: Fraction | None) -> tuple[Fraction, int | None, FrameTimes | None]:
    """--recording: the video's frame rate and frame count, as `mmnet spot` reads them (its header), and its frame
    times where they are not at that constant rate (a variable frame rate: `mmnet spot` writes those times, and
    players show the frames at them); --fps, when given too, must agree with the header's rate."""
    from ..errors import ConfigError
    from ..spotting.frame_times import recording_times

    if not path.is_file():
        raise ConfigError(f"--recording '{path}' is not a file.")
    found, frames, times = recording_times(path)  # one opening: its header, then its packets' times
    if found is None:
        raise ConfigError(f"--recording '{path}': no frame rate could be read from it: give --fps RATE instead.")
    if fps is not None and abs(float(fps) / float(found) - 1) > 1e-3:
        raise ConfigError(f"--fps {float(fps):g} disagrees with --recording '{path}', whose frame rate is "
                          f"{float(found):g}: give one of them.")
    if times is not None:
        frame, at = times.farthest
        print(f"note: --recording '{path}': its frame times vary (frame {frame} is shown at {float(at):.3f} s, not "
              f"at {frame / float(found):.3f} s as at a constant {float(found):.6g} fps), {times.frames} frames: the "
              "times are converted with the frames' own times (the frame a player shows at each time)",
              file=sys.stderr)
        return fps or found, times.frames, times
    print(f"note: --recording '{path}': {float(found):.6g} fps" + (f", {frames} frames" if frames else "")
          + " (the rate the times are converted at)", file=sys.stderr)
    return fps or found, frames, None


def add_read_arguments(p: argparse.ArgumentParser, *, dataset: bool = False) -> None:
    """The options of reading a file (--fps, --recording, --tier-type, --video-id, --show-frames); ``dataset``:
    the command has --dataset too (score-spots), whose table-long recordings --fps also gives a rate."""
    from ..choices import TIER_IGNORE as IGNORE  # not spotting.coder_files: --help imports no numpy

    p.add_argument("--fps", type=_fps, default=None, metavar="RATE",
                   help="the recording's frame rate, to convert the times of ELAN and BORIS files to frames (e.g. 30, "
                        "29.97 or 30000/1001): a begin time is the frame shown then, an end time ends after the last "
                        "frame before it; frames numbered from 1 as spotting.csv"
                        + ("; with --dataset table-long, also the rate of recordings whose rows give none"
                           if dataset else ""))
    p.add_argument("--recording", type=Path, default=None, metavar="VIDEO",
                   help="the recording the files annotate: its frame rate converts their times (instead of --fps; "
                        "where its frame rate varies, its frames' own times: the frame shown at each time) and its "
                        "frame count tells frames past its end (a warning)")
    p.add_argument("--tier-type", type=_tier_types, default=None, metavar="NAME=TYPE,...",
                   help="the type of each ELAN tier (or annotation value) or BORIS behaviour, e.g. ME=micro,MaE=macro "
                        f"(TYPE micro, macro or {IGNORE}; default: a tier, else a value, named micro/macro, me/mae, "
                        "micro-expression/macro-expression; mmnet's spots.eaf: its mmnet-micro and mmnet-macro tiers, "
                        "mmnet-no-face left out)")
    p.add_argument("--video-id", default=None, metavar="ID",
                   help="the video id of an ELAN or BORIS file, intervals.csv or web CSV (default: spots.eaf's "
                        "mmnet-video-id, its media file's name, an ELAN export's File Name without .eaf, BORIS's "
                        "Observation id, intervals.csv's video column, the file's name; refused for a file naming "
                        "several videos)")
    p.add_argument("--show-frames", action="store_true",
                   help="print (stderr) the frames each ELAN or BORIS annotation becomes at --fps")


def _fps(text: str) -> Fraction:
    """--fps as an exact rate; ReadOptions.of checks that it is above 0 (a number out of range: exit 3, not 2)."""
    try:
        return Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a frame rate: give frames per second, e.g. 30, 29.97 or "
                                         "30000/1001") from None


def _tier_types(text: str) -> dict:
    from ..spotting.coder_files import parse_tier_types

    try:
        return parse_tier_types(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def file_text(path: Path, texts: dict[Path, str] | None = None) -> str:
    """The UTF-8 text of ``path`` (``megc_csv.utf8_text``: a named error for another encoding); ``texts`` (path ->
    text) keeps each file's text for the rest of the command, so that a file is read from disk once however many
    readers (layout, header, rows, the warnings and hints) look at it."""
    from ..spotting.megc_csv import utf8_text

    if texts is None:
        return utf8_text(path)
    if path not in texts:
        texts[path] = utf8_text(path)
    return texts[path]


def read_intervals(path: Path, options: ReadOptions = ReadOptions(), rates: dict | None = None,
                   texts: dict[Path, str] | None = None,
                   lengths: dict | None = None) -> tuple[dict, bool, tuple[str, ...], bool]:
    """The intervals of a file of any layout read, MEGC frame numbers; whether it is an STR CSV
    (subject,video,onset,offset,emotion: keyed (subject, video) if so, else by video id); the types it can hold (an
    STR CSV without a type column: micro only); and whether it has a score column. ``rates``, when given, gets
    path -> the frame rate of an intervals.csv or web CSV as its seconds give it (None for other files); ``texts``:
    the files' texts read so far in the command (``file_text``); ``lengths``, when given, gets path -> {video: its
    length in frames (MEGC's last frame number)} where a coder's file gives its media's duration (BORIS)."""
    from ..unicode_names import nfc_keys

    # video ids in NFC: a Mac's file names (an ELAN file's stem) are NFD, the ids typed in the other file NFC
    intervals, *rest = _read_intervals(path, options, rates, texts, lengths)
    if lengths is not None and path in lengths:
        lengths[path] = nfc_keys(lengths[path])
    return (nfc_keys(intervals), *rest)


def _read_intervals(path: Path, options: ReadOptions, rates: dict | None, texts: dict[Path, str] | None,
                    lengths: dict | None) -> tuple[dict, bool, tuple[str, ...], bool]:
    from ..errors import DataError
    from ..path_words import check_path
    from ..spotting.intervals import TYPES
    from ..spotting.megc_csv import STR_COLUMNS, csv_header, read_spotting_csv, read_str_csv, score_column
    from ..spotting.spot_output_csv import is_spot_output, read_spot_output

    check_path(path, give="an intervals file (CSV, ELAN or BORIS)", error=DataError)
    text = file_text(path, texts)  # read once: every reader below parses this text
    coder = _coder_kind(path, text)
    if coder is not None:
        intervals = _read_coder(path, text, coder, options, lengths)
        _warn_past_end(path, intervals, options.frames, "")
        return intervals, False, TYPES, False
    header = csv_header(path, text)
    if is_spot_output(header):
        read = read_spot_output(path, header, options.video_id, options.fps, text)
        if rates is not None:
            rates[path] = read.rate
        for note in read.notes:
            print(f"note: {note}", file=sys.stderr)
        _warn_past_end(path, read.intervals, options.frames, "")
        return read.intervals, False, TYPES, read.scored
    scored = score_column(header) is not None
    if not set(STR_COLUMNS) <= set(header):
        intervals, is_str, types = read_spotting_csv(path, text), False, TYPES
    else:
        intervals, is_str, types = read_str_csv(path, text), True, TYPES if "type" in header else ("micro",)
    if not _warn_times(path, text):
        _warn_past_end(path, intervals, options.frames, _TIMES)
    return intervals, is_str, types, scored


def is_coder_file(path: Path, texts: dict[Path, str] | None = None) -> bool:
    """Whether ``path`` is an ELAN or BORIS file (its video named by --video-id, its file or its media)."""
    try:
        return path.is_file() and _coder_kind(path, file_text(path, texts)) is not None
    except Exception:  # noqa: BLE001 - only a hint: a file that cannot be read is no coder's file here
        return False


def _coder_kind(path: Path, text: str) -> str | None:
    from ..spotting.coder_files import sniff

    return sniff(path, text)


def _read_coder(path: Path, text: str, kind: str, options: ReadOptions, lengths: dict | None = None) -> dict:
    from ..errors import AnnotationError
    from ..spotting.coder_files import CoderOptions, boris_fps, media_frames, needs_fps, read_coder_file, show_rows
    from ..spotting.coder_tiers import annotators_note, eaf_tier_owners, resolve_tiers

    rate = boris_fps(text) if kind == "boris" else None  # the FPS column BORIS writes: parsed once for both uses
    media = _eaf_media_fps(text) if kind == "elan-eaf" else None  # read once: the rate, then the warning
    if options.fps is None and media:
        options = dataclasses.replace(options, fps=media)  # the rate its times are on, as mmnet spot wrote them
        print(f"note: '{path}': no --fps or --recording given: its times are converted at {float(media):g} fps, the "
              "rate its header records (mmnet-media-fps, the video's own, written by `mmnet spot --fps`)",
              file=sys.stderr)
    if options.fps is None and kind != "boris-events":  # that one is refused whatever the rate: say how to export
        raise AnnotationError(needs_fps(path, kind, f" (its FPS column says {rate})" if rate else ""))
    if kind == "boris":
        _warn_boris_fps(path, rate, options.fps)
    if media:
        _warn_eaf_fps(path, text, media, options.fps)
    owners = eaf_tier_owners(text) if kind == "elan-eaf" else {}
    tiers = None if options.tiers is None else resolve_tiers(f"'{path}'", options.tiers, owners)
    coder = CoderOptions(options.fps, options.tier_type or {}, options.video_id, options.times, tiers,
                         options.empty_video)
    read = read_coder_file(path, text, kind, coder)
    if tiers is None and (note := annotators_note(path, owners, {r.name for r in read.rows if r.onset is not None})):
        print(f"warning: {note}", file=sys.stderr)
    ignored = sum(r.onset is None for r in read.rows)
    print(f"note: '{path}' read as {_kind_name(kind)}: {len(read.rows) - ignored} interval(s) converted at "
          f"{coder.converted_at}{f', {ignored} left out (--tier-type)' if ignored else ''}"
          + (f" from tier(s) {', '.join([t for t in owners if t.lower() in tiers] or sorted(tiers))}" if tiers else "")
          + ", video id from "
          f"{read.video_from}" + ("" if options.show_frames else " (--show-frames prints each one's frames)"),
          file=sys.stderr)
    if options.show_frames:
        print("\n".join(show_rows(read, path, options.fps, options.times)), file=sys.stderr)
    if lengths is not None and read.durations:
        lengths[path] = {video: media_frames(seconds, options.fps, options.times)
                         for video, seconds in read.durations.items()}
    return read.intervals


def _warn_boris_fps(path: Path, column: str | None, fps: Fraction) -> None:
    """BORIS writes the media's frame rate in its FPS column: a --fps (or --recording) more than 0.1% away from it
    converts the times at another rate than the coder's video had, which moves every frame further the later it is."""
    try:
        said = float(column.replace(",", ".", 1)) if column else None
    except ValueError:  # NA, or nothing BORIS wrote
        return
    if said and said > 0 and abs(float(fps) / said - 1) > 1e-3:
        print(f"warning: '{path}': its FPS column says {said:g} fps, and the times are converted at {float(fps):g} "
              "fps (--fps or --recording): check which is the recording's rate.", file=sys.stderr)


def _eaf_media_fps(text: str) -> Fraction | None:
    """The rate mmnet's spots.eaf records its times at (``mmnet-media-fps``: the video's own, where `mmnet spot
    --fps` replaced it), exactly as written; None when it records none (or 0)."""
    import re

    from ..spotting.elan import MMNET_MEDIA_FPS

    said = re.search(rf'<PROPERTY NAME="{MMNET_MEDIA_FPS}">\s*([0-9]+(?:\.[0-9]+)?)\s*</PROPERTY>', text)
    return Fraction(said.group(1)) if said and Fraction(said.group(1)) > 0 else None


def _warn_eaf_fps(path: Path, text: str, media: Fraction, fps: Fraction) -> None:
    """mmnet's spots.eaf of a video whose rate --fps replaced (a high-speed camera's playback rate) is on the video's
    own timeline, frame / its declared rate (``mmnet-media-fps``): converted at another rate (the capture rate), every
    frame moves further the later it is (``media``: its mmnet-media-fps)."""
    import re

    from ..spotting.elan import MMNET_CAPTURE_FPS, MMNET_MEDIA_FPS

    if abs(float(fps) / float(media) - 1) > 1e-3:
        capture = re.search(rf'<PROPERTY NAME="{MMNET_CAPTURE_FPS}">\s*([0-9.]+)\s*</PROPERTY>', text)
        spotted = f", spotted with `mmnet spot --fps {capture.group(1)}`" if capture else ""
        print(f"warning: '{path}': its times are on the video's own {float(media):g} fps timeline ({MMNET_MEDIA_FPS}"
              f"{spotted}), and they are converted at {float(fps):g} fps: give "
              f"--fps {float(media):g}, or --recording VIDEO, to read them as the frames spotted.", file=sys.stderr)


def _kind_name(kind: str) -> str:
    from ..spotting.coder_files import KINDS

    return KINDS[kind]


_TIMES = (" These look like times: if they are, give the file as an ELAN tab-delimited export or a BORIS "
          "aggregated-events export with --fps RATE (docs: spotting.md, score-spots), or write frame numbers.")


def _warn_times(path: Path, text: str) -> bool:
    """A MEGC CSV (``text``) whose onsets and offsets are all written with decimals (13.000) holds times, most
    likely: read as frames they would be scored as frames 13 and 15 without a word. Whether it warned."""
    from ..spotting.megc_csv import decimal_frames

    if decimal_frames(path, text):
        print(f"warning: '{path}': every onset and offset is written with decimals (e.g. 13.000), and MEGC's files "
              f"hold frame numbers: read here as frame numbers.{_TIMES}", file=sys.stderr)
        return True
    return False


def _warn_past_end(path: Path, intervals: dict, frames: int | None, why: str) -> None:
    """With --recording: intervals that end past its last frame (MEGC's number ``frames``) were not spotted or
    annotated on it: times read as frames (18700 ms), or another rate or recording."""
    past = [(video, i) for video, items in intervals.items() for i in items if i.offset > frames] if frames else []
    if past:
        video, first = past[0]
        why = why or " Check --fps and that the file annotates this recording."
        print(f"warning: '{path}': {len(past)} interval(s) end past the last frame of --recording ({frames} frames, "
              f"MEGC's 1..{frames}), e.g. {video} {first.onset}..{first.offset}.{why}", file=sys.stderr)
