"""What a run folder records of how the data's protocol chose and labelled its samples, beside samples.csv.

- issues.csv: the loader's warnings about the samples used, or about the whole data (a list of samples other than
  the official one, an annotation release other than the scheme's protocol used, a corrected apex, an official
  class that differs from the emotion's): they change which samples a run uses or how, so the report shows them;
- samples.csv of the composite: each sample's subject, clip and line as the MEGC2019 list names them (the loaders'
  names differ: casme2/02 is the list's sub02, smic/s1 its s01);
- env.json's ``listed_rows``: the rows of that list (the report says whether it was the official one);
- env.json's ``part_frames``: the folder each dataset's frames were read from (relative to the root given), its layout
  where the loader has several (CASME II's cropped, cropped-updated, raw-selected, raw) and whether they are the
  uncropped full frames (the report's protocol line and Methods summary say so; a composite's parts cropped alike
  or not).
"""

from __future__ import annotations

from pathlib import Path

from .. import run_folder as rf
from ..data.common import DatasetLoad
from ..data.sample import Issue, Sample

__all__ = ["protocol_issues", "write_protocol_files", "listed_rows", "part_frames"]


def protocol_issues(load: DatasetLoad, scheme_notes: list[Issue], used: list[Sample]) -> list[Issue]:
    """The warnings about a sample used or about no sample at all (a dataset, the list): those about a sample
    left out are in skipped.csv's reason, and errors leave their sample (or row) out."""
    samples = {s.sample_id for s in (*load.samples, *load.excluded)} | {sid for sid, _ in load.unlisted}
    used_ids = {s.sample_id for s in used}
    return [i for i in (*scheme_notes, *load.warnings) if i.sample_id in used_ids or i.sample_id not in samples]


def write_protocol_files(out: Path, rows: list[list], samples: list[Sample], issues: list[Issue]) -> None:
    """samples.csv (``rows``: SAMPLES_COLUMNS of ``samples``; the list's names added for the composite) and
    issues.csv (removed when there is none, so a resume on mended data leaves no stale one)."""
    if samples and all("cde_line" in s.extra for s in samples):
        rows = [[*r, *(s.extra[c] for c in rf.CDE_COLUMNS)] for r, s in zip(rows, samples)]
        rf.write_csv(out / rf.SAMPLES, rf.SAMPLES_COLUMNS + rf.CDE_COLUMNS, rows)
    else:
        rf.write_csv(out / rf.SAMPLES, rf.SAMPLES_COLUMNS, rows)
    if issues:
        rf.write_csv(out / rf.ISSUES, rf.ISSUES_COLUMNS, [[i.sample_id, i.check, i.severity, i.message]
                                                           for i in issues])
    else:
        (out / rf.ISSUES).unlink(missing_ok=True)


def listed_rows(load: DatasetLoad) -> dict:
    """env.json's record of the protocol's list: ``{"listed_rows": {file name: rows}}``, {} without one."""
    if load.listed_rows is None or load.annotation is None:
        return {}
    return {"listed_rows": {Path(load.annotation).name: load.listed_rows}}


def part_frames(load: DatasetLoad, roots: list[Path]) -> dict:
    """env.json's ``{"part_frames": {dataset: {"folder": ..., "uncropped": bool, "layout": ...}}}``: each dataset's
    frames folder (a composite's parts'), relative to the ``roots`` given where under one (no absolute path in the
    report), with its layout where the loader named one; {} for a loader that records none (table, MMEW ...)."""
    raw = {i.sample_id for i in load.issues if i.check == "uncropped_frames"}
    out = {}
    for part, folder in sorted(load.frames_dirs.items()):
        under = [r for r in roots if folder == r or r in folder.parents]
        shown = folder.relative_to(under[0]).as_posix() if under else folder.name
        out[part] = {"folder": shown or ".", "uncropped": part in raw}
        if part in load.frames_layouts:
            out[part]["layout"] = load.frames_layouts[part]
    return {"part_frames": out} if out else {}
