"""Annotation corrections, as data: keyed by (dataset, subject, clip), each with its source.

A correction is applied only when the file still holds the old value, so a later release that
fixed the cell (or changed it differently) is left alone and reported. Every application is
logged as a warning Issue ("correction"); nothing is ever fixed by row position.

Only corrections with a concrete new value and a public source are listed. Other known problems
(CASME II frames missing on disk, the '/' apex, CAS(ME)^3 offsets of 0) are reported by the
loaders' checks instead of being guessed here.
"""

from __future__ import annotations

from dataclasses import dataclass

from .sample import Issue

__all__ = ["Correction", "CORRECTIONS", "apply_corrections"]


@dataclass(frozen=True)
class Correction:
    """Replace ``field`` of one sample: ``old`` -> ``new``. ``source`` says who found it and where."""

    dataset: str
    subject: str
    clip: str
    field: str  # "onset" | "apex" | "offset"
    old: int | None
    new: int
    source: str


_MEB = "tvaranka/meb@f731b0a: meb/datasets/datasets.py"

CORRECTIONS: tuple[Correction, ...] = (
    # SAMM v2: apex outside onset..offset (docs/datasets.md, "Corrections"); meb's replacement values.
    Correction("samm", "028", "028_4_1", "apex", 1143, 1105, f"{_MEB} (Samm); apex 1143 > offset 1134"),
    Correction("samm", "032", "032_3_1", "apex", 1930, 4945, f"{_MEB} (Samm); apex 1930 < onset 4896"),
    Correction("samm", "032", "032_3_2", "apex", 5127, 5130, f"{_MEB} (Samm); apex 5127 = onset + 1"),
    # CAS(ME)^3 part A v2: onset 3647 after its apex and offset (docs/datasets.md, "Corrections").
    Correction("casme3", "spNO.216", "d", "onset", 3647, 2647, f"{_MEB} (Casme3A); onset 3647 > apex 2668"),
)


def apply_corrections(
    dataset: str, subject: str, clip: str, values: dict[str, int | None], *, enabled: bool = True
) -> list[Issue]:
    """Apply the corrections for one sample to ``values`` (onset/apex/offset) in place.

    Returns one warning Issue per correction applied, and one per correction that no longer
    matches the file (old value differs): that one is not applied.
    """
    issues: list[Issue] = []
    sid = f"{dataset}/{subject}/{clip}"
    for c in CORRECTIONS:
        if (c.dataset, c.subject, c.clip) != (dataset, subject, clip):
            continue
        if not enabled:
            issues.append(Issue(sid, "correction", f"known correction {c.field} {c.old} -> {c.new} not applied "
                                f"(corrections disabled); source: {c.source}", "warning"))
        elif values.get(c.field) == c.old:
            values[c.field] = c.new
            issues.append(Issue(sid, "correction", f"{c.field} corrected {c.old} -> {c.new}; source: {c.source}",
                                "warning"))
        else:
            issues.append(Issue(sid, "correction", f"known correction {c.field} {c.old} -> {c.new} not applied: "
                                f"the file has {values.get(c.field)}; source: {c.source}", "warning"))
    return issues
