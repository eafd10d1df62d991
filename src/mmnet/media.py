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
its decode index counted from 0, as OpenCV, FFmpeg and PyAV count (frames lost to damaged data leave
their numbers out: ``media_video``); a folder's frame is the number
in its file name, as the datasets' annotations count. ``mmnet prepare`` writes a video's frame i
as ``reg_img{i}.jpg``, so a prepared folder's numbers equal the video's.

Every failure is a ``DataError`` that names the file and says what to do.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np

from .errors import DataError
from .images import read_image, read_rgb, resize_rgb
from .media_video import (  # noqa: F401 (re-exported: its __all__, the remedies named for serve.messages)
    EXTRACT_FRAMES,
    EXTRACT_THE_FRAMES,
    GIVE_VIDEO_OR_FRAMES,
    MAX_BAD_PACKETS,
    MAX_LOST_SECONDS,
    VideoFrame,
    VideoStream,
    stream_video,
    upright,
    video_header,
)

__all__ = [
    "IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "conversion_hint", "animation_hint", "FRAME_NAME", "FRAME_NUMBERING",
    "PREPARED_MARKER", "PREPARE_SUMMARY", "VideoFrame", "is_image", "is_video", "desktop_file", "frame_number",
    "list_frames",
    "read_image", "read_rgb", "resize_rgb", "stream_video", "video_header", "declared_frame_count", "cut_short",
    "read_video", "iter_video_frames", "read_video_frames", "iter_frames", "frame_not_there", "upright",
    "VideoStream", "MAX_BAD_PACKETS", "MAX_LOST_SECONDS",
]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_SUFFIXES = (".avi", ".mp4", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv",
                  ".mts", ".m2ts", ".ts", ".3gp", ".3g2", ".mxf", ".flv", ".ogv", ".f4v")  # camcorders, old phones

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


def is_image(path: str | Path) -> bool:
    """True when ``path`` has an image suffix (the content is checked only when decoding)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def is_video(path: str | Path) -> bool:
    """True when ``path`` has a video suffix (the content is checked only when decoding)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


# files a desktop or an archiver writes beside frames (compared case-folded: Windows writes THUMBS.DB too)
_DESKTOP_FILES = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini", ".ds_store"})


#: what ``desktop_file`` counts, in the words of the notes that say such files were ignored
DESKTOP_KINDS = ("hidden files such as '.DS_Store' and AppleDouble '._NAME' files, Thumbs.db, desktop.ini, "
                 "'NAME:Zone.Identifier' download marks")


def desktop_file(name: str) -> bool:
    """Whether a file's base name is one that desktops, archivers and downloads add beside frames, never a frame:
    hidden ('.x', macOS's '._img1.jpg'), Thumbs.db, desktop.ini, or the 'Zone.Identifier' stream a Windows download
    carries, copied out as a file of its own ('img1.jpg:Zone.Identifier') by an archiver or a network share."""
    folded = name.casefold()
    return name.startswith(".") or folded in _DESKTOP_FILES or folded.endswith(":zone.identifier")


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
    folder: str | Path, pattern: re.Pattern = FRAME_NAME, *, duplicates: str = "error", numbered: bool = False,
    not_frames: Callable[[list[str]], Collection[str]] | None = None,
) -> tuple[tuple[tuple[int, Path], ...], tuple[str, ...]]:
    """The frames of ``folder`` sorted by number, and the names of every other entry.

    Args:
        folder: the folder to list.
        pattern: frame-name pattern, matched against the whole file name; group 1 = frame number.
        duplicates: two files with one number: ``"error"`` raises; ``"first"`` keeps the first by
            name and lists the others as not frames.
        numbered: raise for an image file whose name does not match ``pattern`` (a folder given
            by a user, where an unnumbered image is a mistake rather than a stray file).
        not_frames: given the names of the folder's image files, those that are not frames although
            ``pattern`` may read them (a file manager's copies, which only the whole folder tells).

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
    images = [name for name, is_file in entries if is_file and is_image(name) and not desktop_file(name)]
    skip = set(not_frames(images)) if not_frames is not None else set()
    frames: dict[int, Path] = {}
    others: list[str] = []
    unnumbered: list[str] = []
    for name, is_file in entries:
        if name == PREPARED_MARKER:
            continue
        image = is_file and is_image(name) and not desktop_file(name)
        m = pattern.fullmatch(name) if image and name not in skip else None
        if m is None:
            others.append(name)
            if image and name not in skip:
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


# -- videos (decoded in media_video) ------------------------------------------------------------
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
                      labels: Mapping[int, str] | None = None,
                      progress: Callable[[int, int], None] | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """(index, image) of the given indices (from 0), in frame order, decoded in one streaming pass that keeps none
    of the others and stops at the last number asked for. Numbers beyond the end are skipped or, given ``where``
    (the video's name in a sentence), a DataError (``frame_not_there``, the frame named by ``labels``) at the end.
    ``progress(decoded, to_decode)`` is called after every frame decoded (the pass decodes every frame up to the
    last asked for: on a long recording, minutes without a frame yielded)."""
    wanted = set(numbers)
    if not wanted:
        return
    left, count, to_decode = set(wanted), 0, max(wanted) + 1
    stream = stream_video(path)
    try:
        for frame in stream:
            count = frame.index + 1
            if progress is not None:
                progress(count, to_decode)
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
                labels: Mapping[int, str] | None = None,
                progress: Callable[[int, int], None] | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """(number, RGB image) of the given frames of a video (``iter_video_frames``) or a folder of numbered frames,
    in frame order, in one pass. A number the source does not hold is a DataError (``frame_not_there``) naming
    the source as ``where`` ("recording 'a.mp4'") and the frame by ``labels`` ("Onset"); a folder's are checked
    before any frame is read. ``progress(read, to_read)`` after each frame read: a video decodes every frame up
    to the last asked for, a folder reads only those asked for."""
    path = Path(source)
    if is_video(path) and not path.is_dir():
        yield from iter_video_frames(path, numbers, where=where, labels=labels, progress=progress)
        return
    paths = dict(list_frames(path, numbered=True)[0])
    wanted = sorted(set(numbers))
    for n in wanted:
        if n not in paths:
            held = (min(paths), max(paths), len(paths)) if paths else None
            raise DataError(frame_not_there(f"{(labels or {}).get(n, 'Requested')} frame {n}", where, held))
    for k, n in enumerate(wanted, start=1):
        image = read_rgb(paths[n])
        if progress is not None:
            progress(k, len(wanted))
        yield n, image


def frame_not_there(frame: str, where: str, held: tuple[int, int, int] | None = None) -> str:
    """The one sentence for a frame that a clip or recording does not hold: ``frame`` names it ("Apex frame 16"),
    ``where`` the source ("clip 'a.mp4'"), ``held`` its (first, last, count) frames when known; the frame-number
    convention (``FRAME_NUMBERING``) follows, for a number counted the other way."""
    numbered = "" if held is None else f" (its frames are numbered {held[0]}..{held[1]}, {held[2]} frames)"
    return f"{frame} is not in {where}{numbered}. Frame numbers: {FRAME_NUMBERING}."
