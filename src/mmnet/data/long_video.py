"""The long-video record of the spotting datasets, and what their loaders share.

A ``LongVideo`` is one recording as the owners ship it (a folder of numbered frames) with its
ground-truth intervals (``mmnet.spotting.intervals.Interval``), in the dataset's own frame numbers.
Loaders never drop an annotation row or a video silently: every quirk they meet or fix becomes an
``Issue`` (the clip datasets' record), and a row that cannot be placed is reported as an error.
"""

from __future__ import annotations

import bisect
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..media import list_frames
from ..spotting.intervals import TYPES, Interval, formula_start
from .dataset_load import raise_strict
from .decimal_comma import number_text
from .desktop_junk import merge_desktop, split_desktop
from .sample import Issue

__all__ = [
    "LongVideo", "LongVideoLoad", "round_frame", "frame_value", "attach_long_frames", "check_video", "finish_long",
    "not_annotated", "refused_row",
]

log = logging.getLogger("mmnet.data")


@dataclass(frozen=True)
class LongVideo:
    """One long recording with its annotated expressions.

    Attributes:
        dataset: loader name ("casme-sq", "samm-long", "casme3-long").
        subject: subject id as the dataset writes it ("s15", "006").
        video: video id, unique in the dataset, as MEGC files write it ("15_0101", "006_1").
        fps: frames per second of the recording (CAS(ME)^2 and CAS(ME)^3 30, SAMM Long Videos 200).
        path: the frame folder (or a video file; then ``frames`` is empty).
        frames: (frame number, file name) present on disk, sorted by number; names are in ``path``.
        intervals: ground truth, sorted by onset; inclusive frame numbers as the dataset numbers its frames.
        blinks: annotated eye blinks as inclusive (onset, offset) frame numbers, sorted (CAS(ME)^3's sheet
            'eye blink'; empty where the dataset has none): candidates for rejecting spotted intervals.
        extra: dataset-specific fields (stimulus name, folder name ...).
    """

    dataset: str
    subject: str
    video: str
    fps: float
    path: Path
    frames: tuple[tuple[int, str], ...] = ()
    intervals: tuple[Interval, ...] = ()
    blinks: tuple[tuple[int, int], ...] = ()
    extra: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def video_id(self) -> str:
        return f"{self.dataset}/{self.subject}/{self.video}"

    @property
    def frame_numbers(self) -> list[int]:
        return [n for n, _ in self.frames]

    @property
    def n_frames(self) -> int:
        return len(self.frames)

    def frame_path(self, number: int) -> Path:
        """Path of frame ``number``; KeyError if that frame is not on disk."""
        i = bisect.bisect_left(self.frames, (number, ""))
        if i < len(self.frames) and self.frames[i][0] == number:
            return self.path / self.frames[i][1]
        raise KeyError(f"{self.video_id}: frame {number} is not on disk")

    def of_type(self, type: str) -> list[Interval]:
        return [i for i in self.intervals if i.type == type]


@dataclass
class LongVideoLoad:
    """Result of loading a spotting dataset.

    Attributes:
        videos: every video with frames on disk (annotated or not; an unannotated one has no intervals).
        issues: every problem found, in file order.
        excluded: annotated videos without frames on disk (each has an error issue).
        annotation: the annotation file read.
        types: the interval types the annotation covers; a type missing here cannot be evaluated (CAS(ME)^3
            read from its micro-expression label file alone has no macro-expressions).
    """

    videos: list[LongVideo]
    issues: list[Issue]
    excluded: list[LongVideo] = field(default_factory=list)
    annotation: Path | None = None
    types: tuple[str, ...] = TYPES

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    def truth(self) -> dict[str, list[Interval]]:
        """video id -> ground-truth intervals, every video included: the input of ``spotting.megc``."""
        return {v.video: list(v.intervals) for v in self.videos}

    def interval_counts(self) -> Counter:
        return Counter(i.type for v in self.videos for i in v.intervals)

    def raise_if_errors(self) -> None:
        raise_strict(self.errors, "problem(s)", "`mmnet check-data` lists every problem.")


def round_frame(value: float) -> int:
    """A fractional frame number to the nearest frame, halves up (566.4 -> 566, 647.6 -> 648, 2.5 -> 3)."""
    return int(math.floor(value + 0.5))


def attach_long_frames(video: LongVideo, folder: Path | None, pattern: re.Pattern, issues: list[Issue], *,
                       not_frames=None, why: str = "") -> LongVideo:
    """List ``folder``'s frames into ``video`` (junk files and gaps are reported); None -> an error issue, with
    ``why`` after the path ('(the folder is there as ...)'). ``not_frames``: as ``media.list_frames`` takes it (a file
    manager's copies, which ``pattern`` would read)."""
    if folder is None:
        issues.append(Issue(video.video_id, "video_missing", f"no frame folder for this video at {video.path}{why}; "
                            f"its {len(video.intervals)} interval(s) cannot be used", "error"))
        return video
    frames, junk = list_frames(folder, pattern, duplicates="first", not_frames=not_frames)
    junk = split_desktop(video.video_id, folder, junk, issues)  # macOS's and Windows' own files: one note per load
    if junk:
        shown = ", ".join(repr(j) for j in junk[:5]) + (" ..." if len(junk) > 5 else "")
        issues.append(Issue(video.video_id, "junk_files", f"{len(junk)} non-frame file(s) ignored: {shown}", "warning"))
    if not frames:
        issues.append(Issue(video.video_id, "no_frames", f"no frames matching {pattern.pattern!r} in {folder}",
                            "error"))
    else:
        first, last = frames[0][0], frames[-1][0]
        gaps = (last - first + 1) - len(frames)
        if gaps:
            issues.append(Issue(video.video_id, "frame_gaps", f"{gaps} frame number(s) missing between {first} and "
                                f"{last} on disk: {_ranges([n for n, _ in frames])}", "warning"))
    return replace(video, path=folder, frames=tuple((n, p.name) for n, p in frames))


def _ranges(numbers: list[int], shown: int = 5) -> str:
    """The missing runs between sorted frame numbers: [1, 2, 5, 9] -> '3-4, 6-8'."""
    runs = [f"{a + 1}" if b - a == 2 else f"{a + 1}-{b - 1}" for a, b in zip(numbers, numbers[1:]) if b - a > 1]
    return ", ".join(runs[:shown]) + (f" ... ({len(runs)} runs)" if len(runs) > shown else "")


def check_video(video: LongVideo, issues: list[Issue]) -> LongVideo:
    """The interval checks every loader shares, run once frames are attached.

    An interval reaching past the frames on disk is clipped to them (warning, as the MEGC baseline
    does for SAMM Long Videos); one wholly outside them is kept unchanged with an error (it will
    count as a miss). An apex outside onset..offset is reported and kept. An interval written twice
    is kept once (warning).
    """
    out, kept = [], []
    first, last = (video.frames[0][0], video.frames[-1][0]) if video.frames else (None, None)
    for iv in video.intervals:
        where = f"{iv.type} {iv.onset}..{iv.offset} (row {iv.extra.get('row', '?')})"
        about = (iv.type, str(iv.extra.get("row", "?")))
        twin = next((k for k in kept if k == iv), None)  # equal onset, apex, offset, type and label
        if twin is not None:  # written twice, it would count twice in the spotting scores
            issues.append(Issue(video.video_id, "duplicate_row", f"{where}: repeats row {twin.extra.get('row', '?')}; "
                                "this copy is ignored", "warning", interval=about))
            continue
        kept.append(iv)
        if iv.apex is not None and not iv.onset <= iv.apex <= iv.offset:
            issues.append(Issue(video.video_id, "apex_outside", f"{where}: apex {iv.apex} is outside onset..offset; "
                                "kept as annotated", "warning", interval=about))
        if first is not None and (iv.offset < first or iv.onset > last):
            issues.append(Issue(video.video_id, "outside_video", f"{where}: outside the frames on disk "
                                f"{first}..{last}; kept unchanged (it cannot be spotted)", "error", interval=about))
        elif first is not None and (iv.onset < first or iv.offset > last):
            clipped = replace(iv, onset=max(iv.onset, first), offset=min(iv.offset, last),
                              extra={**iv.extra, "annotated": (iv.onset, iv.offset)})
            issues.append(Issue(video.video_id, "beyond_video", f"{where}: reaches past the frames on disk "
                                f"{first}..{last}; clipped to {clipped.onset}..{clipped.offset}", "warning",
                                interval=about))
            iv = clipped
        out.append(iv)
    return replace(video, intervals=tuple(sorted(out, key=lambda i: (i.onset, i.offset, TYPES.index(i.type)))))


def finish_long(videos: list[LongVideo], issues: list[Issue], annotation: Path | None, strict: bool,
                types: tuple[str, ...] = TYPES) -> LongVideoLoad:
    """Split off videos without frames, warn of ids a spreadsheet runs as formulas, log a summary, apply strict
    mode."""
    issues.extend(formula_id_issues(videos))
    merge_desktop(issues)
    load = LongVideoLoad([v for v in videos if v.frames], issues, [v for v in videos if not v.frames], annotation,
                         types)
    if issues:
        log.warning("%d issue(s) (%d errors) while loading %d long videos; `mmnet check-data` lists them "
                    "(load.issues)",
                    len(issues), len(load.errors), len(videos))
    if strict:
        load.raise_if_errors()
    return load


def formula_id_issues(videos: list[LongVideo]) -> list[Issue]:
    """A warning per recording whose video or subject starts with =, +, -, @, a tab or a carriage return: the MEGC
    files (spotting.csv, str.csv of `mmnet train` and `mmnet spot`) hold ids verbatim, as MEGC's scorers match them,
    and a spreadsheet that opens them runs such an id as a formula."""
    out = []
    for v in videos:
        said = [f"{what} {name!r}" for what, name in (("video", v.video), ("subject", v.subject))
                if formula_start(name)]
        if said:
            out.append(Issue(v.video_id, "id_formula", f"{' and '.join(said)} starts with =, +, -, @, a tab or a "
                             "carriage return: the MEGC files (spotting.csv, str.csv) hold ids verbatim, as MEGC's "
                             "scorers match them, and a spreadsheet that opens them runs it as a formula; rename the "
                             "folder or subject to open those files in a spreadsheet", "warning"))
    return out


def refused_row(sample_id: str, check: str, problem: str) -> Issue:
    """The error for an annotation row that cannot be used: its ``problem``, then "; row left out"."""
    return Issue(sample_id, check, f"{problem}; row left out", "error", row_refused=True)


def not_annotated(video_id: str, issues: list[Issue]) -> Issue:
    """The warning for a recording kept with no intervals: it has no annotation row, or every row of it
    was left out (each with its own error), which the warning says rather than "no annotation row"."""
    refused = sum(i.sample_id == video_id and i.row_refused for i in issues)
    if refused:
        return Issue(video_id, "not_annotated", f"its {refused} annotation row(s) were all left out (errors above); "
                     "it is kept with no intervals, where a spotter scored on it can only be wrong: fix the row(s)",
                     "warning")
    return Issue(video_id, "not_annotated", "no annotation row for this video; it is kept with no intervals (a "
                 "spotter is scored on it too)", "warning")


def apex_zero_message(where: str) -> str:
    """The reason given for an apex of 0, which CAS(ME)^2 and CAS(ME)^3 write for an apex not annotated."""
    return f"{where}: apex 0 (not annotated); stored as unknown"


def zero_frames(apex: int, offset: int, where: str, sid: str, issues: list[Issue]) -> tuple[int | None, int] | None:
    """The long-video tables' 0 for a frame not annotated: apex 0 -> unknown (None); offset 0 -> the
    apex; both reported. None (with an error) when the offset is 0 and the apex unknown."""
    if apex == 0:
        issues.append(Issue(sid, "apex_unknown", apex_zero_message(where), "warning"))
        apex = None
    if offset == 0:
        if apex is None:
            issues.append(refused_row(sid, "bad_value", f"{where}: offset 0 and apex unknown"))
            return None
        issues.append(Issue(sid, "offset_zero", f"{where}: offset 0 (not annotated); the interval ends at the apex "
                            f"{apex}", "warning"))
        offset = apex
    return apex, offset


def frame_value(value: object) -> float | None:
    """A frame cell as a number: int, float (SAMM Long Videos writes 566.4) or numeric text, with a decimal point or
    one decimal comma ('566,4'); else None (also for '1,000', where the comma may be a thousands separator)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return number_text(str(value))


def cell_text(value: object) -> str:
    """A spreadsheet cell as text: whole floats as integers (Excel stores 15 as 15.0), None as ""."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()
