"""Apex estimation for clips without an annotated apex (SMIC), with a small on-disk cache.

Method ("absdiff-blur-v1"): every frame is converted to grey, shrunk so its longer side is at
most 64 px (bilinear), and blurred with a Gaussian of radius 1 px to suppress sensor noise and
JPEG/BMP grain. The apex is the frame whose mean absolute difference from the onset (first)
frame is largest; ties go to the earliest frame. This is the simplest frame-difference
estimate; it follows the intuition of the optical-flow-magnitude apex spotting used by meb
(docs/datasets.md §1.5) without an optical-flow dependency.

The cache is a JSON file mapping a clip fingerprint to its estimate. The fingerprint is a
SHA-1 over the method name, every frame's (number, byte size) and the bytes (up to 256 KiB
each) of the first, middle and last frames: it does not depend on where the dataset lives, and
it changes when frames are added, removed or re-encoded. The default cache folder is ``$MMNET_CACHE_DIR``, else
``$XDG_CACHE_HOME/mmnet``, else ``~/.cache/mmnet`` (never the licence-gated dataset root).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["METHOD", "estimate_apex", "clip_fingerprint", "ApexCache", "default_cache_dir"]

METHOD = "absdiff-blur-v1"
_MAX_SIDE = 64
_HASH_BYTES = 1 << 18  # per hashed frame: enough to cover a cropped SMIC frame, bounded for raw ones


def default_cache_dir() -> Path:
    """Where mmnet keeps small derived files (apex estimates)."""
    if os.environ.get("MMNET_CACHE_DIR"):
        return Path(os.environ["MMNET_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mmnet"


def _grey_small(path: Path) -> np.ndarray:
    from PIL import Image, ImageFilter

    from ..errors import DataError

    try:
        with Image.open(path) as im:
            g = im.convert("L")
    except (OSError, SyntaxError) as exc:
        raise DataError(f"Frame '{path}' cannot be decoded ({exc}); replace or re-extract it.") from None
    scale = _MAX_SIDE / max(g.size)
    if scale < 1:
        g = g.resize((max(1, round(g.width * scale)), max(1, round(g.height * scale))), Image.BILINEAR)
    return np.asarray(g.filter(ImageFilter.GaussianBlur(1)), dtype=np.float32)


def estimate_apex(frames: Sequence[tuple[int, Path]]) -> int:
    """Frame number of the largest blurred mean absolute difference from the first frame."""
    if not frames:
        raise ValueError("no frames to estimate an apex from")
    onset = _grey_small(frames[0][1])
    best_n, best = frames[0][0], -1.0
    for n, p in frames[1:]:
        img = _grey_small(p)
        if img.shape != onset.shape:  # a frame of another size: compare on the common crop
            h, w = min(img.shape[0], onset.shape[0]), min(img.shape[1], onset.shape[1])
            d = float(np.abs(img[:h, :w] - onset[:h, :w]).mean())
        else:
            d = float(np.abs(img - onset).mean())
        if d > best:
            best_n, best = n, d
    return best_n


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
        if path is not None and path.is_file():
            try:
                self.entries = json.loads(path.read_text())
            except (OSError, ValueError):
                self.entries = {}  # a damaged cache is rebuilt, never trusted

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
        from ..utils import atomic_write_text

        try:
            atomic_write_text(self.path, json.dumps(self.entries, indent=0, sort_keys=True))
        except OSError:
            return  # read-only cache folder: estimates are recomputed next time
        self.dirty = False
