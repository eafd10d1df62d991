"""What an upload is from its first bytes: ``mmnet.media_sniff``, which the command line's video errors share."""

from __future__ import annotations

from ..media_sniff import HEAD_BYTES, VIDEO_FORMATS, looks_like, read_head, video_container

__all__ = ["HEAD_BYTES", "VIDEO_FORMATS", "read_head", "video_container", "looks_like"]
