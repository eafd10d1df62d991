"""``mmnet check-data`` for a long-video (spotting) dataset: videos, fps, subjects, intervals per type, every quirk,
and what spot then recognise would train MMNet on. Kept apart from the clip datasets' check (check_data)."""

from __future__ import annotations

import argparse
import sys

from .check_data_common import finish, frames_folder, load_quietly, per_subject, print_issues

__all__ = ["run_long"]


def run_long(args: argparse.Namespace, root) -> int:
    """check-data for a long-video (spotting) dataset: videos, fps, subjects, intervals per type, every quirk."""
    from collections import Counter


    if args.scheme is not None:
        from ..errors import ConfigError

        raise ConfigError(f"--scheme does not apply to the long-video dataset {args.dataset!r}.")
    load = load_quietly(args, root)
    videos = load.videos
    print(f"dataset     {args.dataset} (long videos, for spotting)")
    print(f"root        {root}")
    print(f"annotation  {load.annotation}")
    left_out = _left_out(load)
    why = ", ".join(f"{n} {reason}" for reason, n in left_out.items())
    print("frames      " + (frames_folder([v.path for v in videos]) if videos
                             else f"(none: no recording can be used: {why or 'the annotation lists none'})"))
    excluded = "no frames" if set(left_out) <= {"no frames"} else why
    print(f"videos      {len(videos)} with frames on disk, {len(load.excluded)} excluded ({excluded}), "
          f"{sum(1 for v in videos if not v.intervals)} without annotation")
    fps = Counter(v.fps for v in videos)
    print("fps         " + (", ".join(f"{f:g} ({n} videos)" for f, n in sorted(fps.items())) or "(none)"))
    frames = [v.n_frames for v in videos]
    if frames:
        print(f"frames      {sum(frames)} on disk; {min(frames)}-{max(frames)} per video, "
              f"mean {sum(frames) / len(frames):.0f}")
    print()
    _errors = print_issues(load.issues, args.max_width)
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
    code = finish(Counter(v.subject for v in videos), _errors, args.strict, after=after)
    if not videos:  # nothing to spot, train or score, whatever the option
        print(f"error: no recording can be used ({why or 'the annotation lists none'}): see the problems above",
              file=sys.stderr)  # as check-data's other errors: the report alone on stdout
        return 1
    return code


# why a recording was left out, by the issue its loader gave it (the first that applies)
_REASONS = (("video_file", "a video file, not a frame folder"), ("video_missing", "folder missing"),
            ("no_fps", "no frame rate"))


def _left_out(load):
    """The excluded recordings counted by why they were left out: 'no frame rate', 'folder missing', ... or
    'no frames' (a folder without frame files): all were 'no frames' to the videos line before."""
    from collections import Counter

    checks: dict[str, set[str]] = {}
    for i in load.issues:
        checks.setdefault(i.sample_id, set()).add(i.check)
    return Counter(next((reason for check, reason in _REASONS if check in checks.get(v.video_id, ())), "no frames")
                   for v in load.excluded)


def _recognition(args: argparse.Namespace, load) -> str:
    """What `mmnet train` (spot then recognise) would train MMNet on: the usable micro-expressions under the
    dataset's STR scheme, and their subjects, the only ones with a recognition fold (the rule of train.prepare)."""
    from collections import Counter

    from ..data import default_scheme, get_scheme, resolve_scheme
    from ..data.label_maps import TABLE_SCHEME
    from ..data.long_clips import long_video_clips
    from ..data.usage import describe_problems, plan_usage

    name = getattr(args, "scheme", None) or default_scheme(args.dataset)
    if args.dataset == "table-long" and name == TABLE_SCHEME:  # its classes: its micro-expressions' labels
        labels = sorted({i.label for v in load.videos for i in v.of_type("micro") if i.label})
        if not labels:
            return ("  (spotting: one fold each, `mmnet train-spotter`); spot then recognise (`mmnet train`): no "
                    "micro-expression has an emotion (the table's emotion column), nothing to train MMNet on")
        if len(labels) < 2:  # `mmnet train` refuses it (train.resolve): said here, before a run is started
            blank = sum(not i.label for v in load.videos for i in v.of_type("micro"))
            return ("  (spotting: one fold each, `mmnet train-spotter`); spot then recognise (`mmnet train`): the "
                    f"micro-expressions have one emotion alone ({labels[0]}; {blank} without any): MMNet needs two "
                    "classes or more")
        scheme = resolve_scheme(name, labels, args.dataset)
    else:
        scheme = get_scheme(name)
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
    subjects = per_subject(folds)
    return (f"  (spotting: one fold each, `mmnet train-spotter`); spot then recognise (`mmnet train`): "
            f"{len(folds)} fold(s), the subjects with a usable micro-expression (micro-expressions: {subjects}); "
            "the others' recordings are spotted in those folds\n"
            f"recognise   {len(used)} micro-expressions usable by scheme {scheme.name}: "
            + ", ".join(f"{c} {labels[c]}" for c in scheme.classes) + problems
            + ("\n            `mmnet train` stops: only one class has a usable micro-expression, MMNet needs two"
               if len(labels) < 2 else ""))
