"""The cache folder as a whole: where it is, its entries (`mmnet info --cache`, `mmnet cache prune`), and the
lock that lets one process at a time check, delete (when damaged or pruned) or build a frame-cache entry (and
measure a calibration: ``mmnet.train.calibrate``).

Two commands that need the same frames (a sweep's settings, two runs started together) would otherwise race: the
second could find the first's data file before its index, take the entry for damaged and delete it under the
first. With the lock (``CACHE/frames-<key>.lock``) the second waits (a line on stderr says so) and then uses the
finished entry. It is the ``filelock`` package's (flock on Unix), released by the system when its holder dies, so a
killed build never blocks the next; the lock file stays and belongs to its entry (pruned with it). Where the folder
cannot hold a lock file (read-only, a file system without locks) the entry is used without one.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from ..user_folders import cache_dir_and_source

__all__ = ["default_cache_dir", "default_cache_dir_source", "entry_lock", "remove_build_temporaries",
           "build_temporaries", "CacheEntry", "cache_entries", "PruneResult", "prune_cache"]

log = logging.getLogger("mmnet.data")


def default_cache_dir() -> Path:
    """Where mmnet keeps what it derives from datasets (decoded frames, optical flow, apex estimates),
    never inside the licence-gated dataset root: ``$MMNET_CACHE_DIR``, else ``$XDG_CACHE_HOME/mmnet``,
    else ``~/.cache/mmnet``. ``data.cache_dir`` in a config overrides it for a run."""
    return cache_dir_and_source()[0]


def default_cache_dir_source() -> str:
    """Which setting chose :func:`default_cache_dir`: "$MMNET_CACHE_DIR", "$XDG_CACHE_HOME/mmnet" or "default"."""
    return cache_dir_and_source()[1]


@contextmanager
def entry_lock(data_path: Path, waiting: str | None = None) -> Iterator[bool]:
    """Hold the lock of the cache entry whose data file is ``data_path`` (its folder is created) for the ``with``
    block, waiting for another process that holds it (saying so on stderr: ``waiting``, by default a frame cache's
    line). Yields whether the lock is held: not where the folder cannot hold a lock file."""
    from ..progress import write_line

    lock = FileLock(data_path.with_suffix(".lock"), timeout=0)
    try:
        data_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            lock.acquire()
        except Timeout:
            write_line(waiting or f"waiting for another mmnet process building the frame cache {data_path}")
            lock.acquire(timeout=-1)
    except OSError as exc:  # a read-only folder, or a file in its place: the build's own error names it
        log.debug("no lock for cache entry '%s' (%s)", data_path, exc)
    try:
        yield lock.is_locked
    finally:
        if lock.is_locked:
            lock.release()


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


def build_temporaries(cache_dir: Path) -> list[Path]:
    """The young temporary files in the cache folder, which :func:`cache_entries` leaves out: of builds in
    progress, or of killed ones (removed by the next build of their entry, or by ``mmnet cache prune`` once a
    day old, when they count as entries)."""
    if not cache_dir.is_dir():
        return []
    return sorted(p for p in cache_dir.rglob(".*") if p.is_file() and not p.is_symlink() and _young_temporary(p))


def _young_temporary(path: Path) -> bool:
    """A dot-file written in the last day: a build in progress may still be writing it."""
    return path.name.startswith(".") and time.time() - path.stat().st_mtime < 86400


# -- the cache folder as a whole (`mmnet info --cache`, `mmnet cache prune`) ----------------------------
@dataclass
class CacheEntry:
    """Files that belong together in the cache (a frame cache with its index and optical flow)."""

    name: str
    paths: list[Path]
    size: int  # bytes
    last_used: float  # newest modification time of its files (reusing a frame cache touches its index)


def cache_entries(cache_dir: str | Path | None = None) -> list[CacheEntry]:
    """Every entry of the cache folder, least recently used first."""
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    if not root.is_dir():
        return []
    groups: dict[str, list[Path]] = {}
    for path in root.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        if _young_temporary(path):  # a build in progress may be writing it: left alone for a day
            continue
        m = re.fullmatch(r"(?:frames|flows)-([0-9a-f]+)(?:-[\w]+)?\.(?:npy|json|lock)", path.name)
        if path.parent == root / "calibration" and re.fullmatch(r"[0-9a-f]+\.lock", path.name):
            key = str(path.with_suffix(".json").relative_to(root))  # a calibration's lock goes with its record
        else:
            key = f"frames-{m.group(1)}" if m and path.parent == root else str(path.relative_to(root))
        groups.setdefault(key, []).append(path)
    out = []
    for key, paths in groups.items():
        stats = [p.stat() for p in paths]
        out.append(CacheEntry(key, sorted(paths), sum(st.st_size for st in stats), max(st.st_mtime for st in stats)))
    return sorted(out, key=lambda e: (e.last_used, e.name))


@dataclass
class PruneResult:
    """What :func:`prune_cache` removed (with ``dry_run``: would remove), and the entries it chose but kept
    because another process holds their lock (builds or checks them) right now, or used them since prune listed
    them."""

    removed: list[CacheEntry]
    in_use: list[CacheEntry]


def prune_cache(cache_dir: str | Path | None = None, *, older_than_days: float | None = None,
                max_bytes: int | None = None, dry_run: bool = False) -> PruneResult:
    """Remove entries last used more than ``older_than_days`` ago, then the least recently used until
    the cache holds at most ``max_bytes``. An entry whose lock another process holds is kept (the next least
    recently used goes in its place), and so is one used between the listing and prune taking its lock; the others
    are deleted holding their lock, so no build starts meanwhile."""
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    cutoff = None if older_than_days is None else time.time() - older_than_days * 86400
    result = PruneResult([], [])
    entries = cache_entries(root)
    left = sum(e.size for e in entries)
    for e in entries:  # least recently used first
        too_old = cutoff is not None and e.last_used < cutoff
        too_big = max_bytes is not None and left > max_bytes
        if not (too_old or too_big):
            continue
        lock_path = _entry_lock_path(root, e.name)
        with _unless_in_use(lock_path, create=not dry_run) as free:
            if not free or _used_since_listed(e):
                result.in_use.append(e)
                continue
            if not dry_run:
                for p in [*e.paths, *([lock_path] if lock_path else [])]:
                    p.unlink(missing_ok=True)
        result.removed.append(e)
        left -= e.size
    return result


def _entry_lock_path(root: Path, name: str) -> Path | None:
    """The lock file of an entry that has one: a frame cache's, a calibration's (mmnet.train.calibrate)."""
    if re.fullmatch(r"frames-[0-9a-f]+", name):
        return root / f"{name}.lock"
    calibration = root / name
    if calibration.parent == root / "calibration" and re.fullmatch(r"[0-9a-f]+\.json", calibration.name):
        return calibration.with_suffix(".lock")
    return None


def _used_since_listed(entry: CacheEntry) -> bool:
    """Whether a run used the entry (touched its index) between prune's listing and prune taking its lock. Its lock
    file aside: taking the lock truncates it, which counts as a write."""
    for path in entry.paths:
        try:
            if path.suffix != ".lock" and path.stat().st_mtime > entry.last_used:
                return True
        except FileNotFoundError:
            continue
    return False


@contextmanager
def _unless_in_use(lock_path: Path | None, *, create: bool) -> Iterator[bool]:
    """Hold an entry's lock if no other process does, without waiting; yields False where another does.
    Without ``create`` (a dry run) a missing lock file is not created: nobody holds it, and a new file would
    count as a use of its entry. Deleting the lock file while holding it is safe: filelock (>= 4.3) takes a
    lock whose file was unlinked for not held, and locks the new file."""
    if lock_path is None or not (create or lock_path.exists()):
        yield True
        return
    lock = FileLock(lock_path, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        yield False
        return
    except OSError as exc:  # a read-only folder: deleting the entry names the error, as without a lock
        log.debug("no lock for cache entry '%s' (%s)", lock_path, exc)
    try:
        yield True
    finally:
        if lock.is_locked:
            lock.release()
