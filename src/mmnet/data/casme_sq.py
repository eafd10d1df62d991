"""CAS(ME)^2 long videos (``CASME_sq``, Qu et al., IEEE TAFFC 2018) for spotting: micro and macro.

Accepted root layout (the release tree)::

    ROOT/CAS(ME)^2code_final.xlsx         (or code_final.xlsx, CASME_sq_gt.xlsx: any *code_final*.xlsx / CASME_sq*.xlsx)
    ROOT/rawpic/s15/15_0101disgustingteeth/img1.jpg ...   (img001.jpg padding is read the same)

The workbook has three sheets: ``CASFEcode_final`` with **no header row** (subject index 1-22,
expression id such as ``anger1_1``, onset, apex, offset, AU, emotion class, type, self-report),
``naming rule1`` (subject number 15, folder ``s15``, index 1) and ``naming rule2`` (stimulus code
``0101``, name ``disgust1``). A row is placed by index -> subject folder and by the stimulus name
before the last ``_`` -> code -> the folder ``rawpic/s15/15_0101*``. The video id is ``15_0101``
(MEGC's), the subject ``s15``; 30 fps.

Quirks, each reported as an Issue (docs/spotting.md lists them):

* offset 0 (44 macro rows): the offset is taken to be the apex, as SoftNet, MEAN, MTSN and the
  MEGC2020 baseline do (warning ``offset_zero``);
* apex 0 (one row): apex unknown, stored as None (warning ``apex_unknown``);
* apex after the offset (three macro rows): kept as annotated (warning ``apex_outside``);
* frame folders without any annotation row: kept, with no intervals (warning ``not_annotated``):
  they are part of the videos a spotter is scored on.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..spotting.intervals import Interval, parse_type
from .annotations import label_text, read_rows
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
    zero_frames,
)
from .long_video import cell_text as _text
from .root_files import root_files
from .sample import Issue

__all__ = ["load_casme_sq", "FPS", "recording_id"]

FPS = 30.0
#: CAS(ME)^2's subject numbers (sheet 'naming rule1': folders s15 ... s40) and stimulus codes ('naming rule2').
SUBJECT_NUMBERS = (15, 16, *range(19, 28), *range(29, 39), 40)
STIMULUS_CODES = ("0101", "0102", "0401", "0402", "0502", "0503", "0505", "0507", "0508")
DATASET = "casme-sq"
ANNOTATION_GLOBS = ("*code_final*.xlsx", "CASME_sq*.xlsx")
SHEETS = ("CASFEcode_final", "naming rule1", "naming rule2")
_FRAME = re.compile(r"img(\d+)\.jpe?g", re.IGNORECASE)
_VIDEO = re.compile(r"(\d+)_(\d{4})(.*)")

_LAYOUT_HELP = [
    "CAS(ME)^2code_final.xlsx   (sheets CASFEcode_final, naming rule1, naming rule2)",
    "rawpic/s15/15_0101disgustingteeth/img1.jpg ...",
]


def _missing(root: Path, missing: list[str]):
    return missing_dataset("CAS(ME)^2", root, missing, _LAYOUT_HELP,
                           "its authors at the Institute of Psychology, Chinese Academy of Sciences", DATASET)


def _naming(path: Path, issues: list[Issue]) -> tuple[dict[int, tuple[str, str]], dict[str, str]]:
    """index -> (subject number, folder) from 'naming rule1'; stimulus name -> code from 'naming rule2'."""
    from ..errors import AnnotationError

    subjects: dict[int, tuple[str, str]] = {}
    sheet, rows = read_rows(path, SHEETS[1])
    for n, row in enumerate(rows, start=1):
        cells = [_text(c) for c in row[:3]] + [""] * max(0, 3 - len(row))
        if not any(cells):
            continue
        number, folder, index = cells
        if not index.isdecimal() or not number.isdecimal():
            raise AnnotationError(f"'{path}' sheet '{sheet}' row {n}: expected subject number, folder, index; got "
                                  f"{cells}.")
        known = subjects.setdefault(int(index), (number, folder))
        if known != (number, folder):
            raise AnnotationError(f"'{path}' sheet '{sheet}' row {n}: index {index} is {known} in an earlier row, "
                                  f"{(number, folder)} here.")
    stimuli: dict[str, str] = {}
    sheet, rows = read_rows(path, SHEETS[2])
    for n, row in enumerate(rows, start=1):
        code, name = (_text(c) for c in (list(row[:2]) + [None, None])[:2])
        if not code and not name:
            continue
        if not code.isdecimal() or not name:
            raise AnnotationError(f"'{path}' sheet '{sheet}' row {n}: expected a stimulus code and name; got "
                                  f"{[code, name]}.")
        stimuli[name.lower()] = code.zfill(4)  # a re-saved sheet turns '0101' into 101
    return subjects, stimuli


def _interval(row: list, where: str, sid: str, issues: list[Issue]) -> Interval | None:
    """One annotation row -> Interval, quirks fixed and reported; None (with an error) when it cannot be used."""
    raw = {name: row[i] if i < len(row) else None for i, name in ((2, "onset"), (3, "apex"), (4, "offset"))}
    values = {k: frame_value(v) for k, v in raw.items()}
    bad = [value_said(k, raw[k]) for k, v in values.items() if v is None or not v.is_integer() or v < 0]
    if bad:
        issues.append(refused_row(sid, "bad_value", f"{where}: {', '.join(bad)} not a frame number"))
        return None
    onset, apex, offset = (int(values[k]) for k in ("onset", "apex", "offset"))
    type_ = parse_type(row[7] if len(row) > 7 else None)
    if type_ is None:
        issues.append(refused_row(sid, "bad_value", f"{where}: type {row[7] if len(row) > 7 else None!r} is not "
                                  "micro- or macro-expression"))
        return None
    fixed = zero_frames(apex, offset, where, sid, issues)
    if fixed is None:
        return None
    apex, offset = fixed
    if offset < onset:
        issues.append(refused_row(sid, "offset_before_onset", f"{where}: offset {offset} is before onset {onset}"))
        return None
    extra = {"row": where.rsplit(" ", 1)[-1], "expression": _text(row[1]), "au_text": _text(row[5] if len(row) > 5
             else None), "self_report": _text(row[8]) if len(row) > 8 else ""}
    return Interval(onset, apex, offset, type_, label_text(row[6] if len(row) > 6 else None), None, extra)


def load_casme_sq(
    root: str | Path,
    *,
    annotation: str | Path | None = None,
    strict: bool = False,
    frames: str = "rawpic",
) -> LongVideoLoad:
    """Load CAS(ME)^2's long videos with their micro- and macro-expression intervals.

    Args:
        root: the ``CASME_sq`` folder.
        annotation: the coding workbook; default: the ``*code_final*.xlsx`` (or ``CASME_sq*.xlsx``) in root.
        strict: raise on any error-severity issue.
        frames: the frames folder under root (default ``rawpic``).
    """
    root = Path(root)
    if not root.is_dir():
        raise _missing(root, ["the folder itself"])
    issues: list[Issue] = []
    if annotation is None:
        found = root_files(root, ANNOTATION_GLOBS)
        if not found:
            raise _missing(root, ["the coding workbook 'CAS(ME)^2code_final.xlsx' (or pass --annotation FILE)"])
        annotation = found[0]
        if len(found) > 1:
            issues.append(Issue(DATASET, "annotation_choice", f"several workbooks in root; using '{annotation.name}', "
                                f"ignoring {[p.name for p in found[1:]]}", "warning"))
    annotation = Path(annotation)
    if not annotation.is_file():
        raise _missing(root, [f"the annotation file '{annotation}'"])
    frames_root = root / frames
    if not frames_root.is_dir():
        raise _missing(root, [f"the frames folder '{frames}/' (s15/15_0101disgustingteeth/img1.jpg ...)"])

    subjects, stimuli = _naming(annotation, issues)
    sheet, rows = read_rows(annotation, SHEETS[0])
    videos: dict[str, LongVideo] = {}
    intervals: dict[str, list[Interval]] = {}
    for n, row in enumerate(rows, start=1):
        row = list(row)
        if not any(_text(c) for c in row):
            continue
        where = f"'{annotation.name}' sheet '{sheet}' row {n}"
        index, expression = _text(row[0]), _text(row[1] if len(row) > 1 else None)
        if n == 1 and not index.isdecimal() and "subject" in index.lower():
            issues.append(Issue(DATASET, "header_row", f"{where}: a header row (the release has none); skipped",
                                "warning"))
            continue
        stimulus = expression.rsplit("_", 1)[0].lower()
        if not index.isdecimal() or int(index) not in subjects or stimulus not in stimuli:
            what = (f"subject index {index!r} is not in sheet '{SHEETS[1]}'" if not index.isdecimal()
                    or int(index) not in subjects else f"stimulus {stimulus!r} is not in sheet '{SHEETS[2]}'")
            issues.append(refused_row(f"{DATASET}/?/row{n}", "bad_row", f"{where}: {what}"))
            continue
        number, folder = subjects[int(index)]
        video_id = f"{number}_{stimuli[stimulus]}"
        sid = f"{DATASET}/{folder}/{video_id}"
        iv = _interval(row, f"{where}", sid, issues)
        if iv is None:
            continue
        intervals.setdefault(video_id, []).append(iv)
        videos.setdefault(video_id, LongVideo(DATASET, folder, video_id, FPS, frames_root / folder / f"{video_id}*",
                                              extra={"stimulus": stimulus}))

    # every video folder on disk, annotated or not
    on_disk: dict[str, tuple[str, Path]] = {}
    for subject_dir in sorted(p for p in frames_root.iterdir() if p.is_dir()):
        for d in sorted(p for p in subject_dir.iterdir() if p.is_dir()):
            m = _VIDEO.fullmatch(d.name)
            if m is None:
                issues.append(Issue(f"{DATASET}/{subject_dir.name}", "junk_files", f"folder '{d}' is not named "
                                    "<subject>_<code><name>; ignored", "warning"))
                continue
            key = f"{m.group(1)}_{m.group(2)}"
            if key in on_disk:
                issues.append(Issue(f"{DATASET}/{subject_dir.name}/{key}", "duplicate", f"two folders for video {key}: "
                                    f"'{on_disk[key][1].name}' and '{d.name}'; using the first", "error"))
                continue
            on_disk[key] = (subject_dir.name, d)
    out: list[LongVideo] = []
    for key in sorted(set(videos) | set(on_disk), key=natural_key):
        video = videos.get(key)
        if video is None:
            subject, folder = on_disk[key]
            video = LongVideo(DATASET, subject, key, FPS, folder, extra={"folder": folder.name})
            issues.append(not_annotated(video.video_id, issues))
        else:
            video = LongVideo(DATASET, video.subject, key, FPS, video.path,
                              intervals=tuple(intervals[key]), extra=video.extra)
        found = on_disk.get(key, (None, None))[1]
        if found is not None:
            video.extra["folder"] = found.name
        video = attach_long_frames(video, found, _FRAME, issues)
        out.append(check_video(video, issues))
    return finish_long(out, issues, annotation, strict)


_RECORDING = re.compile(r"(\d{2})_(\d{4})([A-Za-z]+)")


def recording_id(path: Path) -> str | None:
    """The MEGC id (``15_0101``) of a CAS(ME)^2 recording, a frame folder or a video file named ``NN_CODEname``:
    one under ``rawpic/sNN/`` or ``rawvideo/sNN/`` (the release's tree), or one whose subject number and stimulus
    code are CAS(ME)^2's; None for any other name (``01_2023interview`` is a recording of its own)."""
    name = path.stem if path.is_file() else path.name
    match = _RECORDING.match(name)
    if match is None:
        return None
    parent = path.parent
    in_tree = bool(re.fullmatch(r"s\d{2}", parent.name, re.IGNORECASE)) and parent.parent.name.lower() in (
        "rawpic", "rawvideo")
    named = _RECORDING.fullmatch(name) and int(match[1]) in SUBJECT_NUMBERS and match[2] in STIMULUS_CODES
    return f"{match[1]}_{match[2]}" if in_tree or named else None
