"""A clip of a list that could not be classified (``Predictor.predict_clips(..., failures=[])``): what it was,
where it was in the list, which frames were asked for, and why."""

from __future__ import annotations

from dataclasses import dataclass

from .clip_list import ClipRequest
from .clips import Clip, FrameNumber

__all__ = ["ClipFailure", "failure_of"]


@dataclass(frozen=True)
class ClipFailure:
    """A clip that could not be classified, and why; ``index``: its position in the clips given (from 0);
    ``onset``/``apex``: the frames asked for, or the frames chosen when the clip failed after its frames were read
    (None: to be chosen)."""

    source: str
    error: str
    index: int | None = None
    onset: FrameNumber | None = None
    apex: FrameNumber | None = None

    def to_dict(self) -> dict:
        """The JSON's error entry (the caller maps ``index`` to what it means: ``mmnet predict``'s list row)."""
        return {"source": self.source, "onset": self.onset, "apex": self.apex, "error": self.error}


def failure_of(item: object, error: str, index: int) -> ClipFailure:
    """The failure of one item of ``predict_clips`` (a Clip, a path, a ClipRequest or a (clip, onset, apex) tuple),
    named as its Prediction would have been (the source, or ``onset + apex`` of an image pair)."""
    if isinstance(item, ClipRequest):
        name = str(item.source) if item.apex_image is None else f"{item.source} + {item.apex_image}"
        return ClipFailure(name, error, index, item.onset, item.apex)
    clip = item[0] if isinstance(item, tuple) else item
    frames = (item[1], item[2]) if isinstance(item, tuple) and len(item) == 3 else (None, None)
    return ClipFailure(clip.source if isinstance(clip, Clip) else str(clip), error, index, *frames)
