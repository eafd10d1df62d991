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

import logging
import re
import shutil
import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import quote

from ..errors import MMNetError
from ..images import pixels_refused
from ..media import IMAGE_SUFFIXES, animation_hint
from .messages import for_web
from .request_context import current_request_id, hidden_name, hide_in_line, of_request
from .sniff import VIDEO_FORMATS, looks_like, read_head, video_container
from .upload_types import CHUNK, Upload, UploadError, UploadLimits, check_pixels, is_no_room, no_room
from .upload_zip import open_zip

__all__ = ["UploadError", "UploadLimits", "Upload", "save_upload", "too_large", "open_upload", "display_name",
           "attachment", "remove_folder", "remove_off_loop", "is_no_room", "no_room", "with_ignored_note"]

log = logging.getLogger("mmnet.serve")

# What browsers percent-encode in a multipart file name (the HTML form encoding): '"', CR and LF, nothing else.
_BROWSER_ESCAPES = re.compile("%(22|0D|0A)", re.IGNORECASE)


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


MAX_NAME = 80  # characters of a file name shown (headings, download names)


def display_name(filename: str | None, default: str = "upload") -> str:
    """The client's file name, for display only: its last component, printable, at most ``MAX_NAME`` characters."""
    filename = _BROWSER_ESCAPES.sub(lambda m: chr(int(m.group(1), 16)), filename or "")
    name = PurePosixPath(filename.replace("\\", "/")).name
    name = "".join(c for c in name if c.isprintable() and c not in "<>\"'`")
    return shortened(name) or default


def shortened(name: str, limit: int = MAX_NAME) -> str:
    """``name`` cut to ``limit`` characters in its middle, marked by "…" (not cut off unsaid): its start, and the end
    of its stem with its extension, where recordings' names usually differ ("…_take1.mp4", "…_take2.mp4")."""
    if len(name) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 10:  # no extension (or not one): the whole name is the stem
        stem, ext = name, ""
    else:
        ext = f".{ext}"
    keep = limit - 1 - len(ext)
    head = keep * 2 // 3
    return f"{stem[:head]}…{stem[len(stem) - (keep - head):]}{ext}"


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
        return open_zip(path, path.parent / "frames", limits, kind)
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
        if head.startswith(b"PK\x03\x04"):  # a zip, of a type taken, but unreadable: 400 as other damaged zips
            raise UploadError(f"The zip archive '{name}' cannot be read: it seems cut short or damaged (its index, at "
                              "its end, is missing). Create it again, or copy it whole, and upload it.", 400)
        what = looks_like(head)
        seems = f"it looks like {what}" if what else "it is in no video format this server reads"
        raise UploadError(f"The {kind} '{name}' is neither a video nor a zip of its frames: {seems}. Upload a video "
                          f"({VIDEO_FORMATS}) or a zip of the {kind}'s frames (img1.png, img2.png, ...).", 415)
    return _open_video(path, limits, name, kind, container)


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
    check_pixels(width, height, "The video", limits)
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


def remove_folder(folder: Path) -> None:
    """Remove an upload folder and everything in it (no error when it is gone already)."""
    shutil.rmtree(folder, ignore_errors=True)


async def remove_off_loop(folder: Path) -> None:
    """``remove_folder`` in a worker thread, for a request handler: a folder of many frames takes a while, and on
    the event loop every other request and event stream would wait for it. Shielded: a cancelled request (the
    client left, the server stops) still waits for its folder to go."""
    import anyio
    from starlette.concurrency import run_in_threadpool

    with anyio.CancelScope(shield=True):
        await run_in_threadpool(remove_folder, folder)
