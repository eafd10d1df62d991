"""The module ``mmnet.video`` of mmnet 0.1.0 (reading videos), kept for programs written against it: its names now live
in :mod:`mmnet.media`. Importing it warns (DeprecationWarning) and forwards each name on first use. Removed in mmnet
0.3.0."""

from __future__ import annotations

from .lazy_names import lazy_name, warn_moved

warn_moved("mmnet.video", "mmnet.media")

_HOME = {name: "media" for name in ("VIDEO_SUFFIXES", "is_video", "read_video_frames")}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> object:
    return lazy_name("mmnet", _HOME, name)
