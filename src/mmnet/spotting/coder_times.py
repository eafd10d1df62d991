"""Times of a coder's annotation (ELAN, BORIS) as frame numbers: the one rule from seconds to frames.

A video's frames f = 0, 1, ... (decode order, ``mmnet.media.FRAME_NUMBERING``) are shown at pts(f) = f / fps. Frames
onset..offset (inclusive) cover [pts(onset), pts(offset + 1)); so a begin time b is the frame shown at b, the last
frame with pts(f) <= b + 0.001 s, and an end time e ends after the last frame with pts(f) < e - 0.001 s (a
millisecond either way: the files write times to the millisecond, ELAN and BORIS rounded to the nearest, mmnet's own
outputs rounded up, so that both read back as the frames written; this holds below 500 fps). The frames are then
numbered as MEGC's files (and ``mmnet spot``'s spotting.csv) number them, from 1: video frame f is f + 1; or, where
the file says which number the frame shown at 0 s has (``mmnet spot``'s spots.eaf of a frame folder: its first
file's number), from that number: frame f is f + first.

A variable-frame-rate video shows frame f from its own time instead of f / fps: ``frame_times`` applies the same rule
to those times.

The arithmetic is exact (fractions): 29.97 fps and a time of 13.380 s give the same frame on every machine.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

__all__ = ["ONE_MS", "MEGC_FIRST", "parse_seconds", "begin_frame", "end_frame", "megc_frames"]

ONE_MS = Fraction(1, 1000)
#: a video's frame 0 is frame 1 in MEGC's files (spotting.csv), as the datasets' frame files are numbered
MEGC_FIRST = 1

_CLOCK = re.compile(r"(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)")
_DECIMAL = re.compile(r"\d+(?:\.\d+)?|\.\d+")


def parse_seconds(text: str, unit: str = "s") -> Fraction | None:
    """A time cell as exact seconds: 'hh:mm:ss.ms' (or 'mm:ss.ms'), seconds ('13.380') with ``unit`` 's', or
    milliseconds ('13380') with ``unit`` 'ms'; None when the text is none of these."""
    text = text.strip()
    clock = _CLOCK.fullmatch(text)
    if clock:
        hours, minutes, seconds = clock.groups()
        return Fraction(int(hours or 0) * 3600 + int(minutes) * 60) + Fraction(seconds)
    if _DECIMAL.fullmatch(text):
        value = Fraction(text)
        return value / 1000 if unit == "ms" else value
    return None


def begin_frame(seconds: Fraction, fps: Fraction) -> int:
    """The video frame (from 0) shown at ``seconds``: the last f with f / fps <= seconds + 1 ms."""
    return math.floor((seconds + ONE_MS) * fps)


def end_frame(seconds: Fraction, fps: Fraction) -> int:
    """The last video frame (from 0) an interval ending at ``seconds`` covers: the last f with f / fps < seconds -
    1 ms."""
    return math.ceil((seconds - ONE_MS) * fps) - 1


def megc_frames(begin: Fraction, end: Fraction, fps: Fraction, first: int = MEGC_FIRST,
                times=None) -> tuple[int, int] | None:
    """An interval [begin, end) in seconds as MEGC's onset and offset frame numbers (video frame + ``first``, the
    number of the frame shown at 0 s: 1 as MEGC numbers a video's frames); None when it covers no frame (it ends
    before the frame shown at its begin). ``times`` (``frame_times.FrameTimes``, a variable-frame-rate video's):
    by the same rule at the frames' own times instead of f / fps."""
    if times is not None:
        onset, offset = times.begin_frame(begin), times.end_frame(end)
    else:
        onset, offset = begin_frame(begin, fps), end_frame(end, fps)
    if offset < onset:
        return None
    return onset + first, offset + first
