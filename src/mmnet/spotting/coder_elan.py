"""ELAN's files as ``coder_records.Annotation`` records: the tab-delimited text export (with or without its header
line; with one, also saved again by a spreadsheet with ',' or ';') and the .eaf document.

The text export writes per annotation: the tier (and participant, annotator, file name as chosen), then begin, end
and duration, each in the chosen formats in the order hh:mm:ss.ms, ss.msec, msec, then the annotation's value. With
column headers, 'Begin Time - ss.msec' etc. name them; without, the formats of the time cells tell them apart.
An .eaf holds its times as TIME_SLOTs in milliseconds (plus its media's TIME_ORIGIN, when set).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

from ..errors import AnnotationError
from .coder_records import Annotation, media_url_stem, video_stem
from .coder_times import MEGC_FIRST, parse_seconds
from .elan import MMNET_FIRST_FRAME, MMNET_VIDEO_ID

__all__ = ["is_elan_text", "read_elan_text", "read_eaf"]

_UNITS = {"hh:mm:ss.ms": "clock", "ss.msec": "s", "msec": "ms"}
_ROLES = ("begin time", "end time", "duration")
_IGNORED = {"participant", "annotator", "cv entry description", "cve description"}
_FILE = {"file name", "file path", "filename", "file"}
_SMPTE = re.compile(r"\d+:\d{2}:\d{2}[:;]\d+")


def _lines(text: str) -> list[tuple[int, list[str]]]:
    return [(n, line.split("\t")) for n, line in enumerate(text.lstrip("\ufeff").splitlines(), 1) if line.strip()]


def _headed(text: str) -> list[tuple[int, list[str]]] | None:
    """The lines from the header on, of an export with a Begin Time header among its first 3 lines (a title line may
    stand above it), split by tab or, as a spreadsheet saves it again, ',' or ';'; None without one."""
    text = text.lstrip("\ufeff")
    head = "\n".join(text.splitlines()[:6])  # the header is near the top: the whole file is split by its separator
    for sep in ("\t", ",", ";"):
        try:
            rows = _rows(head, sep)[:3]
        except csv.Error:
            continue
        if any(len(cells) >= 3 and _header(cells) and any(c.strip().lower().startswith("begin time") for c in cells)
               for _, cells in rows):
            rows = _rows(text, sep)
            return rows[next(i for i, (_, cells) in enumerate(rows) if _header(cells)):]
    return None


def _rows(text: str, sep: str) -> list[tuple[int, list[str]]]:
    # ELAN's tab export never quotes: a value that begins with '"' is text, not a quote swallowing the lines after it;
    # a file a spreadsheet saved again with ',' or ';' quotes its cells
    quoting = csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, quoting=quoting)
    return [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]


def _format(cell: str) -> str | None:
    """The time format of a header-less cell: 'clock', 's' (ss.msec), 'ms' (msec), None for text."""
    cell = cell.strip()
    if re.fullmatch(r"\d+:\d{2}:\d{2}(\.\d+)?", cell):
        return "clock"
    if re.fullmatch(r"\d+\.\d+", cell):
        return "s"
    return "ms" if re.fullmatch(r"\d+", cell) else None


def _header(cells: list[str]) -> bool:
    names = [c.strip().lower() for c in cells]
    return "tier" in names or any(n.startswith(_ROLES) for n in names)


def _grouping(cells: list[str]) -> tuple[int, int, int] | None:
    """For a header-less line: (first time cell, formats per group K, groups 2 or 3), None if not ELAN's layout."""
    body = cells[:-1]  # the last cell is the annotation's value
    first = next((i for i, c in enumerate(body) if _format(c)), None)
    if first is None:
        return None
    block = []
    for c in body[first:]:
        if not _format(c):
            break
        block.append(_format(c))
    for k in (1, 2, 3):
        if len(block) % k or len(block) // k not in (2, 3) or len(set(block[:k])) < k:
            continue
        if all(block[j] == block[j % k] for j in range(len(block))):
            return first, k, len(block) // k
    return None


def is_elan_text(text: str) -> bool:
    """Whether ``text`` is ELAN's tab-delimited export: a header with Begin Time columns, or every line
    tab-separated in its layout of time cells."""
    if _headed(text) is not None:
        return True
    lines = _lines(text)[:50]
    return bool(lines) and all(len(cells) >= 3 and _grouping(cells) is not None for _, cells in lines)


def _time(cell: str, unit: str, where: str, column: str) -> Fraction:
    if _SMPTE.fullmatch(cell.strip()):
        raise AnnotationError(f"{where}: {column} {cell!r} is an SMPTE time code (hh:mm:ss:ff): export the times as "
                              "hh:mm:ss.ms, ss.msec or msec.")
    value = parse_seconds(cell, "ms" if unit == "ms" else "s")
    if value is None or (unit == "clock") != (":" in cell):
        raise AnnotationError(f"{where}: {column} {cell!r} is not a time in {unit_name(unit)}.")
    return value


def unit_name(unit: str) -> str:
    return {"clock": "hh:mm:ss.ms", "s": "seconds (ss.msec)", "ms": "milliseconds (msec)"}[unit]


def _video(path: Path, video_id: str | None, file_cell: str | None) -> tuple[str, str]:
    if video_id:
        return video_id, "--video-id"
    if file_cell:
        return video_stem(file_cell), "its file name column"
    return path.stem, f"the file's name ({path.name}; give --video-id ID to name it)"


def read_elan_text(path: Path, text: str, video_id: str | None) -> tuple[Iterator[Annotation], str, str | None]:
    """The annotations of an ELAN tab-delimited text export, where their video id comes from, and the video named
    by --video-id (held even where no annotation is)."""
    headed = _headed(text)
    if headed is not None:
        return (*_with_header(path, headed, video_id), video_id or None)
    return _headerless(path, _lines(text), video_id), _video(path, video_id, None)[1], video_id or None


def _with_header(path: Path, lines, video_id) -> tuple[Iterator[Annotation], str]:
    header = [c.strip() for c in lines[0][1]]
    roles: dict[str, list[tuple[int, str]]] = {role: [] for role in _ROLES}
    tier = file_ = None
    values = []
    for i, name in enumerate(header):
        low = name.lower()
        role = next((r for r in _ROLES if low.startswith(r)), None)
        if role is not None:
            fmt = low[len(role):].strip(" -")
            if fmt not in _UNITS:
                raise AnnotationError(f"'{path}' line {lines[0][0]}: column {name!r} is in a time format mmnet does "
                                      "not read: export the times as hh:mm:ss.ms, ss.msec or msec.")
            roles[role].append((i, _UNITS[fmt]))
        elif low == "tier":
            tier = i
        elif low in _FILE:
            file_ = i
        elif low not in _IGNORED and name:
            values.append(i)
    if not roles["begin time"] or not (roles["end time"] or roles["duration"]):
        raise AnnotationError(f"'{path}': its header {header} has no Begin Time and End Time (or Duration) columns: "
                              "export them from ELAN (File > Export As > Tab-delimited Text).")
    files = list(dict.fromkeys(video_stem(cells[file_]) for _, cells in lines[1:]
                               if file_ is not None and file_ < len(cells) and cells[file_].strip()))
    if video_id and len(files) > 1:  # --video-id would pool the annotations of several recordings as one
        raise AnnotationError(f"'{path}': its File Name column names {len(files)} videos ({', '.join(files[:5])}"
                              f"{', ...' if len(files) > 5 else ''}): --video-id would pool them as one; leave it "
                              "out (each annotation keeps its file's video), or export one file at a time.")
    first_file = files[0] if files else None

    def annotations() -> Iterator[Annotation]:
        for n, cells in lines[1:]:
            cells = cells + [""] * (len(header) - len(cells))
            where = f"'{path}' line {n}"
            begin = _first(cells, roles["begin time"], where, "begin time")
            end = _first(cells, roles["end time"], where, "end time")
            if end is None:
                duration = _first(cells, roles["duration"], where, "duration")
                end = None if begin is None or duration is None else begin + duration
            if begin is None or end is None:
                raise AnnotationError(f"{where}: no begin or end time.")
            video = _video(path, video_id, cells[file_] if file_ is not None else None)[0]
            if tier is not None:  # one annotation per line: its value is the other column
                value = next((cells[i].strip() for i in values if cells[i].strip()), None)
                yield Annotation(where, video, cells[tier].strip() or None, value, begin, end)
                continue
            for i in values:  # a column per tier: each filled cell is an annotation of its tier
                if cells[i].strip():
                    yield Annotation(where, video, header[i], cells[i].strip(), begin, end)

    return annotations(), _video(path, video_id, first_file)[1]


def _first(cells: list[str], columns: list[tuple[int, str]], where: str, role: str) -> Fraction | None:
    for i, unit in columns:
        if cells[i].strip():
            return _time(cells[i], unit, where, role)
    return None


def _headerless(path: Path, lines, video_id) -> Iterator[Annotation]:
    video = _video(path, video_id, None)[0]
    for n, cells in lines:
        where = f"'{path}' line {n}"
        found = _grouping(cells)
        if found is None:
            raise AnnotationError(f"{where}: not ELAN's tab-delimited layout (tier, begin, end[, duration] times, "
                                  "value): export it with column headers (File > Export As > Tab-delimited Text, "
                                  "'Include column headers'), which name each column.")
        first, k, groups = found
        begin = _time(cells[first], _format(cells[first]), where, "begin time")
        second = _time(cells[first + k], _format(cells[first + k]), where, "end time")
        if groups == 3:
            duration = _time(cells[first + 2 * k], _format(cells[first + 2 * k]), where, "duration")
            if abs(second - begin - duration) > Fraction(1, 500):
                raise AnnotationError(f"{where}: the times are not begin, end and duration (end - begin is not the "
                                      "duration): export it with column headers, which name each column.")
        elif second < begin:
            raise AnnotationError(f"{where}: the second time is before the first: if it is a duration, export begin "
                                  "and end times, or column headers, which name each column.")
        tier = next((c.strip() for c in cells[:first] if c.strip()), None)  # then participant etc., if exported
        yield Annotation(where, video, tier, cells[-1].strip() or None, begin, second)


def read_eaf(path: Path, text: str, video_id: str | None) -> tuple[Iterator[Annotation], str, str | None]:
    """The annotations of an ELAN .eaf document (alignable annotations at their time slots, reference annotations at
    those of the annotation they refer to), where their video id comes from, and the video the document names
    (--video-id, mmnet's property or its media file; None from the file's name alone): held even where no
    annotation is, as a coder who marked nothing in it."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise AnnotationError(f"'{path}' is not a readable .eaf (XML) file: {exc}.") from None
    if root.tag != "ANNOTATION_DOCUMENT":
        raise AnnotationError(f"'{path}' is XML but not an ELAN .eaf document (its root is <{root.tag}>).")
    media = root.find("HEADER/MEDIA_DESCRIPTOR")
    absolute = media.get("MEDIA_URL", "").strip() if media is not None else ""
    relative = media.get("RELATIVE_MEDIA_URL", "").strip() if media is not None else ""
    origin = Fraction(int(media.get("TIME_ORIGIN") or 0), 1000) if media is not None else Fraction(0)
    # mmnet's own spots.eaf says the id and the first frame number of the spotting.csv it was written beside
    properties = {p.get("NAME"): (p.text or "").strip() for p in root.findall("HEADER/PROPERTY")}
    first_text = properties.get(MMNET_FIRST_FRAME, "")
    first = int(first_text) if first_text.lstrip("-").isdigit() else MEGC_FIRST
    if video_id:
        video, video_from = video_id, "--video-id"
    elif properties.get(MMNET_VIDEO_ID):
        video, video_from = properties[MMNET_VIDEO_ID], (f"its {MMNET_VIDEO_ID} property (mmnet's spots.eaf; give "
                                                         "--video-id ID to name it otherwise)")
    elif absolute or relative:
        video = media_url_stem(absolute) if absolute else media_url_stem(relative, relative=True)
        video_from = "its media file (MEDIA_URL; give --video-id ID to name it otherwise)"
    else:
        video, video_from = path.stem, f"the file's name ({path.name}; give --video-id ID to name it)"
    declared = None if video_from.startswith("the file's name") else video  # a file's own name says no video
    slots = {s.get("TIME_SLOT_ID"): s.get("TIME_VALUE") for s in root.iter("TIME_SLOT")}
    # an annotation's times, or why it has none: a subdivision tier's inner slots are unaligned in ELAN, and such a
    # tier may be one --tier-type leaves out, so the error waits until its type is known (coder_files)
    spans: dict[str, tuple[Fraction, Fraction] | str] = {}
    refs: list[tuple[str, str, str, str, str | None]] = []
    found: list[tuple[str, str, str, str | None]] = []  # annotation id, tier, where, value
    for tier in root.iter("TIER"):
        tier_id = tier.get("TIER_ID") or ""
        for ann in tier.iter("ANNOTATION"):
            for item in ann:
                aid = item.get("ANNOTATION_ID") or "?"
                where = f"'{path}' annotation {aid} (tier {tier_id!r})"
                value = (item.findtext("ANNOTATION_VALUE") or "").strip() or None
                if item.tag == "ALIGNABLE_ANNOTATION":
                    try:
                        spans[aid] = tuple(_slot(slots, item.get(ref), where) + origin
                                           for ref in ("TIME_SLOT_REF1", "TIME_SLOT_REF2"))
                    except AnnotationError as exc:
                        spans[aid] = str(exc)
                elif item.tag == "REF_ANNOTATION":
                    refs.append((aid, item.get("ANNOTATION_REF") or "", tier_id, where, value))
                    continue
                found.append((aid, tier_id, where, value))
    ref_of = {aid: ref for aid, ref, *_ in refs}
    for aid, ref, tier_id, where, value in refs:  # a symbolic tier: the times of the annotation it refers to
        seen = {aid}
        while ref in ref_of and ref not in seen:
            seen.add(ref)
            ref = ref_of[ref]
        if ref not in spans:
            raise AnnotationError(f"{where}: it refers to annotation {ref!r}, which has no times.")
        spans[aid] = spans[ref]
        found.append((aid, tier_id, where, value))
    return ((_annotation(where, video, tier_id, value, spans[aid], first) for aid, tier_id, where, value in found),
            video_from, declared)


def _annotation(where: str, video: str, tier: str, value: str | None, span: tuple | str, first: int) -> Annotation:
    if isinstance(span, str):  # no times: an error only if its tier is scored
        return Annotation(where, video, tier, value, Fraction(0), Fraction(0), first, unaligned=span)
    return Annotation(where, video, tier, value, *span, first)


def _slot(slots: dict, ref: str | None, where: str) -> Fraction:
    value = slots.get(ref)
    if value is None or not value.strip().lstrip("-").isdigit():
        raise AnnotationError(f"{where}: its time slot {ref!r} has no time (an unaligned annotation): align it in "
                              "ELAN and save the .eaf again.")
    return Fraction(int(value), 1000)
