"""Check a dataset copy: list every problem found and what training would use.

Loads the dataset the way training does, prints one line per problem (sample, severity, check,
message), then the samples per class under the label scheme and the subjects. Nothing is
modified. With --strict the exit code is 1 when any error-severity problem exists.

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
from pathlib import Path

from ..choices import BAD_SAMPLE_POLICIES, DATASETS, LONG_VIDEO_DATASETS

__all__ = ["add_arguments", "run"]


# cli.py's "interrupted: ..." line
INTERRUPTED = "nothing was written (check-data only reads)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .common import add_root_argument

    parser.add_argument("dataset", type=str, choices=DATASETS + LONG_VIDEO_DATASETS,
                        help="dataset name (casme-sq, casme2-long, samm-long, casme3-long: long videos for spotting)")
    add_root_argument(parser, required=True)
    parser.add_argument("--annotation", type=Path, default=None, metavar="FILE",
                        help="annotation file (default: the dataset's usual file name in --root)")
    parser.add_argument("--scheme", type=str, default=None, metavar="NAME",
                        help="label scheme for the class summary (default: the dataset's default scheme), or a label "
                             "map 'label=class, label=class, label=-'")
    parser.add_argument("--strict", action="store_true", help="exit with code 1 when any error is found")
    parser.add_argument("--layout", type=str, default=None,
                        help="check-data only, to inspect another copy: CASME II frames layout (cropped, "
                             "cropped-updated, raw-selected, raw); default and what `mmnet train` always uses: the "
                             "first present. To train on another layout, give its folder as --root with --annotation")
    parser.add_argument("--variant", type=str, default=None,
                        help="SMIC variant: HS, VIS or NIR (default HS; `mmnet train` takes it from the dataset name: "
                             "smic-hs, smic-vis, smic-nir)")
    parser.add_argument("--no-corrections", action="store_true",
                        help="check-data only, to see the table as written: do not apply the known annotation "
                             "corrections (docs/datasets.md); `mmnet train` always applies them")
    parser.add_argument("--cache-dir", type=Path, default=None, metavar="DIR",
                        help="where SMIC apex estimates are cached (default: mmnet's cache folder, $MMNET_CACHE_DIR, "
                             "else $XDG_CACHE_HOME/mmnet, else ~/.cache/mmnet)")
    parser.add_argument("--on-bad-sample", choices=BAD_SAMPLE_POLICIES, default="error",
                        help="count samples as training would with this data.on_bad_sample (default: error)")
    parser.add_argument("--deep", action="store_true",
                        help="decode every frame fully (default: header, size and end marker of each frame)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON (problems, counts, samples)")
    parser.add_argument("--max-width", type=int, default=160, help="wrap messages to this many columns (default 160)")


def _options(loader, args) -> dict:
    import inspect

    accepted = inspect.signature(loader).parameters
    wanted = {"layout": args.layout, "variant": args.variant, "cache_dir": args.cache_dir}
    if args.no_corrections:
        wanted["corrections"] = False
    out = {}
    for key, value in wanted.items():
        if value is None:
            continue
        if key not in accepted:
            from ..errors import ConfigError

            raise ConfigError(f"--{key.replace('_', '-')} does not apply to dataset {args.dataset!r}.")
        out[key] = value
    return out


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, max(20, width)) or [""]


def _load(args, root):
    import logging

    from ..data import DATASETS, LONG_VIDEO_DATASETS, load_dataset

    loader = {**DATASETS, **LONG_VIDEO_DATASETS}[args.dataset]
    # the loader's one-line summary would repeat what this command prints in full
    data_log = logging.getLogger("mmnet.data")
    level = data_log.level
    data_log.setLevel(logging.ERROR)
    try:
        return load_dataset(args.dataset, root, annotation=args.annotation, strict=False, **_options(loader, args))
    finally:
        data_log.setLevel(level)


def _frames_folder(folders) -> str:
    """The folder the frames were read from (the clips' common parent), e.g. ROOT/Cropped for CASME II, so that
    a user sees which of a dataset's frame folders (cropped or raw) training takes."""
    import os

    return os.path.commonpath([str(f) for f in folders]) if folders else "(none: no clip has frames on disk)"


def _frames_line(load) -> str:
    by_part: dict[str, list] = {}
    for s in load.samples:
        by_part.setdefault(s.dataset, []).append(s.frames[0][1].parent)
    if len(by_part) <= 1:
        return _frames_folder(next(iter(by_part.values()), []))
    return ", ".join(f"{part}={_frames_folder(folders)}" for part, folders in by_part.items())


def _by_missing_subject(issues) -> list:
    """``issues`` with the clips of each subject folder missing in a partial copy as one line per subject (it was
    one line per clip: hundreds), in the place of the subject's first clip."""
    from ..data.common import PARTIAL_COPY as partial
    from ..data.sample import Issue

    groups: dict[tuple[str, str], list] = {}
    for i in issues:
        if i.check == "clip_missing" and (m := partial.search(i.message)):
            groups.setdefault((m[1], m[2]), []).append((i, m[3]))
    shown, done = [], set()
    for i in issues:
        m = partial.search(i.message) if i.check == "clip_missing" else None
        if m is None:
            shown.append(i)
        elif (key := (m[1], m[2])) not in done:
            done.add(key)
            clips = groups[key]
            shown.append(Issue(i.sample_id.rsplit("/", 1)[0], i.check,
                               f"subject folder {m[1]} missing in {m[2]} (which holds {m[3]}: a partial copy?): its "
                               f"{len(clips)} clip(s) cannot be used"))
    return shown


def _print_issues(issues, max_width: int) -> int:
    """The problem table and its summary line (counting every issue); returns the number of errors."""
    from collections import Counter

    from ..display_width import display_width, pad

    if issues:
        counted, issues = issues, _by_missing_subject(issues)
        # widths as shown, not len(): a CJK subject's characters take two columns each
        sid_w = min(34, max(len("sample"), *(display_width(i.sample_id) for i in issues)))
        chk_w = max(len("check"), *(display_width(i.check) for i in issues))
        head = f"{'sample':<{sid_w}}  {'severity':<8}  {'check':<{chk_w}}  message"
        print(head)
        print("-" * min(max_width, max(len(head), 60)))
        indent = sid_w + 8 + chk_w + 6
        for i in issues:
            lines = _wrap(i.message, max_width - indent)
            print(f"{pad(i.sample_id, sid_w)}  {i.severity:<8}  {pad(i.check, chk_w)}  {lines[0]}")
            for line in lines[1:]:
                print(" " * indent + line)
        print()
        issues = counted
    by_check = Counter((i.severity, i.check) for i in issues)
    errors = sum(n for (sev, _), n in by_check.items() if sev == "error")
    print(f"problems    {errors} error(s), {len(issues) - errors} warning(s)"
          + ("" if not by_check else ": " + ", ".join(f"{c} {n}" for (_, c), n in sorted(by_check.items()))))
    print()
    return errors


def _run_long(args: argparse.Namespace, root) -> int:
    """check-data for a long-video (spotting) dataset: videos, fps, subjects, intervals per type, every quirk."""
    from collections import Counter


    if args.scheme is not None:
        from ..errors import ConfigError

        raise ConfigError(f"--scheme does not apply to the long-video dataset {args.dataset!r}.")
    load = _load(args, root)
    videos = load.videos
    print(f"dataset     {args.dataset} (long videos, for spotting)")
    print(f"root        {root}")
    print(f"annotation  {load.annotation}")
    print(f"frames      {_frames_folder([v.path for v in videos])}")
    print(f"videos      {len(videos)} with frames on disk, {len(load.excluded)} excluded (no frames), "
          f"{sum(1 for v in videos if not v.intervals)} without annotation")
    fps = Counter(v.fps for v in videos)
    print("fps         " + ", ".join(f"{f:g} ({n} videos)" for f, n in sorted(fps.items())))
    frames = [v.n_frames for v in videos]
    if frames:
        print(f"frames      {sum(frames)} on disk; {min(frames)}-{max(frames)} per video, "
              f"mean {sum(frames) / len(frames):.0f}")
    print()
    _errors = _print_issues(load.issues, args.max_width)
    counts = load.interval_counts()
    print(f"intervals   {sum(counts.values())} in the videos with frames"
          + (f" ({sum(len(v.intervals) for v in load.excluded)} more in excluded videos)" if load.excluded else ""))
    for t in ("micro", "macro"):
        if t not in load.types:
            print(f"  {t:<6} no {t}-expression annotation: {t} spotting cannot be evaluated")
            continue
        with_t = [v for v in videos if v.of_type(t)]
        lengths = [i.length for v in with_t for i in v.of_type(t)]
        span = f"; {min(lengths)}-{max(lengths)} frames long" if lengths else ""
        labels = Counter(i.label or "(none)" for v in with_t for i in v.of_type(t))
        print(f"  {t:<6} {counts.get(t, 0):>5} in {len(with_t)} videos of {len({v.subject for v in with_t})} "
              f"subjects{span}; labels: " + ", ".join(f"{k} {n}" for k, n in sorted(labels.items())))
    blinks = [v for v in videos if v.blinks]
    if blinks:
        print(f"blinks      {sum(len(v.blinks) for v in blinks)} in {len(blinks)} videos (for rejecting spotted "
              "intervals)")
    after = _recognition(args, load) if "micro" in load.types else None
    return _finish(Counter(v.subject for v in videos), _errors, args.strict, after=after)


def _recognition(args: argparse.Namespace, load) -> str:
    """What `mmnet train` (spot then recognise) would train MMNet on: the usable micro-expressions under the
    dataset's STR scheme, and their subjects, the only ones with a recognition fold (the rule of train.prepare)."""
    from collections import Counter

    from ..data import default_scheme, get_scheme
    from ..data.long_clips import long_video_clips
    from ..data.usage import describe_problems, plan_usage

    scheme = get_scheme(getattr(args, "scheme", None) or default_scheme(args.dataset))
    usage = plan_usage(long_video_clips(load, "micro"), scheme, args.on_bad_sample)
    used = usage.used
    problems = ""
    if usage.problems:
        stops = ("left out (data.on_bad_sample=skip)" if args.on_bad_sample == "skip"
                 else "`mmnet train` stops on them unless data.on_bad_sample=skip")
        problems = (f"\n            {len(usage.problems)} micro-expression(s) not usable for recognition "
                    f"({stops}):\n{describe_problems(usage.problems, limit=None)}")
    labels = Counter(scheme.classes[k] for _, k in used)
    folds = Counter(s.subject for s, _ in used)
    if not used:
        return (f"  (spotting: one fold each, `mmnet train-spotter`); spot then recognise (`mmnet train`): no "
                f"micro-expression usable by scheme {scheme.name}, nothing to train MMNet on{problems}")
    subjects = _per_subject(folds)
    return (f"  (spotting: one fold each, `mmnet train-spotter`); spot then recognise (`mmnet train`): "
            f"{len(folds)} fold(s), the subjects with a usable micro-expression (micro-expressions: {subjects}); "
            "the others' recordings are spotted in those folds\n"
            f"recognise   {len(used)} micro-expressions usable by scheme {scheme.name}: "
            + ", ".join(f"{c} {labels[c]}" for c in scheme.classes) + problems)


def _table_classes(args: argparse.Namespace, root) -> list[str] | None:
    """The table dataset's classes under its default scheme: the table's labels, as `mmnet train` fills them."""
    from ..data.label_maps import TABLE_SCHEME
    from ..data.table import table_labels

    if args.dataset != "table" or (args.scheme or TABLE_SCHEME) != TABLE_SCHEME:
        return None
    return table_labels(root, args.annotation) or None


def run(args: argparse.Namespace) -> int:
    from collections import Counter

    from ..config import parse_root
    from ..data import LONG_VIDEO_DATASETS, default_scheme, resolve_scheme
    from ..data.class_coverage import check_unique_ids, usage_coverage_lines
    from ..data.frame_check import check_frame_files
    from ..data.schemes import scheme_warnings
    from ..data.usage import NEAREST_CANNOT, plan_usage

    root = parse_root(args.dataset, args.root)
    if args.dataset in LONG_VIDEO_DATASETS:
        return _run_long(args, root)
    scheme = resolve_scheme(args.scheme or default_scheme(args.dataset), _table_classes(args, root),
                            dataset=args.dataset)
    load = _load(args, root)
    check_frame_files(load, scheme, deep=args.deep)
    usage = plan_usage(load, scheme, args.on_bad_sample)  # the rule training applies (mmnet.data.usage)
    check_unique_ids([s for s, _ in usage.used], args.dataset)  # refused as `mmnet train` refuses it
    load.issues.extend(scheme_warnings(scheme, load.samples + load.excluded))  # as `mmnet train` logs them
    if args.json:
        _print_json(args, root, scheme, load, usage)
        return 1 if args.strict and (load.errors or usage.problems) else 0

    print(f"dataset     {args.dataset}")
    print(f"root        {root if not isinstance(root, dict) else ', '.join(f'{k}={v}' for k, v in root.items())}")
    print(f"annotation  {load.annotation or '(none: labels from folder names)'}")
    print(f"frames      {_frames_line(load)}")
    print(f"samples     {len(load.samples)} with frames on disk, {len(load.excluded)} excluded (no frames)")
    print()

    errors = _print_issues(load.issues, args.max_width)

    pairs = usage.used
    counts = dict.fromkeys(scheme.classes, 0)
    for _, k in pairs:
        counts[scheme.classes[k]] += 1
    print(f"scheme      {scheme.name}: {_used_line(load, scheme, usage, args.on_bad_sample)}")
    for k, (name, n) in enumerate(counts.items()):
        print(f"  {k}  {name:<12} {n}")
    if args.dataset == "composite":  # evaluation.md: report the whole and each part
        from ..data.composite import part_counts

        for part, by_class in part_counts(pairs).items():
            print(f"  {part:<7} {sum(by_class.values()):>4}: " + ", ".join(f"{c} {n}" for c, n in by_class.items()))
    left_out = Counter(scheme.key(s) for s in load.samples + load.excluded
                       if scheme.key(s) in scheme.mapping and scheme.class_of(s) is None)
    if left_out:
        print("  not in the scheme (left out on purpose, listed in the run's skipped.csv): "
              + ", ".join(f"{k} {n}" for k, n in sorted(left_out.items())))
    # a label the scheme does not know, or none, is no loader issue: the table above lacks its reason
    unlisted = [(sid, why) for sid, why in usage.problems if sid not in {i.sample_id for i in load.issues}]
    # under nearest every problem is one it cannot fix, and a clamp leaving no motion is not in the table: all named
    explained = usage.problems if args.on_bad_sample == "nearest" else unlisted
    if usage.problems:
        verb = {"skip": "are left out, listed in the run's skipped.csv",
                "nearest": f"stop training: {NEAREST_CANNOT}; fix them, or train with data.on_bad_sample=skip to "
                           "leave them out"}.get(
            args.on_bad_sample, "stop training until fixed (or train with data.on_bad_sample=skip to leave them out)")
        above = " (above)" if len(unlisted) < len(usage.problems) else ""
        print(f"  {len(usage.problems)} with problems{above} {verb}:")
        for line in _wrap(", ".join(sid for sid, _ in usage.problems), args.max_width - 4):
            print("    " + line)
    if explained:
        print("  why nearest cannot fix them:" if args.on_bad_sample == "nearest"
              else "  their reasons (not in the table above):" if len(unlisted) == len(usage.problems)
              else "  problems not in the table above:")
        for sid, why in explained:
            for k, line in enumerate(_wrap(f"{sid}: {why}", args.max_width - 6)):
                print(("    " if k == 0 else "      ") + line)
    for warning in usage_coverage_lines(pairs, scheme.classes, scheme.name):  # as `mmnet train` logs them
        for k, line in enumerate(_wrap(f"warning: {warning}", args.max_width - 4)):
            print(("  " if k == 0 else "    ") + line)
    subjects = Counter(f"{s.dataset}/{s.subject}" if args.dataset == "composite" else s.subject for s, _ in pairs)
    code = _finish(subjects, errors + len(unlisted), args.strict)
    if usage.annotated and not usage.used:  # `mmnet train` would have nothing to train on, whatever the option
        print(f"\nerror: none of the {usage.annotated} annotated samples can be used for training")
        return 1
    return code


def _used_line(load, scheme, usage, on_bad_sample: str) -> str:
    """How many annotated samples training uses; while problems stop training (data.on_bad_sample error or nearest),
    it says so first: a count alone read as what `mmnet train` would train on."""
    from ..data.usage import plan_usage

    used = f"{len(usage.used)} of {usage.annotated} annotated samples used for training"
    if not usage.blocking(on_bad_sample):
        return f"{used} (data.on_bad_sample={on_bad_sample})"
    if on_bad_sample == "error":
        return f"training stops until these are fixed; with data.on_bad_sample=skip: {used}"
    skipping = plan_usage(load, scheme, "skip")
    return (f"training stops until these are fixed (data.on_bad_sample={on_bad_sample} cannot fix them); once they "
            f"are: {used}; with data.on_bad_sample=skip, which leaves out every sample with an error: "
            f"{len(skipping.used)} of {skipping.annotated}")


def _per_subject(counts) -> str:
    """'01 12, 02 9, ...': a count per subject, in natural order."""
    from ..data.common import natural_key

    return ", ".join(f"{k} {n}" for k, n in sorted(counts.items(), key=lambda kv: natural_key(kv[0])))


def _finish(subjects, errors: int, strict: bool, after: str | None = None) -> int:
    """The subjects line (one LOSO fold each; ``after`` qualifies it) and the exit code: 1 with --strict when
    errors were found."""
    print(f"subjects    {len(subjects)} (LOSO folds): " + _per_subject(subjects))
    if after:
        print(after)
    if strict and errors:
        print(f"\nstrict: {errors} error(s) found")
        return 1
    return 0


def _print_json(args, root, scheme, load, usage) -> None:
    import json

    from ..config import format_root

    problems = {sid for sid, _ in usage.problems}
    print(json.dumps({
        "dataset": args.dataset, "root": format_root(root), "annotation": str(load.annotation or ""),
        "frames": _frames_line(load),
        "scheme": scheme.name, "on_bad_sample": args.on_bad_sample,
        "issues": [{"sample_id": i.sample_id, "severity": i.severity, "check": i.check, "message": i.message}
                   for i in load.issues],
        "errors": len(load.errors), "warnings": len(load.warnings),
        "annotated": usage.annotated,
        "used": [{"sample_id": s.sample_id, "subject": s.subject, "class": scheme.classes[k]} for s, k in usage.used],
        "left_out": [{"sample_id": sid, "reason": reason, "problem": sid in problems}
                     for sid, reason in usage.left_out],
        "training_stops": bool(usage.blocking(args.on_bad_sample)),
    }, indent=2))
