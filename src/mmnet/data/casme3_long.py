"""CAS(ME)^3 Part A long videos (Li et al., IEEE TPAMI 2022) for spotting: micro and macro, 30 fps.

Accepted root layout (docs/spotting.md, "Datasets")::

    ROOT/CAS(ME)3_part_A_v2.xls     sheets 'AU+Emotion' (every interval) and 'eye blink'; also read as .xlsx,
                                     or as the two sheets saved as CSV (the blink sheet's name holding 'blink')
    ROOT/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx   sheet 'label': the micro-expressions' emotions (or .csv)
    ROOT/spNO.1/a/color/1.jpg ...    (or under part_A/data/part_A_split/part_A/); depth frames are not read

'AU+Emotion' holds Subject, Filename (the task letter), Onset, Apex, Offset, AU, Expression type
(``Macro-expression`` / ``Micro-expression``) and Objective class, every cell as text; 'eye blink'
holds Subject, Filename, Onset, Offset. A video is one (Subject, Filename) folder, its id ``spNO.1_a``.
Emotions exist only in the label file: each micro-expression takes the emotion of the label row with
the same (Subject, Filename, Onset, Apex, Offset); a micro row that differs from its label row in one
frame number joins the one label row of its video agreeing on the other two (``label_join``).
With the label file alone, only the micro-expressions are read (``LongVideoLoad.types`` is
``("micro",)``): macro spotting cannot be evaluated there, and there are no blinks.

Frames are numbered by their file names (``175.jpg`` -> 175) and some are dropped: drops stay gaps in
the native numbering (``frame_gaps``; an onset, apex or offset on a dropped frame: ``dropped_frame``).
Quirks, each an Issue: onset 0 (kept, starting at the first frame: ``onset_zero``), apex 0 (unknown:
``apex_unknown``), offset 0 in the label file (the interval ends at the apex: ``offset_zero``), apex
outside onset..offset (kept: ``apex_outside``), offsets past the last frame (clipped: ``beyond_video``),
micro-expressions longer than 10 s (the 3,456-frame one; kept: ``long_micro``), the known onset
correction of spNO.216 d (``correction``, corrections.py), the upper-case Filename 'J' (``clip_name_case``).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from ..spotting.intervals import TYPES, Interval, parse_type
from .annotations import Table, cell, label_text, read_table
from .case_keys import fold_case
from .casme3 import FPS, FRAME_ROOTS, find_frames_root, long_micro, onset_zero
from .common import missing_dataset, natural_key
from .corrections import CORRECTIONS
from .decimal_comma import value_said
from .long_video import (
    LongVideo,
    LongVideoLoad,
    attach_long_frames,
    check_video,
    finish_long,
    frame_value,
    refused_row,
    zero_frames,
)
from .long_video import cell_text as _text
from .sample import Issue

__all__ = ["load_casme3_long", "FPS"]

DATASET = "casme3-long"
_FRAME = re.compile(r"(\d+)\.jpe?g", re.IGNORECASE)
_SUBJECT = re.compile(r"spNO\.\d+", re.IGNORECASE)
_TASK = re.compile(r"[a-z]+\d*", re.IGNORECASE)
_FRAMES = ("onset", "apex", "offset")
_SUFFIXES = (".xlsx", ".xls", ".csv")  # preference when several copies of one table are in the root

_LAYOUT_HELP = [
    "CAS(ME)3_part_A_v2.xls   (sheets 'AU+Emotion' and 'eye blink'; or .xlsx, or the sheets as CSV)",
    "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx   (sheet 'label': the micro-expressions' emotions)",
    "spNO.1/a/color/1.jpg ...   (or part_A/data/part_A_split/part_A/spNO.1/...)",
]


def _missing(root: Path, missing: list[str]):
    return missing_dataset("CAS(ME)^3 Part A", root, missing, _LAYOUT_HELP,
                           "its authors at the Institute of Psychology, Chinese Academy of Sciences", DATASET)


def _find(root: Path, kind: str) -> list[Path]:
    """The root's files of one kind ("long", "blink", "label"), the preferred first."""
    out = []
    for p in root.iterdir():
        name = p.name.lower()
        if not p.is_file() or name.startswith("~$") or p.suffix.lower() not in _SUFFIXES or "part_a" not in name:
            continue
        found = ("label" if "label" in name else "blink" if "blink" in name
                 else "long" if re.search(r"part_a_v\d", name) else None)
        if found == kind:
            out.append(p)
    return sorted(out, key=lambda p: (_SUFFIXES.index(p.suffix.lower()), natural_key(p.name)))


def _choose(found: list[Path], issues: list[Issue]) -> Path | None:
    if len(found) > 1:
        issues.append(Issue(DATASET, "annotation_choice", f"several copies in root; using '{found[0].name}', "
                            f"ignoring {[p.name for p in found[1:]]}", "warning"))
    return found[0] if found else None


class _Rows:
    """A table's usable rows as (where, row number, cells, subject, Filename, sample id, frame numbers).

    Rows without a subject like spNO.1 or a task letter, or with a frame cell that is not a frame number,
    are reported as errors and left out. ``corrections``: True applies corrections.py, False reports the
    ones that would apply, None ignores them (blinks)."""

    def __init__(self, table: Table, frames: tuple[str, ...], issues: list[Issue], corrections: bool | None):
        self.table, self.issues = table, issues
        self.col = {"subject": table.column("Subject"), "name": table.column("Filename")}
        self.col.update({k: table.column(k.capitalize(), f"{k.capitalize()}Frame") for k in frames})
        self.frames, self.corrections = frames, corrections

    def __iter__(self):
        for row_no, row in self.table.rows:
            where = self.table.where(row_no)
            subject, name = _text(cell(row, self.col["subject"])), _text(cell(row, self.col["name"]))
            if not _SUBJECT.fullmatch(subject) or not _TASK.fullmatch(name):
                self.issues.append(refused_row(f"{DATASET}/?/row{row_no}", "bad_row", f"{where}: Subject "
                                               f"{subject!r} / Filename {name!r} is not like spNO.1 / a"))
                continue
            sid = f"{DATASET}/{subject}/{subject}_{name.lower()}"
            raw = {k: cell(row, self.col[k]) for k in self.frames}
            values = {k: frame_value(v) for k, v in raw.items()}
            bad = [value_said(k, raw[k]) for k, v in values.items() if v is None or not v.is_integer() or v < 0]
            if bad:
                self.issues.append(refused_row(sid, "bad_value", f"{where}: {', '.join(bad)} not a frame number"))
                continue
            values = {k: int(v) for k, v in values.items()}
            if self.corrections is not None:
                self._correct(subject, fold_case(name), values, where, sid)
            yield where, row_no, row, subject, name, sid, values

    def _correct(self, subject: str, task: str, values: dict, where: str, sid: str) -> None:
        """corrections.py's CAS(ME)^3 entries, applied to the row that still holds the old value."""
        for c in CORRECTIONS:
            if (c.dataset, fold_case(c.subject), fold_case(c.clip)) != ("casme3", fold_case(subject), task) or \
                    values.get(c.field) != c.old:
                continue
            if self.corrections:
                values[c.field] = c.new
                self.issues.append(Issue(sid, "correction", f"{where}: {c.field} corrected {c.old} -> {c.new}; "
                                         f"source: {c.source}", "warning"))
            else:
                self.issues.append(Issue(sid, "correction", f"{where}: known correction {c.field} {c.old} -> {c.new} "
                                         f"not applied (corrections disabled); source: {c.source}", "warning"))


def _interval(values: dict, type_: str, where: str, sid: str, extra: dict, issues: list[Issue]) -> Interval | None:
    """Frame numbers -> Interval, the zero quirks fixed and reported; None (with an error) when unusable."""
    onset, apex, offset = (values[k] for k in _FRAMES)
    fixed = zero_frames(apex, offset, where, sid, issues)
    if fixed is None:
        return None
    apex, offset = fixed
    if onset == 0:
        issues.append(onset_zero(sid, where))
    if offset < onset:
        issues.append(refused_row(sid, "offset_before_onset", f"{where}: offset {offset} is before onset {onset}"))
        return None
    if type_ == "micro" and (too_long := long_micro(sid, where, onset, offset)):
        issues.append(too_long)
    return Interval(onset, apex, offset, type_, None, None, extra)


def _labels(path: Path, issues: list[Issue], corrections: bool) -> list[dict]:
    """The label file's rows: key (subject, task, onset, apex, offset as written, corrected), emotion, class."""
    rows = _Rows(read_table(path, sheet=("label",)), _FRAMES, issues, corrections)
    emotion = rows.table.column("emotion", "Estimated Emotion")
    obj, aus = rows.table.column("Objective class", required=False), rows.table.column("AU", required=False)
    return [{"where": where, "row": row_no, "sid": sid, "subject": subject, "name": name, "values": values,
             "key": (fold_case(subject), fold_case(name), *(values[k] for k in _FRAMES)), "used": False,
             "emotion": label_text(cell(row, emotion)), "objective": _text(cell(row, obj)), "au": _text(cell(row, aus))}
            for where, row_no, row, subject, name, sid, values in rows]


def _join(micro: list[tuple[tuple, dict, Interval, str, str]], labels: list[dict], issues: list[Issue]) -> dict:
    """Emotion of each long-table micro-expression (index -> label row): exact key, then one frame number apart."""
    by_key: dict[tuple, list[dict]] = {}
    for e in labels:
        by_key.setdefault(e["key"], []).append(e)
    joined: dict[int, dict] = {}
    for k, (key, _, _, _, _) in enumerate(micro):
        free = [e for e in by_key.get(key, ()) if not e["used"]]
        if free:
            joined[k], free[0]["used"] = free[0], True
    for k, (key, values, _, where, sid) in enumerate(micro):
        if k in joined:
            continue
        near = [e for e in labels if not e["used"] and e["key"][:2] == key[:2]
                and sum(e["key"][2 + i] == key[2 + i] for i in range(3)) == 2]
        if len(near) != 1:
            issues.append(Issue(sid, "emotion_missing", f"{where}: micro-expression {'/'.join(map(str, key[2:]))} "
                                "has no row in the label file; no emotion", "warning"))
            continue
        e = near[0]
        diff = ", ".join(f"{f} {e['values'][f]} (here {values[f]})" for f in _FRAMES if e["values"][f] != values[f])
        issues.append(Issue(sid, "label_join", f"{where}: joined to {e['where']}, which differs in {diff}; its emotion "
                            "is used, the frame numbers of this table kept", "warning"))
        joined[k], e["used"] = e, True
    for e in labels:
        if not e["used"]:
            issues.append(Issue(e["sid"], "label_unmatched", f"{e['where']}: "
                                f"{'/'.join(str(e['values'][f]) for f in _FRAMES)} ({e['emotion']}) matches no "
                                "micro-expression of the long-video table; not used", "warning"))
    return joined


def _blinks(table: Table, issues: list[Issue], videos: dict) -> None:
    for where, _, _, subject, name, sid, values in _Rows(table, ("onset", "offset"), issues, None):
        if values["offset"] < values["onset"]:
            issues.append(Issue(sid, "offset_before_onset", f"{where}: blink offset {values['offset']} is before "
                                f"onset {values['onset']}; blink left out", "error"))
            continue
        v = videos.setdefault((fold_case(subject), fold_case(name)),
                              {"subject": subject, "name": name, "intervals": []})
        v.setdefault("blinks", []).append((values["onset"], values["offset"]))


def _on_disk(frames_root: Path) -> dict[tuple[str, str], tuple[str, Path, Path | None]]:
    """(subject, task) as ``fold_case`` keys -> (subject folder name, task folder, its color/ folder or None): a
    Turkish Excel's UPPER() writes 'İ' for 'i', which lower() does not match to the folder 'i'."""
    out = {}
    for s in sorted(p for p in frames_root.iterdir() if p.is_dir() and _SUBJECT.fullmatch(p.name)):
        for t in sorted(p for p in s.iterdir() if p.is_dir()):
            color = t / "color"
            out[(fold_case(s.name), fold_case(t.name))] = (s.name, t, color if color.is_dir() else None)
    return out


def _dropped(video: LongVideo, issues: list[Issue]) -> None:
    """An onset, apex or offset on a frame missing from disk (a dropped frame): kept, reported."""
    if not video.frames:
        return
    present, first, last = set(video.frame_numbers), video.frames[0][0], video.frames[-1][0]
    for iv in video.intervals:
        gone = [f"{k} {n}" for k, n in zip(_FRAMES, (iv.onset, iv.apex, iv.offset))
                if n is not None and first <= n <= last and n not in present]
        if gone:
            issues.append(Issue(video.video_id, "dropped_frame", f"{iv.type} {iv.onset}..{iv.offset} (row "
                                f"{iv.extra.get('row', '?')}): {', '.join(gone)} not on disk (a dropped frame); kept "
                                "in the native numbering", "warning"))


def load_casme3_long(
    root: str | Path,
    *,
    annotation: str | Path | None = None,
    strict: bool = False,
    labels: str | Path | None = None,
    blinks: str | Path | None = None,
    corrections: bool = True,
) -> LongVideoLoad:
    """Load CAS(ME)^3 Part A's long videos with their micro- and macro-expression intervals and blinks.

    Args:
        root: the dataset folder (see the module docstring).
        annotation: the long-video table (CAS(ME)3_part_A_v2.xls/.xlsx, or its 'AU+Emotion' sheet as CSV);
            the micro-expression label file here reads the micro-expressions alone. Default: found in root.
        strict: raise on any error-severity issue.
        labels: the micro-expression label file (emotions); default: *part_A*label* (.xlsx or .csv) in root.
        blinks: the 'eye blink' sheet as CSV (read with the long-video table only); default: the workbook's
            sheet, or a *part_A_v*blink*.csv in root when the table is a CSV.
        corrections: apply the known corrections (corrections.py), reported as warnings.
    """
    root = Path(root)
    if not root.is_dir():
        raise _missing(root, ["the folder itself"])
    issues: list[Issue] = []
    labels = Path(labels) if labels is not None else _choose(_find(root, "label"), issues)
    long_table: Table | None = None
    if annotation is None:
        annotation = _choose(_find(root, "long"), issues)
    if annotation is not None:
        annotation = Path(annotation)
        if not annotation.is_file():
            raise _missing(root, [f"the annotation file '{annotation}'"])
        table = read_table(annotation, sheet=("AU+Emotion", "label"))
        if table.column("Expression type", "Type", required=False) is not None:
            long_table = table
        elif table.column("emotion", required=False) is not None:
            labels = annotation  # the label file given as --annotation: micro-expressions only
        else:
            table.column("Expression type")  # raises, naming the file and its header
    if long_table is None and labels is None:
        raise _missing(root, ["the long-video table 'CAS(ME)3_part_A_v2.xls' and the micro-expression label file "
                              "'cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx' (either; or pass --annotation FILE)"])
    if labels is not None and not labels.is_file():
        raise _missing(root, [f"the label file '{labels}'"])
    frames_root = find_frames_root(root)
    if frames_root is None:
        raise _missing(root, ["subject folders spNO.<n>/<task>/color/ (directly in root or under "
                              f"{' or '.join(r for r in FRAME_ROOTS if r)}/)"])

    label_rows = _labels(labels, issues, corrections) if labels is not None else None
    videos: dict[tuple[str, str], dict] = {}
    types: tuple[str, ...] = TYPES
    if long_table is not None:
        rows = _Rows(long_table, _FRAMES, issues, corrections)
        type_col = long_table.column("Expression type", "Type")
        aus, obj = long_table.column("AU", required=False), long_table.column("Objective class", required=False)
        micro: list[tuple[tuple, dict, Interval, str, str]] = []
        for where, row_no, row, subject, name, sid, values in rows:
            type_ = parse_type(cell(row, type_col))
            if type_ is None:
                issues.append(refused_row(sid, "bad_value", f"{where}: Expression type {cell(row, type_col)!r} is "
                                          "not Micro- or Macro-expression"))
                continue
            extra = {"row": row_no, "task": name, "au_text": _text(cell(row, aus)),
                     "objective_class": _text(cell(row, obj))}
            iv = _interval(values, type_, where, sid, extra, issues)
            if iv is None:
                continue
            key = (fold_case(subject), fold_case(name))
            v = videos.setdefault(key, {"subject": subject, "name": name, "intervals": []})
            v["intervals"].append(iv)
            if type_ == "micro":
                micro.append(((*key, *(values[k] for k in _FRAMES)), values, iv, where, sid))
        if label_rows is None:
            issues.append(Issue(DATASET, "labels_missing", "no micro-expression label file (cas(me)3_part_A_ME_label_"
                                "JpgIndex_v2.xlsx) in root: the micro-expressions have no emotion", "warning"))
        else:
            joined = _join(micro, label_rows, issues)
            swap = {id(iv): replace(iv, label=joined[k]["emotion"]) for k, (_, _, iv, _, _) in enumerate(micro)
                    if k in joined}
            for v in videos.values():
                v["intervals"] = [swap.get(id(iv), iv) for iv in v["intervals"]]
        blink_table = None
        if annotation.suffix.lower() != ".csv" and blinks is None:
            blink_table = read_table(annotation, sheet=("eye blink",))
            blink_table = blink_table if blink_table.sheet == "eye blink" else None
        else:
            blinks = blinks if blinks is not None else _choose(_find(root, "blink"), issues)
            blink_table = read_table(blinks) if blinks is not None else None
        if blink_table is None:
            issues.append(Issue(DATASET, "blinks_missing", f"no 'eye blink' sheet in '{annotation.name}' (or blink "
                                "CSV in root): the videos carry no blink intervals", "warning"))
        else:
            _blinks(blink_table, issues, videos)
    else:
        types = ("micro",)
        why = "the label file was given as the annotation" if annotation is not None else "not in root"
        issues.append(Issue(DATASET, "macro_missing", f"no macro-expression annotation (the long-video table "
                            f"CAS(ME)3_part_A_v2.xls: {why}): only the micro-expressions of '{labels.name}' are "
                            "read; macro spotting cannot be evaluated, and there are no blink intervals", "warning"))
        for e in label_rows:
            extra = {"row": e["row"], "task": e["name"], "au_text": e["au"], "objective_class": e["objective"]}
            iv = _interval(e["values"], "micro", e["where"], e["sid"], extra, issues)
            if iv is not None:
                v = videos.setdefault(e["key"][:2], {"subject": e["subject"], "name": e["name"], "intervals": []})
                v["intervals"].append(replace(iv, label=e["emotion"]))

    on_disk = _on_disk(frames_root)
    out: list[LongVideo] = []
    for key in sorted(set(videos) | set(on_disk), key=lambda k: natural_key("_".join(k))):
        info = videos.get(key, {})
        subject = info.get("subject") or on_disk[key][0]
        disk = on_disk.get(key)
        video = LongVideo(DATASET, subject, f"{subject}_{key[1]}", FPS,
                          disk[1] / "color" if disk else frames_root / subject / key[1] / "color",
                          intervals=tuple(info.get("intervals", ())), blinks=tuple(sorted(info.get("blinks", ()))),
                          extra={"task": info.get("name", key[1])})
        if info.get("name", key[1]) != key[1]:
            issues.append(Issue(video.video_id, "clip_name_case", f"Filename {info['name']!r} is written upper-case; "
                                f"read as {key[1]!r}", "warning"))
        if not video.intervals:
            if disk is None:  # only blinks annotated
                issues.append(Issue(video.video_id, "video_missing", f"{len(video.blinks)} blink(s) annotated but no "
                                    f"frame folder at {video.path}; left out", "warning"))
                continue
            if disk[2] is None:
                issues.append(Issue(video.video_id, "no_color_frames", f"folder '{disk[1]}' has no color/ folder; "
                                    "not a video here", "warning"))
                continue
            which = "expression" if long_table is not None else "micro-expression (no macro annotation was read)"
            issues.append(Issue(video.video_id, "not_annotated", f"no {which} for this video; it is kept with no "
                                "intervals (a spotter is scored on it too)", "warning"))
        video = attach_long_frames(video, disk[2] if disk else None, _FRAME, issues)
        video = check_video(video, issues)
        _dropped(video, issues)
        out.append(video)
    return finish_long(out, issues, long_table.path if long_table is not None else labels, strict, types)
