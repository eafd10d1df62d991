"""Frames a camera dropped while recording at a constant rate, found from a video's own frame times.

A camera that cannot keep up leaves frames out and stamps the next one at its real time: the file's frame times
then step by 1 / rate everywhere but where frames were dropped, where a step spans a whole number of frames. The
container's average rate (frames / duration) is then below the recorded one, and counting frames in decode order
would put every later frame early. ``dropped_runs`` finds such drops from the packets' times (read without
decoding) so that ``media_video`` numbers frames by their times and names the frames dropped, as it does for a
damaged file's lost frames (a file whose demuxer skips damaged data is left to that reading). A variable frame
rate is no drop: frames off the 1 / rate grid (a phone's jittered 29.97-30.0x fps, a 24 fps stretch), or steps
of several frames in a row (a 15 fps stretch in low light), leave the video read as before, its rate's variation
noted by the spotter.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from .media_libav import libav_lines, says_damage

__all__ = ["dropped_runs", "OFF_GRID"]

#: Frame times further than this fraction of a frame from the 1 / rate grid: not a constant-rate recording (a time
#: base of 1 ms rounds a 30 fps frame's time by up to 0.015 of a frame; jitter of a phone drifts past this soon).
OFF_GRID = 0.2


def dropped_runs(av, path: Path, stream, rate: float, most_seconds: float) -> tuple[tuple[int, int], ...]:
    """The runs (first, last) of frame numbers dropped from ``stream`` of the video at ``path`` recorded at a
    constant ``rate``: () unless every frame time lies on the 1 / ``rate`` grid from the first, and every step of
    more than one frame lies between two single steps and spans at most ``most_seconds`` (the final frame's time is
    not counted). Read once per file (its size and time of change) and rate."""
    try:
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns, stream.index, float(rate), float(most_seconds))
        return _scan(av, *key)
    except (OSError, ValueError, TypeError, av.error.FFmpegError):
        return ()  # unreadable here: the decoder says why, as for any other file


@lru_cache(maxsize=16)
def _scan(av, name: str, _size: int, _changed: int, index: int, rate: float, most_seconds: float
          ) -> tuple[tuple[int, int], ...]:
    with libav_lines(av), av.open(name) as container, av.logging.Capture() as logs:
        stream = container.streams[index]
        base = stream.time_base
        packets = [(p.pts, p.is_corrupt) for p in container.demux(stream) if p.size]  # the last, empty one flushes
    pts = [t for t, _ in packets]
    if says_damage(logs) or any(bad for _, bad in packets):
        return ()  # data the demuxer skipped leaves a gap too: that is damage, which the decoder names
    if not base or len(pts) < 3 or None in pts:
        return ()
    # the final frame's time is left out: a cut by stream copy (ffmpeg -t 20 -c copy) stamps it late, as
    # ``spotting.recording.TimedFrames`` knows, which is no frame dropped
    times = np.sort(np.array(pts, np.int64))[:-1]
    frames = (times - times[0]) * float(base) * rate  # each frame's time in frames from the first
    numbers = np.round(frames)
    if np.abs(frames - numbers).max() > OFF_GRID:
        return ()
    steps = np.diff(numbers).astype(np.int64)
    gaps = np.flatnonzero(steps > 1)
    if not gaps.size or (steps < 1).any() or steps.max() - 1 > most_seconds * rate:
        return ()
    # the steps before and after each step; the recording's start counts as a single step (a camera drops frames in
    # its first second too), its end does not: late times there are a cut's (a stream copy stamps its end late)
    single = np.concatenate([[True], steps == 1, [False]])
    if not (single[gaps] & single[gaps + 2]).all():
        return ()  # several steps of whole frames in a row: a lower rate for a while, not frames dropped
    return tuple((int(numbers[i]) + 1, int(numbers[i + 1]) - 1) for i in gaps)
