"""MMEW loader (Ben et al., IEEE TPAMI 2021; docs/datasets.md, "Layouts accepted").

Both layouts seen for the micro-expression part are accepted::

    ROOT/MMEW_Micro_Exp.xlsx                                  (or MMEW_Micro_Exp_v2.xlsx)
    ROOT/Micro_Expression/happiness/S01-01-001/1.jpg          meb's layout, no subject level
    ROOT/Micro_Expression/S01/happiness/S01-01-001/1.jpg      the official description (also without
    ROOT/S01/happiness/S01-01-001/1.jpg                       Micro_Expression/)

The clip folder is found by its name (the ``Filename`` cell) anywhere in those trees, so the
emotion folder may be named ``others`` or ``repression`` (meb's name) without special cases.
Frames are numbered from 1, unpadded.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .annotations import read_table
from .case_keys import fold_case
from .common import DatasetLoad, attach_frames, finish, missing_dataset, samples_from_table
from .root_files import folder_in_any_case, root_files
from .sample import Issue, Sample
from .unannotated import report_unannotated

__all__ = ["load_mmew"]

ANNOTATION_NAMES = ("MMEW_Micro_Exp.xlsx", "MMEW_Micro_Exp_v2.xlsx")
_FRAME = re.compile(r"(\d+)\.jpe?g", re.IGNORECASE)

COLUMNS = {
    "subject": ("Subject",),
    "clip": ("Filename",),
    "onset": ("OnsetFrame", "Onset Frame", "Onset", "OnsetF"),
    "apex": ("ApexFrame", "Apex Frame", "Apex"),
    "offset": ("OffsetFrame", "Offset Frame", "Offset"),
    "aus": ("Action Units", "AU"),
    "label": ("Estimated Emotion", "Emotion", "Emotions"),
    "objective": ("Objective Classes", "Objective Class"),
}

_LAYOUT_HELP = [
    "MMEW_Micro_Exp.xlsx",
    "Micro_Expression/happiness/S01-01-001/1.jpg ...   (or Micro_Expression/S01/happiness/S01-01-001/1.jpg)",
]


def _missing(root: Path, missing: list[str]):
    return missing_dataset("MMEW", root, missing, _LAYOUT_HELP, "its authors (http://www.dpailab.com/database.html)",
                           "mmew")


def _index_clip_folders(base: Path, depth: int = 3) -> dict[str, list[Path]]:
    """Folder name -> folders of that name, searched ``depth`` levels below ``base``."""
    index: dict[str, list[Path]] = {}
    level = [base]
    for _ in range(depth):
        nxt = []
        for d in level:
            with os.scandir(d) as it:
                for e in it:
                    if e.is_dir():
                        p = Path(e.path)
                        index.setdefault(e.name, []).append(p)
                        nxt.append(p)
        level = nxt
    return index


def load_mmew(
    root: str | Path,
    *,
    annotation: str | Path | None = None,
    strict: bool = False,
    corrections: bool = True,
) -> DatasetLoad:
    """Load the MMEW micro-expressions: one Sample per annotation row, frames from disk.

    Args:
        root: dataset folder (``MMEW_Final`` in the release).
        annotation: annotation file; default: MMEW_Micro_Exp.xlsx (or _v2) in root.
        strict: raise on any error-severity issue.
        corrections: apply known corrections (none are listed for MMEW: meb's 16 fixes are by row
            index with unpublished values).
    """
    root = Path(root)
    if not root.is_dir():
        raise _missing(root, ["the folder itself"])
    issues: list[Issue] = []
    if annotation is None:
        found = root_files(root, ANNOTATION_NAMES)
        if not found:
            raise _missing(root, [f"an annotation file: one of {', '.join(repr(n) for n in ANNOTATION_NAMES)} "
                                  "(or pass --annotation FILE)"])
        annotation = found[0]
    annotation = Path(annotation)
    if not annotation.is_file():
        raise _missing(root, [f"the annotation file '{annotation}'"])
    base = folder_in_any_case(root, ["Micro_Expression"]) or root
    index = _index_clip_folders(base)
    if not index:
        raise _missing(root, ["a frames folder 'Micro_Expression/' (or subject folders S01/ ...)"])

    table = read_table(annotation, sheet=None)
    samples, row_issues = samples_from_table(table, dataset="mmew", columns=COLUMNS, corrections=corrections)
    issues += row_issues
    # fold_case, not lower(): also a folder copied from macOS (decomposed accents) or a Turkish 'İ' matches its row
    folded: dict[str, list[Path]] = {}
    for name, folders in index.items():
        folded.setdefault(fold_case(name), []).extend(folders)

    def locate(s: Sample):
        candidates = index.get(s.clip)
        exact = candidates is not None
        candidates = candidates or folded.get(fold_case(s.clip), [])
        if len(candidates) > 1:  # same name under two emotions/subjects: prefer the annotated emotion
            preferred = [c for c in candidates if fold_case(c.parent.name) == s.label] or candidates
            issues.append(Issue(s.sample_id, "clip_ambiguous", f"{len(candidates)} folders named '{s.clip}': "
                                f"{[str(c) for c in candidates]}; using '{preferred[0]}'", "warning"))
            candidates = preferred
        return (candidates[0] if candidates else None), exact, f"'{s.clip}' under {base}"

    out, used = attach_frames(samples, locate, _FRAME, issues)
    subjects = {s.subject for s in samples}
    report_unannotated([(f"mmew/{_subject_of(p, base, subjects)}/{p.name}", p)
                        for p in sorted(p for found in index.values() for p in found)],
                       used, _FRAME, issues, why=f"no row in '{annotation.name}'",
                       advice="add its row to the table if it is a clip to train on",
                       key=lambda sid: fold_case(sid.rsplit("/", 1)[-1]))  # folders are found by clip name alone
    return finish(out, issues, annotation, strict)


def _subject_of(folder: Path, base: Path, subjects: set[str]) -> str:
    """The subject of a clip folder no row names: its subject folder (S01/happiness/clip), else the
    clip name's first part when it is an annotated subject (S01-01-001), else '?'."""
    if folder.parent.parent != base and folder.parent != base:
        return folder.parent.parent.name
    head = folder.name.split("-")[0]
    return head if head in subjects else "?"
