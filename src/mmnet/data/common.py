"""What every loader shares: the load result, attaching frames, per-sample checks and strict mode.

A loader reads its annotation table, builds one ``Sample`` per annotated clip, lists the clip's
frames on disk (``mmnet.media.list_frames``, with the dataset's frame-name pattern) and runs
``check_sample``. Problems become ``Issue`` records; nothing is dropped without one. Severity
"error" means the sample cannot be used exactly as annotated (what training then does is
``data.on_bad_sample``'s choice, applied by ``mmnet.data.cache.frame_windows``); "warning" means a
fix was applied or something harmless was ignored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from pathlib import Path

from ..errors import DataError, DatasetNotFoundError
from ..media import list_frames
from ..shell_words import shell_quote
from ..unicode_names import nfc
from .case_keys import fold_case
from .dataset_load import ANNOTATION_CHECKS, DatasetLoad
from .decimal_comma import value_said
from .desktop_junk import merge_desktop, split_desktop
from .frame_copies import copy_issue, folder_copies
from .root_files import find_folder, sheets_said
from .root_hint import root_hint
from .sample import Issue, Sample

#: The file that marks a data root as a synthetic set of `mmnet synth` / `mmnet demo` (holding its settings).
SYNTH_MARKER = "synth.json"
#: The truth CSV beside a synthetic set of long recordings (`mmnet synth --long`): its planted expressions, which
#: `mmnet score-spots TRUTH PREDICTIONS` reads with no frames (--dataset casme-sq needs rawpic/).
SYNTH_TRUTH = "spotting-truth.csv"

__all__ = ["SYNTH_MARKER", "SYNTH_TRUTH", "PARTIAL_COPY",
           "DatasetLoad", "check_sample", "missing_dataset", "natural_key",
           "samples_from_table", "objective_class", "find_folder", "finish", "quiet_summaries", "with_frames",
           "ANNOTATION_CHECKS"]

log = logging.getLogger("mmnet.data")

# Longest subject or clip name: both are folder names, and file systems allow 255 bytes per name.
MAX_NAME = 255

def natural_key(text: str) -> tuple:
    """Sort key that orders 'sub2' before 'sub10' and 's2' before 's10'."""
    # the split's odd parts are what ``\d+`` matched (decimal digits of any script, which int() reads), nothing
    # else: str.isdigit() is also true for '①' and '²', which int() refuses
    return tuple(int(t) if i % 2 else t for i, t in enumerate(re.split(r"(\d+)", text)))


def check_sample(sample: Sample, junk: Iterable[str] = (), *, apex_required: bool = True) -> list[Issue]:
    """The checks shared by all loaders: apex known and inside onset..offset, frames on disk, junk files.

    ``apex_required=False`` for datasets that never annotate an apex (SMIC): no issue for a missing one.
    """
    sid = sample.sample_id
    out: list[Issue] = []
    onset, apex, offset = sample.onset, sample.apex, sample.offset
    if apex is None and apex_required and "apex" not in sample.extra.get("bad_cells", {}):
        why = sample.extra.get("unknown_apex", "apex frame is not given ('/', blank or negative)")
        out.append(Issue(sid, "apex_unknown", f"{why}; fix the annotation, or leave the sample out "
                         "(data.on_bad_sample=skip)", "error"))
    if apex is not None and apex < onset:
        out.append(Issue(sid, "onset_after_apex", f"onset {onset} is after apex {apex}: the motion would be "
                         "reversed; fix the annotation (onset and apex swapped?)", "error"))
    elif offset is not None and offset < onset:
        out.append(Issue(sid, "offset_before_onset", f"offset {offset} is before onset {onset}", "error"))
    elif apex is not None and not (onset <= apex <= (offset if offset is not None else apex)):
        out.append(Issue(sid, "apex_outside", f"apex {apex} is outside onset..offset {onset}..{offset}", "error"))
    elif apex is not None and apex in (onset, offset):
        # inside the range but suspicious: apex = onset gives a zero motion image (MEGC2019 left such a sample out)
        where = "onset" if apex == onset else "offset"
        out.append(Issue(sid, "apex_at_edge", f"apex {apex} equals the {where} frame", "warning"))
    junk = list(junk)
    if junk:
        shown = ", ".join(repr(j) for j in junk[:5]) + (" ..." if len(junk) > 5 else "")
        out.append(Issue(sid, "junk_files", f"{len(junk)} non-frame file(s) ignored: {shown}", "warning"))
    if not sample.frames:
        return out
    present = set(sample.frame_numbers)
    first, last = sample.frames[0][0], sample.frames[-1][0]
    on_disk = f"frames on disk {first}..{last} ({len(present)})"
    gaps = (last - first + 1) - len(present)
    if gaps:
        absent = [n for n in range(first, last + 1) if n not in present]
        shown = ", ".join(map(str, absent[:8])) + (" ..." if len(absent) > 8 else "")
        out.append(Issue(sid, "frames_gap", f"{gaps} frame(s) absent between {first} and {last} (dropped frames?): "
                         f"{shown}", "warning"))
    for name, number, severity in (("onset", onset, "error"), ("apex", apex, "error"), ("offset", offset, "warning")):
        if number is not None and number not in present:
            near, why = sample.nearest_frame(number), sample.why_missing(number)
            out.append(Issue(sid, f"{name}_not_on_disk", f"annotated {name} frame {number} {why} "
                             f"({on_disk}); nearest on disk: {near}", severity))
    return out


def missing_dataset(
    title: str, root: Path, missing: list[str], layout: list[str], owner: str, name: str
) -> DatasetNotFoundError:
    """The error for a dataset root or annotation file that is not there: what is missing, the
    expected layout, and where the dataset comes from."""
    lines = "\n".join(f"  - {m}" for m in missing)
    expected = "\n".join(f"    {line}" for line in layout)
    if (root / SYNTH_MARKER).is_file():  # a set of `mmnet synth`, not the owners' copy: no licence to request
        source = (f"'{root}' is a synthetic set of `mmnet synth`: write it again with `mmnet synth` (long "
                  "recordings: --long --format jpg mp4 writes the frames under rawpic/ beside the videos).")
    else:
        source = (f"{title} is licence-gated and cannot be downloaded by mmnet; request it from {owner}, then run: "
                  f"mmnet check-data {name} --root {shell_quote(root)}")
    source = root_hint(root, layout) or source  # the dataset is there, one level off: nothing to request
    held = sheets_said(root) if any("annotation" in m or "workbook" in m for m in missing) else ""
    return DatasetNotFoundError(f"{title} root '{root}' is missing:\n{lines}\nExpected layout:\n{expected}\n"
                                + (f"{held}\n" if held else "") + source)


def with_frames(sample: Sample, frames: tuple[tuple[int, Path], ...]) -> Sample:
    return replace(sample, frames=frames)


_QUIET: ContextVar[bool] = ContextVar("mmnet_data_quiet", default=False)


@contextmanager
def quiet_summaries() -> Iterator[None]:
    """Within: loaders log no summary line (the composite's own line counts the parts' issues it keeps)."""
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)


def finish(samples: list[Sample], issues: list[Issue], annotation: Path | None, strict: bool) -> DatasetLoad:
    """Split off samples without frames, log a summary, apply strict mode."""
    merge_desktop(issues)
    kept = [s for s in samples if s.frames]
    excluded = [s for s in samples if not s.frames]
    load = DatasetLoad(kept, issues, excluded, annotation)
    if issues and not _QUIET.get():
        log.warning("%d issue(s) (%d errors) while loading %d samples; `mmnet check-data` lists them (load.issues)",
                    len(issues), len(load.errors), len(samples))
    if strict:
        load.raise_if_errors()
    return load


def samples_from_table(
    table,
    *,
    dataset: str,
    columns: dict[str, tuple[str, ...]],
    subject_width: int = 0,
    subject_prefix: str = "",
    duplicates: str = "error",
    corrections: bool = True,
    optional: tuple[str, ...] = (),
) -> tuple[list[Sample], list[Issue]]:
    """Build frame-less Samples from an annotation ``Table`` (``annotations.read_table``).

    Args:
        table: the table.
        dataset: loader name, used in sample ids.
        columns: field -> accepted header names, for fields subject, clip, onset, apex, offset,
            aus, label and optionally objective. Optional fields may be missing from the file.
        subject_width: zero-padding for subjects a re-saved sheet turned into numbers.
        subject_prefix: the subject folder prefix, accepted on a subject cell ('sub1' -> '01' for CASME II).
        duplicates: "error" reports a repeated (subject, clip) and skips it; "suffix" names repeats
            clip2, clip3 ... in file order (CAS(ME)^3 has several MEs per video, as meb does).
        corrections: apply ``corrections.CORRECTIONS``.
        optional: fields of the usually required ones that this dataset's table may lack (the table
            dataset's offset).
    """
    from .annotations import cell, frame_number, label_text, parse_aus, subject_text
    from .corrections import apply_corrections

    required = {"subject", "clip", "onset", "apex", "offset", "label"} - set(optional)
    idx = {f: table.column(*names, required=f in required) for f, names in columns.items()}
    samples: list[Sample] = []
    issues = [Issue(f"{dataset}/?/row{row_no}", "merged_cells", f"{table.where(row_no)}: {note}", "warning")
              for row_no, note in table.notes]  # what reading the sheet filled in (annotations.Table.notes)
    seen: dict[tuple[str, str], int] = {}
    firsts: dict[tuple[str, str], tuple[int, list]] = {}  # (subject, clip) -> (row, cells) of its first row
    earlier: dict[tuple[str, str], list[tuple[int, list]]] = {}  # (subject, clip) -> (row, cells) of each row kept
    # a repeat's suffixed name must not be a clip the table names itself ('a' twice + a real 'a2')
    taken = {(subject_text(cell(r, idx["subject"]), subject_width, subject_prefix),
              nfc(str(cell(r, idx["clip"])).strip())) for _, r in table.rows} if duplicates == "suffix" else set()
    for row_no, row in table.rows:
        subject = subject_text(cell(row, idx["subject"]), subject_width, subject_prefix)
        clip_cell = cell(row, idx["clip"])
        clip = None if clip_cell is None else nfc(str(clip_cell).strip()) or None  # ids in NFC (unicode_names)
        where = table.where(row_no)
        if subject is None or clip is None:
            issues.append(Issue(f"{dataset}/?/row{row_no}", "bad_row", f"{where}: no subject or clip name; "
                                f"row ignored (cells: {[c for c in row if c not in (None, '')]})", "error"))
            continue
        too_long = [(f, v) for f, v in (("subject", subject), ("clip", clip)) if len(v) > MAX_NAME]
        if too_long:
            f, v = too_long[0]
            issues.append(Issue(f"{dataset}/?/row{row_no}", "bad_row", f"{where}: the {f} cell holds {len(v)} "
                                f"characters ({v[:40]!r}...), longer than a folder name can be ({MAX_NAME}); "
                                "fix the cell (a pasted note?). Row ignored.", "error"))
            continue
        key = (subject, clip)
        annotated_clip = clip
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            cells = [cell(row, idx[f]) for f in ("onset", "apex", "offset", "label")]
            twin = next((r for r, c in earlier.get(key, []) if c == cells), None) if duplicates == "suffix" else None
            if twin is not None:  # one expression twice is not two expressions: it would be trained on twice
                seen[key] -= 1
                issues.append(Issue(f"{dataset}/{subject}/{clip}", "duplicate_row", f"{where}: repeats row {twin} "
                                    "(same onset, apex, offset and label); this copy is ignored", "warning"))
                continue
            if duplicates == "suffix":
                n = seen[key]
                while (subject, f"{clip}{n}") in taken:
                    n += 1
                seen[key] = n
                clip = f"{clip}{n}"
                taken.add((subject, clip))
            else:
                first_row, first_cells = firsts[key]
                same = cells == first_cells
                # an exact repeat is harmless; a repeat that disagrees leaves no way to know which row is right
                what = ("; this copy is ignored" if same else f" with other onset/apex/offset/label ({first_cells} vs "
                        f"{cells}); the sample is not used until one of the rows is removed")
                issues.append(Issue(f"{dataset}/{subject}/{clip}", "duplicate_row" if same else "duplicate",
                                    f"{where}: repeats row {first_row} for the same subject and clip{what}",
                                    "warning" if same else "error"))
                continue
        firsts.setdefault(key, (row_no, [cell(row, idx[f]) for f in ("onset", "apex", "offset", "label")]))
        earlier.setdefault(key, []).append((row_no, [cell(row, idx[f]) for f in ("onset", "apex", "offset", "label")]))
        sid = f"{dataset}/{subject}/{clip}"
        raw = {f: cell(row, idx[f]) for f in ("onset", "apex", "offset")}
        values = {f: frame_number(v) for f, v in raw.items()}
        if values["apex"] is not None and values["apex"] < 0:
            values["apex"] = None  # bob.db.casme2 stores an unknown apex as -1
        bad_cells = {f: v for f, v in raw.items()  # blank and '/' mean "not given", not a mistake
                     if frame_number(v) is None and ("" if v is None else str(v).strip()) not in ("", "/")}
        for f, value in bad_cells.items():  # one error per cell, naming row, column and value
            then = {"onset": "the sample cannot be located and is left out", "apex": "the sample has no apex until "
                    "then", "offset": "the sample has no offset until then"}[f]
            issues.append(Issue(sid, "bad_value", f"{where}, column {table.header[idx[f]]!r}: {value_said(f, value)} "
                                f"is not a frame number (a whole number); fix the cell, {then}", "error"))
        if values["onset"] is None:
            if "onset" not in bad_cells:
                issues.append(Issue(sid, "bad_row", f"{where}, column {table.header[idx['onset']]!r}: no onset; the "
                                    "sample cannot be located and is left out; fill in the cell", "error"))
            continue
        issues.extend(apply_corrections(dataset, subject, clip, values, enabled=corrections))
        label = label_text(cell(row, idx["label"]))
        if label is None:
            issues.append(Issue(sid, "label_missing", f"{where}: no emotion label", "error"))
            label = ""
        au_raw = cell(row, idx.get("aus"))
        aus, unparsed = parse_aus(au_raw)
        if unparsed:
            issues.append(Issue(sid, "au_text", f"AU cell {au_raw!r}: kept {list(aus)}, ignored non-AU text "
                                f"{list(unparsed)}", "warning"))
        extra = {"row": row_no, "au_text": "" if au_raw is None else str(au_raw), "annotated_clip": annotated_clip}
        if bad_cells:
            extra["bad_cells"] = bad_cells  # reported above: check_sample does not report them again
        if values["apex"] is None:  # check_sample's apex_unknown names the cell
            shown = "nothing" if str(raw["apex"] or "").strip() == "" else repr(raw["apex"])
            extra["unknown_apex"] = (f"{where}, column {table.header[idx['apex']]!r} holds {shown}: apex frame is not "
                                     "given ('/', blank or negative)")
        if idx.get("objective") is not None:
            extra["objective_class"] = objective_class(cell(row, idx["objective"]))
        samples.append(Sample(dataset, subject, clip, values["onset"], values["apex"], values["offset"], label,
                              aus, (), extra))
    return samples, issues


_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7}


def objective_class(value: object) -> int | None:
    """Objective class 1..7 from an int, digit text or Roman numeral (CAS(ME)^3 writes 'VII')."""
    from .annotations import frame_number

    n = frame_number(value)
    if n is None and value is not None:
        n = _ROMAN.get(str(value).strip().upper())
    return n


def missing_subject(parent: Path, subject: str, width: int) -> str:
    """Why a subject's folder is absent: a Subject cell written otherwise ('s1') is told the form the folder needs;
    a well-formed one means a partial copy, so the subject folders present are named."""
    if not re.fullmatch(rf"\d{{{width},}}", subject):
        example = parent.name.removesuffix(subject) + "1".zfill(width)
        return (f"no subject folder '{parent.name}' in {parent.parent}: the Subject cell is the number of the "
                f"folder, zero-padded: write {'1'.zfill(width)} for {example}")
    found = sorted((p.name for p in parent.parent.iterdir() if p.is_dir()), key=natural_key)
    shown = ", ".join(found[:8]) + (f", ... ({len(found)} in all)" if len(found) > 8 else "")
    return f"no subject folder '{parent.name}' in {parent.parent}, which holds {shown or 'none'}: a partial copy?"


#: The partial-copy sentence above, read back (folder, parent, held): check-data shows one line per missing folder.
PARTIAL_COPY = re.compile(r"no subject folder '([^']+)' in (.+), which holds (.+): a partial copy\?")


def attach_frames(
    samples: list[Sample],
    locate,
    pattern: re.Pattern,
    issues: list[Issue],
    *,
    window: bool = False,
    apex_required: bool = True,
) -> tuple[list[Sample], set[Path]]:
    """List each sample's frames on disk and run ``check_sample``; issues are appended to ``issues``. Returns the
    samples with their frames, and the folders they were found in (``report_unannotated`` lists those unused).

    Args:
        locate: sample -> (folder or None, exact name match, where it was looked for).
        pattern: frame file pattern, group 1 = frame number.
        window: keep only frames inside the sample's onset..offset span (folders that hold a whole
            long video shared by several samples, as CAS(ME)^3).
    """
    listed: dict[Path, tuple] = {}
    found: dict[Path, dict[str, str]] = {}  # folder -> its copies of frames (only the whole folder tells which)
    out: list[Sample] = []
    for s in samples:
        folder, exact, looked = locate(s)
        if folder is None:
            issues.append(Issue(s.sample_id, "clip_missing", f"no clip folder {looked}; the sample is excluded",
                                "error"))
            out.append(s)
            continue
        if not exact:
            # the frames may lie below the folder matched (CAS(ME)^3's <task>/color): name the matched one
            annotated = s.extra.get("annotated_clip", s.clip)
            matched = next((p.name for p in (folder, *folder.parents) if fold_case(p.name) == fold_case(annotated)),
                           folder.name)
            if nfc(matched) != nfc(annotated):  # a Mac's NFD name is the same name: nothing to say
                issues.append(Issue(s.sample_id, "clip_name_case", f"annotated clip '{annotated}' found as folder "
                                    f"'{matched}'", "warning"))
        if folder not in listed:
            # Two files with one number (img070.jpg, img70.jpg): the first by name is the frame, the
            # other is reported with the non-frame files.
            try:
                listed[folder] = list_frames(folder, pattern, duplicates="first", not_frames=lambda names, f=folder:
                                             found.setdefault(f, folder_copies(names, pattern)))
            except DataError as exc:
                listed[folder] = exc
        if isinstance(listed[folder], DataError):
            issues.append(Issue(s.sample_id, "frames_unreadable", f"{listed[folder]} The sample is excluded.",
                                "error"))
            out.append(s)
            continue
        frames, junk = listed[folder]
        # macOS's '._frame_0104.jpg' reads as a frame number: desktop files leave before any name is matched
        junk = split_desktop(s.sample_id, folder, junk, issues)
        on_disk = {n for n, _ in frames}  # before the window: a copy's frame may lie outside it
        copies = {name: issue for name in junk
                  if (issue := copy_issue(s.sample_id, name, folder, pattern, on_disk, found.get(folder, {})))}
        issues.extend(copies.values())  # each copy named with its frame and what to do, not among other stray files
        junk = tuple(name for name in junk if name not in copies)
        if window:
            known = [n for n in (s.onset, s.apex, s.offset) if n is not None]
            lo, hi = min(known), max(known)
            frames = tuple(f for f in frames if lo <= f[0] <= hi)
        s = with_frames(s, frames)
        numbers = {n for n, _ in frames}
        for name in junk:  # two files for one frame number: which one is the frame is a guess
            m = pattern.fullmatch(name)
            if m and int(m.group(1)) in numbers:
                issues.append(Issue(s.sample_id, "frame_number_twice", f"two files for frame {int(m.group(1))}: "
                                    f"'{s.frame_path(int(m.group(1))).name}' and '{name}' in {folder}; remove or "
                                    "rename one", "error"))
            elif m:  # a folder, a pipe or a broken link named as a frame: said where that frame is needed
                s.extra.setdefault("not_files", {})[int(m.group(1))] = name
        if not frames:
            span = " within the annotated span" if window else ""
            issues.append(Issue(s.sample_id, "no_frames", f"no frames matching {pattern.pattern!r} in {folder}{span}; "
                                "the sample is excluded", "error"))
        issues.extend(check_sample(s, junk, apex_required=apex_required))
        out.append(s)
    return out, set(listed)
