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
such frame and why.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from .media_damage import unsought_note
from .media_libav import libav_lines, says_damage

__all__ = ["dropped_runs", "drops_unsought", "OFF_GRID", "STEADY"]

#: Frame times further than this fraction of a frame from the 1 / rate grid: not a constant-rate recording (a time
#: base of 1 ms rounds a 30 fps frame's time by up to 0.015 of a frame; jitter of a phone drifts past this soon).
OFF_GRID = 0.2
#: The share of a file's steps that are single frames on the grid, at least, for the note on dropped frames not looked
#: for (``drops_unsought``): a recording at a constant rate but for a few times. Where less, its rate varies (a stretch
#: at 15 fps), which the spotter notes, and frames a camera dropped are the lesser question.
STEADY = 0.8


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
    recorded at: the container's guessed rate where it is above ``rate`` (an MP4's average rate, read at where
    ``frame_rate`` found no drop, is lowered by the frames dropped), but not twice it."""
    guessed = float(stream.guessed_rate or 0)
    recorded = guessed if rate <= guessed < 2 * rate else rate
    runs, off = _found(av, path, stream, recorded, most_seconds)
    return unsought_note(*off, recorded) if off and not runs else ""


def _found(av, path: Path, stream, rate: float, most_seconds: float):
    try:
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns, stream.index, float(rate), float(most_seconds))
        return _scan(av, *key)
    except (OSError, ValueError, TypeError, av.error.FFmpegError):
        return (), None  # unreadable here: the decoder says why, as for any other file


@lru_cache(maxsize=16)
def _scan(av, name: str, _size: int, _changed: int, index: int, rate: float, most_seconds: float
          ) -> tuple[tuple[tuple[int, int], ...], tuple[int, float, str] | None]:
    """(``dropped_runs``, and where it finds none though the times skip a frame or more: (the first frame, as read,
    whose time rules drops out, its seconds, why), else None)."""
    with libav_lines(av), av.open(name) as container, av.logging.Capture() as logs:
        stream = container.streams[index]
        base = stream.time_base
        packets = [(p.pts, p.is_corrupt) for p in container.demux(stream) if p.size]  # the last, empty one flushes
    pts = [t for t, _ in packets]
    if says_damage(logs) or any(bad for _, bad in packets):
        return (), None  # data the demuxer skipped leaves a gap too: that is damage, which the decoder names
    if not base or len(pts) < 3 or None in pts:
        return (), None
    # the final frame's time is left out: a cut by stream copy (ffmpeg -t 20 -c copy) stamps it late, as
    # ``spotting.recording.TimedFrames`` knows, which is no frame dropped
    times = np.sort(np.array(pts, np.int64))[:-1]
    seconds = (times - times[0]) * float(base)
    frames = seconds * rate  # each frame's time in frames from the first
    numbers = np.round(frames)
    steps = np.diff(numbers).astype(np.int64)
    off = _first_off(frames, numbers, steps, seconds, most_seconds * rate)
    if off is not None:  # said where a frame or more is skipped (elsewhere no drop goes unfound) in a steady file
        steady = np.mean((steps == 1) & (np.abs(frames - numbers) <= OFF_GRID)[1:]) >= STEADY
        return (), ((off[0], float(seconds[off[0]]), off[1]) if steady and (np.diff(frames) > 1.5).any() else None)
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
