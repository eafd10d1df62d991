"""Whether a run whose env.json does not record ``synthetic_data`` (mmnet 0.1.0 never wrote it) trained on mmnet's
synthetic faces: by the rule ``mmnet info MODEL`` uses (``infer.provenance.is_synthetic``: a data root holding
synth.json), so that its report still carries the synthetic banner, cites no dataset paper and says so beside
chance."""

from __future__ import annotations

from pathlib import Path

__all__ = ["inferred_synthetic"]


def inferred_synthetic(config: dict, env: dict, run_dir: Path) -> dict:
    """The keys to add to a run's env record: ``synthetic_data`` (synth.json's settings), ``synthetic_generator``
    where another generator version drew the set, and ``synthetic_data_inferred`` (where it was read from, and
    why); {} when env.json records it (or is of an mmnet that would have), or the data folders hold no synth.json
    (or cannot be found)."""
    from ..data.common import SYNTH_MARKER
    from ..infer.provenance import data_roots
    from ..synth.face import older_generator
    from ..utils import json_object_or_none

    data = config.get("data")
    # an env.json with code_digest is of mmnet 0.2.0 or later, which writes synthetic_data for synthetic data only
    if "synthetic_data" in env or "code_digest" in env or not isinstance(data, dict):
        return {}
    for root in data_roots(data, run_dir):
        marker = root / SYNTH_MARKER
        if not marker.is_file():
            continue
        # an unreadable synth.json still marks a synthetic set (as mmnet info reads it): its settings are unknown
        settings = {k: v for k, v in (json_object_or_none(marker) or {}).items() if k != "events"}
        version = env.get("mmnet_version") or "an earlier version"
        out = {"synthetic_data": settings,
               "synthetic_data_inferred": f"env.json, written by mmnet {version}, does not record whether the data "
                                          f"were synthetic: inferred from {marker}"}
        if older := older_generator(settings):
            out["synthetic_generator"] = older
        return out
    return {}
