"""MEGC2019 composite dataset (CDE): SMIC-HS + CASME II + SAMM, 3 classes (docs/datasets.md).

The official ground-truth list ``combined_3class_gt.csv`` (442 rows, no header,
``dataset,subject,filename,label`` with 0 negative, 1 positive, 2 surprise) is the source of
truth: samples come from the three loaders and are selected and labelled by that list only.

``root`` is either a mapping ``{"casme2": DIR, "samm": DIR, "smic": DIR}`` (optionally with
``"annotation": FILE``), or one folder holding ``casme2/``, ``samm/`` and ``smic/`` (any case)
and ``combined_3class_gt.csv``. Each part's own annotation file is found in its folder as usual.

Samples keep their source dataset and subject (so LOSO never merges subjects of different
datasets); ``label`` becomes the CDE class name and ``extra["source_label"]`` keeps the emotion.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from ..errors import AnnotationError, DatasetNotFoundError
from ..run_folder import NOT_LISTED  # the reason's head that the report counts apart
from .common import DatasetLoad, finish
from .csv_text import SAVE_AS_CSV_UTF8, NotUtf8Error, csv_delimiter, csv_error_detail, read_utf8
from .sample import Issue, Sample
from .schemes import FIELD_CHECKS, SCHEMES

__all__ = ["load_composite", "CDE_LABELS", "PARTS", "read_cde_list", "part_counts"]

CDE_LABELS = ("negative", "positive", "surprise")
PARTS = ("casme2", "samm", "smic")
ANNOTATION_NAME = "combined_3class_gt.csv"
OFFICIAL_ROWS = 442
# the row the older 441-row list (combined_3class_gt-2.csv, 2018-11-30) lacks
_LATE_ROW = ("samm", "32", "032_3_1")
# the parts in the order evaluation.md reports them
_REPORT_ORDER = ("smic", "casme2", "samm")
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
    """CDE (subject, filename) -> the loaders' (subject, clip)."""
    if dataset == "casme2":
        return re.sub(r"^sub", "", subject, flags=re.IGNORECASE).zfill(2), filename
    if dataset == "samm":
        return subject.zfill(3), filename
    # smic: 's01' / 's01_ne_01' -> 's1' / 's1_ne_01'
    return f"s{int(subject[1:])}" if subject[1:].isdecimal() else subject, re.sub(r"^s0?(\d+)_", r"s\1_", filename)


def _parts(root) -> tuple[dict[str, Path], Path | None]:
    if isinstance(root, Mapping):
        paths = {k.lower(): Path(v) for k, v in root.items()}
        ann = paths.pop("annotation", None)
        missing = [p for p in PARTS if p not in paths]
        if missing:
            raise DatasetNotFoundError(f"The composite root mapping lacks {missing}; "
                                       f"give a folder for each of {PARTS}, "
                                       "e.g. --root casme2=DIR --root samm=DIR --root smic=DIR "
                                       "--annotation combined_3class_gt.csv.")
        return paths, ann
    root = Path(root)
    if not root.is_dir():
        raise DatasetNotFoundError(f"Composite root '{root}' does not exist; it must hold casme2/, samm/, smic/ and "
                                   f"{ANNOTATION_NAME}, or pass one folder per part.")
    children = {p.name.lower(): p for p in root.iterdir() if p.is_dir()}
    missing = [p for p in PARTS if p not in children]
    if missing:
        raise DatasetNotFoundError(
            f"Composite root '{root}' is missing the folder(s) {missing}.\nExpected layout:\n    casme2/  (a CASME II "
            f"root)\n    samm/    (a SAMM root)\n    smic/    (a SMIC root with HS/)\n    {ANNOTATION_NAME}\n"
            "The three datasets are licence-gated; request each from its owners.")
    return {p: children[p] for p in PARTS}, root / ANNOTATION_NAME


def load_composite(
    root,
    *,
    annotation: str | Path | None = None,
    strict: bool = False,
    cache_dir: str | Path | None | bool = None,
) -> DatasetLoad:
    """Load the 442 MEGC2019 CDE samples from the three datasets, labelled by the official list.

    Args:
        root: mapping part -> folder, or a folder with the three parts (see the module docstring).
        annotation: the official ``combined_3class_gt.csv``; default: the mapping's "annotation"
            or ``root/combined_3class_gt.csv``.
        strict: raise on any error-severity issue of a listed sample (or a listed sample not found).
        cache_dir: SMIC apex cache folder (see ``smic.load_smic``).
    """
    from .casme2 import load_casme2
    from .samm import load_samm
    from .smic import load_smic

    parts, default_ann = _parts(root)
    annotation = Path(annotation) if annotation is not None else default_ann
    if annotation is None or not annotation.is_file():
        raise DatasetNotFoundError(
            f"The MEGC2019 ground-truth list '{annotation or ANNOTATION_NAME}' is missing. Get the official "
            f"{ANNOTATION_NAME} (442 rows) from the MEGC2019 challenge organisers "
            "(github.com/Facial-Micro-ExpressionGC/MEGC2019, images/combined_3class_gt.csv) "
            "and pass it with --annotation FILE.")
    listed = read_cde_list(annotation)
    issues: list[Issue] = _not_official(listed, annotation)
    loads = {
        "casme2": load_casme2(parts["casme2"]),
        "samm": load_samm(parts["samm"]),
        "smic": load_smic(parts["smic"], variant="HS", cache_dir=cache_dir),
    }
    index = {(p, s.subject, s.clip): s for p, load in loads.items() for s in (*load.samples, *load.excluded)}
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
                                f"{src.label!r} maps to {expected!r}; the official class is used", "warning"))
        extra = {**src.extra, "source_label": src.label, "cde_subject": subject, "cde_clip": filename, "cde_line": line}
        samples.append(replace(src, label=cls, extra=extra))
    for load in loads.values():
        issues += [i for i in load.issues
                   if (i.sample_id in used or "/" not in i.sample_id) and i.check not in _OTHER_COLUMN_CHECKS]
    load = finish(samples, issues, annotation, strict)
    load.also_read = [part.annotation for part in loads.values() if part.annotation is not None]
    load.listed_rows = len(listed)
    # the parts' other samples: the protocol leaves them out, and a run's skipped.csv says so
    load.unlisted = [(s.sample_id, f"{NOT_LISTED}{annotation.name}") for part in loads.values()
                     for s in (*part.samples, *part.excluded) if s.sample_id not in used]
    return load


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


def part_counts(pairs: list[tuple[Sample, int]]) -> dict[str, dict[str, int]]:
    """Samples per class of each part (SMIC, CASME II, SAMM), from ``(sample, class index)`` pairs: evaluation.md
    asks to report the composite whole and per part."""
    out = {part: dict.fromkeys(CDE_LABELS, 0) for part in _REPORT_ORDER}
    for sample, k in pairs:
        out[sample.dataset][CDE_LABELS[k]] += 1
    return out
