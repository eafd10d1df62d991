"""The result of ``load_dataset`` and strict mode's error."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import AnnotationError, DataError
from .sample import Issue, Sample

__all__ = ["ANNOTATION_CHECKS", "DatasetLoad", "raise_strict"]

# Checks about the annotation itself (strict mode raises AnnotationError); the rest are about the
# frames on disk (DataError).
ANNOTATION_CHECKS = frozenset(
    {"apex_unknown", "apex_outside", "offset_before_onset", "onset_after_apex", "bad_row", "bad_value",
     "label_missing", "duplicate"}
)


@dataclass
class DatasetLoad:
    """Result of ``load_dataset``.

    Attributes:
        samples: every annotated sample with at least one frame on disk (possibly with error
            issues: training clamps to the nearest frame on disk).
        issues: every problem found, in file order.
        excluded: annotated samples that have no usable frame on disk (each has an error issue).
        annotation: the annotation file read (None for SMIC, whose labels are folder names).
        also_read: other annotation files whose rows were used (the composite's parts: onsets and apexes).
        listed_rows: the rows of the protocol's list of samples (the composite's combined_3class_gt.csv), else None.
        unlisted: (sample id, reason) of the samples the loader read but the protocol's list leaves out.
        frames_dirs: the folder the frames were read from, by dataset (CASME II, SAMM, SMIC and the composite's
            parts; a run records them in env.json's ``part_frames``, with their crop state).
        frames_layouts: the layout name of that folder, by dataset, where the loader has several (CASME II's
            ``cropped``, ``cropped-updated``, ``raw-selected``, ``raw``, or ``root``: the root is the frames folder).
    """

    samples: list[Sample]
    issues: list[Issue]
    excluded: list[Sample] = field(default_factory=list)
    annotation: Path | None = None
    also_read: list[Path] = field(default_factory=list)
    listed_rows: int | None = None
    unlisted: list[tuple[str, str]] = field(default_factory=list)
    frames_dirs: dict[str, Path] = field(default_factory=dict)
    frames_layouts: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # a notebook shows this, not every sample's frame paths
        datasets = "+".join(sorted({s.dataset for s in self.samples})) or "no dataset"
        subjects = len({(s.dataset, s.subject) for s in self.samples})
        excluded = f", {len(self.excluded)} excluded" if self.excluded else ""
        return (f"DatasetLoad({datasets}, {len(self.samples)} samples, {subjects} subjects, "
                f"{len(self.issues)} issues{excluded})")

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity != "error"]

    def raise_if_errors(self) -> None:
        """Strict mode: raise AnnotationError (annotation checks) or DataError naming each failing sample."""
        raise_strict(self.errors, "sample(s) fail the checks",
                     "Fix the files, or load without strict to use clamped frames; "
                     "`mmnet check-data` lists every problem.")


def raise_strict(errors: list[Issue], what: str, advice: str) -> None:
    """Strict mode's error: AnnotationError when an annotation check failed, else DataError; the
    first 20 problems named. Nothing when ``errors`` is empty."""
    if not errors:
        return
    shown = "\n".join(f"  - {i.sample_id}: [{i.check}] {i.message}" for i in errors[:20])
    more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
    kind = AnnotationError if any(i.check in ANNOTATION_CHECKS for i in errors) else DataError
    raise kind(f"{len(errors)} {what} (strict mode):\n{shown}{more}\n{advice}")
