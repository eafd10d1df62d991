"""What mmnet says about a video file damaged on the way (a cut copy, lost data, joined recordings): the notes
that the decoder (``media_video``) and the spotter (``spotting.flow_spotter``) share, worded once."""

from __future__ import annotations

__all__ = ["TRUNCATED", "ends_damaged", "jump_note"]

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
