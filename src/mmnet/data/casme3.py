"""CAS(ME)^3 part A loader (Li et al., IEEE TPAMI 2022; docs/datasets.md, "Layouts accepted").

Accepted root layouts::

    ROOT/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx    (sheet 'label'; every cell is text)
    ROOT/spNO.1/b/color/175.jpg                          (or the release's nesting
                                                          part_A/data/part_A_split/part_A/spNO.1/...)

A task folder holds a long recording shared by several micro-expressions, so (Subject, Filename)
repeats: repeated pairs are named ``b``, ``b2``, ``b3`` ... in file order (meb's convention), and
each sample's frames are limited to its onset..offset span. An offset of 0 means "not given"
(as in CAS(ME)^2): it becomes None with a warning and the span ends at the apex. The upper-case
Filename 'J' is matched to its folder case-insensitively. Labels are lower-cased ('Others').

The quirks the long-video loader (casme3_long.py) reports are reported here with the same rules and
wording: an apex of 0 is not annotated (``apex_unknown``, an error: recognition needs the apex), an
onset of 0 starts at the first frame, 1 (``onset_zero``), and a micro-expression longer than 10 s is
kept and reported (``long_micro``).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from .annotations import read_table
from .case_keys import fold_case
from .common import DatasetLoad, attach_frames, find_folder, finish, missing_dataset, natural_key, samples_from_table
from .long_video import apex_zero_message
from .root_files import folder_in_any_case, root_files
from .sample import Issue, Sample
from .unannotated import report_unannotated

__all__ = ["load_casme3", "find_frames_root", "FPS", "onset_zero", "long_micro"]

FPS = 30.0
LONG_MICRO_S = 10.0  # a micro-expression longer than this is reported (CAS(ME)^3's median is 0.73 s)

ANNOTATION_GLOB = "*part_A*label*.xlsx"
FRAME_ROOTS = ("", "part_A", "data/part_A_split/part_A", "part_A/data/part_A_split/part_A")
_FRAME = re.compile(r"(\d+)\.jpe?g", re.IGNORECASE)

COLUMNS = {
    "subject": ("Subject",),
    "clip": ("Filename",),
    "onset": ("Onset", "OnsetFrame"),
    "apex": ("Apex", "ApexFrame"),
    "offset": ("Offset", "OffsetFrame"),
    "aus": ("AU", "Action Units"),
    "label": ("emotion", "Estimated Emotion"),
    "objective": ("Objective class", "Objective Classes"),
}

_LAYOUT_HELP = [
    "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx   (sheet 'label')",
    "spNO.1/b/color/175.jpg ...   (or part_A/data/part_A_split/part_A/spNO.1/...)",
]


def _missing(root: Path, missing: list[str]):
    return missing_dataset("CAS(ME)^3", root, missing, _LAYOUT_HELP,
                           "its authors at the Institute of Psychology, Chinese Academy of Sciences",
                           "casme3")


def onset_zero(sid: str, where: str) -> Issue:
    """CAS(ME)^3 numbers frames from 1: an onset of 0 is read as the first frame."""
    return Issue(sid, "onset_zero", f"{where}: onset 0 (frames are numbered from 1): kept, starting at the first "
                 "frame", "warning")


def long_micro(sid: str, where: str, onset: int, offset: int) -> Issue | None:
    """A warning for a micro-expression longer than LONG_MICRO_S (the 3,456-frame one), else None."""
    frames = offset - onset + 1
    if frames <= LONG_MICRO_S * FPS:
        return None
    return Issue(sid, "long_micro", f"{where}: a micro-expression {frames} frames long ({frames / FPS:.1f} s at "
                 f"{FPS:g} fps); kept as annotated", "warning")


def find_frames_root(root: Path) -> Path | None:
    """The folder under a CASME^3 root (one of FRAME_ROOTS) that holds the spNO.* subject folders, or None."""
    for sub in FRAME_ROOTS:
        base = folder_in_any_case(root, sub.split("/") if sub else [])
        if base is not None and any(p.name.lower().startswith("spno.") and p.is_dir() for p in base.iterdir()):
            return base
    return None


def load_casme3(
    root: str | Path,
    *,
    annotation: str | Path | None = None,
    strict: bool = False,
    corrections: bool = True,
) -> DatasetLoad:
    """Load CAS(ME)^3 part A micro-expressions (colour frames).

    Args:
        root: dataset folder (see the module docstring).
        annotation: label file; default: the ``*part_A*label*.xlsx`` in root.
        strict: raise on any error-severity issue.
        corrections: apply the known corrections (corrections.py), logged as warnings.
    """
    root = Path(root)
    if not root.is_dir():
        raise _missing(root, ["the folder itself"])
    if annotation is None:
        found = root_files(root, [ANNOTATION_GLOB])  # not Excel's lock file ~$cas(me)3...xlsx
        if not found:
            raise _missing(root, ["an annotation file 'cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx' "
                                  "(or pass --annotation FILE)"])
        annotation = found[-1]
    annotation = Path(annotation)
    if not annotation.is_file():
        raise _missing(root, [f"the annotation file '{annotation}'"])
    frames_root = find_frames_root(root)
    if frames_root is None:
        raise _missing(root, ["subject folders spNO.<n>/<task>/color/ (directly in root or under "
                              "part_A/data/part_A_split/part_A/)"])

    table = read_table(annotation, sheet=("label",))
    samples, issues = samples_from_table(table, dataset="casme3", columns=COLUMNS, duplicates="suffix",
                                         corrections=corrections)
    fixed: list[Sample] = []
    for s in samples:
        where = table.where(s.extra["row"])
        if s.offset == 0:
            issues.append(Issue(s.sample_id, "offset_zero", "offset is 0 (not given); the span ends at the apex",
                                "warning"))
            s = replace(s, offset=None)
        if s.apex == 0:  # check_sample reports it (apex_unknown), with this reason
            s = replace(s, apex=None, extra={**s.extra, "unknown_apex": apex_zero_message(where)})
        if s.onset == 0:
            issues.append(onset_zero(s.sample_id, where))
            s = replace(s, onset=1)
        if s.offset is not None and (too_long := long_micro(s.sample_id, where, s.onset, s.offset)):
            issues.append(too_long)
        fixed.append(s)

    def locate(s: Sample):
        task = s.extra["annotated_clip"]  # 'b' for the repeats named b2, b3 ...
        parent = frames_root / s.subject
        folder, exact = find_folder(parent, task)
        color = folder / "color" if folder is not None else None
        if color is not None and not color.is_dir():
            color = None
        return color, exact, parent / task / "color"

    out, used = attach_frames(fixed, locate, _FRAME, issues, window=True)
    subjects = sorted((p for p in frames_root.iterdir() if p.is_dir() and p.name.lower().startswith("spno.")),
                      key=lambda p: natural_key(p.name))
    clips = [(f"casme3/{sub.name}/{task.name}", task / "color") for sub in subjects
             for task in sorted(p for p in sub.iterdir() if (p / "color").is_dir())]
    report_unannotated(clips, used, _FRAME, issues, why=f"no row in '{annotation.name}'",
                       advice="add its rows to the table if it holds micro-expressions to train on",
                       key=lambda sid: re.sub(r"\d+$", "", fold_case(sid)))  # rows b2, b3 ... are folder b's
    return finish(out, issues, annotation, strict)

