"""Decode a video file into RGB frames (optional extra ``mmnet[video]``: PyAV).

Micro-expression clips are short (CASME II: at most a few hundred frames at 200 fps), so the
whole clip is decoded into memory. PyAV is used when installed; OpenCV (``cv2``, which the
``face`` extra brings) is the fallback, so either extra is enough to read videos.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import DataError

__all__ = ["VIDEO_SUFFIXES", "is_video", "read_video_frames"]

#: File suffixes treated as videos by the command line (anything else must be an image or folder).
VIDEO_SUFFIXES = (".avi", ".mp4", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


def is_video(path: str | Path) -> bool:
    """True when ``path`` has a video suffix (the content is checked only when decoding)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def read_video_frames(path: str | Path) -> list[np.ndarray]:
    """Decode every frame of a video as (H, W, 3) uint8 RGB, in display order.

    Raises:
        DataError: the file is missing, cannot be decoded, or holds no video frame; or no
            decoder is installed.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"Video '{p}' does not exist.")
    try:
        import av
    except ImportError:
        av = None
    if av is not None:
        frames = _read_pyav(av, p)
    else:
        try:
            import cv2
        except ImportError:
            raise DataError(
                f"Cannot decode video '{p}': no video decoder is installed. "
                "Install one with: pip install 'mmnet[video]' (PyAV), or extract the frames to a folder."
            ) from None
        frames = _read_cv2(cv2, p)
    if not frames:
        raise DataError(f"Video '{p}' holds no decodable video frame; check the file or extract its frames to a folder.")
    return frames


def _read_pyav(av, path: Path) -> list[np.ndarray]:
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise DataError(f"'{path}' has no video stream (streams: {[s.type for s in container.streams]}).")
            stream = container.streams.video[0]
            return [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    except DataError:
        raise
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise DataError(f"Video '{path}' cannot be decoded ({exc}); re-encode it or extract its frames to a folder.") from None


def _read_cv2(cv2, path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise DataError(f"Video '{path}' cannot be opened by OpenCV; re-encode it or extract its frames to a folder.")
        frames = []
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            frames.append(np.ascontiguousarray(bgr[:, :, ::-1]))  # OpenCV decodes to BGR
        return frames
    finally:
        capture.release()
