"""Reading a behavioural coder's files as intervals: ELAN (tab-delimited text export, .eaf) and BORIS (aggregated
events), which give times in seconds, not frames.

Each reader (``coder_elan``, ``coder_boris``) yields ``Annotation`` records (where it is, video, tier or behaviour,
annotation value, begin and end in seconds); ``read_coder_file`` gives each its type (``--tier-type``, else the
type names ``parse_type`` knows, of the tier then the value) and converts its times to MEGC frame numbers with the
rule of ``coder_times``. ``sniff`` tells which kind a file is, so that a file given without --fps is named.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from ..choices import TIER_IGNORE
from ..errors import AnnotationError
from ..typed_separators import ascii_separators, separator_note
from .coder_boris import boris_fps, is_boris, read_boris
from .coder_elan import is_elan_text, read_eaf, read_elan_text
from .coder_records import Annotation, video_stem
from .coder_times import MEGC_FIRST, begin_frame, end_frame, megc_frames
from .frame_times import FrameTimes
from .intervals import Interval, parse_type

__all__ = ["CoderOptions", "Annotation", "ShownRow", "CoderRead", "KINDS", "IGNORE", "boris_fps", "parse_tier_types",
           "sniff", "read_coder_file", "media_frames", "needs_fps", "show_rows", "converted_at", "video_stem"]

#: what each kind of file is called in messages
KINDS = {"elan-txt": "an ELAN tab-delimited text export", "elan-eaf": "an ELAN .eaf file",
         "boris": "a BORIS aggregated-events export", "boris-events": "a BORIS events export (START/STOP rows)"}
#: the --tier-type value that leaves a tier or behaviour out
IGNORE = TIER_IGNORE  # in mmnet.choices: the commands name it in --help without importing spotting
# spots.eaf's tiers (``elan.TIERS``, overlaps in mmnet-micro-2, ...): their values ('micro 0.333 disgust 0.87') name
# no type parse_type knows, and the gaps' tier holds no expression
_MMNET_TIER = re.compile(r"mmnet-(micro|macro|no-face)(?:-\d+)?")
_NO_FACE = re.compile(r"no[-_ ]?face", re.IGNORECASE)


@dataclass(frozen=True)
class CoderOptions:
    """What converting a coder's file needs: the recording's frame rate (and a variable-frame-rate recording's
    frame times), the types of tiers/behaviours, the id."""

    fps: Fraction | None = None
    tier_type: Mapping[str, str] = field(default_factory=dict)  # name (lower case) -> micro, macro or IGNORE
    video_id: str | None = None
    times: FrameTimes | None = None  # converts instead of fps where given (``frame_times``)
    tiers: frozenset[str] | None = None  # the tiers (behaviours) read, lower case; None: all (``coder_tiers``)
    empty_video: str | None = None  # a file of a coder's folder: the video an empty file (no media named) covers

    @property
    def converted_at(self) -> str:
        """How the times are converted, for messages: '30 fps', or the recording's frame times."""
        return converted_at(self.fps, self.times)


@dataclass(frozen=True)
class ShownRow:
    """One annotation as converted, for --show-frames."""

    where: str
    video: str
    name: str
    begin: Fraction | None  # None: an ignored annotation without times (an unaligned .eaf slot)
    end: Fraction | None
    onset: int | None  # None: left out (ignored tier)
    offset: int | None
    type: str


@dataclass
class CoderRead:
    intervals: dict[str, list[Interval]]
    rows: list[ShownRow]
    kind: str
    video_from: str  # where the video id came from, for a note
    # video -> its media file's duration in seconds, where the file gives it (BORIS's Media duration (s)): the
    # recording's length for the frame-wise agreement when no --frames says it
    durations: dict[str, Fraction] = field(default_factory=dict)


def parse_tier_types(text: str) -> dict[str, str]:
    """--tier-type ME=micro,MaE=macro,AU=ignore -> {'me': 'micro', 'mae': 'macro', 'au': 'ignore'}; the full-width
    '，' and '＝' of a Chinese or Japanese input method separate as ',' and '=' do."""
    out = {}
    for part in filter(None, (p.strip() for p in ascii_separators(text).split(","))):
        name, sep, kind = part.rpartition("=")
        kind = kind.strip()
        mapped = IGNORE if kind.lower() == IGNORE else parse_type(kind)
        if not sep or not name.strip() or mapped is None:
            raise ValueError(f"{part!r}: {separator_note(text)}give NAME=TYPE pairs separated by commas, TYPE "
                             f"micro, macro or {IGNORE}, e.g. ME=micro,MaE=macro")
        out[name.strip().lower()] = mapped
    if not out:
        raise ValueError(f"{text!r}: give NAME=TYPE pairs, e.g. ME=micro,MaE=macro")
    return out


def sniff(path: Path, text: str) -> str | None:
    """Which coder's file ``text`` is (a key of ``KINDS``), None for none of them."""
    head = text.lstrip("\ufeff").lstrip()[:2000]
    if path.suffix.lower() == ".eaf" or ("<ANNOTATION_DOCUMENT" in head and head.startswith("<")):
        return "elan-eaf"
    boris = is_boris(text)
    if boris is not None:
        return boris
    return "elan-txt" if is_elan_text(text) else None


def _type(annotation: Annotation, tier_type: Mapping[str, str]) -> str | None:
    """micro, macro or IGNORE from --tier-type (tier, then value), else from spots.eaf's tier names, else from the
    type names (tier, then value)."""
    names = [n for n in (annotation.tier, annotation.value) if n]
    for name in names:
        if name.strip().lower() in tier_type:
            return tier_type[name.strip().lower()]
    mmnet = _MMNET_TIER.fullmatch((annotation.tier or "").strip())
    if mmnet:
        return IGNORE if mmnet.group(1) == "no-face" else mmnet.group(1)
    return next((t for t in map(parse_type, names) if t is not None), None)


def _no_type(a: Annotation, tier_type: Mapping[str, str], kind: str) -> str:
    columns = ("Behavior", "Behavioral category") if kind == "boris" else ("tier", "value")
    named = " and ".join(f"{what} {name!r}" for what, name in zip(columns, (a.tier, a.value)) if name)
    example = (a.tier or a.value or "NAME").replace(",", " ")
    given = f" (--tier-type names {', '.join(sorted(tier_type))})" if tier_type else ""
    # spans without a face hold no expression: leaving them out is the only sensible type
    proposed = (f"{IGNORE} to leave it out" if _NO_FACE.search(f"{a.tier or ''} {a.value or ''}") else
                f"micro (or macro, or {IGNORE} to leave it out)")
    # --tier-type matches a whole tier (behaviour) name or value: the example is this file's own name, not ME
    return (f"{a.where}: no expression type for {named or 'an annotation without tier or value'}{given}: give "
            f"--tier-type {example}={proposed} (a whole tier name or value, case aside; several "
            "comma-separated, NAME=TYPE,NAME=TYPE); without it a tier or value named micro/macro, me/mae or "
            "micro-expression/macro-expression gives the type.")


def _annotations(path: Path, text: str, kind: str,
                 options: CoderOptions) -> tuple[Iterable[Annotation], str, str | None]:
    if kind == "elan-eaf":
        return read_eaf(path, text, options.video_id)
    if kind == "boris":
        return read_boris(path, text, options.video_id)
    return read_elan_text(path, text, options.video_id)


def read_coder_file(path: Path, text: str, kind: str, options: CoderOptions) -> CoderRead:
    """The intervals of a coder's file of ``kind`` as MEGC frame numbers (video frame + 1) at ``options.fps`` (at
    ``options.times`` where given)."""
    if kind == "boris-events":
        raise AnnotationError(f"'{path}' looks like {KINDS[kind]}: mmnet reads BORIS's aggregated events (one row per "
                              "event with Start (s) and Stop (s)): export them with Observations > Export events > "
                              "Aggregated events, as CSV or TSV.")
    if options.fps is None:
        raise AnnotationError(needs_fps(path, kind))
    annotations, video_from, declared = _annotations(path, text, kind, options)
    # a video the file names (--video-id, an .eaf's media) is held even without an annotation: its coder saw nothing
    out: dict[str, list[Interval]] = {declared: []} if declared else {}
    rows = []
    durations: dict[str, Fraction] = {}
    seen: dict[str, None] = {}
    for a in annotations:
        if options.tiers is not None:  # FILE#TIER: one coder's tiers of a file that holds several coders'
            seen[a.tier or ""] = None
            if (a.tier or "").strip().lower() not in options.tiers:
                continue
        if a.duration is not None:
            durations.setdefault(a.video, a.duration)
        type_ = _type(a, options.tier_type)
        name = a.tier or a.value or ""
        if type_ == IGNORE:
            out.setdefault(a.video, [])  # the file covers the video, whatever tiers it leaves out
            times = (None, None) if a.unaligned else (a.begin, a.end)
            rows.append(ShownRow(a.where, a.video, name, *times, None, None, IGNORE))
            continue
        if type_ is None:
            raise AnnotationError(_no_type(a, options.tier_type, kind))
        if a.unaligned:
            raise AnnotationError(f"{a.unaligned} Or leave its tier out: --tier-type {name or 'NAME'}={IGNORE}.")
        if a.end < a.begin:
            raise AnnotationError(f"{a.where}: it ends ({float(a.end):.3f} s) before it begins "
                                  f"({float(a.begin):.3f} s).")
        frames = megc_frames(a.begin, a.end, options.fps, a.first, options.times)
        if a.index is not None:
            _check_index(a, options)
        if frames is None:
            raise AnnotationError(f"{a.where}: {float(a.begin):.3f}-{float(a.end):.3f} s covers no whole frame at "
                                  f"{options.converted_at} (a point or a span under a frame): give the interval "
                                  f"its frames, or --tier-type {name or 'NAME'}={IGNORE} to leave the tier out.")
        out.setdefault(a.video, []).append(Interval(frames[0], None, frames[1], type_, extra={"source": a.where}))
        rows.append(ShownRow(a.where, a.video, name, a.begin, a.end, *frames, type_))
    # an .eaf's selection was checked against its tiers (``coder_tiers``), an empty tier included
    if kind != "elan-eaf" and options.tiers is not None and not options.tiers & {t.strip().lower() for t in seen}:
        raise AnnotationError(f"'{path}': no annotation on a tier (or behaviour) named "
                              f"{', '.join(sorted(options.tiers))}; its tiers: {', '.join(map(repr, seen)) or 'none'}.")
    if not out and options.empty_video is not None:  # one of a coder's folder's files: named by its file name
        print(f"note: '{path}' holds no annotation and names no media: read as video {options.empty_video!r} (its "
              "file name), where nothing was marked", file=sys.stderr)
        out[options.empty_video] = []
    if not out:  # nothing says which video: not a video where nothing was marked
        raise AnnotationError(f"'{path}' holds no annotation and names no video: give --video-id ID, the recording "
                              "its coder watched, to count it as a video where nothing was marked.")
    for items in out.values():
        items.sort(key=lambda i: (i.onset, i.offset))
    return CoderRead(out, rows, kind, video_from, durations)


def _check_index(a: Annotation, options: CoderOptions) -> None:
    """BORIS 8 writes the frame its player showed at an event's start and stop (from 0): a time that converts to a
    frame more than one away from it was read at another rate or origin than the coder's player had."""
    for name, seconds, index in (("start", a.begin, a.index[0]), ("stop", a.end, a.index[1])):
        if index is None:
            continue
        frame = options.times.begin_frame(seconds) if options.times is not None else begin_frame(seconds, options.fps)
        if abs(frame - index) > 1:
            raise AnnotationError(f"{a.where}: the {name} time ({float(seconds):.3f} s in its media file) is video "
                                  f"frame {frame} (from 0) at {options.converted_at}, but its Image index {name} is "
                                  f"{index}, the frame BORIS showed: check --fps (the FPS column) and the "
                                  "observation's Time offset (s).")


def media_frames(seconds: Fraction, fps: Fraction, times: FrameTimes | None = None) -> int:
    """The frames a media file of ``seconds`` shows, as MEGC's last frame number (frames 1..N): those shown before
    its end, by the rule of an end time (``coder_times``)."""
    return (times.end_frame(seconds) if times is not None else end_frame(seconds, fps)) + MEGC_FIRST


def needs_fps(path: Path, kind: str, hint: str = "") -> str:
    """The error for a coder's file given without --fps."""
    return (f"'{path}' looks like {KINDS[kind]}: its times are in seconds, and mmnet scores frames: give --fps RATE, "
            f"the recording's frame rate (e.g. --fps 30, or 30000/1001 for 29.97), to convert them{hint} (begin time "
            "-> the frame shown then; end time -> the last frame before it; frames numbered from 1 as spotting.csv). "
            "--show-frames prints the frames each annotation becomes.")


def converted_at(fps: Fraction, times: FrameTimes | None = None) -> str:
    """'30 fps', or for a variable-frame-rate recording's ``times``: its own frame times."""
    return f"{float(fps):g} fps" if times is None else "the recording's own frame times (its frame rate varies)"


def show_rows(read: CoderRead, path: Path, fps: Fraction, times: FrameTimes | None = None) -> list[str]:
    """The lines --show-frames prints for a coder's file: each annotation's times and the MEGC frames it became."""
    lines = [f"'{path}' ({KINDS[read.kind]}, video id from {read.video_from}) at {converted_at(fps, times)}: frames as "
             "MEGC numbers them (a video's frame i, counted from 0, is i + 1)"]
    prefix = f"'{path}' "
    for r in read.rows:
        frames = (f"onset {r.onset} offset {r.offset} {r.type}" if r.onset is not None else
                  f"left out (--tier-type {IGNORE})")
        times = "no times" if r.begin is None else f"{float(r.begin):.3f}-{float(r.end):.3f} s"
        lines.append(f"  {r.where.removeprefix(prefix)}: {r.name!r} {times} -> {r.video} {frames}")
    return lines
