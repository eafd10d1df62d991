"""What a recording's frames must satisfy for the spotter's clock: frame numbers and frame times.

The spotter places frame n at n / fps seconds and sizes its windows in frames, so a recording's frames must
be evenly spaced in time. A frame folder's numbers must be frame indices (a missing number is a dropped
frame, ``with_missing``; ``check_numbering`` refuses numbers that count something else). A video's frame
times are kept (``TimedFrames.times``): the seconds reported are the frames' presentation times, right on a
variable-frame-rate video too, whose windows (counted in frames) ``TimedFrames`` notes.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..media import VideoFrame

__all__ = ["check_numbering", "with_missing", "FrameFiles", "TimedFrames", "RATE_DRIFT_FRAMES"]

#: Frame times further than this many frame durations from a constant rate: a variable frame rate. One
#: frame covers a timestamp's rounding and a single dropped frame; the note is for timings that are wrong.
RATE_DRIFT_FRAMES = 2


def check_numbering(folder: Path, frames: Sequence[tuple[int, Path]]) -> None:
    """DataError, before any frame is read, when a frame folder's numbers are mostly missing.

    Each missing number becomes a placeholder frame and a row of every curve, so the numbers between the
    first and the last frame bound the work and the memory. More missing numbers than files is no
    recording with dropped frames but numbers that count something else (a timestamp in ms, a counter
    shared by several recordings): refusing there keeps the cost under twice the files'.
    """
    first, last = frames[0][0], frames[-1][0]
    missing = last - first + 1 - len(frames)
    if missing <= len(frames):
        return
    shown = [n for n, _ in frames[:3]]
    found = ", ".join(map(str, shown)) + (f", ..., {last}" if len(frames) > 3 else "")
    raise DataError(
        f"Frame folder '{folder}': its {len(frames)} frames are numbered {found}, so {missing} numbers between "
        f"{first} and {last} have no file, more than there are frames. The numbers in the file names must be "
        "frame indices (frame n is shown at n / fps seconds; a missing number is a dropped frame), not "
        "timestamps or other counts: rename the files in frame order with consecutive numbers (img1.jpg, "
        "img2.jpg, ...), or spot the video they were extracted from.")


def with_missing(frames: Sequence[tuple[int, Path]], read: Callable[[Path], np.ndarray], skip: int = 0
                 ) -> Iterator[tuple[int, np.ndarray | None]]:
    """(number, image) of numbered frame files, with (number, None) for each number between them without a file
    (``check_numbering`` bounds how many); the first ``skip`` numbers come as (number, None) too, unread."""
    expected = first = frames[0][0]
    for number, path in frames:
        yield from ((m, None) for m in range(expected, number))
        yield number, read(path) if number - first >= skip else None
        expected = number + 1


class FrameFiles:
    """A frame folder's (number, image) stream (``with_missing``), which a resumed spotter enters at a frame: it
    sets ``skip`` to the frames it measured before, and those are streamed as (number, None) without being read."""

    def __init__(self, frames: Sequence[tuple[int, Path]], read: Callable[[Path], np.ndarray]):
        self.frames, self.read, self.skip = frames, read, 0

    def __iter__(self) -> Iterator[tuple[int, np.ndarray | None]]:
        return with_missing(self.frames, self.read, self.skip)


class TimedFrames:
    """A video's (index, image) stream that keeps its frame times and watches them against a constant ``rate``.

    ``times[i]`` is frame i's presentation time in seconds from the first frame (NaN for a frame that could not
    be decoded), from which the intervals' seconds are reported. The spotter's windows are counted in frames,
    sized at ``rate``; a variable-frame-rate video (a phone that changes rate with the light) stretches them
    where its rate drops. Once streamed, ``note`` says so when a frame's time (the final frame's is not counted)
    is more than ``RATE_DRIFT_FRAMES`` frames away from i / rate. Numbers the decoder skipped (frames that could
    not be decoded) are streamed as (number, None): missing frames, as a frame folder's missing numbers.
    """

    def __init__(self, frames: Iterator[VideoFrame], rate: float):
        self.frames, self.rate = frames, rate
        self.worst: tuple[float, int, float] = (0.0, 0, 0.0)  # (drift in s, index, time) of the frames streamed
        self.times = array("d")  # by frame index: one float a frame (8 bytes, not a Python float's 32)

    def __iter__(self) -> Iterator[tuple[int, np.ndarray | None]]:
        expected = 0
        # The final frame's time is left out: a video cut by stream copy (ffmpeg -t 20 -c copy) ends on one frame
        # stamped late (20.13 s for 20.03 s) though every other is on time, and one frame's time moves no window.
        previous = None
        for frame in self.frames:
            # numbers skipped by the decoder (frames that could not be decoded) are missing frames, as in a folder
            for m in range(expected, frame.index):
                self.times.append(float("nan"))
                yield m, None
            expected = frame.index + 1
            self.times.append(float(frame.time))
            if previous is not None and previous[0] > self.worst[0]:  # NaN (a frame without a time) is never larger
                self.worst = previous
            previous = (abs(frame.time - frame.index / self.rate), frame.index, frame.time)
            yield frame.index, frame.image

    def note(self, source: str) -> str | None:
        """The sentence for ``source`` (the recording's name): the decoder's notes (``media.VideoStream.notes``:
        the stream and rate chosen, frames that could not be decoded, ...) and whether its frame rate varies;
        None when there is nothing to say."""
        said = [*getattr(self.frames, "notes", ())]
        varying = self._varying()
        said += [varying] if varying else []
        return f"{source}: " + "; ".join(said) if said else None

    def times_of(self, numbers: Sequence[int]) -> np.ndarray:
        """The presentation times (s) of frames ``numbers`` as streamed, NaN for one without a time."""
        times = np.array(self.times, np.float64)  # a copy: an array.array lending its buffer cannot grow
        index = np.asarray(numbers, np.int64)
        inside = (index >= 0) & (index < len(times))
        return np.where(inside, times[np.clip(index, 0, max(len(times) - 1, 0))] if len(times) else np.nan, np.nan)

    def _varying(self) -> str | None:
        drift, index, time = self.worst
        if drift <= RATE_DRIFT_FRAMES / self.rate:
            return None
        return (f"the video's frame rate varies (frame {index} is shown at {time:.2f} s, "
                f"not at {index / self.rate:.2f} s as at a constant {self.rate:.4g} fps): the seconds reported are "
                "the frames' own presentation times, but the spotter's windows are counted in frames sized at that "
                "rate, so where the rate drops a window spans more time and short expressions can be missed or "
                "merged; for windows of a fixed duration, record at a fixed frame rate (turn off the camera app's "
                "automatic or low-light frame rate) or export the video at a constant frame rate (most video editors "
                "and converters offer it) and spot that")
