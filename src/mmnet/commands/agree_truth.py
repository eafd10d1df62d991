"""`mmnet agree --write-truth FILE`: the coders' intervals as ground truth in the table-long dataset's
``intervals.csv`` layout (subject,video,onset,offset,type,apex,fps,emotion; frame numbers as the frame files of a folder
numbered from 1 are named, MEGC's; then coders and video_coders, how many coders marked each interval and how many
hold its video, which readers of table-long pass over), so that coders' ELAN or BORIS files become what
`mmnet train-spotter table-long` and `score-spots --dataset table-long` read.

``--truth intersection`` (default), ``union`` or ``majority``: one interval per group of intervals that the coders
holding a video matched, every two of them a matched pair (``spotting.agreement_groups``): all of the coders
(intersection, union) or more than half (majority); its frames those every coder of the group marked, any marked, or
more than half of the video's coders marked; union intervals of one type that overlap are merged, intersection or
majority ones kept as two agreed events (both with a note). An interval in no such group is a disagreement to
resolve, not truth (a note counts them, --pairs lists them; a video holding only such intervals is left out, not
written as one without an expression); with three or more coders the note says how many coders agreed on the
intervals written.
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

TRUTHS = ("intersection", "union", "majority", "first")
# coders: how many coders marked the interval (its group's), video_coders: how many held its video (of --truth
# intersection, union and majority; empty for first): last, so that a reader of the first eight reads on
COLUMNS = ("subject", "video", "onset", "offset", "type", "apex", "fps", "emotion", "coders", "video_coders")


def _rate(fps) -> str:
    """The fps cell: a whole rate as one, else enough digits for 30000/1001."""
    if fps is None:
        return ""
    fps = Fraction(fps).limit_denominator(1_000_000) if not isinstance(fps, Fraction) else fps
    return str(fps.numerator) if fps.denominator == 1 else f"{float(fps):.10g}"


def _own_rate(cell: str) -> str:
    """A table-long row's fps cell as mmnet's CSVs write a rate: '29,97' (a European Excel's ';' table) as 29.97;
    a cell that is no plain number ('30000/1001') as it is."""
    from ..data.decimal_comma import number_text
    from ..spotting.intervals import spreadsheet_safe

    number = number_text(cell)
    return _rate(number) if number is not None and number > 0 else spreadsheet_safe(cell)


def _span(row: tuple) -> tuple:
    return row[:3]


def _fps(x) -> str | None:
    """A table-long row's own frame rate (its fps cell), else None: the truth's rate then."""
    return x.extra.get("fps") or None


def _needs(how: str, coders: int) -> tuple[int, int]:
    """(the coders a group needs, the votes a frame needs) of ``how`` among the ``coders`` that hold a video."""
    majority = coders // 2 + 1
    return {"intersection": (coders, coders), "union": (coders, 1), "majority": (majority, majority)}[how]


def _agreed(items: list, votes: int):
    """What a group's coders agree on beyond its span: the apex or emotion at least ``votes`` of them give (the
    same one), else None, and whether two different ones were given."""
    given = [x for x in items if x is not None]
    top = max(set(given), key=given.count) if given else None
    return (top if given.count(top) >= votes and top is not None else None), len(set(given)) > 1


def _count(counts: dict, kept, items: list, two: bool, what: str) -> None:
    """Count an emotion or apex a coder gave that the group's row goes without (``what``), or one kept by a
    majority over another coder's different one (``what`` + " kept")."""
    if kept is None and any(x is not None for x in items):
        counts[what] = counts.get(what, 0) + 1
    elif kept is not None and two:
        counts[what + " kept"] = counts.get(what + " kept", 0) + 1


def truth_rows(how: str, files: list[dict], pairs: dict, shared: dict, types) -> tuple[dict, str]:
    """video -> [(onset, offset, type, apex, emotion, fps, coders, video_coders)] of the truth ``how`` says (of
    ``types``; how many coders marked the interval and how many hold its video, None for ``first``), a note on what
    was left out, and video -> how many coders hold it (empty for ``first``)."""
    from ..spotting.agreement_groups import coder_groups, voted_span

    if how == "first":
        out = {v: sorted(((x.onset, x.offset, x.type, x.apex, x.label, _fps(x), None, None) for x in items
                          if x.type in types), key=_span) for v, items in files[0].items()}
        return out, "", {}
    videos = list(dict.fromkeys(v for both in shared.values() for v in both))
    out = {v: [] for v in videos}
    holders = {v: sum(v in f for f in files) for v in videos}
    unmatched, disputed, given, agreed = [0] * len(files), {}, {}, {}
    for group in coder_groups(files, pairs, types):
        need, votes = _needs(how, holders[group.video])
        if group.coders < need:
            for k, _ in group.members:
                unmatched[k] += 1
            disputed[group.video] = None
            continue
        items = [x for _, x in group.members]
        span = voted_span(items, votes)
        # an emotion or apex is kept where every coder of the group gives it (majority: more than half of the
        # video's coders; the apex within the span written); one left out, or kept over another, is counted
        need_given = votes if how == "majority" else len(items)
        label, two_labels = _agreed([x.label for x in items], need_given)
        apex, two_apexes = _agreed([x.apex for x in items], need_given)
        apex = apex if apex is not None and span[0] <= apex <= span[1] else None
        _count(given, label, [x.label for x in items], two_labels, "emotion")
        _count(given, apex, [x.apex for x in items], two_apexes, "apex")
        own = next((_fps(x) for x in items if _fps(x)), None)
        out[group.video].append((*span, group.type, apex, label, own, group.coders, holders[group.video]))
        key = (group.coders, holders[group.video])
        agreed[key] = agreed.get(key, 0) + 1
    # a video whose intervals are all unmatched is no recording without an expression: left out, not listed as one
    dropped = [v for v in disputed if not out[v]]
    out = {v: sorted(items, key=_span) for v, items in out.items() if v not in dropped}
    merged = _merge(out) if how == "union" else 0
    return out, _note(how, len(files), unmatched, dropped, given, merged, agreed) + _overlaps_note(out), holders


def _note(how: str, coders: int, unmatched: list, dropped: list, given: dict, merged: int, agreed: dict) -> str:
    """What the written truth left out, and (of three or more coders) how many coders agreed on its intervals."""
    from .agree_print import _letter as letter

    note = ""
    if coders > 2 and agreed:
        note += "; agreed by " + ", ".join(f"{k} of {n} coders: {agreed[k, n]}" for k, n in sorted(agreed,
                                                                                                  reverse=True))
    if any(unmatched):
        said = ", ".join(f"{n} interval(s) of {letter(k)}" if not k else f"{n} of {letter(k)}"
                         for k, n in enumerate(unmatched))
        fewer = {"majority": "more than half", "intersection": "all", "union": "all"}[how]
        note += (f"; left out, unmatched{f' by {fewer} of the coders' if coders > 2 else ''}: {said} (--pairs FILE "
                 "lists them: add those the coders agree on by hand)")
    if dropped:
        note += (f", and {len(dropped)} video(s) holding only those ({', '.join(map(str, map(shown, dropped[:5])))}"
                 f"{', ...' if len(dropped) > 5 else ''}), not to be scored as recordings without an expression")
    note += _given_note(how, f"matched {'pair' if coders == 2 else 'group'}(s)", given)
    if merged:
        note += f"; {merged} overlapping union interval(s) of one type merged into the one before"
    return note


def _given_note(how: str, groups: str, given: dict) -> str:
    """The emotions and apexes a coder gave that rows went without, and (majority) those kept over another's."""
    def said(key: str, verb: str) -> str:
        words = [w for w in ("emotion", "apex") if given.get(w + key)]
        return " and ".join(f"{given[w + key]}{f' {groups}' if not k else ''} {verb} the {w}"
                            for k, w in enumerate(words))

    note = ""
    if given.get("emotion") or given.get("apex"):
        enough = "more than half of the coders" if how == "majority" else "all of its coders"
        note += (f"; {said('', 'written without')} a coder gave ({enough} not giving the same one, or the apex "
                 "outside the interval written; --pairs FILE shows each coder's)")
    if given.get("emotion kept") or given.get("apex kept"):
        note += (f"; {said(' kept', 'written with')} more than half of the coders gave, another coder giving "
                 "another (--pairs FILE shows each coder's)")
    return note


def _overlaps_note(out: dict) -> str:
    """Written intervals of one type and video that overlap (two agreed groups, as where each coder marked two
    expressions overlapping): kept as two events, not merged (union's are), and said, as check-data warns of them."""
    said = []
    for video, items in out.items():
        last: dict = {}  # type -> the row reaching furthest so far (rows sorted by onset)
        for row in items:
            before = last.get(row[2])
            if before is not None and row[0] <= before[1]:
                said.append(f"{shown(video)} {row[2]} {before[0]}..{before[1]} and {row[0]}..{row[1]}")
            if before is None or row[1] > before[1]:
                last[row[2]] = row
    if not said:
        return ""
    return (f"; {len(said)} written interval(s) overlap an earlier one of their type ({', '.join(said[:3])}"
            f"{', ...' if len(said) > 3 else ''}): two events the coders agreed on, kept as two; `mmnet check-data` "
            "warns of them: merge such two by hand where they are one expression")


def _merge(out: dict) -> int:
    """Union intervals of one type and video that overlap (a coder's two intervals matched to two of the other's
    overlapping ones) joined into one, as a table of one expression per interval needs; the count merged."""
    merged = 0
    for video, items in out.items():
        kept: list = []
        for row in items:  # sorted by onset
            last = next((k for k in range(len(kept) - 1, -1, -1) if kept[k][2] == row[2]), None)
            if last is not None and row[0] <= kept[last][1]:
                onset, offset, type_, apex, label, fps, coders, held = kept[last]
                kept[last] = (onset, max(offset, row[1]), type_, apex if apex == row[3] else None,
                              label if label == row[4] else None, fps, min(coders, row[6]), held)
                merged += 1
            else:
                kept.append(row)
        out[video] = kept
    return merged


def _subject_video(key) -> tuple[str, str]:
    """An STR CSV's (subject, video) key gives the subject; a video id alone leaves it to fill in."""
    return (key[0] or "", key[1]) if isinstance(key, tuple) else ("", str(key))


def _cell(count: int | None) -> str:
    return "" if count is None else str(count)


def write_truth(path: Path, how: str, files: list[dict], pairs: dict, shared: dict, fps, types) -> None:
    """Write the truth (``truth_rows``) as table-long's intervals.csv, with a note on stderr."""
    from ..spotting.intervals import spreadsheet_safe
    from ..utils import atomic_write_text

    rows, note, holders = truth_rows(how, files, pairs, shared, types)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    rate = _rate(fps)
    for video, items in rows.items():
        subject, name = map(spreadsheet_safe, _subject_video(video))
        writer.writerows([(subject, name, onset, offset, type_, "" if apex is None else apex,
                           _own_rate(own) if own else rate, spreadsheet_safe(label or ""), _cell(coders), _cell(held))
                          for onset, offset, type_, apex, label, own, coders, held in items]
                         or [(subject, name, "", "", "", "", rate, "", "", _cell(holders.get(video)))])
    atomic_write_text(path, text.getvalue())
    said = {"intersection": "the frames every coder marked, per interval all of them matched",
            "union": "the frames any coder marked, per interval all of them matched",
            "majority": "the frames more than half of the coders marked, per interval more than half matched",
            "first": "the first coder's intervals"}[how]
    fill = "" if all(_subject_video(v)[0] for v in rows) else "fill in its subject column, and "
    print(f"wrote {path}: {sum(map(len, rows.values()))} interval(s) in {len(rows)} video(s), {said}{note}; {fill}"
          "make each video its frame folder's path under the dataset's root, before `mmnet train-spotter table-long` "
          "reads it" + ("" if rate or all(r[5] for items in rows.values() for r in items)
          else "; no frame rate: give --fps RATE there"), file=sys.stderr)
