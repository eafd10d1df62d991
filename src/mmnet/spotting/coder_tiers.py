"""Which tiers of a coder's file are read: ELAN's own reliability layout puts each coder on a tier of one .eaf (e.g.
ME_coder1, ME_coder2, each with its ANNOTATOR), so a selection ``FILE#NAME[,NAME...]`` names tiers by their id, or
by the annotator or participant an .eaf gives them; and a note where one .eaf holds tiers of several annotators,
whose intervals would otherwise be read together as one coder's."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

from ..errors import AnnotationError

__all__ = ["eaf_tier_owners", "resolve_tiers", "annotators_note"]


def eaf_tier_owners(text: str) -> dict[str, tuple[str, str]]:
    """An .eaf's tiers: TIER_ID -> (ANNOTATOR, PARTICIPANT), '' where unset; {} for text that is no .eaf (its
    reader says why)."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return {}
    return {t.get("TIER_ID") or "": ((t.get("ANNOTATOR") or "").strip(), (t.get("PARTICIPANT") or "").strip())
            for t in root.iter("TIER")}


def resolve_tiers(where: str, names: Iterable[str], owners: dict[str, tuple[str, str]]) -> frozenset[str]:
    """The tier names (lower case) that ``names`` select: a tier id, or, in an .eaf (``owners``), the annotator or
    participant of tiers; a name that selects nothing is an error listing the tiers."""
    out: set[str] = set()
    for name in names:
        low = name.strip().lower()
        found = {t.lower() for t, (annotator, participant) in owners.items()
                 if low in (t.lower(), annotator.lower(), participant.lower())}
        if owners and not found:
            raise AnnotationError(f"{where}: no tier, annotator or participant is named {name!r}; its tiers: "
                                  f"{_listed(owners)}.")
        out |= found or {low}  # not an .eaf: a tier (ELAN text) or behaviour (BORIS) name, checked when read
    return frozenset(out)


def _listed(owners: dict[str, tuple[str, str]]) -> str:
    return ", ".join(f"{t!r}" + (f" (annotator {a!r})" if a else "") for t, (a, _) in owners.items()) or "none"


def annotators_note(path, owners: dict[str, tuple[str, str]], read: Iterable[str]) -> str | None:
    """A warning where the tiers read (``read``: their ids) of one .eaf have two or more annotators: their intervals
    are pooled as one file's."""
    by = {t: a for t, (a, _) in owners.items() if t in set(read) and a}
    if len(set(by.values())) < 2:
        return None
    said = ", ".join(f"{t} by {a}" for t, a in by.items())
    first, second = list(dict.fromkeys(by.values()))[:2]
    return (f"'{path}' holds tiers of {len(set(by.values()))} annotators ({said}): their intervals are read "
            "together, as one coder's (as score-spots' truth, an expression both coded is two truth intervals, and "
            "a prediction matches one of them: the other counts as missed); to compare the coders: mmnet agree "
            f"'{path}#{first}' '{path}#{second}'; to read one coder's tiers alone: --tier-type NAME=ignore for the "
            f"others' (mmnet agree: '{path}#{first}').")
