"""BORIS's aggregated-events export (CSV or TSV) as ``coder_files.Annotation`` records: one row per state event,
``Behavior`` its type's name, ``Start (s)`` and ``Stop (s)`` its times, the video from ``Media file`` (or ``Media
file name``, BORIS 8) or else ``Observation id``."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

from ..data.csv_text import SEPARATORS
from ..errors import AnnotationError
from .coder_records import Annotation, video_stem
from .coder_times import ONE_MS, parse_seconds

__all__ = ["is_boris", "read_boris", "boris_fps"]

_MEDIA = ("media file", "media file name", "media file path")
_FPS = ("fps", "fps (frame/s)")
_OFFSET = "time offset (s)"
_DURATION = "media duration (s)"
_INDEX = ("image index start", "image index stop")


def _table(text: str) -> tuple[int, list[str], list[tuple[int, list[str]]]] | None:
    """(header line, header cells lower-cased, [(line, cells)]) of the first line naming Behavior (BORIS writes some
    lines of observation details above the table in some versions); None without one."""
    text = text.lstrip("\ufeff")
    head = "\n".join(text.splitlines()[:30])  # the header is near the top: the whole file is split by its separator
    for sep in SEPARATORS:
        try:
            found = next((i for i, row in enumerate(_rows(head, sep)) if _is_header(row)), None)
        except csv.Error:
            continue
        if found is not None:
            rows = _rows(text, sep)
            # csv.reader's rows are lines here: BORIS quotes no line breaks in these columns
            return found + 1, [c.strip().lower() for c in rows[found]], [(found + 2 + j, r)
                                                                         for j, r in enumerate(rows[found + 1:])]
    return None


def _rows(text: str, sep: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))


def _is_header(row: list[str]) -> bool:
    cells = [c.strip().lower() for c in row]
    return "behavior" in cells and ("start (s)" in cells or "time" in cells)


def is_boris(text: str) -> str | None:
    """'boris' for aggregated events (Start (s), Stop (s)), 'boris-events' for START/STOP rows, else None."""
    table = _table(text)
    if table is None:
        return None
    return "boris" if {"start (s)", "stop (s)"} <= set(table[1]) else "boris-events"


def boris_fps(text: str) -> str | None:
    """The FPS column's first value, to name it in the error for a file given without --fps."""
    table = _table(text)
    column = next((c for c in _FPS if table is not None and c in table[1]), None)
    if column is None:
        return None
    i = table[1].index(column)
    return next((r[i].strip() for _, r in table[2] if i < len(r) and r[i].strip()), None)


def read_boris(path: Path, text: str, video_id: str | None) -> tuple[Iterator[Annotation], str, str | None]:
    """The events of a BORIS aggregated-events export at their media's own times, where their video id comes from,
    and the video named by --video-id (held even where no event is)."""
    table = _table(text)
    assert table is not None  # sniffed as BORIS
    _, header, rows = table
    col = {name: header.index(name) for name in header}
    media = next((col[m] for m in _MEDIA if m in col), None)
    observation = col.get("observation id")
    source = ("--video-id" if video_id else "the Media file column (give --video-id ID to name it otherwise)"
              if media is not None else "the Observation id column (give --video-id ID to name it otherwise)"
              if observation is not None else f"the file's name ({path.name}; give --video-id ID to name it)")
    rows = [(n, cells + [""] * (len(header) - len(cells))) for n, cells in rows if any(c.strip() for c in cells)]

    def own_video(cells: list[str]) -> str:
        return next((video_stem(cells[i]) for i in (media, observation) if i is not None and cells[i].strip()),
                    path.stem)

    if video_id:
        named = sorted({own_video(cells) for _, cells in rows})
        if len(named) > 1:  # --video-id would pool the events of several recordings as one
            raise AnnotationError(f"'{path}' names {len(named)} videos ({', '.join(named[:5])}"
                                  f"{', ...' if len(named) > 5 else ''}): --video-id would pool them as one; leave it "
                                  "out (each event keeps its own video), or export one observation per file.")
    offsets = sorted({o for _, cells in rows if _OFFSET in col and (o := _number(cells[col[_OFFSET]]))})
    if offsets:  # said in the note and --show-frames: the times shown are the media's, not the file's
        source += (f"; times less the observation's Time offset (s), {', '.join(f'{float(o):g}' for o in offsets)} "
                   "s, as in its media file")

    def events() -> Iterator[Annotation]:
        for n, cells in rows:
            where = f"'{path}' line {n}"
            video = video_id or own_video(cells)
            behavior = cells[col["behavior"]].strip() or None
            category = cells[col["behavioral category"]].strip() if "behavioral category" in col else ""
            times = [parse_seconds(cells[col[name]].replace(",", ".", 1), "s") for name in ("start (s)", "stop (s)")]
            if None in times:  # an error only where its behaviour is scored, not one --tier-type leaves out
                name = ("start (s)", "stop (s)")[times.index(None)]
                yield Annotation(where, video, behavior, category or None, Fraction(0), Fraction(0),
                                 unaligned=f"{where}: {name.capitalize()} {cells[col[name]]!r} is not a time in "
                                           "seconds (a point event, or NA, has no interval).")
                continue
            shift, duration = _media_shift(cells, col, media, where)
            begin, end = (t - shift for t in times)
            if begin < -ONE_MS:
                raise AnnotationError(f"{where}: Start (s) {float(times[0]):.3f} s minus the observation's Time "
                                      f"offset (s) is {float(begin):.3f} s, before its media file begins: check the "
                                      "offset in BORIS (Observations > Edit observation).")
            if duration is not None and end > duration + ONE_MS:  # into the next file, or at a wrong offset
                raise AnnotationError(f"{where}: Stop (s) {float(times[1]):.3f} s is {float(end):.3f} s into its media "
                                      f"file, past its end (Media duration (s) {float(duration):.3f}): an event "
                                      "across two media files, or a wrong Time offset (s); split the event in BORIS "
                                      "at the file's end, or check the offset.")
            index = tuple(_index(cells, col, name, where) for name in _INDEX) if _INDEX[0] in col else None
            yield Annotation(where, video, behavior, category or None, max(begin, Fraction(0)), end, index=index,
                             duration=duration)

    return events(), source, video_id or None


def _number(text: str) -> Fraction | None:
    """A cell's number of seconds ('5.000', '-2,5'), None for an empty cell or NA."""
    text = text.strip().replace(",", ".", 1)
    sign = -1 if text.startswith("-") else 1
    value = parse_seconds(text.lstrip("+-"), "s")
    return None if value is None else sign * value


def _seconds(cell: str, where: str, name: str) -> Fraction | None:
    """A cell of seconds; None for an empty cell or NA (a live observation's); a named error for anything else."""
    if not cell.strip() or cell.strip().upper() == "NA":
        return None
    value = _number(cell)
    if value is None:
        raise AnnotationError(f"{where}: {name} {cell.strip()!r} is not a number of seconds.")
    return value


def _media_shift(cells: list[str], col: dict[str, int], media: int | None,
                 where: str) -> tuple[Fraction, Fraction | None]:
    """What to subtract from an event's times to get its media file's own times, and that file's duration (None
    where not given). BORIS writes an event at its media time plus the observation's Time offset (s); an observation
    of several media files in a row (player #1's playlist) times its events from the first file's start."""
    offset = _seconds(cells[col[_OFFSET]], where, "Time offset (s)") if _OFFSET in col else None
    durations = ([_seconds(d, where, "Media duration (s)") for d in _player_1(cells[col[_DURATION]])]
                 if _DURATION in col else [])
    files = _player_1(cells[col["source"]]) if "source" in col else []
    if len(files) <= 1 and media is not None and ";" in cells[media]:  # an older export: its media cell lists them
        files = _player_1(cells[media])
    if len(files) <= 1:
        return offset or Fraction(0), durations[0] if len(durations) == 1 else None
    name = cells[col["media file name"]].strip() if "media file name" in col else ""
    k = next((i for i, f in enumerate(files) if name and (f == name or video_stem(f) == video_stem(name))), None)
    if k is None or len(durations) != len(files) or None in durations[:k + 1]:
        raise AnnotationError(f"{where}: the observation plays {len(files)} media files one after another "
                              f"({'; '.join(files)}), and the row does not say which one the event is in, with the "
                              "durations of those before it (Media file name, Media duration (s)): export each media "
                              "file's observation apart, or upgrade BORIS (version 8 writes them).")
    return (offset or Fraction(0)) + sum(durations[:k], Fraction(0)), durations[k]


def _player_1(cell: str) -> list[str]:
    """Player #1's part of a BORIS cell listing each player's files or values ('player #1:a.mp4;b.mp4|player #2:
    c.mp4', '10.000;20.000|30.000'), split at ';'; [] for NA or empty."""
    first = cell.split("|")[0]
    first = re.sub(r"^\s*player\s*#\s*1\s*:", "", first, flags=re.IGNORECASE)
    return [p.strip() for p in first.split(";") if p.strip() and p.strip().upper() != "NA"]


def _index(cells: list[str], col: dict[str, int], name: str, where: str) -> int | None:
    """A frame index cell as a whole number ('30', '30.0'), None for empty or NA."""
    if name not in col or not cells[col[name]].strip() or cells[col[name]].strip().upper() == "NA":
        return None
    value = _number(cells[col[name]])
    if value is None or value.denominator != 1 or value < 0:
        raise AnnotationError(f"{where}: {name.capitalize()} {cells[col[name]]!r} is not a frame index.")
    return int(value)
