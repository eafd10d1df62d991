"""Check a dataset copy: list every problem found and what training would use.

Loads the dataset the way training does, prints one line per problem (sample, severity, check,
message), then the samples per class under the label scheme, the subjects and the papers to cite. Nothing is
modified. With --strict the exit code is 1 when any error-severity problem exists; it is 1 in any case
when `mmnet train` could not train at all (no usable sample; a table of fewer than two emotions).

Examples:
  mmnet check-data casme2 --root /data/CASME2
  mmnet check-data samm --root /data/SAMM --scheme samm-3class-megc
  mmnet check-data smic --root /data/SMIC --variant VIS
  mmnet check-data composite --root casme2=/data/CASME2 --root samm=/data/SAMM --root smic=/data/SMIC \\
      --annotation combined_3class_gt.csv
  mmnet check-data table --root /data/mylab      (your own clips: ROOT/annotations.csv, one folder per clip)
  mmnet check-data table --root /data/mylab --scheme 'happy=positive, sad=negative, surprise=surprise, other=-'
  mmnet check-data casme-sq --root /data/CASME_sq      (long videos for spotting: videos, fps, intervals)
  mmnet check-data samm-long --root /data/SAMMLV
  mmnet check-data casme3-long --root /data/CASME3/part_A
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..choices import BAD_SAMPLE_POLICIES, DATASETS, LONG_VIDEO_DATASETS
from .check_data_common import finish, frames_folder, load_quietly, papers, print_issues, wrap

__all__ = ["add_arguments", "run"]


# cli.py's "interrupted: ..." line
INTERRUPTED = "nothing was written (check-data only reads)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .common import add_root_argument

    parser.add_argument("dataset", type=str, choices=DATASETS + LONG_VIDEO_DATASETS,
                        help="dataset name (casme-sq, casme2-long, samm-long, casme3-long, table-long: long videos for "
                             "spotting)")
    add_root_argument(parser, required=True)
    parser.add_argument("--annotation", type=Path, default=None, metavar="FILE",
                        help="annotation file (default: the dataset's usual file name in --root)")
    parser.add_argument("--scheme", type=str, default=None, metavar="NAME",
                        help="label scheme for the class summary (default: the dataset's default scheme), or a label "
                             "map 'label=class, label=class, label=-'")
    parser.add_argument("--strict", action="store_true", help="exit with code 1 when any error is found")
    parser.add_argument("--layout", type=str, default=None,
                        help="CASME II frames layout (cropped, cropped-updated, raw-selected, raw), as `mmnet train`'s "
                             "data.layout; default: the first present (a warning when the root holds two crops, or two "
                             "raw copies)")
    parser.add_argument("--variant", type=str, default=None,
                        help="SMIC variant: HS, VIS or NIR (default HS; `mmnet train` takes it from the dataset name: "
                             "smic-hs, smic-vis, smic-nir)")
    parser.add_argument("--no-corrections", action="store_true",
                        help="check-data only, to see the table as written: do not apply the known annotation "
                             "corrections (docs/datasets.md); `mmnet train` always applies them")
    parser.add_argument("--frames", type=str, default=None, metavar="PATTERN",
                        help="table dataset: frame file names with {frame} where the number is, e.g. "
                             "'img{frame}.jpg' (data.frames; default: the last number in an image file's name)")
    parser.add_argument("--fps", type=float, default=None,
                        help="table-long: the frame rate of the recordings whose rows give none (an fps column)")
    parser.add_argument("--cache-dir", type=Path, default=None, metavar="DIR",
                        help="where SMIC apex estimates are cached (default: mmnet's cache folder, $MMNET_CACHE_DIR, "
                             "else $XDG_CACHE_HOME/mmnet, else ~/.cache/mmnet)")
    parser.add_argument("--on-bad-sample", choices=BAD_SAMPLE_POLICIES, default="error",
                        help="count samples as training would with this data.on_bad_sample (default: error)")
    parser.add_argument("--deep", action="store_true",
                        help="decode every frame fully (default: header, size and end marker of each frame)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON (problems, counts, samples)")
    parser.add_argument("--max-width", type=int, default=160, help="wrap messages to this many columns (default 160)")


def _frames_line(load) -> str:
    by_part: dict[str, list] = {}
    for s in load.samples:
        by_part.setdefault(s.dataset, []).append(s.frames[0][1].parent)
    if len(by_part) <= 1:
        return frames_folder(next(iter(by_part.values()), []))
    return ", ".join(f"{part}={frames_folder(folders)}" for part, folders in by_part.items())


def _parts(root, load, usage) -> dict | None:
    """A composite's parts given (SMIC, CASME II, SAMM) for --json, as the text lists them: the samples training
    uses and their classes, the subjects, and the folders given and read (null for a single dataset, or when `mmnet
    train` refuses the classes before any sample is counted)."""
    if not isinstance(root, dict) or usage is None:
        return None
    from ..data.composite import part_counts

    folders: dict[str, list] = {}
    for s in load.samples:
        folders.setdefault(s.dataset, []).append(s.frames[0][1].parent)
    return {part: {"samples": sum(by_class.values()), "classes": by_class,
                   "subjects": len({s.subject for s, _ in usage.used if s.dataset == part}),
                   "root": str(root.get(part, "")), "frames": frames_folder(folders.get(part, []))}
            for part, by_class in part_counts(usage.used, _taking(load)).items()}


def _taking(load) -> set[str]:
    """The parts of a composite that take part: those its list names (a part given a folder that it does not name
    is not read; one it names always has a sample, or the load stops)."""
    return {s.dataset for s in load.samples + load.excluded}


def _table_classes(args: argparse.Namespace, root) -> tuple[list[str] | None, str | None]:
    """The table dataset's classes under its default scheme: the table's labels, as `mmnet train` fills them; with
    fewer than two, None and why `mmnet train` refuses them (data.table.too_few_clip_classes)."""
    from ..data.label_maps import TABLE_SCHEME
    from ..data.table import table_labels, too_few_clip_classes

    if args.dataset != "table" or (args.scheme or TABLE_SCHEME) != TABLE_SCHEME:
        return None, None
    labels = table_labels(root, args.annotation)
    return (labels, None) if len(labels) >= 2 else (None, too_few_clip_classes(root, args.annotation, labels))


def _print_head(args: argparse.Namespace, root, load) -> None:
    print(f"dataset     {args.dataset}")
    print(f"root        {root if not isinstance(root, dict) else ', '.join(f'{k}={v}' for k, v in root.items())}")
    print(f"annotation  {load.annotation or '(none: labels from folder names)'}")
    print(f"frames      {_frames_line(load)}")
    print(f"samples     {len(load.samples)} with frames on disk, {len(load.excluded)} excluded (no frames)")
    print()


def _refused(args: argparse.Namespace, root, load, why: str) -> int:
    """The data's problems, then why `mmnet train` cannot train MMNet on its classes (one class, or none): on stderr,
    after the report (or the JSON, whose ``refused`` holds it), as the other refusals below."""
    from ..data import default_scheme

    if args.json:
        _print_json(args, root, None, load, None, None, refused=why, scheme_name=args.scheme or
                    default_scheme(args.dataset))
    else:
        _print_head(args, root, load)
        print_issues(load.issues, args.max_width)
    for k, line in enumerate(wrap(f"error: {why}", args.max_width - 2)):
        print(("" if k == 0 else "  ") + line, file=sys.stderr)
    return 1


def run(args: argparse.Namespace) -> int:
    from collections import Counter

    from ..config import parse_root
    from ..data import LONG_VIDEO_DATASETS, default_scheme, resolve_scheme
    from ..data.class_coverage import check_unique_ids, usage_coverage_lines
    from ..data.frame_check import check_frame_files
    from ..data.label_maps import one_class
    from ..data.schemes import scheme_warnings
    from ..data.usage import NEAREST_CANNOT, classes_left, emptied_classes, plan_usage

    root = parse_root(args.dataset, args.root)
    if args.dataset in LONG_VIDEO_DATASETS:
        from .check_data_long import run_long

        return run_long(args, root)
    classes, refused = _table_classes(args, root)
    scheme = None if refused else resolve_scheme(args.scheme or default_scheme(args.dataset), classes,
                                                 dataset=args.dataset)
    load = load_quietly(args, root)
    if refused or (refused := one_class(scheme.name, scheme.classes)):  # `mmnet train` refuses it (train.resolve)
        return _refused(args, root, load, refused)
    check_frame_files(load, scheme, deep=args.deep)
    usage = plan_usage(load, scheme, args.on_bad_sample)  # the rule training applies (mmnet.data.usage)
    check_unique_ids([s for s, _ in usage.used], args.dataset)  # refused as `mmnet train` refuses it
    load.issues.extend(scheme_warnings(scheme, load.samples + load.excluded))  # as `mmnet train` logs them
    # a class that skipping leaves without a sample stops `mmnet train` (the classes trained are the scheme's)
    skipping = args.on_bad_sample == "skip" and usage.used
    where = "left_out and issues list every one" if args.json else "the report above lists every one, as --json does"
    emptied = (classes_left(load, scheme, [k for _, k in usage.used], usage.left_out, where, args.dataset)
               if skipping else None)
    # classes that refusal names are not repeated in the coverage warning (no sample annotated: another case)
    refused = emptied_classes(load, scheme, [k for _, k in usage.used], usage.left_out) if skipping else []
    # the refusals stop `mmnet train` whatever the output's form: exit 1 and the error line on stderr
    stops = (f"mmnet train stops: {emptied}" if emptied else f"none of the {usage.annotated} annotated samples can be "
             "used for training" if usage.annotated and not usage.used else None)
    if args.json:
        _print_json(args, root, scheme, load, usage, emptied, refused=stops)
        if stops:
            print(f"error: {stops}", file=sys.stderr)
        return 1 if stops or (args.strict and (load.errors or usage.problems)) else 0

    _print_head(args, root, load)
    errors = print_issues(load.issues, args.max_width)

    pairs = usage.used
    counts = dict.fromkeys(scheme.classes, 0)
    for _, k in pairs:
        counts[scheme.classes[k]] += 1
    print(f"scheme      {scheme.name}: {_used_line(load, scheme, usage, args.on_bad_sample, bool(emptied))}")
    from ..display_width import display_width, pad

    width = max([12, *(display_width(name) for name in counts)])  # columns shown: a CJK character takes two
    for k, (name, n) in enumerate(counts.items()):
        print(f"  {k}  {pad(name, width)} {n}")
    if args.dataset == "composite":  # evaluation.md: report the whole and each part
        from ..data.composite import part_counts

        for part, by_class in part_counts(pairs, _taking(load)).items():
            print(f"  {part:<7} {sum(by_class.values()):>4}: " + ", ".join(f"{c} {n}" for c, n in by_class.items()))
    left_out = Counter(scheme.key(s) for s in load.samples + load.excluded
                       if scheme.key(s) in scheme.mapping and scheme.class_of(s) is None)
    if left_out:
        print("  not in the scheme (left out on purpose, listed in the run's skipped.csv): "
              + ", ".join(f"{k} {n}" for k, n in sorted(left_out.items())))
    # a label the scheme does not know, or none, is no loader issue: the table above lacks its reason
    listed = {i.sample_id for i in load.issues}  # built once: per problem it was quadratic in the table's size
    unlisted = [(sid, why) for sid, why in usage.problems if sid not in listed]
    # under nearest every problem is one it cannot fix, and a clamp leaving no motion is not in the table: all named
    explained = usage.problems if args.on_bad_sample == "nearest" else unlisted
    if usage.problems:
        verb = {"skip": "are left out, listed in the run's skipped.csv",
                "nearest": f"stop training: {NEAREST_CANNOT}; fix them, or train with data.on_bad_sample=skip to "
                           "leave them out"}.get(
            args.on_bad_sample, "stop training until fixed (or train with data.on_bad_sample=skip to leave them out)")
        above = " (above)" if len(unlisted) < len(usage.problems) else ""
        print(f"  {len(usage.problems)} with problems{above} {verb}:")
        for line in wrap(", ".join(sid for sid, _ in usage.problems), args.max_width - 4):
            print("    " + line)
    if explained:
        print("  why nearest cannot fix them:" if args.on_bad_sample == "nearest"
              else "  their reasons (not in the table above):" if len(unlisted) == len(usage.problems)
              else "  problems not in the table above:")
        for sid, why in explained:
            for k, line in enumerate(wrap(f"{sid}: {why}", args.max_width - 6)):
                print(("    " if k == 0 else "      ") + line)
    for warning in usage_coverage_lines(pairs, scheme.classes, scheme.name, refused):  # as `mmnet train` logs them
        for k, line in enumerate(wrap(f"warning: {warning}", args.max_width - 4)):
            print(("  " if k == 0 else "    ") + line)
    subjects = Counter(f"{s.dataset}/{s.subject}" if args.dataset == "composite" else s.subject for s, _ in pairs)
    code = finish(subjects, errors + len(unlisted), args.strict, cite=papers(args.dataset, root, _taking(load)))
    if stops:  # errors on stderr: the report above stays on stdout
        print(f"error: {stops}", file=sys.stderr)
        return 1
    return code


def _used_line(load, scheme, usage, on_bad_sample: str, emptied: bool = False) -> str:
    """How many annotated samples training uses; while problems stop training (data.on_bad_sample error or nearest,
    or a class that skipping leaves empty: ``emptied``), it says so first: a count alone read as what `mmnet train`
    would train on."""
    from ..data.usage import plan_usage

    used = f"{len(usage.used)} of {usage.annotated} annotated samples used for training"
    if emptied:
        return f"training stops: skipping leaves a class without a sample (the error below); {used} otherwise"
    if not usage.blocking(on_bad_sample):
        return f"{used} (data.on_bad_sample={on_bad_sample})"
    if on_bad_sample == "error":
        return f"training stops until these are fixed; with data.on_bad_sample=skip: {used}"
    skipping = plan_usage(load, scheme, "skip")
    return (f"training stops until these are fixed (data.on_bad_sample={on_bad_sample} cannot fix them); once they "
            f"are: {used}; with data.on_bad_sample=skip, which leaves out every sample with an error: "
            f"{len(skipping.used)} of {skipping.annotated}")


def _print_json(args, root, scheme, load, usage, emptied: str | None, refused: str | None,
                scheme_name: str | None = None) -> None:
    """The result as JSON; ``refused``: why `mmnet train` would stop whatever its data.on_bad_sample (the error line
    on stderr), else null. Without ``usage`` (a scheme refused before any sample is counted) no sample is used."""
    import json

    from ..config import format_root

    problems = {sid for sid, _ in usage.problems} if usage else set()
    print(json.dumps({
        "dataset": args.dataset, "root": format_root(root), "annotation": str(load.annotation or ""),
        "frames": _frames_line(load),
        "scheme": scheme.name if scheme else scheme_name, "on_bad_sample": args.on_bad_sample,
        "issues": [{"sample_id": i.sample_id, "severity": i.severity, "check": i.check, "message": i.message}
                   for i in load.issues],
        "errors": len(load.errors), "warnings": len(load.warnings),
        "annotated": usage.annotated if usage else None,
        "used": [{"sample_id": s.sample_id, "subject": s.subject, "class": scheme.classes[k]}
                 for s, k in (usage.used if usage else [])],
        "left_out": [{"sample_id": sid, "reason": reason, "problem": sid in problems}
                     for sid, reason in (usage.left_out if usage else [])],
        "training_stops": refused is not None or bool(usage.blocking(args.on_bad_sample)),
        "classes_left": emptied,  # why skipping leaves too few classes to train, else null
        "refused": refused,
        "parts": _parts(root, load, usage),
        # the papers of the dataset's release (a composite's: of the parts its list names); [] for synthetic or own
        "cite": papers(args.dataset, root, _taking(load)),
    }, indent=2))
