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


def _fps(x) -> str | None:
    """A table-long row's own frame rate (its fps cell), else None: the truth's rate then."""
    return x.extra.get("fps") or None


def truth_rows(how: str, files: list[dict], pairs: dict, shared: dict, types) -> tuple[dict, str]:
    """video -> [(onset, offset, type, apex, emotion, fps)] of the truth ``how`` says (of ``types``), and a note on
    what was left out."""
    if how == "first":
        out = {v: sorted(((x.onset, x.offset, x.type, x.apex, x.label, _fps(x)) for x in items if x.type in types),
                         key=_span) for v, items in files[0].items()}
        return out, ""
    result = pairs.get((0, 1))
    out = {v: [] for v in (shared.get((0, 1)) or [])}
    unmatched, disputed, emotions, apexes = [0, 0], {}, 0, 0
    for r in result.rows if result is not None else ():
        if r.a is None or r.b is None:
            unmatched[r.a is None] += 1
            disputed[r.video] = None
            continue
        span = ((max(r.a.onset, r.b.onset), min(r.a.offset, r.b.offset)) if how == "intersection" else
                (min(r.a.onset, r.b.onset), max(r.a.offset, r.b.offset)))
        # an emotion, an apex both coders gave (the apex within the written span) is kept; two different are
        # counted, not chosen between
        emotions += bool(r.a.label and r.b.label and r.a.label != r.b.label)
        apexes += r.a.apex is not None and r.b.apex is not None and r.a.apex != r.b.apex
        apex = r.a.apex if r.a.apex == r.b.apex and r.a.apex is not None and span[0] <= r.a.apex <= span[1] else None
        out[r.video].append((*span, r.type, apex, r.a.label if r.a.label == r.b.label else None,
                             _fps(r.a) if _fps(r.a) == _fps(r.b) or _fps(r.b) is None else _fps(r.b)))
    # a video whose intervals are all unmatched is no recording without an expression: left out, not listed as one
    dropped = [v for v in disputed if not out[v]]
    out = {v: sorted(items, key=_span) for v, items in out.items() if v not in dropped}
    merged = _merge(out) if how == "union" else 0
    note = (f"; left out, unmatched: {unmatched[0]} interval(s) of A, {unmatched[1]} of B (--pairs FILE lists "
            "them: add those the coders agree on by hand)" if any(unmatched) else "")
    if dropped:
        note += (f", and {len(dropped)} video(s) holding only those ({', '.join(map(str, map(shown, dropped[:5])))}"
                 f"{', ...' if len(dropped) > 5 else ''}), not to be scored as recordings without an expression")
    if emotions or apexes:
        note += (f"; {emotions} matched pair(s) with two emotions and {apexes} with two apexes written without one "
                 "(--pairs FILE shows both coders')")
    if merged:
        note += f"; {merged} overlapping union interval(s) of one type merged into the one before"
    return out, note


def _merge(out: dict) -> int:
    """Union intervals of one type and video that overlap (a coder's two intervals matched to two of the other's
    overlapping ones) joined into one, as a table of one expression per interval needs; the count merged."""
    merged = 0
    for video, items in out.items():
        kept: list = []
        for row in items:  # sorted by onset
            last = next((k for k in range(len(kept) - 1, -1, -1) if kept[k][2] == row[2]), None)
            if last is not None and row[0] <= kept[last][1]:
                onset, offset, type_, apex, label, fps = kept[last]
                kept[last] = (onset, max(offset, row[1]), type_, apex if apex == row[3] else None,
                              label if label == row[4] else None, fps)
                merged += 1
            else:
                kept.append(row)
        out[video] = kept
    return merged


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
        writer.writerows([(subject, name, onset, offset, type_, "" if apex is None else apex,
                           spreadsheet_safe(own) if own else rate, spreadsheet_safe(label or ""))
                          for onset, offset, type_, apex, label, own in items]
                         or [(subject, name, "", "", "", "", rate, "")])
    atomic_write_text(path, text.getvalue())
    said = {"intersection": "the frames both coders marked, per matched pair",
            "union": "the frames either coder marked, per matched pair", "first": "the first coder's intervals"}[how]
    fill = "" if all(_subject_video(v)[0] for v in rows) else "fill in its subject column, and "
    print(f"wrote {path}: {sum(map(len, rows.values()))} interval(s) in {len(rows)} video(s), {said}{note}; {fill}"
          "make each video its frame folder's path under the dataset's root, before `mmnet train-spotter table-long` "
          "reads it" + ("" if rate or all(r[5] for items in rows.values() for r in items)
          else "; no frame rate: give --fps RATE there"), file=sys.stderr)
