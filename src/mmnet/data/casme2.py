"""CASME II loader (Yan et al., PLoS ONE 2014; docs/datasets.md, "Layouts accepted").

Accepted root layouts (first found wins unless ``layout``, data.layout, is given; a warning names the others of the
same kind, crops or raw frames, when several are present)::

    ROOT/CASME2-coding-20190701.xlsx        (or -20140508; 9 or 10 columns, blank C and G)
    ROOT/CASME2-ObjectiveClasses.xlsx       (optional; its objective classes win over the coding file's)
    ROOT/Cropped/sub01/EP02_01f/reg_img46.jpg                    layout "cropped"
    ROOT/Cropped-updated/Cropped/sub01/EP02_01f/reg_img46.jpg    layout "cropped-updated" (MMNet's copy)
    ROOT/CASME2_RAW_selected/sub01/EP02_01f/img46.jpg            layout "raw-selected"
    ROOT/CASME2-RAW/sub01/EP02_01f/img46.jpg                     layout "raw"

``root`` may also be a frames folder itself (holding sub01/ ...), with ``annotation`` given.
Clip names are never parsed (EP01_2, EP06_02_01, EP09f exist); subjects stay text ('01').
"""

from __future__ import annotations

import re
from pathlib import Path

from ..media import PREPARE_SUMMARY
from .annotations import read_table
from .common import (
    DatasetLoad,
    attach_frames,
    find_folder,
    finish,
    missing_dataset,
    missing_subject,
    objective_class,
    samples_from_table,
)
from .crop_state import uncropped_issue
from .root_files import folder_in_any_case, root_file, root_files
from .sample import Issue, Sample
from .unannotated import report_unannotated

__all__ = ["load_casme2", "LAYOUTS", "ANNOTATION_NAMES"]

# layout -> (frames folder under root, frame file pattern)
LAYOUTS: dict[str, tuple[str, re.Pattern]] = {
    "cropped": ("Cropped", re.compile(r"reg_img(\d+)\.jpg", re.IGNORECASE)),
    "cropped-updated": ("Cropped-updated/Cropped", re.compile(r"reg_img(\d+)\.jpg", re.IGNORECASE)),
    "raw-selected": ("CASME2_RAW_selected", re.compile(r"img(\d+)\.jpg", re.IGNORECASE)),
    "raw": ("CASME2-RAW", re.compile(r"img(\d+)\.jpg", re.IGNORECASE)),
}
# Newest first: when a root holds both, the 2019 coding (the current official download) is used.
ANNOTATION_NAMES = ("CASME2-coding-20190701.xlsx", "CASME2-coding-20140508.xlsx")
OBJECTIVE_NAME = "CASME2-ObjectiveClasses.xlsx"
_ANY_FRAME = re.compile(r"(?:reg_)?img(\d+)\.jpg", re.IGNORECASE)

COLUMNS = {
    "subject": ("Subject",),
    "clip": ("Filename",),
    "onset": ("OnsetFrame", "Onset Frame", "Onset"),
    "apex": ("ApexFrame", "Apex Frame", "Apex"),
    "offset": ("OffsetFrame", "Offset Frame", "Offset"),
    "aus": ("Action Units", "AU"),
    "label": ("Estimated Emotion", "Emotion", "Emotions"),
    "objective": ("Objective Classes", "Objective Class"),
}

_LAYOUT_HELP = [
    "CASME2-coding-20190701.xlsx   (or CASME2-coding-20140508.xlsx)",
    "Cropped/sub01/EP02_01f/reg_img46.jpg ...   (or Cropped-updated/Cropped/..., CASME2_RAW_selected/.../img46.jpg)",
]


def _missing(root: Path, missing: list[str]):
    return missing_dataset("CASME II", root, missing, _LAYOUT_HELP, "its authors (http://fu.psych.ac.cn/CASME/casme2-en.php)",
                           "casme2")


def _frames_dir(root: Path, layout: str | None) -> tuple[Path, re.Pattern, str] | None:
    if layout is not None:
        from ..errors import verify_choice

        verify_choice("CASME II layout", layout, tuple(LAYOUTS))
        sub, pattern = LAYOUTS[layout]
        folder = folder_in_any_case(root, sub.split("/"))
        return (folder, pattern, layout) if folder is not None else None
    for name, (sub, pattern) in LAYOUTS.items():
        if (folder := folder_in_any_case(root, sub.split("/"))) is not None:  # 'cropped/' copied from Windows too
            return folder, pattern, name
    if any(p.is_dir() and re.fullmatch(r"sub\d+", p.name, re.IGNORECASE) for p in root.iterdir()):
        return root, _ANY_FRAME, "root"  # root is a frames folder itself
    return None


def load_casme2(
    root: str | Path,
    *,
    annotation: str | Path | None = None,
    strict: bool = False,
    layout: str | None = None,
    corrections: bool = True,
) -> DatasetLoad:
    """Load CASME II: one Sample per coding-file row, with the frames found on disk.

    Args:
        root: dataset folder (see the module docstring for layouts).
        annotation: coding file (.xlsx, or .csv); default: the newest CASME2-coding-*.xlsx in root (any case), else
            a CASME2-coding-*.csv saved from it.
        strict: raise on any error-severity issue.
        layout: force one of ``LAYOUTS``; default: the first present.
        corrections: apply the known corrections (none are listed for CASME II at present).
    """
    root = Path(root)
    if not root.is_dir():
        raise _missing(root, ["the folder itself"])
    issues: list[Issue] = []
    if annotation is None:
        # the names in any case, then any other coding workbook, then a CSV saved from one (the workbook wins)
        found = root_files(root, (*ANNOTATION_NAMES, "CASME2-coding-*.xlsx", "CASME2-coding-*.csv"))
        if not found:
            raise _missing(root, [f"an annotation file: one of {', '.join(repr(n) for n in ANNOTATION_NAMES)} "
                                  "(or a .csv saved from one; or pass --annotation FILE)"])
        annotation = found[0]
        if len(found) > 1:
            issues.append(Issue("casme2", "annotation_choice", f"several coding files in root; using "
                                f"'{found[0].name}', ignoring {[p.name for p in found[1:]]}", "warning"))
    annotation = Path(annotation)
    if not annotation.is_file():
        raise _missing(root, [f"the annotation file '{annotation}'"])
    frames_at = _frames_dir(root, layout)
    if frames_at is None:
        wanted = [LAYOUTS[layout][0]] if layout else [v[0] for v in LAYOUTS.values()]
        raise _missing(root, [f"a frames folder: one of {', '.join(repr(w + '/') for w in wanted)}"])
    frames_root, pattern, found_layout = frames_at
    if layout is None and (others := _other_layouts(root, found_layout)):
        used = f"'{LAYOUTS[found_layout][0]}/' (layout {found_layout})"
        issues.append(Issue("casme2", "frames_layout_choice", f"several frames folders in root: {used} is used, "
                            f"{', '.join(others)} not; set data.layout (check-data: --layout) to choose one",
                            "warning"))

    table = read_table(annotation, sheet=("Sheet1",))
    samples, row_issues = samples_from_table(table, dataset="casme2", columns=COLUMNS, subject_width=2,
                                             subject_prefix="sub", corrections=corrections)
    issues += row_issues
    if (objective := root_file(root, OBJECTIVE_NAME)).is_file():
        issues += _join_objective(objective, samples, annotation.name)

    failed = _prepare_failures(root)

    def locate(s: Sample):
        parent = find_folder(frames_root, f"sub{s.subject}")[0] or frames_root / f"sub{s.subject}"  # or Sub02/
        folder, exact = find_folder(parent, s.clip)
        why = failed.get(f"sub{s.subject}/{s.clip}")
        if folder is None and why:  # the crops are missing because prepare could not make them
            return folder, exact, (f"{parent / s.clip} (`mmnet prepare` failed on this clip, {why}; "
                                   f"see {root / PREPARE_SUMMARY})")
        if not parent.is_dir():
            return folder, exact, f"{parent / s.clip} ({missing_subject(parent, s.subject, 2)})"
        return folder, exact, parent / s.clip

    out, used = attach_frames(samples, locate, pattern, issues)
    # the raw layouts, or a frames folder whose frames are not the crops' reg_img<N>.jpg
    if found_layout.startswith("raw") or (found_layout == "root" and any(s.frames for s in out) and not any(
            s.frames[0][1].name.lower().startswith("reg_") for s in out if s.frames)):
        issues.append(uncropped_issue("casme2", frames_root, root, f"{LAYOUTS['cropped'][0]}/",
                                      prepare=found_layout != "root"))
    clips = [(f"casme2/{sub.name[3:]}/{folder.name}", folder)
             for sub in sorted(p for p in frames_root.iterdir() if p.name.lower().startswith("sub") and p.is_dir())
             for folder in sorted(p for p in sub.iterdir() if p.is_dir())]
    report_unannotated(clips, used, pattern, issues, why=f"no row in '{annotation.name}'",
                       advice="add its row to the table if it is a clip to train on")
    load = finish(out, issues, annotation, strict)
    load.frames_dirs, load.frames_layouts = {"casme2": frames_root}, {"casme2": found_layout}
    return load


def _other_layouts(root: Path, used: str) -> list[str]:
    """The other frames folders of ``used``'s kind in ``root`` (two crops, or two raw copies, may differ; the raw
    frames beside the crops `mmnet prepare` made from them are no choice), as the warning names them."""
    if used == "root":
        return []
    raw = used.startswith("raw")
    return [f"'{sub}/' (layout {name})" for name, (sub, _) in LAYOUTS.items()
            if name != used and name.startswith("raw") == raw and folder_in_any_case(root, sub.split("/"))]


def _prepare_failures(root: Path) -> dict[str, str]:
    """Clip id ('sub02/EP01_01') -> '[reason] message' for the clips `mmnet prepare` failed on, from the summary it
    wrote in ROOT (mmnet.preprocess.pipeline.PrepareSummary.to_dict); {} without a readable one."""
    import json

    try:
        summary = json.loads((root / PREPARE_SUMMARY).read_text(encoding="utf-8"))
        if summary.get("layout") != "casme2":
            return {}
        return {c["clip_id"]: f"[{c.get('reason')}] {c.get('message', '')}".strip()
                for c in summary["clips"] if c.get("status") == "failed"}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _join_objective(path: Path, samples: list[Sample], coding_name: str) -> list[Issue]:
    """Objective classes from the separate CASME2-ObjectiveClasses.xlsx (Davison et al. 2018), by (subject, clip).

    That file is the published source of the MEGC2018 classes, so it wins over the coding file's own column
    (the 2019 coding file disagrees on 37 clips). Each disagreement, and each sample it has no class for, is a
    warning.
    """
    from .annotations import cell, subject_text

    table = read_table(path)
    si, ci, oi = table.column("Subject"), table.column("Filename"), table.column("Objective Class", "Objective Classes")
    classes = {(subject_text(cell(r, si), 2, "sub"), str(cell(r, ci)).strip()): objective_class(cell(r, oi))
               for _, r in table.rows}
    issues = []
    for s in samples:
        own = s.extra.get("objective_class")
        joined = classes.get((s.subject, s.clip))
        if joined is None:
            where = "no class in its row" if (s.subject, s.clip) in classes else "no row"
            kept = f"kept class {own} from '{coding_name}'" if own is not None else "no objective class"
            issues.append(Issue(s.sample_id, "objective_class_missing",
                                f"'{path.name}' has {where} for this sample: {kept}", "warning"))
            s.extra["objective_class"] = own
            continue
        if own is not None and own != joined:
            issues.append(Issue(s.sample_id, "objective_class_differs",
                                f"objective class {joined} from '{path.name}' used; '{coding_name}' gives {own}",
                                "warning"))
        s.extra["objective_class"] = joined
    return issues
