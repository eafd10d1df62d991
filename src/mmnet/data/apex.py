"""Apex estimation for clips without an annotated apex (SMIC), with a small on-disk cache.

Method ("grid-motion-v2"): the apex spotting of ``mmnet.spotting`` (grey 32 x 32 cell means,
motion = mean absolute difference to the onset, 3-frame smoothing; docs/inference.md), with the
clip's first frame as the onset. Frames are decoded one at a time and reduced to their cells, so
a long clip is never held in memory. (Cache entries of the earlier "absdiff-blur-v1" method, a
blurred 64 px frame difference, are not reused.)

The cache is a JSON file mapping a clip fingerprint to its estimate. The fingerprint is a
SHA-1 over the method name, every frame's (number, byte size) and the bytes (up to 256 KiB
each) of the first, middle and last frames: it does not depend on where the dataset lives, and
it changes when frames are added, removed or re-encoded. The cache file lives in the mmnet cache
folder (``default_cache_dir``), never under the licence-gated dataset root.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path

from ..media import read_rgb
from ..private_files import cache_access_error, make_private_folder, write_private
from ..spotting import spot_apex

__all__ = ["METHOD", "estimate_apex", "clip_fingerprint", "ApexCache"]

METHOD = "grid-motion-v2"
log = logging.getLogger("mmnet.data")
_HASH_BYTES = 1 << 18  # per hashed frame: enough to cover a cropped SMIC frame, bounded for raw ones


def estimate_apex(frames: Sequence[tuple[int, Path]]) -> int:
    """Frame number of the spotted apex, the first frame being the onset (``mmnet.spotting.spot_apex``).

    Raises:
        DataError: fewer than 2 frames, frames of different sizes, or a frame that cannot be decoded.
    """
    index = spot_apex(read_rgb(path) for _, path in frames)
    return frames[index][0]


def clip_fingerprint(frames: Sequence[tuple[int, Path]]) -> str:
    """Location-independent fingerprint of a clip's frames (see the module docstring)."""
    h = hashlib.sha1(METHOD.encode())
    for n, p in frames:
        h.update(f"{n}:{p.stat().st_size};".encode())
    if frames:
        for i in sorted({0, len(frames) // 2, len(frames) - 1}):  # sorted: the hash must not depend on set order
            with open(frames[i][1], "rb") as f:
                h.update(f.read(_HASH_BYTES))
    return h.hexdigest()


class ApexCache:
    """JSON file of fingerprint -> {"apex": n, "method": METHOD}; written once per load, atomically."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, dict] = {}
        self.dirty = False
        try:
            if path is not None and path.is_file():
                self.entries = json.loads(path.read_text(encoding="utf-8"))
        except PermissionError as exc:  # another user's: estimated again, and said why
            log.warning("%s The apex estimates are made again.", cache_access_error(path, exc, fatal=False))
            self.entries = {}
        except (OSError, ValueError):
            self.entries = {}  # a damaged cache is rebuilt, never trusted
        if not isinstance(self.entries, dict) or not all(isinstance(v, dict) for v in self.entries.values()):
            self.entries = {}

    def apex(self, frames: Sequence[tuple[int, Path]]) -> tuple[int, bool]:
        """(estimated apex, came from the cache)."""
        key = clip_fingerprint(frames)
        hit = self.entries.get(key)
        numbers = {n for n, _ in frames}
        if hit and hit.get("method") == METHOD and hit.get("apex") in numbers:
            return int(hit["apex"]), True
        n = estimate_apex(frames)
        self.entries[key] = {"apex": n, "method": METHOD}
        self.dirty = True
        return n, False

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        try:
            make_private_folder(self.path.parent, inside=self.path.parent.parent)  # beside the frame cache, as private
            write_private(self.path, json.dumps(self.entries, indent=0, sort_keys=True).encode("utf-8"))
        except PermissionError as exc:  # another user's folder: estimates are recomputed next time, and said why
            log.warning("%s The apex estimates are made again next time.", cache_access_error(self.path, exc, "cannot "
                        "be written", fatal=False))
            return
        except OSError:
            return  # read-only cache folder: estimates are recomputed next time
        self.dirty = False
