"""Which cache entries no mmnet of this version can use: written under an earlier format of their kind, so they are
never read again, only kept until pruned (``mmnet cache prune --stale``; counted by ``mmnet info --cache``).

    frames-<key>       its index (frames-<key>.json) names an earlier frame cache version (data.cache.CACHE_VERSION);
                       its optical flow (flows-<key>-<method>.npy) goes with it
    flow-v<N>-<method>/...   N is below preprocess.flow.FLOW_VERSION
    calibration/<hash>.json  its version is below calibration_version.CACHE_VERSION (the machine is measured again)

A later version's entry (a newer mmnet sharing the folder) is not stale, nor is one whose index or record cannot be
read: a build in progress or a damaged entry is its own code's to rebuild (``--older-than`` prunes it once unused).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .cache_folder import CacheEntry

__all__ = ["stale_reason"]


def _version(path: Path) -> object:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("version") if isinstance(data, dict) else None


def stale_reason(root: Path, entry: CacheEntry) -> str | None:
    """Why ``entry`` of the cache folder ``root`` is of an earlier format (``"frame cache version 1"``), or None."""
    from ..calibration_version import CACHE_VERSION as CALIBRATION_VERSION
    from ..preprocess.flow import FLOW_VERSION
    from .cache import CACHE_VERSION

    name = entry.name.replace("\\", "/")
    if re.fullmatch(r"frames-[0-9a-f]+", name):
        version = _version(root / f"{name}.json")
        if isinstance(version, int) and version < CACHE_VERSION:
            return f"frame cache version {version}"
        return None
    if m := re.match(r"(?:flow/)?flow-v(\d+)-\w+/", name):
        return f"optical flow version {m.group(1)}" if int(m.group(1)) < FLOW_VERSION else None
    if re.fullmatch(r"calibration/[0-9a-f]+\.json", name):
        version = _version(root / name)
        if isinstance(version, int) and version < CALIBRATION_VERSION:
            return f"calibration version {version}"
    return None
