"""`mmnet agree --write-truth FILE`: the coders' intervals as ground truth in the table-long dataset's
``intervals.csv`` layout (subject,video,onset,offset,type,apex,fps,emotion; frame numbers as the frame files of a folder
numbered from 1 are named, MEGC's), so that coders' ELAN or BORIS files become what `mmnet train-spotter
table-long` and `score-spots --dataset table-long` read.

``--truth intersection`` (default) or ``union``: one interval per matched pair of two coders, the frames both
marked, or either; an interval left unmatched is a disagreement to resolve, not truth (a note counts them, --pairs
lists them; a video holding only such intervals is left out, not written as one without an expression).
``--truth first``: the first coder's intervals as they are, every video it holds (a primary coder whose files are
the truth, the other coders coding some recordings for the reliability figures); with that one coder alone, only
the file is written.

The subject column is left empty (but for STR CSVs, which name it): nothing in a coder's file says whose recording
it is, and a guess would put one person's recordings in two folds; fill it in (and write each video as its frame
folder's path under the dataset's root) before training: `mmnet check-data table-long` names the rows without one.
A compared video without any interval gets a row of its own (a recording without an expression, which a spotter is
scored on too).
"""

from __future__ import annotations

import csv
import io
import sys
from fractions import Fraction
from pathlib import Path

from .score_spots_hints import shown

TRUTHS = ("intersection", "union", "first")
COLUMNS = ("subject", "video", "onset", "offset", "type", "apex", "fps", "emotion")


def _rate(fps) -> str:
    """The fps cell: a whole rate as one, else enough digits for 30000/1001."""
    if fps is None:
        return ""
    fps = Fraction(fps).limit_denominator(1_000_000) if not isinstance(fps, Fraction) else fps
    return str(fps.numerator) if fps.denominator == 1 else f"{float(fps):.10g}"


def _span(row: tuple) -> tuple:
    return row[:3]


def truth_rows(how: str, files: list[dict], pairs: dict, shared: dict, types) -> tuple[dict, str]:
    """video -> [(onset, offset, type)] of the truth ``how`` says (of ``types``), and a note on what was left
    out."""
    if how == "first":
        out = {v: sorted(((x.onset, x.offset, x.type, x.apex, x.label) for x in items if x.type in types),
                         key=_span) for v, items in files[0].items()}
        return out, ""
    result = pairs.get((0, 1))
    out = {v: [] for v in (shared.get((0, 1)) or [])}
    unmatched, disputed = [0, 0], {}
    for r in result.rows if result is not None else ():
        if r.a is None or r.b is None:
            unmatched[r.a is None] += 1
            disputed[r.video] = None
            continue
        span = ((max(r.a.onset, r.b.onset), min(r.a.offset, r.b.offset)) if how == "intersection" else
                (min(r.a.onset, r.b.onset), max(r.a.offset, r.b.offset)))
        # an emotion both coders gave is kept; an apex, one coder's frame, is not
        out[r.video].append((*span, r.type, None, r.a.label if r.a.label == r.b.label else None))
    # a video whose intervals are all unmatched is no recording without an expression: left out, not listed as one
    dropped = [v for v in disputed if not out[v]]
    out = {v: sorted(items, key=_span) for v, items in out.items() if v not in dropped}
    note = (f"; left out, unmatched: {unmatched[0]} interval(s) of A, {unmatched[1]} of B (--pairs FILE lists "
            "them: add those the coders agree on by hand)" if any(unmatched) else "")
    if dropped:
        note += (f", and {len(dropped)} video(s) holding only those ({', '.join(map(str, map(shown, dropped[:5])))}"
                 f"{', ...' if len(dropped) > 5 else ''}), not to be scored as recordings without an expression")
    return out, note


def _subject_video(key) -> tuple[str, str]:
    """An STR CSV's (subject, video) key gives the subject; a video id alone leaves it to fill in."""
    return (key[0] or "", key[1]) if isinstance(key, tuple) else ("", str(key))


def write_truth(path: Path, how: str, files: list[dict], pairs: dict, shared: dict, fps, types) -> None:
    """Write the truth (``truth_rows``) as table-long's intervals.csv, with a note on stderr."""
    from ..spotting.intervals import spreadsheet_safe
    from ..utils import atomic_write_text

    rows, note = truth_rows(how, files, pairs, shared, types)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    rate = _rate(fps)
    for video, items in rows.items():
        subject, name = map(spreadsheet_safe, _subject_video(video))
        writer.writerows([(subject, name, onset, offset, type_, "" if apex is None else apex, rate,
                           spreadsheet_safe(label or "")) for onset, offset, type_, apex, label in items]
                         or [(subject, name, "", "", "", "", rate, "")])
    atomic_write_text(path, text.getvalue())
    said = {"intersection": "the frames both coders marked, per matched pair",
            "union": "the frames either coder marked, per matched pair", "first": "the first coder's intervals"}[how]
    fill = "" if all(_subject_video(v)[0] for v in rows) else "fill in its subject column, and "
    print(f"wrote {path}: {sum(map(len, rows.values()))} interval(s) in {len(rows)} video(s), {said}{note}; {fill}"
          "make each video its frame folder's path under the dataset's root, before `mmnet train-spotter table-long` "
          "reads it" + ("" if rate else "; no frame rate: give --fps RATE there"), file=sys.stderr)
