"""Long recordings -> clip samples: the annotated intervals of one type become ``Sample``s.

Spot then recognise trains MMNet on the annotated micro-expressions of the training subjects'
recordings. Each interval becomes one ``Sample`` (onset, apex, offset, emotion as annotated, the
recording's frames from onset to offset), so the clip pipeline (label scheme, ``data.usage``,
frame windows, the frame cache, folds, ``train.fold``) runs on it unchanged.

Nothing is dropped here: every interval of the type becomes a sample, and the clip pipeline
decides and reports (``skipped.csv``, or an error naming the sample) what cannot be used: an
interval without an apex, one whose frames are not on disk, one without an emotion label. The
long-video loader's issues are carried over (an annotated recording without frames, a row that
could not be placed); its ``apex_unknown`` warning (harmless for spotting, which needs only onset
and offset) becomes an error on the clip, since recognition's motion runs from onset to apex.
"""

from __future__ import annotations

from dataclasses import replace

from .annotations import parse_aus
from .common import DatasetLoad
from .long_video import LongVideo, LongVideoLoad
from .sample import Issue, Sample

__all__ = ["interval_samples", "long_video_clips"]


def interval_samples(video: LongVideo, type: str = "micro") -> list[Sample]:
    """One ``Sample`` per annotated interval of ``type`` in ``video``, in onset order.

    The clip name is ``<video>_<onset>-<offset>`` (``15_0101_52-64``), with ``_2``, ``_3`` ... for a
    second interval with the same frames; the frames are those on disk from onset to offset.
    ``extra`` keeps the video id, the interval's type and its source row.
    """
    out: list[Sample] = []
    seen: dict[str, int] = {}
    for iv in video.of_type(type):
        clip = f"{video.video}_{iv.onset}-{iv.offset}"
        seen[clip] = seen.get(clip, 0) + 1
        if seen[clip] > 1:
            clip += f"_{seen[clip]}"
        frames = tuple((n, video.path / name) for n, name in video.frames if iv.onset <= n <= iv.offset)
        aus, _ = parse_aus(iv.extra.get("au_text") or iv.extra.get("aus") or "")
        out.append(Sample(
            dataset=video.dataset, subject=video.subject, clip=clip, onset=iv.onset, apex=iv.apex, offset=iv.offset,
            label=(iv.label or "").strip().lower(), aus=aus, frames=frames,
            extra={"video": video.video, "type": iv.type, "row": iv.extra.get("row"), "fps": video.fps},
        ))
    return out


def long_video_clips(load: LongVideoLoad, type: str = "micro") -> DatasetLoad:
    """The annotated ``type`` intervals of a long-video dataset as a clip ``DatasetLoad``.

    ``samples``: the intervals of every recording with frames; ``excluded``: those of annotated
    recordings without frames (the loader reported each recording as an error). Issues: the
    loader's, plus an error per interval whose frames from onset to offset are all missing.
    """
    issues = list(load.issues)
    samples: list[Sample] = []
    excluded: list[Sample] = []
    for video in load.videos:
        for s in interval_samples(video, type):
            if s.frames:
                samples.append(s)
                continue
            excluded.append(s)
            issues.append(Issue(s.sample_id, "no_frames", f"no frame of {s.onset}..{s.offset} is on disk in "
                                f"{video.path} (frames {video.frames[0][0]}..{video.frames[-1][0]})", "error"))
    # why each recording is left out: not always a missing folder (table-long's no_fps: frames, but no rate)
    why = {i.sample_id: i.check for i in load.issues if i.severity == "error"}
    for video in load.excluded:
        for s in interval_samples(video, type):
            excluded.append(s)
            issues.append(Issue(s.sample_id, "video_missing", f"the recording {video.video} is left out "
                                f"({why.get(video.video_id, 'no frames')}: see its own issue)", "error"))
    clips = samples + excluded
    return DatasetLoad(samples, _apex_needed(_by_interval(issues, clips, type), clips), excluded, load.annotation)


def _apex_needed(issues: list[Issue], clips: list[Sample]) -> list[Issue]:
    """Every clip without an apex gets an error ``apex_unknown`` (the loader's warning, raised to an error,
    or a new one), as a clip dataset's sample does: recognition cannot use it, spotting still does."""
    no_apex = {s.sample_id for s in clips if s.apex is None}
    why = "recognition needs the apex (spotting still uses the interval); fix the annotation"
    out, named = [], set()
    for issue in issues:
        if issue.check == "apex_unknown" and issue.sample_id in no_apex:
            issue = replace(issue, severity="error", message=f"{issue.message}; {why}")
            named.add(issue.sample_id)
        out.append(issue)
    out += [Issue(s.sample_id, "apex_unknown", f"no apex annotated; {why}", "error")
            for s in clips if s.sample_id in no_apex - named]
    return out


def _by_interval(issues: list[Issue], samples: list[Sample], type: str) -> list[Issue]:
    """The loader's issues about one interval (``Issue.interval``: its type and row; keyed by its recording)
    re-keyed to that interval's sample, so that training names the sample (and ``on_bad_sample=skip`` leaves
    out only it)."""
    by_row = {(f"{s.dataset}/{s.subject}/{s.extra['video']}", str(s.extra["row"])): s.sample_id for s in samples}
    out = []
    for issue in issues:
        key = (issue.sample_id, issue.interval[1]) if issue.interval and issue.interval[0] == type else None
        out.append(replace(issue, sample_id=by_row[key]) if key in by_row else issue)
    return out
