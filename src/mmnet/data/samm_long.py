"""SAMM Long Videos (SAMM-LV, Yap et al., FG 2020) for spotting: micro and macro, 200 fps.

Accepted root layout::

    ROOT/SAMM_LongVideos_V2_Release.xlsx    (any SAMM*Long*.xlsx or SAMMLV*.xlsx; sheet FACS_Movement_Only,
                                              a preamble, the header on row 10)
    ROOT/SAMM_longvideos/006_1/006_1_0001.jpg ...   (4- or 5-digit numbers; or SAMMLV/SAMM_longvideos/...)
    ROOT/SAMM_Micro_FACS_Codes_v2.xlsx      (optional: emotions of the micro-expressions, joined on Filename)

Columns: Subject (text '006'), Filename (``006_1_2``: the video is ``006_1``), Inducement Code,
Onset, Apex, Offset, Duration (a formula), Type (``Macro`` / ``Micro - 1/2``), Action Units, Notes.
The long-video sheet has no emotions; when the micro-expression coding file is in the root (or
passed as ``emotions=``), each micro interval takes its ``Estimated Emotion`` by ``Filename``, as
MEAN does (macro intervals stay unlabelled).

Quirks, each reported as an Issue (docs/spotting.md lists them):

* fractional frame numbers (177 rows): rounded to the nearest frame, halves up (``fractional_frame``);
* apex -1 (6 rows): apex unknown, None (``apex_unknown``);
* onset 0 (10 macro rows): frames are numbered from 1, so the interval starts at the first frame
  on disk (``onset_zero``, then ``beyond_video`` once frames are attached);
* offsets past the last frame (``012_4``, ``020_6``, ``036_7`` in some copies): clipped (``beyond_video``);
* a Filename used twice (``037_4_1``: once micro, once macro): both kept (``duplicate_name``);
* a Duration cell that disagrees with offset - onset + 1: reported (``duration_mismatch``).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..spotting.intervals import Interval, parse_type
from .annotations import cell, label_text, read_table, subject_text
from .common import missing_dataset, natural_key
from .decimal_comma import value_said
from .long_video import (
    LongVideo,
    LongVideoLoad,
    attach_long_frames,
    check_video,
    finish_long,
    frame_value,
    not_annotated,
    refused_row,
    round_frame,
)
from .root_files import folder_in_any_case, root_files
from .sample import Issue

__all__ = ["load_samm_long", "FPS"]

FPS = 200.0
DATASET = "samm-long"
ANNOTATION_GLOBS = ("SAMM*Long*.xlsx", "SAMMLV*.xlsx")
EMOTION_GLOB = "SAMM_Micro_FACS_Codes*.xlsx"
FRAME_FOLDERS = ("SAMM_longvideos", "SAMM_LongVideos", "SAMMLV/SAMM_longvideos")
_FRAME = re.compile(r".*_(\d+)\.jpe?g", re.IGNORECASE)
_VIDEO = re.compile(r"\d{3}_\d+")

_LAYOUT_HELP = [
    "SAMM_LongVideos_V2_Release.xlsx   (sheet FACS_Movement_Only)",
    "SAMM_longvideos/006_1/006_1_0001.jpg ...",
]


def _missing(root: Path, missing: list[str]):
    return missing_dataset("SAMM Long Videos", root, missing, _LAYOUT_HELP,
                           "its authors at Manchester Metropolitan University", DATASET)


def _emotions(path: Path, issues: list[Issue]) -> dict[str, tuple[str | None, object]]:
    """Filename -> (emotion, objective class) from the SAMM micro-expression coding file."""
    table = read_table(path, sheet=("MICRO_ONLY",))
    fn, emo = table.column("Filename"), table.column("Estimated Emotion", "Emotion")
    obj = table.column("Objective Classes", "Objective Class", required=False)
    out = {}
    for _, row in table.rows:
        name = cell(row, fn)
        if name is not None:
            out[str(name).strip()] = (label_text(cell(row, emo)), cell(row, obj))
    return out


def load_samm_long(
    root: str | Path,
    *,
    annotation: str | Path | None = None,
    strict: bool = False,
    emotions: str | Path | None = None,
) -> LongVideoLoad:
    """Load SAMM Long Videos with their micro- and macro-movement intervals.

    Args:
        root: the dataset folder.
        annotation: the long-video coding workbook; default: the SAMM*Long*.xlsx (newest name) in root.
        strict: raise on any error-severity issue.
        emotions: the micro-expression coding file for emotion labels; default: SAMM_Micro_FACS_Codes*.xlsx
            in root if present.
    """
    root = Path(root)
    if not root.is_dir():
        raise _missing(root, ["the folder itself"])
    issues: list[Issue] = []
    if annotation is None:
        found = root_files(root, ANNOTATION_GLOBS)
        if not found:
            raise _missing(root, ["the coding workbook 'SAMM_LongVideos_V2_Release.xlsx' (or pass --annotation FILE)"])
        annotation = sorted(found, key=lambda p: natural_key(p.name))[-1]  # V1 < V2 < V3
        if len(found) > 1:
            issues.append(Issue(DATASET, "annotation_choice", f"several workbooks in root; using '{annotation.name}', "
                                f"ignoring {[p.name for p in found if p != annotation]}", "warning"))
    annotation = Path(annotation)
    if not annotation.is_file():
        raise _missing(root, [f"the annotation file '{annotation}'"])
    frames_root = next(filter(None, (folder_in_any_case(root, f.split("/")) for f in FRAME_FOLDERS)), None)
    if frames_root is None:
        raise _missing(root, [f"a frames folder: one of {', '.join(repr(f + '/') for f in FRAME_FOLDERS)}"])
    if emotions is None:
        found = root_files(root, (EMOTION_GLOB,))
        emotions = found[-1] if found else None
    labels = _emotions(Path(emotions), issues) if emotions is not None else None

    table = read_table(annotation, sheet=("FACS_Movement_Only",))
    col = {k: table.column(*names, required=k not in ("duration", "aus", "notes")) for k, names in {
        "subject": ("Subject",), "name": ("Filename",), "onset": ("Onset", "Onset Frame"),
        "apex": ("Apex", "Apex Frame"), "offset": ("Offset", "Offset Frame"), "duration": ("Duration",),
        "type": ("Type",), "aus": ("Action Units",), "notes": ("Notes",)}.items()}
    intervals: dict[str, list[Interval]] = {}
    subjects: dict[str, str] = {}
    seen: dict[str, int] = {}
    for row_no, row in table.rows:
        where = table.where(row_no)
        subject = subject_text(cell(row, col["subject"]), 3)
        name = str(cell(row, col["name"]) or "").strip()
        video = "_".join(name.split("_")[:2])
        if subject is None or not _VIDEO.fullmatch(video):
            issues.append(refused_row(f"{DATASET}/?/row{row_no}", "bad_row", f"{where}: no subject or a Filename not "
                                      f"like 006_1_2 ({name!r})"))
            continue
        sid = f"{DATASET}/{subject}/{video}"
        raw = {k: cell(row, col[k]) for k in ("onset", "apex", "offset")}
        values = {k: frame_value(v) for k, v in raw.items()}
        type_ = parse_type(cell(row, col["type"]))
        bad = [value_said(k, raw[k]) for k, v in values.items() if v is None] + (
            [f"type {cell(row, col['type'])!r}"] if type_ is None else [])
        if bad:
            issues.append(refused_row(sid, "bad_value", f"{where} ({name}): {', '.join(bad)} unreadable"))
            continue
        # 114.99999999999999 is the sheet's float arithmetic, not a fractional frame
        fractional = {k: v for k, v in values.items() if abs(v - round(v)) > 1e-6}
        if fractional:
            shown = ", ".join(f"{k} {v:g} -> {round_frame(v)}" for k, v in fractional.items())
            issues.append(Issue(sid, "fractional_frame", f"{where} ({name}): fractional frame numbers rounded to the "
                                f"nearest frame: {shown}", "warning"))
        onset, apex, offset = (round_frame(values[k]) for k in ("onset", "apex", "offset"))
        duration = frame_value(cell(row, col["duration"]))
        if duration is not None and abs(duration - (values["offset"] - values["onset"] + 1)) > 1e-6:
            issues.append(Issue(sid, "duration_mismatch", f"{where} ({name}): Duration {duration:g} is not offset - "
                                f"onset + 1 = {values['offset'] - values['onset'] + 1:g}", "warning"))
        if onset == 0:
            issues.append(Issue(sid, "onset_zero", f"{where} ({name}): onset 0 (frames are numbered from 1): kept, "
                                "starting at the first frame (SoftNet and MEAN drop such rows)", "warning"))
        if apex < 0:
            issues.append(Issue(sid, "apex_unknown", f"{where} ({name}): apex {apex} (not annotated); stored as "
                                "unknown", "warning"))
            apex = None
        if offset < onset:
            issues.append(refused_row(sid, "offset_before_onset", f"{where} ({name}): offset {offset} is before "
                                      f"onset {onset}"))
            continue
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            issues.append(Issue(sid, "duplicate_name", f"{where}: Filename {name} is used by an earlier row too; both "
                                "kept", "warning"))
        label, extra = None, {"row": row_no, "name": name, "au_text": str(cell(row, col["aus"]) or ""),
                              "notes": str(cell(row, col["notes"]) or "")}
        if labels is not None and type_ == "micro":
            if name in labels:
                label, extra["objective_class"] = labels[name]
            else:
                issues.append(Issue(sid, "emotion_missing", f"{where}: micro-expression {name} is not in the emotion "
                                    "file; no label", "warning"))
        intervals.setdefault(video, []).append(Interval(onset, apex, offset, type_, label, None, extra))
        known = subjects.setdefault(video, subject)
        if known != subject:
            issues.append(Issue(sid, "bad_value", f"{where}: Subject {subject} but video {video} belongs to {known}",
                                "error"))

    on_disk = {d.name: d for d in frames_root.iterdir() if d.is_dir()}
    out: list[LongVideo] = []
    for video in sorted(set(intervals) | set(on_disk), key=natural_key):
        folder = on_disk.get(video)
        v = LongVideo(DATASET, subjects.get(video, video.split("_")[0]), video, FPS, frames_root / video,
                      intervals=tuple(intervals.get(video, ())))
        if folder is not None and not _VIDEO.fullmatch(video):
            issues.append(Issue(f"{DATASET}/{video}", "junk_files", f"folder '{folder}' is not named like 006_1; "
                                "ignored", "warning"))
            continue
        if video not in intervals:
            issues.append(not_annotated(v.video_id, issues))
        v = attach_long_frames(v, folder, _FRAME, issues)
        out.append(check_video(v, issues))
    return finish_long(out, issues, annotation, strict)
