"""spots.eaf: a spotted recording as an ELAN annotation document (EAF 3.0), for behavioural coders.

ELAN opens it beside the video it names: one tier per kind of span, ``mmnet-micro``, ``mmnet-macro`` and
``mmnet-no-face`` (the gaps, where nothing was spotted), each annotation spanning its frames to the end of the last
one. Times are ELAN's integer milliseconds, the same rule as intervals.csv's seconds (``intervals.seek_time``): an
annotation begins at its onset frame's start and ends at its offset frame's end (``onset_s`` and ``end_s``), each
rounded up to the millisecond, so that ELAN, sought to either, shows the frame the time belongs to. A video whose
declared rate --fps replaced (a high-speed camera's footage, exported at a playback rate) keeps its own timeline
here, frame / its declared rate, which ELAN plays (``declared_rate``). The recording's
notes are header properties (``mmnet-note-1``, ...), not annotations: they belong to no span of time. The header's
``mmnet-video-id`` and ``mmnet-first-frame`` let ``coder_elan.read_eaf`` read the document back as the frames of the
spotting.csv written beside it, whose numbers start at 1 for a video and at the first file's for a frame folder.

Written with the standard library's ``xml.etree``; the elements, their order and their attributes are those of
ELAN's schema (``http://www.mpi.nl/tools/elan/EAFv3.0.xsd``): HEADER, TIME_ORDER, the TIERs, then their
LINGUISTIC_TYPE.
"""

from __future__ import annotations

import mimetypes
import os
from datetime import datetime, timezone
from pathlib import Path
from xml.etree import ElementTree as ET

from .intervals import seek_time

__all__ = ["EAF_NAME", "TIERS", "MMNET_VIDEO_ID", "MMNET_FIRST_FRAME", "MMNET_MEDIA_FPS", "MMNET_CAPTURE_FPS",
           "MEDIA_TIMELINE", "media_url", "spots_eaf"]

EAF_NAME = "spots.eaf"
# header properties that let `mmnet score-spots` and `mmnet agree` read the document back as the frames of the
# spotting.csv and intervals.csv written beside it: their video id, and the number (spotting.csv's) of the frame
# shown at 0 s (1 for a video's first frame, as MEGC numbers it; a frame folder's first file number)
MMNET_VIDEO_ID = "mmnet-video-id"
MMNET_FIRST_FRAME = "mmnet-first-frame"
# a video whose declared rate --fps replaced (a high-speed camera's playback rate): the document's times are on the
# video's own timeline, frame / its declared rate (MMNET_MEDIA_FPS), as ELAN plays it; the capture rate the spotter
# used (spot.json's fps) is MMNET_CAPTURE_FPS, and the time base MEDIA_TIMELINE
MMNET_MEDIA_FPS = "mmnet-media-fps"
MMNET_CAPTURE_FPS = "mmnet-capture-fps"
MEDIA_TIMELINE = "frame_number_over_media_fps"
# a span's kind -> its tier: an interval's type, or a gap without a face (intervals.GAP_TYPE)
TIERS = {"micro": "mmnet-micro", "macro": "mmnet-macro", "no_face": "mmnet-no-face"}
LINGUISTIC_TYPE = "mmnet-spot"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_SCHEMA = "http://www.mpi.nl/tools/elan/EAFv3.0.xsd"
ET.register_namespace("xsi", _XSI)


def _ms(seconds: float) -> int:
    """A time as written (``seek_time``: a whole millisecond already) in ELAN's integer milliseconds."""
    return round(seconds * 1000)


def _value(record: dict) -> str:
    """An interval's annotation: its type and score, then its class and the class's score when classified."""
    text = record["type"] if record.get("score") is None else f"{record['type']} {record['score']:.3f}"
    if record.get("label"):
        p = (record.get("probabilities") or {}).get(record["label"])
        text += f" {record['label']}" + ("" if p is None else f" {p:.2f}")
    return text


def _spans(data: dict, media_fps: float | None = None) -> list[tuple[str, int, int, str]]:
    """(tier, begin ms, end ms, value) of each interval and gap of ``mmnet spot --json``'s ``data``: at their
    seconds, or with ``media_fps`` (a video whose rate --fps replaced) at frame / ``media_fps``, the video's own
    timeline (its frames counted from 0)."""
    def span(record: dict, first: str, last: str) -> tuple[int, int]:  # frames first..last, start to end
        if media_fps is None:
            return _ms(record[f"{first}_s"]), _ms(record["end_s"])
        return _ms(seek_time(record[first] / media_fps)), _ms(seek_time((record[last] + 1) / media_fps))

    spans = [(TIERS[r["type"]], *span(r, "onset", "offset"), _value(r)) for r in data.get("intervals", [])]
    spans += [(TIERS["no_face"], *span(g, "first", "last"), "no face") for g in data.get("gaps", [])]
    # above 1000 fps a frame can start and end in one millisecond: ELAN needs an annotation to last
    return [(tier, begin, max(end, begin + 1), value) for tier, begin, end, value in spans]


def _lanes(spans: list[tuple[str, int, int, str]]) -> list[tuple[str, int, int, str]]:
    """The spans with overlapping ones of a tier moved to a tier of their own (``mmnet-micro-2``, ...): ELAN's
    annotations of one tier cannot overlap, and a spotter of one's own may give overlapping intervals."""
    ends: dict[str, list[int]] = {}  # tier -> the end of the last span in each of its lanes
    placed = []
    for tier, begin, end, value in sorted(spans, key=lambda s: (s[0], s[1], s[2])):
        lanes = ends.setdefault(tier, [])
        lane = next((k for k, last in enumerate(lanes) if begin >= last), len(lanes))
        lanes[lane:lane + 1] = [end]
        placed.append((tier if lane == 0 else f"{tier}-{lane + 1}", begin, end, value))
    return placed


def media_url(absolute: str) -> str:
    """ELAN's MEDIA_URL of an absolute path in '/' form, as ELAN itself writes one: ``file:///`` and the path
    unescaped (``C:/v.mp4`` -> ``file:///C:/v.mp4``), a network share's ``//server/share/v.mp4`` ->
    ``file://server/share/v.mp4``. ELAN checks the video by the path after ``file:`` as it stands, without decoding
    percent-escapes: an escaped URL (``P01%20session.mp4``) would name a file that is not there."""
    path = absolute.lstrip("/")
    return ("file://" if len(absolute) - len(path) == 2 else "file:///") + path


def _media_descriptor(header: ET.Element, media: Path, folder: Path) -> None:
    """The video ELAN opens with the document: its absolute file URL and its path from ``folder`` (where the
    document is), which ELAN tries when the absolute one is gone (the folder moved with the video); both unescaped,
    as ELAN writes and reads them (``media_url``)."""
    url = media_url(media.resolve().as_posix())
    mime = mimetypes.guess_type(media.name)[0]
    attrib = {"MEDIA_URL": url, "MIME_TYPE": mime if mime and mime.startswith("video/") else "video/*"}
    try:
        relative = Path(os.path.relpath(media.resolve(), folder.resolve())).as_posix()
        attrib["RELATIVE_MEDIA_URL"] = relative if relative.startswith("../") else f"./{relative}"
    except ValueError:  # another drive (Windows): no relative path
        pass
    ET.SubElement(header, "MEDIA_DESCRIPTOR", attrib)


def spots_eaf(data: dict, *, media: Path | None, folder: Path, date: datetime | None = None,
              video_id: str | None = None, first_frame: int | None = None, media_fps: float | None = None) -> bytes:
    """The EAF document (UTF-8 bytes) of ``data``, ``SpotResult.to_dict()``'s record (``intervals`` with their
    ``onset_s`` and ``end_s``, ``gaps`` with their ``first_s`` and ``end_s``, ``notes``).

    ``media``: the video file the times belong to (None for a frame folder, which ELAN cannot play: the document
    then names no media, and its times are those of intervals.csv, frame numbers over the rate); ``folder``: where
    the document is written (its relative media path starts there); ``date``: the document's date (default now);
    ``video_id`` and ``first_frame``: the video id of the spotting.csv written beside it and its number of the frame
    shown at 0 s (header properties ``mmnet-video-id`` and ``mmnet-first-frame``, left out when None);
    ``media_fps``: the rate ``media`` itself declares, where --fps replaced it (``declared_rate``): the times are then
    frame / ``media_fps``, the video's own timeline that ELAN plays, not ``data``'s seconds (frame / the capture
    rate), and the header says both rates (``mmnet-media-fps``, ``mmnet-capture-fps``).
    """
    when = (date or datetime.now(timezone.utc)).replace(microsecond=0).isoformat()
    root = ET.Element("ANNOTATION_DOCUMENT", {"AUTHOR": "mmnet", "DATE": when, "FORMAT": "3.0", "VERSION": "3.0",
                                              f"{{{_XSI}}}noNamespaceSchemaLocation": _SCHEMA})
    header = ET.SubElement(root, "HEADER", {"MEDIA_FILE": "", "TIME_UNITS": "milliseconds"})
    if media is not None:
        _media_descriptor(header, media, folder)
    media_fps = None if media is None else media_fps  # a frame folder has no timeline but its rate
    spans = _lanes(_spans(data, media_fps))
    time_base = str(data.get("time_base", "")) if media_fps is None else MEDIA_TIMELINE
    properties = [("lastUsedAnnotationId", str(len(spans))), ("mmnet-source", str(data.get("source", ""))),
                  ("mmnet-time-base", time_base)]
    if media_fps is not None:
        properties += [(MMNET_MEDIA_FPS, f"{media_fps:.10g}"), (MMNET_CAPTURE_FPS, f"{float(data['fps']):.10g}")]
    properties += [(name, str(value)) for name, value in ((MMNET_VIDEO_ID, video_id), (MMNET_FIRST_FRAME, first_frame))
                   if value is not None]
    properties += [(f"mmnet-note-{k}", note) for k, note in enumerate(data.get("notes") or [], 1)]
    for name, text in properties:
        ET.SubElement(header, "PROPERTY", {"NAME": name}).text = text
    # two time slots per annotation, ordered by time (ELAN's own documents are)
    slots = sorted(((ms, 2 * k + side) for k, (_, begin, end, _) in enumerate(spans)
                    for side, ms in enumerate((begin, end))))
    slot_id = {index: f"ts{n}" for n, (_, index) in enumerate(slots, 1)}
    order = ET.SubElement(root, "TIME_ORDER")
    for ms, index in slots:
        ET.SubElement(order, "TIME_SLOT", {"TIME_SLOT_ID": slot_id[index], "TIME_VALUE": str(ms)})
    tiers = {name: ET.SubElement(root, "TIER", {"LINGUISTIC_TYPE_REF": LINGUISTIC_TYPE, "TIER_ID": name,
                                                "ANNOTATOR": "mmnet"})
             for name in [*TIERS.values(), *sorted({s[0] for s in spans} - set(TIERS.values()))]}
    for k, (tier, _, _, value) in enumerate(spans):
        annotation = ET.SubElement(ET.SubElement(tiers[tier], "ANNOTATION"), "ALIGNABLE_ANNOTATION",
                                   {"ANNOTATION_ID": f"a{k + 1}", "TIME_SLOT_REF1": slot_id[2 * k],
                                    "TIME_SLOT_REF2": slot_id[2 * k + 1]})
        ET.SubElement(annotation, "ANNOTATION_VALUE").text = value
    ET.SubElement(root, "LINGUISTIC_TYPE", {"GRAPHIC_REFERENCES": "false", "LINGUISTIC_TYPE_ID": LINGUISTIC_TYPE,
                                            "TIME_ALIGNABLE": "true"})
    ET.indent(root)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"
