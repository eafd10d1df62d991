"""Temporary files in the cache folder: a frame-cache build's ``.frames-<key>.npy.<pid>.tmp`` (allocated at full
size and filled with decoded faces) and an atomic write's ``.<name>.<12 hex>.tmp``.

A young one (written in the last day) is not an entry of the cache (``mmnet.data.cache_folder``): a build in
progress may still be writing it. Which ones are dead is known from the lock their writer holds: a frame cache's
build, its index and a calibration's record are written holding their entry's lock (released by the system when
the writer dies), so a free lock means a dead writer. An atomic write without a lock (a flow file, an apex
estimate) is written in one go: untouched for an hour, its writer is gone.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from .cache_names import scan_cache_folder

__all__ = ["remove_build_temporaries", "build_temporaries", "young_temporary", "Temporary", "prune_temporaries"]

log = logging.getLogger("mmnet.data")

_YOUNG_SECONDS = 86400  # a dot-file written in the last day may be a build in progress
_UNLOCKED_WRITE_SECONDS = 3600  # an atomic write without a lock that old was left by a killed process
_TEMPORARY = re.compile(r"\.(?P<target>.+)\.(?:\d+|[0-9a-f]{12})\.tmp")


def young_temporary(path: Path, st: os.stat_result) -> bool:
    """A dot-file written in the last day: a build in progress may still be writing it."""
    return path.name.startswith(".") and time.time() - st.st_mtime < _YOUNG_SECONDS


def remove_build_temporaries(data_path: Path) -> list[Path]:
    """Delete what killed builds of this entry left (``.<data file>.<pid>.tmp``, each allocated at full size).
    Only while holding the entry's lock: then no other process is writing one."""
    pattern = re.compile(rf"\.{re.escape(data_path.name)}\.\d+\.tmp")
    removed = []
    for path in data_path.parent.glob(f".{data_path.name}.*.tmp"):
        if pattern.fullmatch(path.name):
            path.unlink(missing_ok=True)
            removed.append(path)
    if removed:
        log.info("removed %d temporary file(s) of killed builds of frame cache '%s'", len(removed), data_path)
    return removed


def build_temporaries(cache_dir: Path, any_age: bool = False) -> list[Path]:
    """The young temporary files in the cache folder, which the cache's entries leave out: of builds in
    progress, or of killed ones (removed by the next build of their entry, or by ``mmnet cache prune --all``,
    ``--stale`` or ``--subject`` once their writer is gone, or by any prune once a day old, when they count as
    entries). ``any_age``: every temporary file, however old."""
    if not cache_dir.is_dir():
        return []
    return sorted(p for p, st in scan_cache_folder(cache_dir)[0]
                  if (p.name.startswith(".") if any_age else young_temporary(p, st)))


@dataclass
class Temporary:
    """A temporary file, its size, and whether its writer is gone (``dead``)."""

    path: Path
    size: int
    dead: bool


def _writer_lock(root: Path, path: Path) -> Path | None:
    """The lock the writer of the temporary ``path`` holds: its frame cache's or its calibration's, else None."""
    m = _TEMPORARY.fullmatch(path.name)
    target = m.group("target") if m else ""
    frames = re.fullmatch(r"frames-([0-9a-f]+)\.(?:npy|json)", target)
    if path.parent == root and frames:
        return root / f"frames-{frames.group(1)}.lock"
    if path.parent == root / "calibration" and re.fullmatch(r"[0-9a-f]+\.json", target):
        return path.parent / target.replace(".json", ".lock")
    return None


def prune_temporaries(root: Path, *, dry_run: bool) -> list[Temporary]:
    """Every temporary file of the cache folder ``root``, of any age (a killed build's file a week old may hold
    a withdrawn participant's faces as well as a young one); those whose writer is gone (its lock free, or, for
    an atomic write without a lock, untouched for an hour) are deleted (with ``dry_run``: only marked ``dead``),
    holding that lock so that no build starts meanwhile. The others belong to a build in progress: kept."""
    out = []
    for path in build_temporaries(root, any_age=True):
        try:
            st = path.stat()
        except FileNotFoundError:  # renamed into place or removed meanwhile
            continue
        lock_path = _writer_lock(root, path)
        if lock_path is None:
            dead = time.time() - st.st_mtime > _UNLOCKED_WRITE_SECONDS and _unlink(path, dry_run)
        elif not lock_path.exists():  # no writer ever held it, or a prune removed it: none holds it now
            dead = _unlink(path, dry_run)
        else:
            lock = FileLock(lock_path, timeout=0)
            try:
                lock.acquire()
            except Timeout:
                dead = False
            except OSError as exc:  # a read-only folder, a file system without locks: cannot tell, kept
                log.debug("no lock for temporary '%s' (%s)", path, exc)
                dead = False
            else:
                try:
                    dead = _unlink(path, dry_run)
                finally:
                    lock.release()
        out.append(Temporary(path, st.st_size, dead))
    return out


def _unlink(path: Path, dry_run: bool) -> bool:
    """Delete a dead writer's temporary; False where it may not be (another user's, in a protecting folder)."""
    if dry_run:
        return True
    try:
        path.unlink(missing_ok=True)
    except PermissionError as exc:
        log.debug("temporary '%s' not removed (%s)", path, exc)
        return False
    return True
