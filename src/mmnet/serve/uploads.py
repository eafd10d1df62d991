"""Uploads: copied into a per-job folder under a size limit, then recognised by decoding them.

Nothing the client sends is used as a path: the upload is written as ``upload.bin`` in a fresh
folder, and what it is comes from its content, never from its name. A zip archive is checked
before anything is extracted (entry count, total and per-entry expansion ratio, absolute paths,
``..``, links) and only its images are written, under their base names, into ``frames/`` (its other files are
left out, as the command line leaves them out of a frame folder, and named in the result's notes; with the marker that
``mmnet prepare`` leaves beside a clip's crops, ``mmnet.media.PREPARED_MARKER``, when it lies beside the frames:
the clip is then checked as ``mmnet predict`` checks a prepared folder); every
image is opened with Pillow and its pixel count checked. Anything else must begin as a video container the
server reads (``sniff``) and decode (``mmnet.media.stream_video``; its first frame is decoded here). Every
refusal is an ``UploadError`` with the HTTP status to answer and a sentence a person can act on.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import quote

from ..errors import MMNetError
from ..images import pixels_refused
from ..media import IMAGE_SUFFIXES, PREPARED_MARKER, animation_hint, desktop_file
from .messages import for_web
from .request_context import current_request_id, hidden_name, hide_in_line, of_request
from .sniff import VIDEO_FORMATS, looks_like, read_head, video_container

__all__ = ["UploadError", "UploadLimits", "Upload", "save_upload", "too_large", "open_upload", "display_name",
           "attachment", "remove_folder", "is_no_room", "no_room", "with_ignored_note"]

log = logging.getLogger("mmnet.serve")

CHUNK = 1 << 20
#: A larger marker is none that mmnet prepare wrote (its record is a few kB): not read.
_MAX_MARKER_BYTES = 1 << 20
# Characters a Windows file name cannot hold (besides the path separators and control characters).
_WINDOWS_FORBIDDEN = set('<>:"|?*')
# What browsers percent-encode in a multipart file name (the HTML form encoding): '"', CR and LF, nothing else.
_BROWSER_ESCAPES = re.compile("%(22|0D|0A)", re.IGNORECASE)
# A full disk, or the quota of the user running the server used up
_NO_ROOM_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


class UploadError(MMNetError, ValueError):
    """An upload the server refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 422, code: str | None = None, field: str | None = None):
        from .codes import by_status

        super().__init__(message)
        self.status = status
        self.code = code or by_status(status)  # the machine-readable code (serve.codes)
        self.field = field


@dataclass(frozen=True)
class UploadLimits:
    """What an upload may be. Sizes in bytes."""

    max_bytes: int = 200 * 2**20
    max_zip_entries: int = 5000
    max_unzipped_bytes: int = 2 * 2**30
    max_zip_ratio: float = 200.0  # uncompressed / compressed size of one entry (zip bombs)
    max_pixels: int = 4096 * 4096  # of one frame


_RAW_ENTRIES_PER_FILE = 3  # a zip's entries with folders and metadata (a Mac's ._name beside each file: 2 per file)


@dataclass(frozen=True)
class Upload:
    """A checked upload: ``kind`` is "video" (``path`` is the file) or "frames" (``path`` is a folder)."""

    kind: str
    path: Path
    frames: int | None = None  # number of images of a zip
    width: int = 0
    height: int = 0
    ignored: tuple[str, ...] = ()  # a zip's files that are not frames (readme.txt), as the archive names them


def with_ignored_note(result: dict, upload: Upload, kind: str) -> dict:
    """``result`` with a note on a zip's files that are not frames, left out as the command line leaves them out of
    a frame folder and named so that nothing is dropped unsaid: in a clip's ``warnings`` (and ``warning``, which
    joins them), a recording's ``notes``, as the page shows each."""
    if upload.ignored:
        shown = ", ".join(f"'{n}'" for n in upload.ignored[:5]) + (", ..." if len(upload.ignored) > 5 else "")
        note = (f"The zip archive's {len(upload.ignored)} file(s) that are not frames ({shown}) were left out; "
                f"the {kind}'s frames are its images ({', '.join(IMAGE_SUFFIXES)}).")
        key = "warnings" if kind == "clip" else "notes"
        result[key] = [*result.get(key, []), note]
        if kind == "clip" and "warning" in result:  # None without notes: now it has one
            result["warning"] = "; ".join(result["warnings"])
    return result


def display_name(filename: str | None, default: str = "upload") -> str:
    """The client's file name, for display only: its last component, printable, at most 80 characters."""
    filename = _BROWSER_ESCAPES.sub(lambda m: chr(int(m.group(1), 16)), filename or "")
    name = PurePosixPath(filename.replace("\\", "/")).name
    name = "".join(c for c in name if c.isprintable() and c not in "<>\"'`")[:80]
    return name or default


def attachment(filename: str) -> str:
    """A Content-Disposition header saving a download as ``filename``: RFC 5987's UTF-8 form for browsers that
    read it, and an ASCII copy (each other character as "_") for those that do not."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def save_upload(source: BinaryIO, folder: Path, limits: UploadLimits, kind: str = "clip") -> Path:
    """Copy ``source`` to ``folder/upload.bin`` in chunks; UploadError (413) past ``limits.max_bytes``, (507)
    when the disk holding ``folder`` is full."""
    dest = folder / "upload.bin"
    size = 0
    try:
        with dest.open("wb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > limits.max_bytes:
                    raise UploadError(too_large(limits.max_bytes / 2**20, kind), 413)
                out.write(chunk)
    except OSError as exc:
        if is_no_room(exc):
            raise no_room(folder.parent) from None
        raise
    if size == 0:
        raise UploadError("The uploaded file is empty. Choose a video or a zip of frames.", 400)
    return dest


def is_no_room(exc: BaseException | None) -> bool:
    """Whether ``exc`` says that the disk is full (or the quota of the user running the server is used up)."""
    return isinstance(exc, OSError) and exc.errno in _NO_ROOM_ERRNOS


def no_room(folder: Path) -> UploadError:
    """The 507 answer to an upload that did not fit in ``folder``; says where, once, in the server's log."""
    log.error("no room to store an upload in %s (the temporary folder: TMPDIR=%s): free space there, or restart "
              "the server with TMPDIR set to a folder on a larger disk", folder, os.environ.get("TMPDIR", "unset"))
    return UploadError("The server has no room to store the upload; try again later, or tell whoever runs the "
                       "server that its disk for uploads is full.", 507, "no_room")


def too_large(limit_mb: float, kind: str) -> str:
    """The 413 message for an upload over ``limit_mb`` sent as a ``kind`` ("clip" or "recording")."""
    return (f"The upload is larger than this server's limit of {round(limit_mb, 3):g} MB. Send a shorter {kind}, "
            "or the same at a lower resolution or bitrate (the face is analysed as a small crop: 1280x720 is "
            "plenty), or ask whoever runs the server to raise --max-upload-mb.")


def open_upload(path: Path, limits: UploadLimits, name: str = "upload", kind: str = "clip") -> Upload:
    """Recognise an upload saved by ``save_upload`` by its first bytes and by decoding it; UploadError when it
    is neither a video nor a zip of frames.
    ``name`` is the upload's display name, for the conversion the refusal of an animation suggests and in the
    decoder's reason for refusing a video (in place of the server's path);
    ``kind`` ("clip" or "recording") what the client meant to send, as the refusals call it."""
    if zipfile.is_zipfile(path):
        return _open_zip(path, path.parent / "frames", limits, kind)
    frames, image_format = _image_frames(path)
    if frames > 1:  # the command line's advice for a .gif, found here by content (the name is the client's)
        what = "An animated GIF" if image_format == "GIF" else "An animated image"
        raise UploadError(f"This is an animation of {frames} frames, not a video.{animation_hint(name, what)} Then "
                          f"upload the video, or a zip of the {kind}'s frames.", 415)
    if frames == 1:
        needs = "at least the onset and the apex, " if kind == "clip" else ""
        raise UploadError(f"This is a single image, not a {kind}. Upload a video, or a zip of the {kind}'s frames "
                          f"({needs}numbered in their names, e.g. img1.png, img2.png).", 415)
    head = read_head(path)
    container = video_container(head)
    if container is None:  # not for the decoder, whose refusal ("moov atom not found") says nothing to a person
        what = looks_like(head)
        seems = f"it looks like {what}" if what else "it is in no video format this server reads"
        raise UploadError(f"The {kind} '{name}' is neither a video nor a zip of its frames: {seems}. Upload a video "
                          f"({VIDEO_FORMATS}) or a zip of the {kind}'s frames (img1.png, img2.png, ...).", 415)
    return _open_video(path, limits, name, kind, container)


def _image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) when Pillow recognises the file as an image, else None."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return im.size
    except Image.DecompressionBombError as exc:  # a huge image: refused like other oversized frames
        raise UploadError(f"An image of the upload {pixels_refused(exc)}. Send smaller frames (face crops).",
                          413, "too_many_pixels") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None


def _image_frames(path: Path) -> tuple[int, str | None]:
    """(number of frames, Pillow's format) when Pillow recognises the file as an image (an animation has
    more than one frame), else (0, None)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return getattr(im, "n_frames", 1), im.format
    except Image.DecompressionBombError as exc:  # a huge image: refused like other oversized frames
        raise UploadError(f"An image of the upload {pixels_refused(exc)}. Send smaller frames (face crops).",
                          413, "too_many_pixels") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return 0, None


def _check_pixels(width: int, height: int, what: str, limits: UploadLimits) -> None:
    if width * height > limits.max_pixels:
        raise UploadError(f"{what} is {width}x{height} pixels, more than this server accepts "
                          f"({limits.max_pixels / 1e6:.0f} megapixels). Send smaller frames (face crops).", 413,
                          "too_many_pixels")


def _open_video(path: Path, limits: UploadLimits, name: str, kind: str, container: str) -> Upload:
    from ..media import stream_video

    video = path.with_name("video" + _video_suffix(path))
    path.rename(video)
    frames = stream_video(video)
    try:
        first = next(frames)
    except MMNetError as exc:  # the decoder's reason (no video stream, a file cut short, ...) in the page's words
        reason = for_web(str(exc), path.parent, name, "video")
        # a reason of its own (no video stream, an index missing) says it all; the decoder's bare refusal (an
        # errno, libav's last line) only in the server's log
        if any(words in str(exc) for words in (" cannot be decoded ", "holds no decodable video frame")):
            log.info("%sthe decoder refused an upload (%s): %s", of_request(current_request_id()),
                     hidden_name(name), hide_in_line(reason, {name}))
            reason = (f"The {kind} '{name}' begins as a video ({container}) but cannot be decoded: it seems damaged "
                      "or cut short (an interrupted recording, copy or download). Copy it again in full or "
                      f"re-encode it, or upload a zip of the {kind}'s frames.")
        raise UploadError(reason, 415) from None
    finally:
        frames.close()
    height, width = first.image.shape[:2]
    _check_pixels(width, height, "The video", limits)
    return Upload("video", video, None, width, height)


def _video_suffix(path: Path) -> str:
    """A suffix that ``mmnet.media`` reads as a video, from the container PyAV recognises (not the name)."""
    try:
        import av

        with av.open(str(path)) as container:
            names = set(container.format.name.split(","))
    except Exception:  # noqa: BLE001 - not a container PyAV knows: decoding it below gives the clear error
        return ".mp4"
    for name, suffix in (("avi", ".avi"), ("matroska", ".mkv"), ("webm", ".webm"), ("mpeg", ".mpg"),
                         ("asf", ".wmv")):
        if name in names:
            return suffix
    return ".mp4"


def _entry_problem(info: zipfile.ZipInfo) -> str | None:
    """Why an archive entry may not be extracted, or None."""
    name = info.filename
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or (len(name) > 1 and name[1] == ":") or ".." in pure.parts:
        return f"its path '{name}' points outside the archive"
    if stat.S_ISLNK(info.external_attr >> 16):
        return f"'{name}' is a link"
    return None


def _open_zip(path: Path, out: Path, limits: UploadLimits, kind: str) -> Upload:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UploadError(f"The zip archive cannot be read ({exc}). Create it again and upload it.", 400) from None
    with archive:
        entries = archive.infolist()
        # the limit counts files: folders and the metadata a Mac's "Compress" adds beside every file (__MACOSX/,
        # ._name) would halve it; a raw count far beyond it is still refused before anything is read
        files = sum(not (i.is_dir() or _metadata(PurePosixPath(i.filename.replace("\\", "/")))) for i in entries)
        if files > limits.max_zip_entries or len(entries) > _RAW_ENTRIES_PER_FILE * limits.max_zip_entries:
            raise UploadError(f"The zip archive holds {files} files ({len(entries)} entries with folders and "
                              f"metadata); this server accepts at most {limits.max_zip_entries} files. Send a shorter "
                              f"{kind}.", 413, "too_many_entries")
        # files that are not frames (a readme.txt, notes.docx) are left out, as the command line leaves them out of
        # a frame folder, and named in the result's notes; they were counted against the size limits above
        images, others, markers = _zip_images(entries, limits, kind)
        if not images:
            shown = ", ".join(f"'{n}'" for n in others[:3]) + (", ..." if len(others) > 3 else "")
            only = f" ({len(others)} other file(s): {shown})" if others else ""
            raise UploadError(f"The zip archive holds no image{only}. Put the {kind}'s frames in it "
                              f"({', '.join(IMAGE_SUFFIXES)}; e.g. img1.png, img2.png, numbered in order).", 415)
        folders = {PurePosixPath(i.filename.replace("\\", "/")).parent for i in images}
        if len(folders) > 1:
            raise UploadError(f"The zip archive holds frames in {len(folders)} folders; put one {kind}'s frames "
                              "in one folder (or at the top of the archive).", 415)
        out.mkdir()
        remaining = limits.max_unzipped_bytes
        for info in images:
            remaining = _extract(archive, info, out / PurePosixPath(info.filename.replace("\\", "/")).name,
                                 remaining)
        # a prepared folder's marker, beside its frames: its record says where prepare found the face moved
        marker = [m for m in markers if PurePosixPath(m.filename.replace("\\", "/")).parent in folders]
        if marker and marker[0].file_size <= _MAX_MARKER_BYTES:
            remaining = _extract(archive, marker[0], out / PREPARED_MARKER, remaining)
    size = None
    for frame in sorted(p for p in out.iterdir() if p.name != PREPARED_MARKER):
        dims = _image_size(frame)
        if dims is None:
            raise UploadError(f"Frame '{frame.name}' in the zip archive is not an image that can be decoded. "
                              "Replace it and upload the archive again.", 422, "undecodable")
        _check_pixels(*dims, f"Frame '{frame.name}'", limits)
        size = size or dims
    return Upload("frames", out, len(images), *size, ignored=tuple(others))


def _metadata(pure: PurePosixPath) -> bool:
    """What the command line never reads as a frame (desktop files, a Mac's __MACOSX/); prepare's marker is data."""
    return (desktop_file(pure.name) and pure.name != PREPARED_MARKER) or "__MACOSX" in pure.parts


def _zip_images(entries: list[zipfile.ZipInfo], limits: UploadLimits,
                kind: str) -> tuple[list[zipfile.ZipInfo], list[str], list[zipfile.ZipInfo]]:
    """The image entries of an archive, the names of the other files and the entries of prepare's markers;
    UploadError for unsafe entries."""
    images, others, markers, total = [], [], [], 0
    for info in entries:
        problem = _entry_problem(info)
        if problem:
            raise UploadError(f"The zip archive is refused: {problem}.", 400)
        if info.is_dir():
            continue
        pure = PurePosixPath(info.filename.replace("\\", "/"))
        # what the command line never reads as a frame; prepare's own marker is read below
        if _metadata(pure):
            continue
        total += info.file_size
        if total > limits.max_unzipped_bytes:
            raise UploadError(f"The zip archive expands to more than {limits.max_unzipped_bytes / 2**20:.0f} MB; "
                              f"this server accepts less. Send a shorter {kind} or smaller frames.", 413)
        if info.file_size > limits.max_zip_ratio * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            raise UploadError(f"The zip entry '{info.filename}' expands {ratio:.0f} times; this server refuses "
                              f"more than {limits.max_zip_ratio:.0f} (zip bombs).", 413)
        if pure.name == PREPARED_MARKER:
            markers.append(info)
            continue
        (images if pure.suffix.lower() in IMAGE_SUFFIXES else others).append(info)
    seen: dict[str, zipfile.ZipInfo] = {}
    for info in images:
        name = PurePosixPath(info.filename.replace("\\", "/")).name
        unsafe = [c for c in dict.fromkeys(name) if c in _WINDOWS_FORBIDDEN or ord(c) < 32]
        if unsafe:  # ':' would write an NTFS alternate data stream; Windows refuses the others
            raise UploadError(f"The zip entry '{info.filename}' has {', '.join(map(repr, unsafe))} in its name, "
                              "which a Windows file name cannot hold. Rename the frame (e.g. img1.png) and upload "
                              "the archive again.", 400)
        other = seen.setdefault(name.casefold(), info)  # macOS and Windows would write both to one file
        if other is not info:
            raise UploadError(f"The zip archive holds two frames with the same name ('{other.filename}' and "
                              f"'{info.filename}'; upper and lower case count as the same): one {kind}'s frames "
                              "need distinct names. Rename one and upload the archive again.", 415)
    return images, [i.filename for i in others], markers


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, remaining: int) -> int:
    """Copy one entry, counting the bytes actually written (the header's sizes can lie)."""
    limit = min(info.file_size, remaining)
    written = 0
    try:
        with archive.open(info) as src, dest.open("wb") as out:
            while chunk := src.read(CHUNK):
                written += len(chunk)
                if written > limit:
                    raise UploadError(f"The zip entry '{info.filename}' holds more data than its header says; "
                                      "the archive is refused.", 400)
                out.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:  # CRC, encrypted
        if is_no_room(exc):
            raise no_room(dest.parent.parent.parent) from None
        raise UploadError(f"The zip entry '{info.filename}' cannot be extracted ({exc}). Create the archive "
                          "again.", 400) from None
    return remaining - written


def remove_folder(folder: Path) -> None:
    """Remove an upload folder and everything in it (no error when it is gone already)."""
    shutil.rmtree(folder, ignore_errors=True)
