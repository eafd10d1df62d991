"""What mmnet says about a video file damaged on the way (a cut copy, lost data, joined recordings) or missing frames
a camera dropped (found, or not looked for): the notes that the decoder (``media_video``) and the spotter
(``spotting.flow_spotter``) share, worded once."""

from __future__ import annotations

from fractions import Fraction

from .errors import install_hint

__all__ = ["TRUNCATED", "dropped_note", "ends_damaged", "jump_note", "lost_note", "no_drops_found", "unsought_note"]

#: The end of the note on a video that decoded short of its declared frames (``media_video``'s and ``flow_spotter``'s).
TRUNCATED = "the file may be truncated; re-encode or copy it again"


def ends_damaged(decoded: int, declared: int | None, exc: Exception) -> str:
    """The note on a video whose last packets do not decode (a cut .mp4): worded as a quietly short one's
    (``flow_spotter``'s "decoded N of M frames"), the decoder's own words last."""
    counts = f"decoded {decoded} of {declared} frames" if declared and declared > decoded else (
        f"decoded {decoded} frames, and nothing after frame {decoded - 1}")
    return f"{counts}: {TRUNCATED} (the decoder said: {exc})"


def jump_note(index: int, jump: float) -> str:
    """The note on a jump of a damaged video's frame times longer than the damage could have lost."""
    return (f"the frame times jump {jump:.1f} s ahead at frame {index} (as where recordings were joined), more "
            "than the damage before it could have lost: frames are counted on from there, not numbered by time")


def _runs(lost: list[tuple[int, int]]) -> str:
    """Runs of frame numbers for a note: "frame 5" or "frames 5, 8-9", the first 10 and whether there are more."""
    runs = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in lost[:10])
    what = "frame" if lost == [(lost[0][0],) * 2] else "frames"
    return f"{what} {runs}" + (" and more" if len(lost) > 10 else "")


def lost_note(lost: list[tuple[int, int]], dropped: int) -> str:
    """The note on the runs of frames a damaged video lost, and on ``dropped`` frames the damage left out of order;
    "" when there are none."""
    left = (f"{dropped} frame{'s' * (dropped > 1)} that the damage left out of order (decoded after later "
            f"frames) {'were' if dropped > 1 else 'was'} dropped") if dropped else ""
    if lost:
        return (f"{_runs(lost)} could not be decoded (the file is damaged there): they are missing frames, and the "
                "frames after them keep their numbers" + (f"; {left}" if left else ""))
    return f"{left} (the file is damaged there)" if left else ""


def dropped_note(runs: list[tuple[int, int]], rate: float | None) -> str:
    """The note on the runs of frames a camera dropped while recording (``media_drops``); "" when there are none."""
    if not runs:
        return ""
    count = sum(b - a + 1 for a, b in runs)
    return (f"{_runs(runs)} {'are' if count > 1 else 'is'} not in the file ({count} frame{'s' * (count > 1)} the "
            f"camera dropped while recording at {rate:.4g} fps: the frame times skip them): they are missing frames, "
            "and the frames after them keep their numbers")


#: What frames numbered as read mean for a video from which a camera may have dropped frames (``unsought_note``,
#: ``no_drops_found``).
_AS_READ = ("its frames are numbered as read (from 0 in decode order), so if the camera dropped frames while "
            "recording, every frame after a drop, and the intervals' frame numbers with it, is numbered lower than its "
            "time gives by the frames dropped before it (the seconds reported are the frames' own times)")


def unsought_note(frame: int, seconds: float, why: str, rate: float) -> str:
    """The note on a video whose frame times skip a frame or more, in which dropped frames were not looked for
    (``media_drops.drops_unsought``): frame ``frame``, at ``seconds``, rules them out for the whole file (``why``)."""
    fps = Fraction(rate).limit_denominator(1001)  # 30000/1001 for 29.97 fps, as ffmpeg takes it
    return (f"dropped frames were not looked for in this file, though its frame times skip a frame or more: frame "
            f"{frame} (at {seconds:.2f} s) {why}, unlike a recording at a constant {rate:.4g} fps from which the "
            f"camera dropped frames; {_AS_READ}; to number frames by their times, re-encode it at a constant rate, "
            f"which repeats the frame before each gap (e.g. ffmpeg -i in.mp4 -vf fps={fps} out.mp4), and spot that, "
            "or check the camera's log for the frames it dropped")


def no_drops_found() -> str:
    """The note on a video file read by OpenCV (``media_video``, without PyAV): it numbers frames as they come, so
    frames a camera dropped (found from the packets' times with PyAV, ``media_drops``) go unfound."""
    return ("the video is read with OpenCV (PyAV is not installed), which cannot tell frames a camera dropped while "
            f"recording: {_AS_READ}; to find dropped frames, install PyAV with {install_hint('video')}")
