"""Whose faces each cache entry holds, for ``mmnet cache prune --dry-run`` and ``--subject`` (a participant who
withdraws their consent: every entry derived from their recordings is erased, and rebuilt without them).

A frame cache's index (``frames-<key>.json``) lists its samples by id, ``<dataset>/<subject>/<clip>``; the entry's
optical flow (``flows-<key>-<method>.npy``) goes with it. A per-clip optical-flow file
(``flow-v<N>-<method>/<frames-key>_<dataset>_<subject>_<clip>-<hash>.npy``, ``mmnet.preprocess.flow``) is named
after its sample.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..unicode_names import nfc
from .cache_folder import CacheEntry
from .subject_ids import names_subject

__all__ = ["entry_samples", "describe_samples", "entries_of_subject", "held_subjects",
           "subjects_named"]

# a per-clip optical-flow file: <frames key>_<dataset>_<subject>_<clip>-<hash>.npy (flow_cache_path)
_FLOW_FILE = re.compile(r"frames-[0-9a-f]+_(?P<dataset>[A-Za-z0-9.-]+)_(?P<subject>[A-Za-z0-9.-]+)_.+"
                        r"-[0-9a-f]{10}\.npy")


def entry_samples(root: Path, entry: CacheEntry) -> list[str] | None:
    """The sample ids a frame-cache entry's index lists; None for another kind of entry, or an unreadable index."""
    if not re.fullmatch(r"frames-[0-9a-f]+", entry.name):
        return None
    try:
        samples = json.loads((root / f"{entry.name}.json").read_text(encoding="utf-8")).get("samples")
    except (OSError, ValueError, AttributeError):
        return None
    return [s for s in samples if isinstance(s, str)] if isinstance(samples, list) else None


def describe_samples(samples: list[str], shown: int = 8) -> str:
    """``casme2: 3 subjects (01, 02, 05), 12 samples`` per dataset, the subjects as the sample ids write them."""
    by_dataset: dict[str, dict[str, int]] = {}
    for sample in samples:
        dataset, subject = (sample.split("/") + ["?"])[:2]
        subjects = by_dataset.setdefault(dataset, {})
        subjects[subject] = subjects.get(subject, 0) + 1
    parts = []
    for dataset, subjects in by_dataset.items():
        names = sorted(subjects)
        listed = ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")
        n = sum(subjects.values())
        parts.append(f"{dataset}: {len(names)} subject{'s' if len(names) != 1 else ''} ({listed}), "
                     f"{n} sample{'s' if n != 1 else ''}")
    return "; ".join(parts) or "no samples"


def _matches(sample: str, subject: str) -> bool:
    """``subject`` names a sample's subject as ``mmnet train --folds`` reads one (``subject_ids``): ``07``,
    ``sub07``, ``casme2/07``; SAMM's ``6`` or ``006``."""
    parts = sample.split("/")
    return len(parts) >= 3 and names_subject(parts[0], parts[1], subject)


def _held(root: Path, entries: list[CacheEntry]) -> dict[str, set[str]]:
    """The subjects of each dataset that the frame caches' indexes and the per-clip optical-flow files name."""
    by_dataset: dict[str, set[str]] = {}
    for e in entries:
        found = _FLOW_FILE.fullmatch(e.name.replace("\\", "/").rsplit("/", 1)[-1])
        pairs = [(found["dataset"], found["subject"])] if found and "/" in e.name.replace("\\", "/") else []
        pairs += [tuple(s.split("/")[:2]) for s in entry_samples(root, e) or [] if s.count("/") >= 2]
        for dataset, subject in pairs:
            by_dataset.setdefault(dataset, set()).add(subject)
    return by_dataset


def held_subjects(root: Path, entries: list[CacheEntry]) -> str:
    """Every subject the cache's frame caches and per-clip optical-flow files hold, per dataset
    (``casme2: 01, 07; samm: 006``), for a --subject that names none of them."""
    return "; ".join(f"{d}: {', '.join(sorted(s))}" for d, s in sorted(_held(root, entries).items())) or "none"


def subjects_named(root: Path, entries: list[CacheEntry], word: str) -> list[str]:
    """The subjects (``dataset/subject``) the cache holds that ``word`` names: several where a bare number names a
    subject of each of several datasets (``07``: CASME II's 07 and SAMM's 007)."""
    return [f"{d}/{s}" for d, subjects in sorted(_held(root, entries).items()) for s in sorted(subjects)
            if names_subject(d, s, word)]


def entries_of_subject(root: Path, entries: list[CacheEntry], subject: str) -> tuple[set[str], list[CacheEntry]]:
    """The names of the entries holding a sample of ``subject``: frame caches whose index lists one, and per-clip
    optical-flow files named after one. Also the frame caches whose index cannot be read (a build in progress, a
    damaged entry): nobody can tell whom they hold."""
    from ..preprocess.flow import FLOW_METHODS, flow_cache_path, flow_file_text

    subject = nfc(subject)  # typed decomposed (a Mac's shell completion): ids are written composed
    chosen, unknown, flow_keys = set(), [], []
    for e in entries:
        if re.fullmatch(r"frames-[0-9a-f]+", e.name.replace("\\", "/")):
            samples = entry_samples(root, e)
            if samples is None:
                unknown.append(e)
            elif own := [s for s in samples if _matches(s, subject)]:
                chosen.add(e.name)
                flow_keys += [f"{e.name}/{s}" for s in own]  # the key each sample's flow file is named after
    # each listed sample's flow file by the very function that names it, whatever characters its id holds (a run
    # of them becomes one '_': 'Zoé/' is 'Zo_'); the method is not part of the file's name
    flow_files = {flow_cache_path(root, key, FLOW_METHODS[0]).name for key in flow_keys}
    # a flow file whose frame cache is gone: found by its name, the subject written as the flow file writes it
    dataset, _, person = subject.rpartition("/")
    written = flow_file_text(f"/{person}/")
    flow_name = re.compile(rf"frames-[0-9a-f]+_{re.escape(flow_file_text(dataset)) if dataset else '[A-Za-z0-9.-]+'}"
                           rf"{re.escape(written)}.+-[0-9a-f]{{10}}\.npy")
    for e in entries:
        name = e.name.replace("\\", "/")
        if re.match(r"(?:flow/)?flow-v\d+-\w+/", name):
            file = name.rsplit("/", 1)[-1]
            parsed = _FLOW_FILE.fullmatch(file)
            if file in flow_files or flow_name.fullmatch(file) or (
                    parsed and names_subject(parsed["dataset"], parsed["subject"], subject)):
                chosen.add(e.name)
    return chosen, unknown
