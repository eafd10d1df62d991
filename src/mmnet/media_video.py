"""Videos decoded as a stream: one frame at a time, with its index and its time in seconds.

PyAV (extra ``video``) decodes when installed, OpenCV (extra ``face``) otherwise. Frames are turned upright as
players show them (``upright``). A video's frame is its decode index counted from 0 (``media.FRAME_NUMBERING``).
``mmnet.media`` re-exports every public name here: import them from there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError, install_hint

__all__ = ["EXTRACT_FRAMES", "EXTRACT_THE_FRAMES", "GIVE_VIDEO_OR_FRAMES", "VideoFrame", "stream_video", "upright",
           "video_header", "declared_frame_count", "SHORT_VIDEO", "cut_short"]

# The remedies of the messages below, named so that the server can reword them for an upload (serve.messages).
EXTRACT_FRAMES = "extract its frames to a folder"
EXTRACT_THE_FRAMES = "extract the frames to a folder"
GIVE_VIDEO_OR_FRAMES = "give a video file, or its frames in a folder."

_NO_DECODER = ("Cannot decode video '{path}': no video decoder is installed. Install PyAV with: "
               + install_hint("video") + f", or {EXTRACT_THE_FRAMES}.")


@dataclass(frozen=True)
class VideoFrame:
    """One decoded video frame: its index (from 0, in decode order), time in seconds, RGB image."""

    index: int
    time: float
    image: np.ndarray  # (H, W, 3) uint8 RGB


def stream_video(path: str | Path) -> Iterator[VideoFrame]:
    """Decode a video one frame at a time; nothing is kept once a frame has been yielded.

    The file and the decoder are checked here; decoding errors are raised while iterating. The
    decoder is closed when the iteration ends or the iterator is closed (or garbage-collected).

    Raises:
        DataError: the file is missing, empty (0 bytes), cannot be decoded or holds no video frame;
            or no decoder is installed.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"Video '{p}' does not exist.")
    if p.stat().st_size == 0:  # the decoder's own words for it ("Invalid data found") blame the format
        raise DataError(f"Video '{p}' is empty (0 bytes): nothing was written into it, as after an interrupted "
                        "copy or download; copy it again, or give another video.")
    try:
        import av
    except ImportError:
        av = None
    if av is not None:
        return _checked(_stream_pyav(av, p), p)
    try:
        import cv2
    except ImportError:
        raise DataError(_NO_DECODER.format(path=p)) from None
    return _checked(_stream_cv2(cv2, p), p)


def _checked(frames: Iterator[VideoFrame], path: Path) -> Iterator[VideoFrame]:
    """Pass frames through; a video that ends before its first frame is an error."""
    count = 0
    try:
        for frame in frames:
            count += 1
            yield frame
    finally:
        frames.close()  # closes the decoder now, also when the caller stops early
    if count == 0:
        raise DataError(f"Video '{path}' holds no decodable video frame; check the file or {EXTRACT_FRAMES}.")


def _stream_pyav(av, path: Path) -> Iterator[VideoFrame]:
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise DataError(f"Video '{path}' cannot be decoded ({exc}); re-encode it or {EXTRACT_FRAMES}.") from None
    with container:
        if not container.streams.video:
            raise DataError(f"Video '{path}' has no video stream (streams: {[s.type for s in container.streams]}); "
                            + GIVE_VIDEO_OR_FRAMES)
        stream = container.streams.video[0]
        rate = float(stream.average_rate or stream.guessed_rate or 0) or None
        start = None
        index = -1
        try:
            for packet in container.demux(stream):  # packet by packet: at most a codec's delay is buffered
                for frame in packet.decode():
                    index += 1
                    if frame.time is not None:
                        start = frame.time if start is None else start
                        time = frame.time - start
                    else:
                        time = index / rate if rate else float("nan")
                    turn = getattr(frame, "rotation", 0)  # older PyAV releases have no frame.rotation
                    yield VideoFrame(index, time, upright(frame.to_ndarray(format="rgb24"), turn))
        except (av.error.FFmpegError, ValueError, OSError) as exc:
            where = f"after frame {index}" if index >= 0 else "at its first frame"
            declared = stream.frames or None
            if declared is None and stream.duration is not None and stream.time_base is not None and rate:
                declared = round(float(stream.duration * stream.time_base) * rate)
            # a cut copy keeps its header: say so, the usual cause (an interrupted copy or download)
            cut = (f"{index + 1} of the {declared} frames its header declares decode: the file may be truncated; "
                   "copy it again, ") if declared and declared > index + 1 else ""
            raise DataError(f"Video '{path}' cannot be decoded {where} ({exc}); {cut}re-encode it or "
                            f"{EXTRACT_FRAMES}.") from None


def upright(image: np.ndarray, rotation: float | None) -> np.ndarray:
    """A frame turned as players show it: ``rotation`` is the display matrix's counter-clockwise angle in degrees
    (PyAV's ``frame.rotation``; a phone held upright stores its pixels sideways, -90). OpenCV turns frames so
    itself (``CAP_PROP_ORIENTATION_AUTO``), so both decoders give the same picture."""
    turns = round((rotation or 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


def _stream_cv2(cv2, path: Path) -> Iterator[VideoFrame]:
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise DataError(f"Video '{path}' cannot be opened by OpenCV; re-encode it or {EXTRACT_FRAMES}.")
        rate = capture.get(cv2.CAP_PROP_FPS) or None
        index = -1
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            index += 1
            time = index / rate if rate else capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            yield VideoFrame(index, time, np.ascontiguousarray(bgr[:, :, ::-1]))  # OpenCV decodes to BGR
    finally:
        capture.release()


def video_header(path: str | Path) -> tuple[float | None, int | None]:
    """(frames per second, frame count) as a video's container declares them; None where it declares none
    (or the file cannot be opened: ``stream_video`` then says why). The count is the header's, else its
    duration x frame rate, as Matroska and WebM headers carry no count. A truncated file keeps its header,
    so fewer frames decode than declared."""
    try:
        import av
    except ImportError:
        av = None
    if av is not None:
        try:
            with av.open(str(path)) as container:
                if not container.streams.video:
                    return None, None
                stream = container.streams.video[0]
                rate = stream.average_rate or stream.guessed_rate
                fps = float(rate) if rate else None
                if stream.frames:
                    return fps, int(stream.frames)
                seconds = (float(stream.duration * stream.time_base) if stream.duration and stream.time_base
                           else container.duration / 1e6 if container.duration else None)
                return fps, (round(seconds * fps) or None) if seconds and fps else None
        except (av.error.FFmpegError, ValueError, OSError, IndexError):
            return None, None
    try:
        import cv2
    except ImportError:
        return None, None
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            return None, None
        fps, count = capture.get(cv2.CAP_PROP_FPS), capture.get(cv2.CAP_PROP_FRAME_COUNT)
    finally:
        capture.release()
    return (float(fps) if fps > 0 else None), (int(count) if count > 0 else None)


def declared_frame_count(path: str | Path) -> int | None:
    """The frame count a video's container declares (``video_header``), or None when it declares none."""
    return video_header(path)[1]


SHORT_VIDEO = 0.9  # fewer decoded frames than this share of the declared count: the file is cut short


def cut_short(decoded: int, declared: int | None) -> bool:
    """Whether ``decoded`` frames fall well short of the ``declared`` count (``declared_frame_count``): a
    decoder ends quietly where a file was cut, so this is how an interrupted copy or download shows."""
    return bool(declared) and decoded < SHORT_VIDEO * declared


