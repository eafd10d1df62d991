"""Frames, images and videos: the one place mmnet lists, numbers and decodes them.

* **Frame folders.** A frame is a regular, non-hidden file with an image suffix
  (``IMAGE_SUFFIXES``) whose name fully matches a pattern; group 1 of the match is its frame
  number. The default pattern takes the last run of digits (``reg_img46.jpg`` -> 46); the dataset
  loaders pass their own (``reg_img(\\d+)\\.jpg``). Frames are sorted by number, never by name.
* **Images** decode with Pillow to uint8 RGB (``read_rgb``) or, keeping greyscale, ``read_image``
  (``mmnet.images``, imported here).
* **Videos** are read as a stream (``stream_video``): one decoded frame at a time, with its index
  and its time in seconds, so memory does not grow with the video's length. PyAV (extra
  ``video``) decodes when installed, OpenCV (extra ``face``) otherwise. Frames are turned upright
  as players show them (the rotation a phone records, ``upright``).

**Frame numbers** (``FRAME_NUMBERING``, the one convention of every command): a video's frame is
its decode index counted from 0, as OpenCV, FFmpeg and PyAV count; a folder's frame is the number
in its file name, as the datasets' annotations count. ``mmnet prepare`` writes a video's frame i
as ``reg_img{i}.jpg``, so a prepared folder's numbers equal the video's.

Every failure is a ``DataError`` that names the file and says what to do.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError, install_hint
from .images import read_image, read_rgb, resize_rgb

__all__ = [
    "IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "conversion_hint", "animation_hint", "FRAME_NAME", "FRAME_NUMBERING",
    "PREPARED_MARKER", "PREPARE_SUMMARY", "VideoFrame", "is_image", "is_video", "frame_number", "list_frames",
    "read_image", "read_rgb", "resize_rgb", "stream_video", "video_header", "declared_frame_count", "cut_short",
    "read_video", "iter_video_frames", "read_video_frames", "iter_frames", "frame_not_there", "upright"
]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_SUFFIXES = (".avi", ".mp4", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")

#: Default frame-name pattern: group 1 is the last run of digits of the name.
FRAME_NAME = re.compile(r".*?(\d+)\D*")

#: The frame-number convention, said once (``mmnet spot --json`` repeats it as ``frame_numbering``).
FRAME_NUMBERING = ("a video's frames are counted from 0 in decode order (as OpenCV, FFmpeg and PyAV count); "
                   "a folder's frame is the number in its file name (reg_img46.jpg is frame 46)")

#: The file ``mmnet prepare`` writes into each clip folder it finished (its settings and the clip's
#: record, ``mmnet.preprocess.marker``): mmnet's own bookkeeping, so never listed as a stray file.
PREPARED_MARKER = ".mmnet-prepared.json"
#: The JSON summary ``mmnet prepare`` writes into a dataset's root (``mmnet.preprocess.summary``).
PREPARE_SUMMARY = "prepare-summary.json"

# The remedies of the messages below, named so that the server can reword them for an upload (serve.messages).
EXTRACT_FRAMES = "extract its frames to a folder"
EXTRACT_THE_FRAMES = "extract the frames to a folder"
GIVE_VIDEO_OR_FRAMES = "give a video file, or its frames in a folder."

_NO_DECODER = ("Cannot decode video '{path}': no video decoder is installed. Install PyAV with: "
               + install_hint("video") + f", or {EXTRACT_THE_FRAMES}.")


def is_image(path: str | Path) -> bool:
    """True when ``path`` has an image suffix (the content is checked only when decoding)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def is_video(path: str | Path) -> bool:
    """True when ``path`` has a video suffix (the content is checked only when decoding)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def conversion_hint(path: str | Path) -> str:
    """For an input that is neither frames nor a video mmnet reads: how to make it one ("" when no advice fits)."""
    p = Path(path)
    if p.suffix.lower() == ".gif":  # an animated GIF: its frame timing is per frame, a video's is not
        return animation_hint(p)
    if p.suffix.lower() == ".zip":  # the web page takes a zip of frames; the command line reads the folder
        return f" A zip archive: unzip it and give the folder of frames (e.g. unzip '{p}' -d '{p.with_suffix('')}')."
    return ""


def animation_hint(path: str | Path, what: str = "An animated GIF") -> str:
    """How to make an animation (a GIF, whose frames each carry their own duration) a video mmnet reads."""
    p = Path(path)
    return f" {what}: convert it to a video first, e.g. ffmpeg -i '{p}' '{p.with_suffix('.mp4')}'."


# -- frame folders -------------------------------------------------------------------------------
def frame_number(path: str | Path, pattern: re.Pattern = FRAME_NAME) -> int:
    """The frame number in a file name (group 1 of ``pattern``), or DataError."""
    match = pattern.fullmatch(Path(path).name)
    if match is None:
        raise DataError(f"Frame '{path}' has no number in its name; frames must be numbered (e.g. img12.jpg).")
    return int(match.group(1))


def list_frames(
    folder: str | Path, pattern: re.Pattern = FRAME_NAME, *, duplicates: str = "error", numbered: bool = False
) -> tuple[tuple[tuple[int, Path], ...], tuple[str, ...]]:
    """The frames of ``folder`` sorted by number, and the names of every other entry.

    Args:
        folder: the folder to list.
        pattern: frame-name pattern, matched against the whole file name; group 1 = frame number.
        duplicates: two files with one number: ``"error"`` raises; ``"first"`` keeps the first by
            name and lists the others as not frames.
        numbered: raise for an image file whose name does not match ``pattern`` (a folder given
            by a user, where an unnumbered image is a mistake rather than a stray file).

    Returns:
        (((number, path), ...) sorted by number, names of entries that are not frames, sorted);
        hidden files, sub-folders and non-image files are never frames.

    Raises:
        DataError: the folder does not exist, two files share a number (``duplicates="error"``),
            or an image is unnumbered (``numbered=True``).
    """
    root = Path(folder)
    try:
        if not root.is_dir():
            raise DataError(f"Frame folder '{root}' does not exist.")
        with os.scandir(root) as it:
            entries = sorted((e.name, _is_file(e)) for e in it)
    except OSError as exc:  # a name too long for the file system, no permission, a symbolic link loop ...
        where = f"'{exc.filename}'" if exc.filename else f"frame folder '{root}'"
        if len(where) > 300:
            where = where[:120] + " ... " + where[-120:]
        raise DataError(f"{where} cannot be read: {exc.strerror or exc}. Fix or remove it "
                        "(a symbolic link loop, a broken link or a missing permission).") from None
    frames: dict[int, Path] = {}
    others: list[str] = []
    unnumbered: list[str] = []
    for name, is_file in entries:
        if name == PREPARED_MARKER:
            continue
        m = pattern.fullmatch(name) if is_file and is_image(name) and not name.startswith(".") else None
        if m is None:
            others.append(name)
            if is_file and is_image(name) and not name.startswith("."):
                unnumbered.append(name)
            continue
        n = int(m.group(1))
        if n in frames:
            if duplicates == "first":
                others.append(name)
                continue
            raise DataError(f"'{root}' holds two files with frame number {n}: '{frames[n].name}' and '{name}'; "
                            "remove or rename one of them.")
        frames[n] = root / name
    if numbered and unnumbered:
        raise DataError(f"Frames in '{root}' without a number in their name: {unnumbered[:5]}; "
                        "rename them (e.g. img12.jpg).")
    return tuple(sorted(frames.items())), tuple(sorted(others))


def _is_file(entry: os.DirEntry) -> bool:
    """``entry.is_file()``; a symbolic link loop raises here instead of counting as 'not a file'."""
    if entry.is_symlink():
        os.stat(entry.path)  # raises OSError (ELOOP, ENOENT) for a loop or a dangling link
    return entry.is_file()


# -- videos --------------------------------------------------------------------------------------
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


def read_video(path: str | Path) -> list[VideoFrame]:
    """Every frame of a video in memory: for clip-sized videos only (use ``stream_video`` otherwise)."""
    return list(stream_video(path))


def iter_video_frames(path: str | Path, numbers: Iterable[int], *, where: str | None = None,
                      labels: Mapping[int, str] | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """(index, image) of the given indices (from 0), in frame order, decoded in one streaming pass that keeps none
    of the others and stops at the last number asked for. Numbers beyond the end are skipped or, given ``where``
    (the video's name in a sentence), a DataError (``frame_not_there``, the frame named by ``labels``) at the end."""
    wanted = set(numbers)
    if not wanted:
        return
    left, count = set(wanted), 0
    stream = stream_video(path)
    try:
        for frame in stream:
            count = frame.index + 1
            if frame.index in left:
                yield frame.index, frame.image
                left.discard(frame.index)
                if not left:
                    return
    finally:
        stream.close()
    if where is not None:
        first = min(left)
        raise DataError(frame_not_there(f"{(labels or {}).get(first, 'Requested')} frame {first}", where,
                                        (0, count - 1, count)))


def read_video_frames(path: str | Path, numbers: Iterable[int]) -> dict[int, np.ndarray]:
    """The frames of the given indices (from 0), decoded in one streaming pass that keeps only them.

    The pass stops at the last number asked for; numbers beyond the video's end are absent from
    the result.
    """
    return dict(iter_video_frames(path, numbers))


def iter_frames(source: str | Path, numbers: Iterable[int], where: str,
                labels: Mapping[int, str] | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """(number, RGB image) of the given frames of a video (``iter_video_frames``) or a folder of numbered frames,
    in frame order, in one pass. A number the source does not hold is a DataError (``frame_not_there``) naming
    the source as ``where`` ("recording 'a.mp4'") and the frame by ``labels`` ("Onset"); a folder's are checked
    before any frame is read."""
    path = Path(source)
    if is_video(path) and not path.is_dir():
        yield from iter_video_frames(path, numbers, where=where, labels=labels)
        return
    paths = dict(list_frames(path, numbered=True)[0])
    wanted = sorted(set(numbers))
    for n in wanted:
        if n not in paths:
            held = (min(paths), max(paths), len(paths)) if paths else None
            raise DataError(frame_not_there(f"{(labels or {}).get(n, 'Requested')} frame {n}", where, held))
    for n in wanted:
        yield n, read_rgb(paths[n])


def frame_not_there(frame: str, where: str, held: tuple[int, int, int] | None = None) -> str:
    """The one sentence for a frame that a clip or recording does not hold: ``frame`` names it ("Apex frame 16"),
    ``where`` the source ("clip 'a.mp4'"), ``held`` its (first, last, count) frames when known; the frame-number
    convention (``FRAME_NUMBERING``) follows, for a number counted the other way."""
    numbered = "" if held is None else f" (its frames are numbered {held[0]}..{held[1]}, {held[2]} frames)"
    return f"{frame} is not in {where}{numbered}. Frame numbers: {FRAME_NUMBERING}."
