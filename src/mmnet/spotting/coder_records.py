"""The record a coder's file reader (``coder_elan``, ``coder_boris``) yields, and how a media file names a video."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from urllib.parse import unquote, urlsplit

from .coder_times import MEGC_FIRST

__all__ = ["Annotation", "video_stem", "media_url_stem"]

# a media file's suffix, or an ELAN document's (.eaf, and .pfsx, its preferences file): ELAN's multi-file tab
# export names each annotation's .eaf in its File Name column
_MEDIA_SUFFIX = re.compile(r"\.(mp4|m4v|mov|avi|mkv|mts|m2ts|wmv|mpg|mpeg|webm|flv|3gp|zip|wav|mp3|eaf|pfsx)$",
                           re.IGNORECASE)


@dataclass(frozen=True)
class Annotation:
    where: str  # "'file' line 3", "'file' annotation a7": what an error or --show-frames names
    video: str
    tier: str | None
    value: str | None
    begin: Fraction
    end: Fraction
    # the number the frame shown at 0 s has in the files compared with (coder_times.MEGC_FIRST, a video's frame 0
    # as MEGC numbers it; spots.eaf says its own: a frame folder's first file number)
    first: int = MEGC_FIRST
    # an .eaf annotation without times (an unaligned slot of a subdivision tier): why, raised only when its tier is
    # scored, not when --tier-type leaves it out (begin and end are then 0)
    unaligned: str | None = None
    # BORIS 8's Image index start and stop: the video frames (from 0) its player showed at begin and end, a check on
    # the times (None where the file gives none)
    index: tuple[int | None, int | None] | None = None
    # the media file's duration in seconds where the file gives it (BORIS's Media duration (s)), else None
    duration: Fraction | None = None


def video_stem(name: str) -> str:
    """A media file's name or path (or URL) as a video id: its last part without a media suffix."""
    last = re.split(r"[/\\]", name.strip())[-1]
    return _MEDIA_SUFFIX.sub("", last) or last


# a URL's scheme ('file:', 'http:'): two letters or more, so a Windows drive ('C:\\v.mp4') is a path, not a URL
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:")


# what an escaped URL never holds: a space, a control character, or a '%' that begins no escape; a URL with one is
# written unescaped (ELAN's own form), its '%' the file name's own. A character beyond ASCII is no sign: Java's
# File.toURI() escapes spaces but writes 'é' as it is ('file:/data/Séance%201.mp4')
_UNESCAPED = re.compile(r"[\x00-\x20\x7f-\x9f]|%(?![0-9A-Fa-f]{2})")


def _decoded(url: str) -> str:
    return url if _UNESCAPED.search(url) else unquote(url)


def media_url_stem(url: str, relative: bool = False) -> str:
    """The video id of an ELAN media URL (MEDIA_URL, or RELATIVE_MEDIA_URL with ``relative``): its percent-escapes
    decoded ('P01%20session1.mp4' -> 'P01 session1'), as some tools write them, unless the URL is written
    unescaped, as ELAN writes it ('P01 50%41.mp4' keeps its '%41'). A MEDIA_URL without a scheme is a plain path,
    kept as written (its '%' may be the file's own)."""
    url = url.strip()
    if _SCHEME.match(url):  # a file: URL whole: an unescaped '#' or '?' there is the file name's own
        return video_stem(_decoded(url if url[:5].lower() == "file:" else urlsplit(url).path))
    return video_stem(_decoded(url) if relative else url)
