"""MEGC2019 composite dataset (CDE): SMIC-HS + CASME II + SAMM, 3 classes (docs/datasets.md).

The official ground-truth list ``combined_3class_gt.csv`` (442 rows, no header,
``dataset,subject,filename,label`` with 0 negative, 1 positive, 2 surprise) is the source of
truth: samples come from the three loaders and are selected and labelled by that list only.

``root`` is either a mapping ``{"casme2": DIR, "samm": DIR, "smic": DIR}`` (optionally with
``"annotation": FILE``), or one folder holding ``casme2/``, ``samm/`` and ``smic/`` (any case)
and ``combined_3class_gt.csv``. Each part's own annotation file is found in its folder as usual.
Only the parts the list names are needed and read: a list of CASME II and SAMM rows makes a two-dataset
composite (cross-dataset experiments: LODO then trains on one and tests on the other, both ways).

Samples keep their source dataset and subject (so LOSO never merges subjects of different
datasets); ``label`` becomes the CDE class name and ``extra["source_label"]`` keeps the emotion.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

from ..errors import AnnotationError, DataError, DatasetNotFoundError
from ..run_folder import NOT_LISTED  # the reason's head that the report counts apart
from .common import DatasetLoad, finish, quiet_summaries
from .csv_text import SAVE_AS_CSV_UTF8, NotUtf8Error, csv_delimiter, csv_error_detail, read_utf8
from .root_files import root_file
from .sample import Issue, Sample
from .schemes import FIELD_CHECKS, SCHEMES

__all__ = ["load_composite", "CDE_LABELS", "PARTS", "PART_ORDER", "read_cde_list", "part_counts"]

CDE_LABELS = ("negative", "positive", "surprise")
PARTS = ("casme2", "samm", "smic")
ANNOTATION_NAME = "combined_3class_gt.csv"
OFFICIAL_ROWS = 442
# the row the older 441-row list (combined_3class_gt-2.csv, 2018-11-30) lacks
_LATE_ROW = ("samm", "32", "032_3_1")
#: MEGC2019's order of the parts (its papers', evaluation.md's, the reports' and check-data's)
PART_ORDER = ("smic", "casme2", "samm")
# loader checks about a column the composite's classes do not come from (CASME II's objective classes)
_OTHER_COLUMN_CHECKS = frozenset().union(*(c for f, c in FIELD_CHECKS.items() if f != "label"))
# per-part mapping used only to cross-check the official label against the source emotion
_CHECK_SCHEME = {"casme2": "casme2-3class-megc", "samm": "samm-3class-megc", "smic": "smic-3class"}


def read_cde_list(path: Path) -> list[tuple[int, str, str, str, str]]:
    """(line, dataset, subject, filename, class name) per row; blank ',,,' lines (2018-11-30 file) skipped."""
    rows = []
    try:
        text = read_utf8(path)
        # a copy re-saved by Excel in many locales is ';'- or tab-separated: the same rule as every table
        separator = csv_delimiter("".join(text.splitlines(keepends=True)[:50]))
        lines, read = [], 0  # read: the last line of the last row read whole, for a csv.Error
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
        for row in reader:
            lines.append((len(lines) + 1, row))
            read = reader.line_num
    except NotUtf8Error as exc:
        raise AnnotationError(f"'{path}' is not UTF-8 text ({exc.detail}); use the official combined_3class_gt.csv, "
                              f"or {SAVE_AS_CSV_UTF8}.") from None
    except csv.Error as exc:
        raise AnnotationError(f"'{path}' is not a readable CSV file ({csv_error_detail(exc, read)}). "
                              "Use the official combined_3class_gt.csv.") from None
    for line, r in lines:
        cells = [c.strip() for c in r]
        if not any(cells):
            continue
        if line == 1 and cells[0].lower() in ("dataset", "data", "database"):
            continue  # a header some derived copies add
        if len(cells) < 4 or cells[0].lower() not in PARTS or cells[3] not in ("0", "1", "2"):
            raise AnnotationError(f"'{path}' line {line}: expected 'dataset,subject,filename,label' "
                                  f"with dataset in {PARTS} and label 0/1/2, got {r!r}. "
                                  "Use the official combined_3class_gt.csv.")
        rows.append((line, cells[0].lower(), cells[1], cells[2], CDE_LABELS[int(cells[3])]))
    if not rows:
        raise AnnotationError(f"'{path}' lists no sample (empty, or a header only). "
                              "Use the official combined_3class_gt.csv.")
    return rows


def _source_key(dataset: str, subject: str, filename: str) -> tuple[str, str]:
    """CDE (subject, filename) -> the loaders' (subject, clip); also applied to the loaders' own names, so that a copy
    whose folders are zero-padded as the list writes them (SMIC's s01/s01_ne_01) matches as well."""
    if dataset == "casme2":
        return re.sub(r"^sub", "", subject, flags=re.IGNORECASE).zfill(2), filename
    if dataset == "samm":
        return subject.zfill(3), filename
    # smic: 's01' / 's01_ne_01' -> 's1' / 's1_ne_01'
    number = subject[1:]
    return (f"s{int(number)}" if number.isdecimal() else subject,
            re.sub(r"^s0*(\d+)_", lambda m: f"s{int(m.group(1))}_", filename))


def _parts(root, needed: list[str]) -> tuple[dict[str, Path], list[str]]:
    """The folder of each part the list names (``needed``), and the parts given a folder that it does not name
    (those are not read)."""
    if isinstance(root, Mapping):
        paths = {k.lower(): Path(v) for k, v in root.items() if k.lower() != "annotation"}
        missing = [p for p in needed if p not in paths]
        if missing:
            example = " ".join(f"--root {p}=DIR" for p in needed)
            raise DatasetNotFoundError(f"The composite root mapping lacks {missing}, which the list names; give a "
                                       f"folder for each of {needed}, e.g. {example} --annotation {ANNOTATION_NAME}; "
                                       "or leave their rows out of the list to leave the part out.")
        return {p: paths[p] for p in needed}, [p for p in PARTS if p in paths and p not in needed]
    root = Path(root)
    children = {p.name.lower(): p for p in root.iterdir() if p.is_dir()}
    missing = [p for p in needed if p not in children]
    if missing:
        raise DatasetNotFoundError(
            f"Composite root '{root}' is missing the folder(s) {missing}, which the list names.\nExpected layout:\n"
            "    casme2/  (a CASME II root)\n    samm/    (a SAMM root)\n    smic/    (a SMIC root with HS/)\n"
            f"    {ANNOTATION_NAME}\nThe three datasets are licence-gated; request each from its owners "
            "(a list without a part's rows needs no folder for it).")
    return {p: children[p] for p in needed}, [p for p in PARTS if p in children and p not in needed]


def _default_annotation(root) -> Path | None:
    if isinstance(root, Mapping):
        ann = next((v for k, v in root.items() if k.lower() == "annotation"), None)
        return None if ann is None else Path(ann)
    root = Path(root)
    if not root.is_dir():
        raise DatasetNotFoundError(f"Composite root '{root}' does not exist; it must hold casme2/, samm/, smic/ and "
                                   f"{ANNOTATION_NAME}, or pass one folder per part.")
    return root_file(root, ANNOTATION_NAME)  # in any case, as copied from Windows


def load_composite(
    root,
    *,
    annotation: str | Path | None = None,
    strict: bool = False,
    cache_dir: str | Path | None | bool = None,
    layout: str | None = None,
) -> DatasetLoad:
    """Load the 442 MEGC2019 CDE samples from the three datasets (or a list's from the parts it names), labelled
    by the list.

    Args:
        root: mapping part -> folder, or a folder with the parts (see the module docstring).
        annotation: the official ``combined_3class_gt.csv``; default: the mapping's "annotation"
            or ``root/combined_3class_gt.csv``.
        strict: raise on any error-severity issue of a listed sample (or a listed sample not found).
        cache_dir: SMIC apex cache folder (see ``smic.load_smic``).
        layout: the CASME II part's frames folder (see ``casme2.load_casme2``); default: the first present.

    Raises:
        DatasetNotFoundError: the list, or the folder of a part it names, is missing.
        DataError: a part the list names of which no row matches a sample (a wrong folder, other folder names):
            the part would drop out of the protocol row by row.
    """
    from .casme2 import load_casme2
    from .samm import load_samm
    from .smic import load_smic

    annotation = Path(annotation) if annotation is not None else _default_annotation(root)
    if annotation is None or not annotation.is_file():
        raise DatasetNotFoundError(
            f"The MEGC2019 ground-truth list '{annotation or ANNOTATION_NAME}' is missing. Get the official "
            f"{ANNOTATION_NAME} (442 rows) from the MEGC2019 challenge organisers "
            "(github.com/Facial-Micro-ExpressionGC/MEGC2019, images/combined_3class_gt.csv) "
            "and pass it with --annotation FILE.")
    listed = read_cde_list(annotation)
    parts, unread = _parts(root, [p for p in PARTS if any(row[1] == p for row in listed)])
    issues: list[Issue] = _not_official(listed, annotation)
    if unread:  # a two-part experiment, or a list filtered by mistake: either way the parts taking part are said
        issues.append(Issue("composite", "part_not_listed", f"'{annotation.name}' names no {' or '.join(unread)} "
                            f"sample: {', '.join(unread)} not read; this composite is {' + '.join(parts)}", "warning"))
    loaders = {"casme2": lambda d: load_casme2(d, layout=layout), "samm": lambda d: load_samm(d),
               "smic": lambda d: load_smic(d, variant="HS", cache_dir=cache_dir)}
    with quiet_summaries():  # the parts' issues that matter are counted in the composite's own summary line
        loads = {p: loaders[p](folder) for p, folder in parts.items()}
    index = {(p, *_source_key(p, s.subject, s.clip)): s for p, load in loads.items()
             for s in (*load.samples, *load.excluded)}
    samples: list[Sample] = []
    used: dict[str, tuple[int, str]] = {}  # sample id -> (line, class) of the row that listed it first
    for line, dataset, subject, filename, cls in listed:
        subj, clip = _source_key(dataset, subject, filename)
        src = index.get((dataset, subj, clip))
        if src is None:
            issues.append(Issue(f"{dataset}/{subj}/{clip}", "not_in_source", f"{annotation.name} line {line} "
                                f"({dataset},{subject},{filename}) has no sample in the {dataset} data", "error"))
            continue
        if src.sample_id in used:
            issues.append(_repeat(annotation.name, line, (dataset, subject, filename, cls), src.sample_id,
                                  used[src.sample_id]))
            continue
        used[src.sample_id] = (line, cls)
        expected = SCHEMES[_CHECK_SCHEME[dataset]].class_of(src)
        if expected != cls:
            issues.append(Issue(src.sample_id, "label_differs", f"official class {cls!r}, but the {dataset} label "
                                f"{src.label!r} maps to {_class_text(expected, dataset)}; the official class is used",
                                "warning"))
        extra = {**src.extra, "source_label": src.label, "cde_subject": subject, "cde_clip": filename, "cde_line": line}
        samples.append(replace(src, label=cls, extra=extra))
    for load in loads.values():
        issues += [i for i in load.issues
                   if (i.sample_id in used or "/" not in i.sample_id) and i.check not in _OTHER_COLUMN_CHECKS]
    _check_parts(listed, used, loads, parts, issues)
    load = finish(samples, issues, annotation, strict)
    load.also_read = [part.annotation for part in loads.values() if part.annotation is not None]
    load.listed_rows = len(listed)
    load.frames_dirs = {p: folder for part in loads.values() for p, folder in part.frames_dirs.items()}
    load.frames_layouts = {p: name for part in loads.values() for p, name in part.frames_layouts.items()}
    # the parts' other samples: the protocol leaves them out, and a run's skipped.csv says so
    load.unlisted = [(s.sample_id, f"{NOT_LISTED}{annotation.name}") for part in loads.values()
                     for s in (*part.samples, *part.excluded) if s.sample_id not in used]
    return load


def _class_text(expected: str | None, dataset: str) -> str:
    if expected is None:
        return f"no class, which the MEGC2019 mapping ({_CHECK_SCHEME[dataset]}) leaves out"
    return repr(expected)


def _check_parts(listed: list[tuple[int, str, str, str, str]], used: dict[str, tuple[int, str]],
                 loads: dict[str, DatasetLoad], parts: dict[str, Path], issues: list[Issue]) -> None:
    """A part the list names but none of whose rows matches a sample stops the load: leaving a whole dataset out
    (its rows skipped one by one) changes the protocol. Parts whose frames differ in crop state get a warning."""
    for part, folder in parts.items():
        rows = [r for r in listed if r[1] == part]
        if any(sid.startswith(f"{part}/") for sid in used):
            continue
        read = [s.sample_id for s in (*loads[part].samples, *loads[part].excluded)]
        line, _, subject, filename, _ = rows[0]
        seen = f"{len(read)} samples read there, e.g. {', '.join(read[:2])}" if read else "no sample read there"
        raise DataError(f"None of the {len(rows)} rows of the list for {part} (e.g. line {line}: {subject},{filename}) "
                        f"names a sample of the {part} data in {folder} ({seen}), so {part} would be left out of the "
                        f"composite. Check that the {part} folder is the right copy (its subject and clip folders "
                        f"named as the dataset's release names them), or remove the list's {part} rows to leave "
                        f"{part} out on purpose.")
    raw = {p for p, load in loads.items() if any(i.check == "uncropped_frames" for i in load.issues)}
    if raw and raw != set(parts):
        cropped = [p for p in parts if p not in raw]
        issues.append(Issue("composite", "mixed_crops", f"the parts' frames differ: {', '.join(sorted(raw))} "
                            f"uncropped (full frames), {', '.join(cropped)} face crops; a model would see faces at "
                            "another scale per dataset. Run `mmnet prepare` on the uncropped part(s) "
                            "(uncropped_frames above)", "warning"))


def _repeat(name: str, line: int, row: tuple[str, str, str, str], sample_id: str, first: tuple[int, str]) -> Issue:
    """A list row naming a sample an earlier row listed: an exact repeat changes nothing (a warning, the sample
    is used); one with another class contradicts the list (an error on that line, not on the sample)."""
    first_line, first_cls = first
    dataset, subject, filename, cls = row
    if cls == first_cls:
        return Issue(sample_id, "duplicate_row", f"{name} line {line} repeats line {first_line} ({dataset},"
                     f"{subject},{filename}, {cls}); this copy is ignored", "warning")
    return Issue(f"composite/?/line{line}", "duplicate", f"{name} line {line} lists {sample_id} ({dataset},{subject},"
                 f"{filename}) as {cls!r}, line {first_line} as {first_cls!r}; line {first_line}'s class is used. "
                 "Remove the wrong line (the official list names each sample once)", "error")


def _not_official(listed: list[tuple[int, str, str, str, str]], annotation: Path) -> list[Issue]:
    """A warning when the list has not the official list's 442 rows (the older 441-row one lacks a SAMM sample)."""
    if len(listed) == OFFICIAL_ROWS:
        return []
    keys = {(dataset, subject.lstrip("0"), filename) for _, dataset, subject, filename, _ in listed}
    lacks = (f"; it lacks {','.join(_LATE_ROW)},0, as the older combined_3class_gt-2.csv (2018-11-30, 441 rows) "
             "does" if len(listed) == OFFICIAL_ROWS - 1 and _LATE_ROW not in keys else "")
    return [Issue("composite", "not_official_list", f"'{annotation.name}' lists {len(listed)} samples, not the "
                  f"{OFFICIAL_ROWS} of the official {ANNOTATION_NAME} (MEGC2019, 2018-12-07){lacks}; results are not "
                  "comparable with MEGC2019's", "warning")]


def part_counts(pairs: list[tuple[Sample, int]], parts: Iterable[str] = PARTS) -> dict[str, dict[str, int]]:
    """Samples per class of each part (SMIC, CASME II, SAMM), from ``(sample, class index)`` pairs: evaluation.md
    asks to report the composite whole and per part. ``parts``: those taking part (the list's), in report order."""
    taking = set(parts)
    out = {part: dict.fromkeys(CDE_LABELS, 0) for part in PART_ORDER if part in taking}
    for sample, k in pairs:
        out[sample.dataset][CDE_LABELS[k]] += 1
    return out
