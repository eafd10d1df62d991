"""A video's own frame times, to convert a coder's seconds to frames on a variable-frame-rate recording
(`mmnet score-spots --recording`, `mmnet agree --recording`).

``coder_times`` converts at a constant rate: frame f (from 0) is shown from f / fps. A variable-frame-rate video
(a phone that lowers its rate in dim light, a screen recording, a webcam) shows frame f from its own presentation
time pts(f), counted from the first frame's, until the next frame's: the time a player, ELAN and BORIS show it at,
and the seconds `mmnet spot` writes for it. ``FrameTimes`` converts with those times by the rule of
``coder_times``: a begin time b is the last frame with pts(f) <= b + 1 ms, an end time e ends after the last frame
with pts(f) < e - 1 ms. Past the last frame, frames go on at the header's rate (the last frame lasts 1 / fps, as
`mmnet spot` writes its end), and before the first, back at it.

The times are the packets' (demuxed, nothing decoded): as many as the frames `mmnet spot` numbers, in presentation
order. A packet that the container's edit list hides (``is_discard``) is no frame, as the decoder drops it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from pathlib import Path

from .coder_times import ONE_MS, begin_frame, end_frame

__all__ = ["FrameTimes", "recording_times", "header_fps"]


@dataclass(frozen=True)
class FrameTimes:
    """A video's frame times: frame f is shown from ``ticks[f] * time_base`` seconds (``ticks`` ascending, the first
    0); ``fps`` is the header's rate, which frames past the last (and before the first) follow."""

    ticks: tuple[int, ...]
    time_base: Fraction
    fps: Fraction

    @property
    def frames(self) -> int:
        return len(self.ticks)

    def pts(self, frame: int) -> Fraction:
        """Frame ``frame``'s start in seconds: its own time, or on at ``fps`` from the first or the last frame."""
        last = len(self.ticks) - 1
        if frame < 0:
            return Fraction(frame) / self.fps
        if frame > last:
            return self.ticks[last] * self.time_base + (frame - last) / self.fps
        return self.ticks[frame] * self.time_base

    def begin_frame(self, seconds: Fraction) -> int:
        """The frame (from 0) shown at ``seconds``: the last f with pts(f) <= seconds + 1 ms."""
        at, last = seconds + ONE_MS, len(self.ticks) - 1
        if at < 0:  # before the first frame, and past the last: coder_times' constant rate from there
            return begin_frame(seconds, self.fps)
        if at >= self.pts(last):
            return last + begin_frame(seconds - self.pts(last), self.fps)
        return bisect_right(self.ticks, at / self.time_base) - 1

    def end_frame(self, seconds: Fraction) -> int:
        """The last frame (from 0) an interval ending at ``seconds`` covers: the last f with pts(f) < seconds - 1 ms."""
        at, last = seconds - ONE_MS, len(self.ticks) - 1
        if at <= 0:
            return end_frame(seconds, self.fps)
        if at > self.pts(last):
            return last + end_frame(seconds - self.pts(last), self.fps)
        return bisect_left(self.ticks, at / self.time_base) - 1

    @cached_property
    def farthest(self) -> tuple[int, Fraction]:
        """(frame, its time) of the frame farthest from f / fps (once: a recording has ~100,000 frames an hour)."""
        frame = max(range(len(self.ticks)), key=lambda f: abs(self.ticks[f] * self.time_base - f / self.fps))
        return frame, self.pts(frame)

    def constant(self) -> bool:
        """Whether every frame is shown within 1 ms of f / fps: the constant rate converts as these times do."""
        frame, time = self.farthest
        return abs(time - frame / self.fps) <= ONE_MS


def header_fps(rate: float | None) -> Fraction | None:
    """A header's frame rate as the fraction it stands for (29.97002997 -> 30000/1001), None for none."""
    return Fraction(rate).limit_denominator(1001 * 1000) if rate else None


def recording_times(path: Path) -> tuple[Fraction | None, int | None, FrameTimes | None]:
    """(frame rate, frame count, frame times) of video ``path``: the rate and count of ``media_video.video_header``
    and the frame times when they are not those of that constant rate (``_varying``), from one opening of the file
    (a recording of an hour is hundreds of MB; its header is read, then its packets). Without PyAV: OpenCV's
    header, no times."""
    from ..media_video import video_header

    try:
        import av
    except ImportError:
        rate, frames = video_header(path)
        return header_fps(rate), frames, None
    from ..errors import DataError
    from ..media_libav import libav_lines
    from ..media_video import open_pyav, pyav_header

    try:
        with libav_lines(av), open_pyav(av, path) as container:
            stream, rate, frames, why = pyav_header(av, path, container)
            fps = header_fps(rate)  # an AVI whose declared rates disagree (``why``): its frames at a constant rate
            return fps, frames, None if fps is None or why else _varying(av, container, stream, fps)
    except (DataError, av.error.FFmpegError, ValueError, OSError, IndexError):
        return None, None, None  # as video_header: a file that cannot be read says so where it is spotted


def _varying(av, container, stream, fps: Fraction) -> FrameTimes | None:
    """The frame times of ``stream`` in an open ``container``, from its packets' times, when they are not those of the
    constant rate ``fps`` (a frame more than 1 ms from f / fps); None for a constant rate, or a packet without a
    time. `mmnet spot` numbers the frames of those at a constant rate too."""
    if stream is None or stream.time_base is None:
        return None
    ticks = []
    try:
        for packet in container.demux(stream):
            if packet.size == 0 or packet.is_discard:  # the flushing packet; one the edit list hides
                continue
            if packet.pts is None:
                return None
            ticks.append(int(packet.pts))
    except (av.error.FFmpegError, ValueError, OSError):
        return None
    if not ticks:
        return None
    ticks.sort()  # decode order (B-frames) to presentation order
    times = FrameTimes(tuple(t - ticks[0] for t in ticks), Fraction(stream.time_base), fps)
    return None if times.constant() else times
