"""SAMM loader (Davison et al., IEEE TAFFC 2016; docs/datasets.md, "Layouts accepted").

Accepted root layouts::

    ROOT/SAMM_Micro_FACS_Codes_v2.xlsx     (sheet MICRO_ONLY; header on row 14 or row 1: it is searched)
    ROOT/SAMM/006/006_1_2/006_05562.jpg    (or SAMM_CROP/, SAMM_cropped/, SAMM_Cropped/, or ROOT/006/... )

Subjects stay text ('006'); the frame number is the part after the last '_' of the file name.
Frames are greyscale; ``mmnet.media.read_rgb`` expands them to RGB.
"""

from __future__ import annotations

import re
from pathlib import Path

from .annotations import read_table
from .common import (
    DatasetLoad,
    attach_frames,
    find_folder,
    finish,
    missing_dataset,
    missing_subject,
    samples_from_table,
)
from .crop_state import uncropped_issue
from .root_files import folder_in_any_case, root_files
from .sample import Issue, Sample
from .unannotated import report_unannotated

__all__ = ["load_samm", "FRAME_FOLDERS"]

# Cropped releases (and `mmnet prepare` output) first: a root holding both reads the aligned crops. The last, SAMM/,
# holds the uncropped full frames (an uncropped_frames warning).
FRAME_FOLDERS = ("SAMM_cropped", "SAMM_CROP", "SAMM_Cropped", "SAMM")
ANNOTATION_GLOB = "SAMM*.xlsx"
_FRAME = re.compile(r".*_(\d+)\.(?:jpe?g|png|bmp)", re.IGNORECASE)

COLUMNS = {
    "subject": ("Subject",),
    "clip": ("Filename",),
    "onset": ("Onset Frame", "OnsetFrame", "Onset"),
    "apex": ("Apex Frame", "ApexFrame", "Apex"),
    "offset": ("Offset Frame", "OffsetFrame", "Offset", "OffsetF"),
    "aus": ("Action Units", "AU"),
    "label": ("Estimated Emotion", "Emotion", "Emotions"),
    "objective": ("Objective Classes", "Objective Class"),
}

_LAYOUT_HELP = [
    "SAMM_Micro_FACS_Codes_v2.xlsx   (sheet MICRO_ONLY)",
    "SAMM/006/006_1_2/006_05562.jpg ...   (or SAMM_CROP/..., or 006/... directly in the root)",
]


def _missing(root: Path, missing: list[str]):
    return missing_dataset("SAMM", root, missing, _LAYOUT_HELP,
                           "its authors at Manchester Metropolitan University",
                           "samm")


def _frames_root(root: Path, frames: str | None) -> Path | None:
    if frames is not None:
        return folder_in_any_case(root, Path(frames).parts)
    for name in FRAME_FOLDERS:  # in any case: 'samm_cropped/' copied from Windows is SAMM_cropped/
        if (folder := folder_in_any_case(root, [name])) is not None:
            return folder
    if any(p.is_dir() and re.fullmatch(r"\d{3}", p.name) for p in root.iterdir()):
        return root
    return None


def load_samm(
    root: str | Path,
    *,
    annotation: str | Path | None = None,
    strict: bool = False,
    frames: str | None = None,
    corrections: bool = True,
) -> DatasetLoad:
    """Load SAMM micro-movements: one Sample per coding row, frames from disk.

    Args:
        root: dataset folder.
        annotation: coding file; default: the SAMM*.xlsx in root.
        strict: raise on any error-severity issue.
        frames: frames folder name under root (default: the first of ``FRAME_FOLDERS`` present, or root).
        corrections: apply the known apex corrections (corrections.py), logged as warnings.
    """
    root = Path(root)
    if not root.is_dir():
        raise _missing(root, ["the folder itself"])
    issues: list[Issue] = []
    if annotation is None:
        found = root_files(root, [ANNOTATION_GLOB])
        if not found:
            raise _missing(root, ["an annotation file 'SAMM_Micro_FACS_Codes_v2.xlsx' (or pass --annotation FILE)"])
        annotation = found[-1]  # names carry versions/dates; the last sorts newest
        if len(found) > 1:
            issues.append(Issue("samm", "annotation_choice", f"several SAMM*.xlsx in root; using '{annotation.name}', "
                                f"ignoring {[p.name for p in found[:-1]]}", "warning"))
    annotation = Path(annotation)
    if not annotation.is_file():
        raise _missing(root, [f"the annotation file '{annotation}'"])
    frames_root = _frames_root(root, frames)
    if frames_root is None:
        wanted = [frames] if frames else list(FRAME_FOLDERS)
        raise _missing(root, [f"a frames folder: one of {', '.join(repr(w + '/') for w in wanted)}"])
    if frames_root != root and frames_root.name.lower() == FRAME_FOLDERS[-1].lower():
        issues.append(uncropped_issue("samm", frames_root, root, f"{FRAME_FOLDERS[0]}/"))

    table = read_table(annotation, sheet=("MICRO_ONLY",))
    samples, row_issues = samples_from_table(table, dataset="samm", columns=COLUMNS, subject_width=3,
                                             corrections=corrections)
    issues += row_issues

    def locate(s: Sample):
        parent = frames_root / s.subject
        folder, exact = find_folder(parent, s.clip)
        if not parent.is_dir():
            return folder, exact, f"{parent / s.clip} ({missing_subject(parent, s.subject, 3)})"
        return folder, exact, parent / s.clip

    out, used = attach_frames(samples, locate, _FRAME, issues)
    subjects = [p for p in frames_root.iterdir()
                if p.is_dir() and (frames_root != root or re.fullmatch(r"\d+", p.name))]  # root: only 006/ ...
    clips = [(f"samm/{sub.name}/{folder.name}", folder) for sub in sorted(subjects)
             for folder in sorted(p for p in sub.iterdir() if p.is_dir())]
    report_unannotated(clips, used, _FRAME, issues, why=f"no row in '{annotation.name}'",
                       advice="add its row to the table if it is a clip to train on")
    load = finish(out, issues, annotation, strict)
    load.frames_dirs = {"samm": frames_root}
    return load
