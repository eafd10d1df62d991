"""BORIS's aggregated-events export (CSV or TSV) as ``coder_files.Annotation`` records: one row per state event,
``Behavior`` its type's name, ``Start (s)`` and ``Stop (s)`` its times, the video from ``Media file`` (or ``Media
file name``, BORIS 8) or else ``Observation id``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from ..data.csv_text import SEPARATORS
from ..errors import AnnotationError
from .coder_records import Annotation, video_stem
from .coder_times import parse_seconds

__all__ = ["is_boris", "read_boris", "boris_fps"]

_MEDIA = ("media file", "media file name", "media file path")


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
    if table is None or "fps" not in table[1]:
        return None
    i = table[1].index("fps")
    return next((r[i].strip() for _, r in table[2] if i < len(r) and r[i].strip()), None)


def read_boris(path: Path, text: str, video_id: str | None) -> tuple[Iterator[Annotation], str]:
    """The events of a BORIS aggregated-events export, and where their video id comes from."""
    table = _table(text)
    assert table is not None  # sniffed as BORIS
    _, header, rows = table
    col = {name: header.index(name) for name in header}
    media = next((col[m] for m in _MEDIA if m in col), None)
    observation = col.get("observation id")
    source = ("--video-id" if video_id else "the Media file column (give --video-id ID to name it otherwise)"
              if media is not None else "the Observation id column (give --video-id ID to name it otherwise)"
              if observation is not None else f"the file's name ({path.name}; give --video-id ID to name it)")

    def events() -> Iterator[Annotation]:
        for n, cells in rows:
            if not any(c.strip() for c in cells):
                continue
            cells = cells + [""] * (len(header) - len(cells))
            where = f"'{path}' line {n}"
            video = video_id or next((video_stem(cells[i]) for i in (media, observation)
                                      if i is not None and cells[i].strip()), path.stem)
            times = []
            for name in ("start (s)", "stop (s)"):
                value = parse_seconds(cells[col[name]].replace(",", ".", 1), "s")
                if value is None:
                    raise AnnotationError(f"{where}: {name.capitalize()} {cells[col[name]]!r} is not a time in "
                                          "seconds (a point event, or NA, has no interval).")
                times.append(value)
            behavior = cells[col["behavior"]].strip() or None
            category = cells[col["behavioral category"]].strip() if "behavioral category" in col else ""
            yield Annotation(where, video, behavior, category or None, *times)

    return events(), source

