"""A zip archive of a clip's or recording's frames: checked entry by entry (paths, links, sizes, zip bombs), its
frames extracted, the files that are not frames named, a prepared folder's marker kept."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path, PurePosixPath

from ..media import IMAGE_SUFFIXES, PREPARED_MARKER, desktop_file
from .upload_types import CHUNK, Upload, UploadError, UploadLimits, check_pixels, image_size, is_no_room, no_room

# Characters a Windows file name cannot hold (besides the path separators and control characters).
_WINDOWS_FORBIDDEN = set('<>:"|?*')
_RAW_ENTRIES_PER_FILE = 3  # a zip's entries with folders and metadata (a Mac's ._name beside each file: 2 per file)
#: A larger marker is none that mmnet prepare wrote (its record is a few kB): not read.
_MAX_MARKER_BYTES = 1 << 20


def _entry_problem(info: zipfile.ZipInfo) -> str | None:
    """Why an archive entry may not be extracted, or None."""
    name = info.filename
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or (len(name) > 1 and name[1] == ":") or ".." in pure.parts:
        return f"its path '{name}' points outside the archive"
    if stat.S_ISLNK(info.external_attr >> 16):
        return f"'{name}' is a link"
    return None


def open_zip(path: Path, out: Path, limits: UploadLimits, kind: str) -> Upload:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UploadError(f"The zip archive cannot be read ({exc}). Create it again and upload it.", 400) from None
    with archive:
        entries = archive.infolist()
        # the limit counts files: folders and the metadata a Mac's "Compress" adds beside every file (__MACOSX/,
        # ._name) would halve it; a raw count far beyond it is still refused before anything is read
        files = sum(not (i.is_dir() or _metadata(PurePosixPath(i.filename.replace("\\", "/")))) for i in entries)
        if files > limits.max_zip_entries:
            raise UploadError(f"The zip archive holds {files} files; this server accepts at most "
                              f"{limits.max_zip_entries} (folders and a Mac's metadata not counted). Send a shorter "
                              f"{kind}.", 413, "too_many_entries")
        if len(entries) > _RAW_ENTRIES_PER_FILE * limits.max_zip_entries:
            raise UploadError(f"The zip archive holds {len(entries)} entries, folders and metadata included; this "
                              f"server accepts at most {_RAW_ENTRIES_PER_FILE * limits.max_zip_entries}. Zip the "
                              f"{kind}'s frames alone and upload them again.", 413, "too_many_entries")
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
        dims = image_size(frame)
        if dims is None:
            raise UploadError(f"Frame '{frame.name}' in the zip archive is not an image that can be decoded. "
                              "Replace it and upload the archive again.", 422, "undecodable")
        check_pixels(*dims, f"Frame '{frame.name}'", limits)
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
