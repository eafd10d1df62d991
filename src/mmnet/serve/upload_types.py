"""What an upload is and may be (its limits, its refusal), shared by the upload checks of videos (``uploads``)
and of zip archives of frames (``upload_zip``)."""

from __future__ import annotations

import errno
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import MMNetError
from ..images import pixels_refused

log = logging.getLogger("mmnet.serve")

CHUNK = 1 << 20


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


@dataclass(frozen=True)
class Upload:
    """A checked upload: ``kind`` is "video" (``path`` is the file) or "frames" (``path`` is a folder)."""

    kind: str
    path: Path
    frames: int | None = None  # number of images of a zip
    width: int = 0
    height: int = 0
    ignored: tuple[str, ...] = ()  # a zip's files that are not frames (readme.txt), as the archive names them


def is_no_room(exc: BaseException | None) -> bool:
    """Whether ``exc`` says that the disk is full (or the quota of the user running the server is used up)."""
    return isinstance(exc, OSError) and exc.errno in _NO_ROOM_ERRNOS


def no_room(folder: Path) -> UploadError:
    """The 507 answer to an upload that did not fit in ``folder``; says where, once, in the server's log."""
    log.error("no room to store an upload in %s (the temporary folder: TMPDIR=%s): free space there, or restart "
              "the server with TMPDIR set to a folder on a larger disk", folder, os.environ.get("TMPDIR", "unset"))
    return UploadError("The server has no room to store the upload; try again later, or tell whoever runs the "
                       "server that its disk for uploads is full.", 507, "no_room")


def image_size(path: Path) -> tuple[int, int] | None:
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


def check_pixels(width: int, height: int, what: str, limits: UploadLimits) -> None:
    if width * height > limits.max_pixels:
        raise UploadError(f"{what} is {width}x{height} pixels, more than this server accepts "
                          f"({limits.max_pixels / 1e6:.0f} megapixels). Send smaller frames (face crops).", 413,
                          "too_many_pixels")
