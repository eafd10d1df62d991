"""``mmnet check-data`` for a long-video (spotting) dataset: videos, fps, subjects, intervals per type, every quirk,
and what spot then recognise would train MMNet on. Kept apart from the clip datasets' check (check_data).

What stops which command, as the commands themselves decide it: `mmnet train-spotter` reads the data strictly (an
error-severity problem stops it), needs a recording and, for the learned spotter, an interval of each annotated type
(--loso: two subjects); it needs no emotion. `mmnet train` (spot then recognise) also trains MMNet on the
micro-expressions' emotions: two classes or more (``usage.classes_left``, as train.prepare applies it)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field

from .check_data_common import finish, frames_folder, load_quietly, papers, per_subject, print_issues

__all__ = ["run_long"]

SPOTTER_STRICT = "`mmnet train-spotter` stops on error-severity problems (it reads the data strictly)"
NO_EMOTION = "`mmnet train-spotter` needs no emotion"  # a note under train's refusal for want of emotions


@dataclass
class _Recognition:
    """What `mmnet train` (spot then recognise) would train MMNet on. ``refused``: why it would stop whatever its
    data.on_bad_sample, on a dataset whose micro-expressions have emotions (check-data's exit 1); ``not_trainable``:
    why MMNet cannot be trained on a dataset without any (a spotting set: said, not refused)."""

    scheme: str | None = None
    usage: object = None
    classes: tuple[str, ...] = ()
    refused: str | None = None
    not_trainable: str | None = None
    note: str | None = None  # said after the refusal, on a line of its own: what still works
    lines: list[str] = field(default_factory=list)


def run_long(args: argparse.Namespace, root) -> int:
    """check-data for a long-video (spotting) dataset: videos, fps, subjects, intervals per type, every quirk."""
    from collections import Counter

    if args.scheme is not None:
        from ..errors import ConfigError

        raise ConfigError(f"--scheme does not apply to the long-video dataset {args.dataset!r}.")
    load = load_quietly(args, root)
    videos = load.videos
    left_out = _left_out(load)
    why = ", ".join(f"{n} {reason}" for reason, n in left_out.items())
    recognition = _recognition(args, load) if "micro" in load.types else None
    # nothing to spot, train or score, whatever the option: before the recognition's refusal, which it explains
    refused = (f"no recording can be used ({why or 'the annotation lists none'}): see the problems above"
               if not videos else recognition.refused if recognition else None)
    spotting = _spotting_stops(load)
    if args.json:
        _print_json(args, root, load, left_out, recognition, spotting, refused)
        code = 1 if args.strict and load.errors else 0
    else:
        print(f"dataset     {args.dataset} (long videos, for spotting)")
        print(f"root        {root}")
        print(f"annotation  {load.annotation}")
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
        errors = print_issues(load.issues, args.max_width)
        _print_intervals(load)
        # what stops spotting, with the data as it is (no recording: the error below)
        lines = (recognition.lines if recognition else []) + (["spotting    " + "; ".join(spotting)]
                                                               if spotting and videos else [])
        code = finish(Counter(v.subject for v in videos), errors, args.strict, after="\n".join(lines) or None,
                      cite=papers(args.dataset, root))
    if refused:  # as check-data's other refusals: the report (or JSON) alone on stdout, the error on stderr, unwrapped
        print(f"error: {refused}", file=sys.stderr)
        if videos and recognition.note:  # train's refusal, not the data's: what is not refused
            print(f"note: {recognition.note}", file=sys.stderr)
        return 1
    return code


def _print_intervals(load) -> None:
    from collections import Counter

    videos, counts = load.videos, load.interval_counts()
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


def _spotting_stops(load) -> list[str]:
    """Why `mmnet train-spotter` would stop on the data as it is (its checks, commands.train_spotter and
    spotting.learned/loso); empty when it can train."""
    out = []
    if not load.videos:
        out.append("`mmnet train-spotter` has no recording to train on")
    if load.errors:
        out.append(f"{SPOTTER_STRICT}: fix the {len(load.errors)} error(s) listed")
    missing = [t for t in load.types if not any(v.of_type(t) for v in load.videos)]
    if load.videos and missing:
        out.append(f"the learned spotter (`mmnet train-spotter`'s default) trains one network per annotated type and "
                   f"the recordings with frames hold no {' or '.join(missing)} interval (method=flow needs none)")
    if len({v.subject for v in load.videos}) == 1:
        out.append("`mmnet train-spotter --loso` needs two subjects or more")
    elif load.videos and load.types and not missing:  # each fold trains on the other subjects: one may lack a type
        from ..errors import DataError
        from ..spotting.learned import check_learned_folds

        try:
            check_learned_folds(load.videos, {v.video: v.subject for v in load.videos}, types=load.types)
        except DataError as e:
            out.append(f"`--loso`: {e}")
    return out


# why a recording was left out, by the issue its loader gave it (the first that applies)
_REASONS = (("video_file", "a video file, not a frame folder"), ("video_missing", "folder missing"),
            ("no_fps", "no frame rate"))


def _reason(load, video_id: str) -> str:
    checks = {i.check for i in load.issues if i.sample_id == video_id}
    return next((reason for check, reason in _REASONS if check in checks), "no frames")


def _left_out(load):
    """The excluded recordings counted by why they were left out: 'no frame rate', 'folder missing', ... or
    'no frames' (a folder without frame files): all were 'no frames' to the videos line before."""
    from collections import Counter

    return Counter(_reason(load, v.video_id) for v in load.excluded)


_HEAD = "  (spotting: one fold each, `mmnet train-spotter`); spot then recognise (`mmnet train`): "


def _recognition(args: argparse.Namespace, load) -> _Recognition:
    """What `mmnet train` (spot then recognise) would train MMNet on: the usable micro-expressions under the
    dataset's STR scheme, and their subjects, the only ones with a recognition fold (the rule of train.prepare)."""
    from collections import Counter

    from ..data import default_scheme, get_scheme, resolve_scheme
    from ..data.label_maps import TABLE_SCHEME
    from ..data.long_clips import long_video_clips
    from ..data.usage import classes_left, describe_problems, plan_usage

    out = _Recognition(scheme=default_scheme(args.dataset))
    micro = [i for v in load.videos + load.excluded for i in v.of_type("micro")]
    if not micro:  # an annotation with macro-expressions alone: train.prepare finds no class with a sample
        out.refused = ("`mmnet train` (spot then recognise) stops: no micro-expression is annotated, MMNet has "
                       "nothing to classify")
        out.lines.append(_HEAD + "stops (the error below): no micro-expression is annotated")
        return out
    if args.dataset == "table-long" and out.scheme == TABLE_SCHEME:  # its classes: its micro-expressions' labels
        labels = sorted({i.label for i in micro if i.label})
        if not labels:
            out.not_trainable = ("no micro-expression has an emotion (the table's emotion column), nothing to train "
                                 "MMNet on")
            out.lines.append(_HEAD + out.not_trainable)
            return out
        if len(labels) < 2:  # `mmnet train` refuses it (train.resolve): said here, before a run is started
            blank = sum(not i.label for i in micro)
            out.refused = (f"`mmnet train` (spot then recognise) stops: the micro-expressions have one emotion alone "
                           f"({labels[0]}; {blank} without any): MMNet needs two classes or more")
            out.note = NO_EMOTION
            out.lines.append(_HEAD + "stops (the error below): one emotion alone")
            return out
        scheme = resolve_scheme(out.scheme, labels, args.dataset)
    else:
        scheme = get_scheme(out.scheme)
    out.scheme, out.classes = scheme.name, tuple(scheme.classes)
    clips = long_video_clips(load, "micro")
    usage = out.usage = plan_usage(clips, scheme, args.on_bad_sample)
    used = usage.used
    problems = ""
    if usage.problems:
        stops = ("left out (data.on_bad_sample=skip)" if args.on_bad_sample == "skip"
                 else "`mmnet train` stops on them unless data.on_bad_sample=skip")
        problems = (f"\n            {len(usage.problems)} micro-expression(s) not usable for recognition "
                    f"({stops}):\n{describe_problems(usage.problems, limit=None)}")
    labels = Counter(scheme.classes[k] for _, k in used)
    folds = Counter(s.subject for s, _ in used)
    if not any(i.label for i in micro):  # a spotting set: SAMM Long Videos without its micro coding file, say
        out.not_trainable = f"no micro-expression has an emotion, nothing to train MMNet on{problems}"
    elif usage.annotated and not used:
        out.refused = (f"`mmnet train` (spot then recognise) stops: none of the {usage.annotated} micro-expressions "
                       f"is usable by scheme {scheme.name} (the problems above)")
        out.note = NO_EMOTION
    elif not usage.blocking(args.on_bad_sample):  # what train.prepare refuses once no problem stops it first
        where = "the report above lists every one, as --json does"
        if why := classes_left(clips, scheme, [k for _, k in used], usage.left_out, where):
            out.refused, out.note = f"`mmnet train` (spot then recognise) stops: {why}", NO_EMOTION
    if not used:
        out.lines.append(_HEAD + (out.not_trainable or f"no micro-expression usable by scheme {scheme.name}, "
                                                       f"nothing to train MMNet on{problems}"))
        return out
    out.lines.append(
        f"{_HEAD}{len(folds)} fold(s), the subjects with a usable micro-expression (micro-expressions: "
        f"{per_subject(folds)}); the others' recordings are spotted in those folds\n"
        f"recognise   {len(used)} micro-expressions usable by scheme {scheme.name}: "
        + ", ".join(f"{c} {labels[c]}" for c in scheme.classes) + problems
        + ("\n            `mmnet train` stops (the error below)" if out.refused else ""))
    return out


def _print_json(args, root, load, left_out, recognition, spotting: list[str], refused: str | None) -> None:
    """The result as JSON, with the clip form's keys where they mean the same (``refused``: why `mmnet train` would
    stop whatever its data.on_bad_sample, the error line on stderr, else null)."""
    import json
    from collections import Counter

    from ..config import format_root

    def interval(i) -> dict:
        return {"type": i.type, "onset": i.onset, "apex": i.apex, "offset": i.offset, "label": i.label or None}

    usage = recognition.usage if recognition else None
    classes = recognition.classes if recognition else ()
    problems = {sid for sid, _ in usage.problems} if usage else set()
    counts = load.interval_counts()
    frames = [v.n_frames for v in load.videos]
    print(json.dumps({
        "dataset": args.dataset, "root": format_root(root), "annotation": str(load.annotation or ""),
        "frames": frames_folder([v.path for v in load.videos]) if load.videos else None,
        "types": list(load.types),
        "issues": [{"sample_id": i.sample_id, "severity": i.severity, "check": i.check, "message": i.message}
                   for i in load.issues],
        "errors": len(load.errors), "warnings": len(load.issues) - len(load.errors),
        "videos": [{"video_id": v.video_id, "subject": v.subject, "fps": v.fps, "n_frames": v.n_frames,
                    "duration_s": round(v.n_frames / v.fps, 3), "intervals": [interval(i) for i in v.intervals],
                    "blinks": len(v.blinks)} for v in load.videos],
        "excluded": [{"video_id": v.video_id, "subject": v.subject, "reason": _reason(load, v.video_id),
                      "intervals": [interval(i) for i in v.intervals]} for v in load.excluded],
        "excluded_by_reason": dict(left_out),
        "without_annotation": sum(1 for v in load.videos if not v.intervals),
        "fps": [{"fps": f, "videos": n} for f, n in sorted(Counter(v.fps for v in load.videos).items())],
        "frames_on_disk": sum(frames),
        "total_duration_s": round(sum(v.n_frames / v.fps for v in load.videos), 3),
        "intervals": {t: counts.get(t, 0) if t in load.types else None for t in ("micro", "macro")},
        "subjects": dict(Counter(v.subject for v in load.videos)),
        "spotting_stops": spotting,  # why `mmnet train-spotter` would stop on the data as it is; [] when it can train
        "scheme": recognition.scheme if recognition else None, "on_bad_sample": args.on_bad_sample,
        "annotated": usage.annotated if usage else None,
        "used": [{"sample_id": s.sample_id, "subject": s.subject, "class": classes[k]}
                 for s, k in (usage.used if usage else [])],
        "left_out": [{"sample_id": sid, "reason": reason, "problem": sid in problems}
                     for sid, reason in (usage.left_out if usage else [])],
        "training_stops": refused is not None or usage is None or not usage.used
        or bool(usage.blocking(args.on_bad_sample)),
        "not_trainable": recognition.not_trainable if recognition else "no micro-expression annotation",
        "refused": refused,
        "cite": papers(args.dataset, root),  # the papers of the dataset's release; [] for synthetic or own data
    }, indent=2))
