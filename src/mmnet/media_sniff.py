"""What a file is, from its first bytes: the container of a video mmnet reads, or what else it looks like.

The server reads the videos the command line reads (``mmnet.media.VIDEO_SUFFIXES``); an upload in none of their
containers is refused before the decoder sees it, whose refusal of a PDF or a text file ("moov atom not found",
an errno) tells a person nothing, and the command line's error for a video that cannot be opened says the same
(``media_video.open_pyav``). Written by hand: a few magic numbers, where ``filetype`` or ``python-magic``
would add a dependency (libmagic, for the second) to tell the same.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["HEAD_BYTES", "VIDEO_FORMATS", "read_head", "video_container", "looks_like", "not_a_video",
           "unfinished_mp4"]

HEAD_BYTES = 1 << 16  # an MXF file may put up to 64 KiB before its header
#: The video formats the server reads, as its refusals list them.
VIDEO_FORMATS = "MP4, MOV, AVI, MKV, WebM, MPEG, MPEG-TS, WMV, FLV, OGV or MXF"

# ISO base media (MP4, MOV, M4V, 3GP, F4V): the type of its first box, at offset 4; QuickTime may begin with any
_ISO_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"}
# ... but these brands are still pictures (HEIF/HEIC, AVIF), which a phone saves in the same box format
_PHOTO_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"}
_ASF = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")  # WMV
_MXF_HEADER = bytes.fromhex("060e2b34020501010d010201")  # the key of an MXF header partition pack
_MPEG_PS = (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")  # a pack header, an MPEG-1/2 sequence header

# What other files begin with: (first bytes, offset, what it looks like)
_OTHERS: tuple[tuple[bytes, int, str], ...] = (
    (b"%PDF", 0, "a PDF document"),
    (b"\x89PNG", 0, "a PNG image that cannot be read"), (b"\xff\xd8\xff", 0, "a JPEG image that cannot be read"),
    (b"GIF8", 0, "a GIF image that cannot be read"),
    (b"II*\x00", 0, "a TIFF image that cannot be read"), (b"MM\x00*", 0, "a TIFF image that cannot be read"),
    (b"8BPS", 0, "a Photoshop image"),
    (b"ID3", 0, "a sound file (MP3), without video"), (b"fLaC", 0, "a sound file (FLAC), without video"),
    (b"#!AMR", 0, "a sound file (AMR), without video"),
    (b"PK\x03\x04", 0, "a zip archive cut short or damaged (its index, at its end, cannot be read)"),
    (b"\x1f\x8b", 0, "a gzip archive"), (b"BZh", 0, "a bzip2 archive"), (b"\xfd7zXZ\x00", 0, "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", 0, "a 7-Zip archive"), (b"Rar!\x1a\x07", 0, "a RAR archive"),
    (b"ustar", 257, "a tar archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "a Microsoft Office document"),
    (b"\x7fELF", 0, "a program"),
)


def read_head(path: Path) -> bytes:
    """The first ``HEAD_BYTES`` bytes of ``path``."""
    with path.open("rb") as f:
        return f.read(HEAD_BYTES)


def video_container(head: bytes) -> str | None:
    """The container of a video the server reads (its name, e.g. "MP4/MOV") that ``head`` begins, or None."""
    if head[4:8] in _ISO_BOXES and not (head[4:8] == b"ftyp" and head[8:12] in _PHOTO_BRANDS):
        return "MP4/MOV"
    if head[:4] == b"RIFF" and head[8:12] in (b"AVI ", b"AVIX"):
        return "AVI"
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML
        return "MKV/WebM"
    if head[:4] in _MPEG_PS:
        return "MPEG"
    if _sync_every(head, 0, 188) or _sync_every(head, 4, 192):  # MPEG-TS; M2TS (.mts, .m2ts) adds a timestamp
        return "MPEG-TS"
    if head[:16] == _ASF:
        return "WMV"
    if head[:4] == b"FLV\x01":
        return "FLV"
    if head[:4] == b"OggS":
        return "Ogg"
    if _MXF_HEADER in head:
        return "MXF"
    return None


def _sync_every(head: bytes, first: int, packet: int) -> bool:
    """The transport stream's sync byte (0x47) begins its first three packets (two, in a shorter file)."""
    offsets = [first + i * packet for i in range(3) if first + i * packet < len(head)]
    return len(offsets) >= 2 and all(head[o] == 0x47 for o in offsets)


def looks_like(head: bytes) -> str | None:
    """What a file that is no video looks like from ``head`` ("a PDF document", "text", ...), or None."""
    if head[4:8] == b"ftyp" and head[8:12] in _PHOTO_BRANDS:
        return "an HEIC or AVIF photo"
    if head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"WEBP"):
        return "a sound file (WAV), without video" if head[8:12] == b"WAVE" else "a WebP image that cannot be read"
    for magic, offset, what in _OTHERS:
        if head[offset:offset + len(magic)] == magic:
            return what
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:  # an MPEG audio frame's sync
        return "a sound file (MP3), without video"
    return _text(head[:4096])


def _text(head: bytes) -> str | None:
    """"text" (or "a web page (HTML)", ...) when ``head`` reads as text, else None."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "text"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not a character cut at the end of the head
            return None
        text = head[:exc.start].decode("utf-8")
    if not text or any(not (c.isprintable() or c in "\t\r\n\f") for c in text):
        return None
    start = text.lstrip("\ufeff \t\r\n").lower()
    if start.startswith(("<!doctype html", "<html")):
        return "a web page (HTML)"
    if start.startswith(("<?xml", "<svg")):
        return "an XML or SVG file"
    return "text"


def not_a_video(path: Path) -> str | None:
    """What a file in no video container looks like ("text", "a PDF document", ...), else None (a video, perhaps
    damaged, or a file not known: the decoder's own words then)."""
    try:
        head = read_head(path)
    except OSError:
        return None
    return None if video_container(head) is not None else looks_like(head)


def unfinished_mp4(path: Path) -> bool:
    """An MP4 (or MOV) whose boxes start as a recorder writes them, its 'ftyp' then the frames ('mdat', perhaps
    after 'free' or 'wide'): one without its index ('moov', written last) is an unfinished recording or a cut
    copy, not a damaged file."""
    with open(path, "rb") as file:
        head = file.read(4096)
    if head[4:8] != b"ftyp":
        return False
    at = int.from_bytes(head[:4], "big")
    while at + 8 <= len(head) and head[at + 4:at + 8] in (b"free", b"wide", b"skip"):
        at += max(8, int.from_bytes(head[at:at + 4], "big"))
    return head[at + 4:at + 8] == b"mdat"
