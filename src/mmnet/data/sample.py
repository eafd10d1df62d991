"""The one sample record every dataset loader produces, and the problem record validators return."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError

__all__ = ["Sample", "Issue"]

#: The fields a sample holds as text (sorted, joined into ids and folder names), with an example each.
_TEXT_FIELDS = (("dataset", "'casme2'"), ("subject", "'01'"), ("clip", "'EP02_01f'"), ("label", "'happiness'"))


@dataclass(frozen=True)
class Sample:
    """One micro-expression clip, in a dataset-independent form.

    Frame numbers are the absolute numbers in the file names (``reg_img46.jpg`` -> 46), never
    0-based positions. ``frames`` lists the frames present on disk, sorted by number.

    Attributes:
        dataset: loader name, e.g. ``"casme2"``.
        subject: subject id as text, exactly as the dataset writes it (``"01"``, ``"006"``).
        clip: clip (folder) name, e.g. ``"EP02_01f"``.
        onset, apex, offset: annotated frame numbers; apex/offset None when unknown.
        label: emotion name as annotated, lower case (``"happiness"``).
        aus: action units parsed from the free-text column, e.g. ``("4", "L10")``.
        frames: (frame number, path) pairs present on disk, sorted by number.
        extra: dataset-specific fields (objective class, source file row ...).
    """

    dataset: str
    subject: str
    clip: str
    onset: int
    apex: int | None
    offset: int | None
    label: str
    aus: tuple[str, ...] = ()
    frames: tuple[tuple[int, Path], ...] = field(default=(), repr=False)  # a clip has hundreds
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        # a loader of one's own (registered in mmnet.data.DATASETS) may hand over numbers: named here, not as a
        # TypeError from sorting subjects after the frame cache and the run's files were written
        for name, example in _TEXT_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, str):
                raise DataError(f"sample {self.dataset}/{self.subject}/{self.clip}: {name} must be text such as "
                                f"{example}, not {type(value).__name__} {value!r}; the dataset loader must give it as "
                                "a str, as the annotation writes it (a subject '01' read as the number 1 loses its "
                                "leading zero)")

    @property
    def sample_id(self) -> str:
        return f"{self.dataset}/{self.subject}/{self.clip}"

    @property
    def frame_numbers(self) -> list[int]:
        return [n for n, _ in self.frames]

    def frame_path(self, number: int) -> Path:
        """Path of frame ``number``; KeyError if that frame is not on disk."""
        for n, p in self.frames:
            if n == number:
                return p
        raise KeyError(f"{self.sample_id}: frame {number} is not on disk")

    def why_missing(self, number: int) -> str:
        """Why frame ``number``, not among the frames, is missing: the words after "frame N"."""
        name = self.extra.get("not_files", {}).get(number)  # set by data.common.attach_frames
        return "is not on disk" if name is None else f"is not a regular file: '{name}' (a folder, a pipe, a dead link?)"

    def nearest_frame(self, number: int) -> int:
        """The frame number on disk closest to ``number`` (ties: the earlier one)."""
        nums = self.frame_numbers
        if not nums:
            raise KeyError(f"{self.sample_id}: no frames on disk")
        i = bisect.bisect_left(nums, number)
        candidates = nums[max(0, i - 1) : i + 1]
        return min(candidates, key=lambda n: (abs(n - number), n))


@dataclass(frozen=True)
class Issue:
    """A problem found in a dataset: which sample, which check, and what to do about it."""

    sample_id: str
    check: str
    message: str
    severity: str = "error"  # "error": the sample cannot be used as annotated; "warning": fixed or harmless
    row_refused: bool = False  # an annotation row was left out for this problem (see long_video.refused_row)
    # (type, annotation row) of the long-video interval this issue is about (long_video.check_video), so that
    # long_clips can re-key it to that interval's sample
    interval: tuple[str, str] | None = None
