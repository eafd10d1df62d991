"""How the training clips of a run were aligned, read from the settings ``mmnet prepare`` wrote with each clip
(``mmnet.preprocess.marker``), for the ``training.alignment`` record of every model the run saves
(``mmnet.infer.alignment`` reads it back to align new footage the same way).

Clips aligned with different landmark models or crops are refused, naming them: a model trained on both has no one
alignment to crop new footage with, and the difference between the two is learnt as if it were the expression's.
Clips whose marker a newer mmnet wrote (a newer marker format) are warned about once for the run, as predict and
explain note them for a clip: their settings may mean other crops than this mmnet's of the same names.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence

from ..data.sample import Sample
from ..errors import DataError
from ..infer.alignment import PREPARED
from ..media import PREPARED_MARKER
from ..preprocess.marker import MARKER_FORMAT, read_marker

__all__ = ["clips_alignment", "NOT_RECORDED", "SYNTHETIC", "NAMED"]

log = logging.getLogger("mmnet.train")

NOT_RECORDED = {"clips": "not recorded", "landmarks": None}
#: mmnet's synthetic faces are drawn in place, each subject's eyes where the renderer put them: no landmark model
#: aligned them, so none is recorded (new footage is aligned with the default, as for a model that records none).
SYNTHETIC = {"clips": "synthetic", "landmarks": None}
NAMED = 5  # clips named per alignment in a message
# The settings of a prepared clip that decide its crop (its onset and JPEG quality do not).
_ALIGNMENT_KEYS = ("landmarks", "size", "eye_y", "iod")


def _settings(sample: Sample, newer: dict) -> dict | None:
    """The alignment settings ``mmnet prepare`` recorded with ``sample``'s frames, or None (no marker there); a
    marker of a newer format than this mmnet reads adds the clip's folder to ``newer`` under its (format, version)."""
    if not sample.frames:
        return None
    folder = sample.frames[0][1].parent
    settings, _, (fmt, version) = read_marker(folder)
    if fmt > MARKER_FORMAT:  # its settings may be laid out otherwise: said whatever they hold
        newer.setdefault((fmt, version), []).append(folder)
    if settings is None or not all(k in settings for k in _ALIGNMENT_KEYS):
        return None
    return {k: settings[k] for k in _ALIGNMENT_KEYS}


def _warn_newer(newer: dict) -> None:
    """One warning for the run (not one per clip) on clips a newer mmnet prepared, as predict and explain note it."""
    if not newer:
        return
    folders = [f for found in newer.values() for f in found]
    origins = "; ".join(f"{version or 'version not recorded'}, format {fmt}" for fmt, version in sorted(
        newer, key=lambda o: (o[0], o[1] or "")))
    log.warning("%d training clip(s) were prepared by a newer mmnet (%s; this mmnet reads %s format %d), e.g. '%s': "
                "the crop settings their markers record may mean other crops than this mmnet's of the same names. "
                "Upgrade mmnet to read them as written, or prepare them again with this one "
                "(`mmnet prepare ROOT --force`)",
                len(folders), origins, PREPARED_MARKER, MARKER_FORMAT, folders[0])


def _describe(settings: dict) -> str:
    w, h = settings["size"]
    return (f"--landmarks {settings['landmarks']} --size {w}x{h} --eye-y {settings['eye_y']:g} "
            f"--iod {settings['iod']:g}")


def _named(ids: list[str]) -> str:
    more = f" and {len(ids) - NAMED} more" if len(ids) > NAMED else ""
    return ", ".join(ids[:NAMED]) + more


def clips_alignment(samples: Sequence[Sample]) -> dict:
    """The ``training.alignment`` record of a model trained on ``samples``: the settings of ``mmnet prepare`` when
    it prepared them (``{"clips": "mmnet prepare", "landmarks": ..., "size": ..., "eye_y": ..., "iod": ...}``),
    else ``NOT_RECORDED``. Clips prepared with different settings are a DataError naming them; clips prepared
    beside others mmnet did not write are warned about (their alignment is unknown) and the prepared ones' kept."""
    groups: dict[str, list[str]] = defaultdict(list)
    found: dict[str, dict] = {}
    unrecorded = []
    newer: dict[tuple[int, str | None], list] = {}
    for sample in samples:
        settings = _settings(sample, newer)
        if settings is None:
            unrecorded.append(sample.sample_id)
            continue
        key = _describe(settings)
        found.setdefault(key, settings)
        groups[key].append(sample.sample_id)
    _warn_newer(newer)
    if len(groups) > 1:
        listed = "\n".join(f"  {key} ({len(ids)} clip{'s' * (len(ids) != 1)}): {_named(ids)}"
                           for key, ids in groups.items())
        raise DataError(f"the training clips were aligned in {len(groups)} different ways by `mmnet prepare` (the "
                        f"settings in each clip's {PREPARED_MARKER}):\n{listed}\nA model trained on both has no one "
                        "alignment to crop new footage with. Prepare them all alike again: `mmnet prepare ROOT "
                        "--force` with the options of one of these lines.")
    if not groups:
        return dict(NOT_RECORDED)
    (key,) = groups
    if unrecorded:
        log.warning("%d training clip(s) were not prepared by mmnet prepare (their alignment is unknown: %s), the "
                    "other %d with %s; the model records the latter", len(unrecorded), _named(unrecorded),
                    len(groups[key]), key)
    settings = found[key]
    return {"clips": PREPARED, "landmarks": settings["landmarks"], "size": list(settings["size"]),
            "eye_y": settings["eye_y"], "iod": settings["iod"]}
