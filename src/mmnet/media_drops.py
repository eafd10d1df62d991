"""Frames a camera dropped while recording at a constant rate, found from a video's own frame times.

A camera that cannot keep up leaves frames out and stamps the next one at its real time: the file's frame times
then step by 1 / rate everywhere but where frames were dropped, where a step spans a whole number of frames. The
container's average rate (frames / duration) is then below the recorded one, and counting frames in decode order
would put every later frame early. ``dropped_runs`` finds such drops from the packets' times (read without
decoding) so that ``media_video`` numbers frames by their times and names the frames dropped, as it does for a
damaged file's lost frames (a file whose demuxer skips damaged data is left to that reading). A variable frame
rate is no drop: frames off the 1 / rate grid (a phone's jittered 29.97-30.0x fps, a 24 fps stretch), or steps
of several frames in a row (a 15 fps stretch in low light), leave the video read as before, its rate's variation
noted by the spotter. One such time anywhere keeps the whole file from being searched for drops: where its times
skip a frame or more and nearly all keep a constant rate (``STEADY``), ``drops_unsought`` says so, naming the first
such frame and why. The grid is the rate the file's own times step at (``recorded_rate``), not the one libav guesses
from its first frames, which a single early time off the grid moves (29.97 or 60 fps for a 30 fps file).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from .media_damage import unsought_note
from .media_libav import libav_lines, says_damage

__all__ = ["dropped_runs", "drops_unsought", "recorded_rate", "NOMINAL", "OFF_GRID", "SNAP", "STEADY"]

#: Frame times further than this fraction of a frame from the 1 / rate grid: not a constant-rate recording (a time
#: base of 1 ms rounds a 30 fps frame's time by up to 0.015 of a frame; jitter of a phone drifts past this soon).
OFF_GRID = 0.2
#: The share of a file's steps that are single frames (within ``OFF_GRID`` of one), at least, for the note on dropped
#: frames not looked for (``drops_unsought``): a recording at a constant rate but for a few times. Where less, its
#: rate varies (a stretch at 15 fps), which the spotter notes, and frames a camera dropped are the lesser question.
STEADY = 0.8
#: Rates cameras record at, to which ``recorded_rate`` snaps a file's measured rate besides the rates it declares:
#: the NTSC ones as ffmpeg takes them (30000/1001 for 29.97 fps), which a time base of 1/30000 or finer keeps exact.
NOMINAL = (10.0, 12.0, 12.5, 15.0, 20.0, 24000 / 1001, 24.0, 25.0, 30000 / 1001, 30.0, 48.0, 50.0, 60000 / 1001, 60.0,
           90.0, 100.0, 120000 / 1001, 120.0, 240.0)
#: How close, as a fraction, a measured rate must be to a declared or nominal one to be snapped to it
#: (``recorded_rate``): half the distance from 29.97 to 30 fps, widened to the rounding a coarse time base leaves
#: (2 ticks over the seconds measured) up to ``_SNAP_MOST``.
SNAP = 5e-4
_SNAP_MOST = 5e-3


def dropped_runs(av, path: Path, stream, rate: float, most_seconds: float) -> tuple[tuple[int, int], ...]:
    """The runs (first, last) of frame numbers dropped from ``stream`` of the video at ``path`` recorded at a
    constant ``rate``: () unless every frame time lies on the 1 / ``rate`` grid from the first, and every step of
    more than one frame lies between two single steps and spans at most ``most_seconds`` (the final frame's time is
    not counted). Read once per file (its size and time of change) and rate."""
    return _found(av, path, stream, rate, most_seconds)[0]


def drops_unsought(av, path: Path, stream, rate: float, most_seconds: float) -> str:
    """The note on a file whose frame times skip a frame or more somewhere, in which ``dropped_runs`` finds no drop
    because one frame time rules a constant rate with dropped frames out for the whole file
    (``media_damage.unsought_note``: that frame and why); "" otherwise. The times are put on the grid of the rate
    recorded at (``recorded_rate``; an MP4's average rate, read at where ``frame_rate`` found no drop, is lowered by
    the frames dropped), else of the container's guessed rate where it is above ``rate``, but not twice it."""
    guessed = float(stream.guessed_rate or 0)
    recorded = recorded_rate(av, path, stream) or (guessed if rate <= guessed < 2 * rate else rate)
    runs, off = _found(av, path, stream, recorded, most_seconds)
    return unsought_note(*off, recorded) if off and not runs else ""


def recorded_rate(av, path: Path, stream) -> float | None:
    """The rate the video ``stream`` at ``path`` was recorded at, from its own packet times (read without decoding;
    the final one is not counted): the frames spanned by the steps of a whole number of frames (within ``OFF_GRID``)
    over their seconds, snapped to the nearest rate the container declares (average, guessed) within ``SNAP`` (more
    for a coarse time base), else the nearest of ``NOMINAL``; None where none is that close, or fewer than ``STEADY``
    of the steps lie on the rate's grid (a variable rate), or the times cannot be read.

    One time off the grid lengthens the step before it and shortens the one after by as much: both count, or
    neither does, so it moves this rate no more than a tick's rounding, unlike libav's guess from the first frames.
    Frames a camera dropped are steps of whole frames, which count at their length."""
    seconds = _seconds(av, path, stream)
    steps = np.diff(seconds) if seconds is not None else np.zeros(0)
    steps = steps[steps > 0]
    if steps.size < 2:
        return None
    measured = 1 / float(np.median(steps))
    for _ in range(2):  # the median step, to a tick's rounding; then the rate its whole steps give, to refine it
        frames = steps * measured
        whole = np.round(frames)
        counted = (whole >= 1) & (np.abs(frames - whole) <= OFF_GRID)
        if not counted.any():
            return None
        span = float(steps[counted].sum())
        measured = float(whole[counted].sum()) / span
    if counted.mean() < STEADY:
        return None  # most steps off this rate's grid (30 then 15 fps; steps of 33 and 67 ms): no one rate
    tolerance = min(max(SNAP, 2 * float(stream.time_base) / span), _SNAP_MOST)
    declared = [float(r) for r in (stream.average_rate, stream.guessed_rate) if r]
    for rates in (declared, NOMINAL):  # a declared rate first: what the camera wrote where the times fit it
        near = min(rates, key=lambda r: abs(r / measured - 1), default=None)
        if near is not None and abs(near / measured - 1) <= tolerance:
            return near
    return None


def _key(path: Path, stream) -> tuple[str, int, int, int]:
    stat = path.stat()
    return str(path), stat.st_size, stat.st_mtime_ns, stream.index


def _seconds(av, path: Path, stream) -> np.ndarray | None:
    try:
        return _times(av, *_key(path, stream))
    except (OSError, ValueError, TypeError, ZeroDivisionError, av.error.FFmpegError):
        return None  # unreadable here: the decoder says why, as for any other file


def _found(av, path: Path, stream, rate: float, most_seconds: float):
    try:
        return _scan(av, *_key(path, stream), float(rate), float(most_seconds))
    except (OSError, ValueError, TypeError, av.error.FFmpegError):
        return (), None  # unreadable here: the decoder says why, as for any other file


@lru_cache(maxsize=4)
def _times(av, name: str, _size: int, _changed: int, index: int) -> np.ndarray | None:
    """The seconds of stream ``index``'s packets from the first, sorted, the final one left out; None where the
    demuxer skipped damaged data, a packet has no time, or there are fewer than 3. Read once per file (its size and
    time of change): ``recorded_rate`` and ``dropped_runs`` share it."""
    with libav_lines(av), av.open(name) as container, av.logging.Capture() as logs:
        stream = container.streams[index]
        base = stream.time_base
        packets = [(p.pts, p.is_corrupt) for p in container.demux(stream) if p.size]  # the last, empty one flushes
    pts = [t for t, _ in packets]
    if says_damage(logs) or any(bad for _, bad in packets):
        return None  # data the demuxer skipped leaves a gap too: that is damage, which the decoder names
    if not base or len(pts) < 3 or None in pts:
        return None
    # the final frame's time is left out: a cut by stream copy (ffmpeg -t 20 -c copy) stamps it late, as
    # ``spotting.recording.TimedFrames`` knows, which is no frame dropped
    times = np.sort(np.array(pts, np.int64))[:-1]
    return (times - times[0]) * float(base)


@lru_cache(maxsize=16)
def _scan(av, name: str, size: int, changed: int, index: int, rate: float, most_seconds: float
          ) -> tuple[tuple[tuple[int, int], ...], tuple[int, float, str] | None]:
    """(``dropped_runs``, and where it finds none though the times skip a frame or more: (the first frame, as read,
    whose time rules drops out, its seconds, why), else None)."""
    seconds = _times(av, name, size, changed, index)
    if seconds is None:
        return (), None
    frames = seconds * rate  # each frame's time in frames from the first
    numbers = np.round(frames)
    steps = np.diff(numbers).astype(np.int64)
    off = _first_off(frames, numbers, steps, seconds, most_seconds * rate)
    if off is not None:  # said where a frame or more is skipped (elsewhere no drop goes unfound) in a steady file
        # steps of one frame each, wherever the grid's phase: a step of 1.5 frames that the later times keep (a
        # half-frame pause) puts every later time off the grid from the first, though the file is steady but for it
        steady = np.mean(np.abs(np.diff(frames) - 1) <= OFF_GRID) >= STEADY
        skips = np.diff(frames) >= 2 - OFF_GRID  # a frame or more skipped; a step of 1.5 frames is a half-frame pause
        return (), ((off[0], float(seconds[off[0]]), off[1]) if steady and skips.any() else None)
    return tuple((int(numbers[i]) + 1, int(numbers[i + 1]) - 1) for i in np.flatnonzero(steps > 1)), None


def _first_off(frames, numbers, steps, seconds, most_frames: float) -> tuple[int, str] | None:
    """(the first frame, counted as read, whose time is not that of a constant-rate recording with frames dropped,
    and why: ``dropped_runs``'s rules, a step spanning at most ``most_frames`` dropped); None when every time is."""
    whys: dict[int, str] = {}
    grid = np.flatnonzero(np.abs(frames - numbers) > OFF_GRID)
    if grid.size:
        i = int(grid[0])
        whys[i] = f"is {abs(frames[i] - numbers[i]):.2f} of a frame off the grid of whole frames from the first"
    if (close := np.flatnonzero(steps < 1)).size:
        whys.setdefault(int(close[0]) + 1, "comes less than a frame after the one before it")
    if (long := np.flatnonzero(steps - 1 > most_frames)).size:
        i = int(long[0]) + 1
        whys.setdefault(i, f"comes {seconds[i] - seconds[i - 1]:.1f} s after the one before it, longer than a camera "
                           "is taken to drop frames for (as where recordings were joined)")
    gaps = np.flatnonzero(steps > 1)
    # the steps before and after each step; the recording's start counts as a single step (a camera drops frames in
    # its first second too), its end does not: late times there are a cut's (a stream copy stamps its end late)
    if (twice := gaps[np.isin(gaps + 1, gaps)]).size:
        i = int(twice[0]) + 1
        whys.setdefault(i, f"comes {steps[i - 1]} frames after the one before it, and frame {i + 1} {steps[i]} "
                           "frames after it (steps of whole frames in a row: as at a lower frame rate for a while)")
    if gaps.size and gaps[-1] == steps.size - 1:
        i = steps.size
        whys.setdefault(i, f"comes {steps[i - 1]} frames after the one before it, next to the recording's end "
                           "(where a cut's times are late)")
    return min(whys.items()) if whys else None
