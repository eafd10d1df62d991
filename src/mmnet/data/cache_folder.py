"""The cache folder as a whole: where it is, its entries (`mmnet info --cache`, `mmnet cache prune`), the
lock that lets one process at a time check, delete (when damaged or pruned) or build a frame-cache entry (and
measure a calibration: ``mmnet.train.calibrate``), and the shared locks that keep an entry from being pruned while
runs use it.

Two commands that need the same frames (a sweep's settings, two runs started together) would otherwise race: the
second could find the first's data file before its index, take the entry for damaged and delete it under the
first. With the lock (``CACHE/frames-<key>.lock``) the second waits (a line on stderr says so) and then uses the
finished entry. It is the ``filelock`` package's (flock on Unix), released by the system when its holder dies, so a
killed build never blocks the next; the lock file stays and belongs to its entry (pruned with it). Where the folder
cannot hold a lock file (read-only, a file system without locks) the entry is used without one.

A run maps an entry's data files (frames, flows) long after it checked the entry, in its own process or in workers
(Ray, SLURM) hours later. Each process that maps one holds a shared lock (flock) on that data file until it exits
(:func:`use_entry`); prune deletes an entry only if it can lock each of its data files exclusively, without waiting.
Locks that the file system does not share between machines (an NFS mount without locking) cannot protect a run on
another machine: a worker that finds its entry gone says so (:func:`load_entry`), and the rerun builds it again.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from ..errors import DataError
from ..private_files import cache_access_error, make_private_folder
from ..user_folders import cache_dir_and_source
from ..utils import in_made_folder
from .cache_names import is_mmnet_folder, scan_cache_folder
from .cache_temporaries import (
    Temporary,
    build_temporaries,
    prune_temporaries,
    remove_build_temporaries,
    young_temporary,
)

try:
    import fcntl
except ImportError:  # Windows: a mapped file cannot be deleted there, so prune cannot remove an entry in use
    fcntl = None

__all__ = ["default_cache_dir", "default_cache_dir_source", "entry_lock", "remove_build_temporaries",
           "build_temporaries", "CacheEntry", "cache_entries", "PruneResult", "prune_cache", "use_entry", "load_entry",
           "release_entries", "unreadable_entry", "delete_entry"]

log = logging.getLogger("mmnet.data")


def default_cache_dir() -> Path:
    """Where mmnet keeps what it derives from datasets (decoded frames, optical flow, apex estimates,
    CPU calibrations), never inside the licence-gated dataset root: ``$MMNET_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/mmnet``, else ``~/.cache/mmnet``. ``data.cache_dir`` in a config overrides it for a run."""
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

    def acquire() -> None:
        try:
            lock.acquire()
        except Timeout:
            write_line(waiting or f"waiting for another mmnet process building the frame cache {data_path}")
            lock.acquire(timeout=-1)

    try:
        # made again if a prune removed it, emptied, before the lock file was made; 0700 when made here
        in_made_folder(data_path, acquire, _make_entry_folder)
    except OSError as exc:  # a read-only folder, or a file in its place: the build's own error names it
        log.debug("no lock for cache entry '%s' (%s)", data_path, exc)
    try:
        yield lock.is_locked
    finally:
        if lock.is_locked:
            lock.release()


def _make_entry_folder(folder: Path) -> None:
    """The cache folder (0700 when made here), or its calibration/ (as shared as the cache folder)."""
    make_private_folder(folder, inside=folder.parent if folder.name == "calibration" else folder)


_IN_USE: dict[tuple[int, int], int] = {}  # (device, inode) of each data file this process maps -> the locked fd


def use_entry(data_path: Path) -> None:
    """Hold a shared lock on a cache data file until this process exits, so that `mmnet cache prune` keeps its
    entry. Raises FileNotFoundError when the file is gone, also when prune deleted it while this waited for it."""
    if fcntl is None:
        return
    fd = os.open(data_path, os.O_RDONLY)
    try:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) in _IN_USE:
            os.close(fd)
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)  # waits only while a prune holds it, deciding on or deleting the entry
        except OSError as exc:  # a file system without locks: used unprotected, as the entry lock is
            log.debug("no shared lock on frame cache '%s' (%s)", data_path, exc)
            os.close(fd)
            return
        if os.stat(data_path).st_ino != st.st_ino:
            raise FileNotFoundError(2, "removed while waiting for its lock", str(data_path))
        _IN_USE[(st.st_dev, st.st_ino)] = fd
    except BaseException:
        os.close(fd)
        raise


def release_entries() -> None:
    """Give up this process's holds (:func:`use_entry`): for a Ray worker, which outlives the fold it ran."""
    while _IN_USE:
        os.close(_IN_USE.popitem()[1])


def delete_entry(data_path: Path, index_path: Path) -> None:
    """Delete a frame-cache entry's data file and index (a damaged entry, to be rebuilt), first giving up this
    process's hold on the data file (:func:`use_entry`): its descriptor would keep the deleted file's blocks allocated
    until the process exits."""
    try:
        st = os.stat(data_path)
        if (fd := _IN_USE.pop((st.st_dev, st.st_ino), None)) is not None:
            os.close(fd)
    except FileNotFoundError:
        pass
    data_path.unlink(missing_ok=True)
    index_path.unlink(missing_ok=True)


def load_entry(path: str | Path) -> np.ndarray:
    """A cache data file memory-mapped for a run, held for use (:func:`use_entry`) until this process exits."""
    try:
        use_entry(Path(path))
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"The cache file '{path}' this run uses was removed (by `mmnet cache prune` on a machine whose "
                        "file locks this one does not see, or by hand). Rerun the same command: finished folds are "
                        "kept, and it builds the cache again.") from None


def unreadable_entry(path: Path, exc: OSError, problem: str = "cannot be read") -> DataError:
    """The error for a cache file this user may not read (another user's, written with umask 077) or delete: it is
    never deleted for that, since its owner may be using it (``private_files.cache_access_error``)."""
    return cache_access_error(path, exc, problem)


# -- the cache folder as a whole (`mmnet info --cache`, `mmnet cache prune`) ----------------------------
@dataclass
class CacheEntry:
    """Files that belong together in the cache (a frame cache with its index and optical flow)."""

    name: str
    paths: list[Path]
    size: int  # bytes
    last_used: float  # newest modification time of its files (reusing a frame cache touches its index)

    @property
    def note(self) -> str:
        """What an entry without data is: a calibration's lock alone is what an interrupted calibration left."""
        return "left by an interrupted calibration" if re.fullmatch(r"calibration.[0-9a-f]+\.lock", self.name) else ""


def cache_entries(cache_dir: str | Path | None = None) -> list[CacheEntry]:
    """Every entry of the cache folder, least recently used first: only files named as mmnet names them
    (``cache_names``), never anything else a mistaken cache folder ($HOME, a dataset) holds."""
    return _entries_and_foreign(Path(cache_dir) if cache_dir else default_cache_dir())[0]


def _entries_and_foreign(root: Path, temporaries: bool = True) -> tuple[list[CacheEntry], list[Path], list]:
    """The entries of the cache folder ``root``, least recently used first, what in it is not mmnet's, and the
    folders that could not be searched (``scan_cache_folder``). Without ``temporaries``, temporary files a day old
    are left out too (prune handles them as temporaries)."""
    if not root.is_dir():
        return [], [], []
    files, foreign, unsearched = scan_cache_folder(root)
    groups: dict[str, list[tuple[Path, os.stat_result]]] = {}
    for path, st in files:
        if young_temporary(path, st) or (not temporaries and path.name.startswith(".")):
            continue  # a build in progress may be writing it: left alone for a day
        m = re.fullmatch(r"(?:frames|flows)-([0-9a-f]+)(?:-[\w]+)?\.(?:npy|json|lock)", path.name)
        if path.parent == root / "calibration" and re.fullmatch(r"[0-9a-f]+\.lock", path.name):
            # a calibration's lock goes with its record; alone (one killed before writing it) it is its own entry
            key = str(path.relative_to(root).with_suffix(".json" if path.with_suffix(".json").exists() else ".lock"))
        else:
            key = f"frames-{m.group(1)}" if m and path.parent == root else str(path.relative_to(root))
        groups.setdefault(key, []).append((path, st))
    out = []
    for key, files in groups.items():
        out.append(CacheEntry(key, sorted(p for p, _ in files), sum(st.st_size for _, st in files),
                              max(st.st_mtime for _, st in files)))
    return sorted(out, key=lambda e: (e.last_used, e.name)), foreign, unsearched


_REFUSED = {errno.EACCES, errno.EPERM, errno.EROFS}  # deleting: not this user's to delete, or a read-only file system


@dataclass
class PruneResult:
    """What :func:`prune_cache` removed (with ``dry_run``: would remove), the entries it chose but kept because
    another process uses them (maps their data, or builds or checks them) right now, or used them since prune listed
    them, and those it could not remove (permission denied: another user's, in a folder that protects them; a
    read-only file system). ``foreign``: what the folder holds that is not mmnet's (``cache_names``), never removed.
    ``temporaries``: young temporary files (``cache_temporaries``): those of killed builds removed (``dead``), the
    others kept. ``unsearched``: the folders that could not be searched, (folder, error): what they hold is neither
    counted nor removed.
    """

    removed: list[CacheEntry]
    in_use: list[CacheEntry]
    refused: list[CacheEntry] = field(default_factory=list)
    foreign: list[Path] = field(default_factory=list)
    temporaries: list[Temporary] = field(default_factory=list)
    unsearched: list[tuple[Path, OSError]] = field(default_factory=list)


def prune_cache(cache_dir: str | Path | None = None, *, older_than_days: float | None = None,
                max_bytes: int | None = None, dry_run: bool = False,
                chosen: Callable[[CacheEntry], bool] | None = None, temporaries: bool = False) -> PruneResult:
    """Remove entries last used more than ``older_than_days`` ago, then the least recently used until
    the cache holds at most ``max_bytes``. An entry whose lock another process holds is kept (the next least
    recently used goes in its place), and so is one whose data files a run maps (:func:`use_entry`) or one used
    between the listing and prune taking its lock; the others are deleted holding their locks, so that no build
    starts and no run maps them meanwhile. An entry that cannot be deleted (permission denied, a read-only file
    system) is counted in ``refused``, and the next one goes in its place. Its data files go first: where one cannot
    be deleted nothing else of the entry is (on Windows, a data file a run maps cannot be: that entry is in use).
    ``chosen``: entries removed whatever their age (``mmnet cache prune --stale``: ``cache_stale``). ``temporaries``:
    also delete the temporary files of killed builds, of any age (``--all``, ``--stale``, ``--subject``), and list
    those of builds in progress."""
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    cutoff = None if older_than_days is None else time.time() - older_than_days * 86400
    entries, foreign, unsearched = _entries_and_foreign(root, temporaries=not temporaries)
    result = PruneResult([], [], foreign=foreign, unsearched=unsearched,
                         temporaries=prune_temporaries(root, dry_run=dry_run) if temporaries else [])
    left = sum(e.size for e in entries)
    for e in entries:  # least recently used first
        too_old = cutoff is not None and e.last_used < cutoff
        too_big = max_bytes is not None and left > max_bytes
        if not (too_old or too_big or (chosen is not None and chosen(e))):
            continue
        lock_path = _entry_lock_path(root, e.name)
        lock_existed = lock_path is not None and lock_path.exists()
        try:
            with _unless_in_use(lock_path, create=not dry_run) as free, _unless_mapped(e) as unmapped:
                if not (free and unmapped) or _used_since_listed(e):
                    result.in_use.append(e)
                    continue
                if not dry_run:
                    for p in [*sorted(e.paths, key=lambda p: p.suffix != ".npy"), *([lock_path] if lock_path else [])]:
                        p.unlink(missing_ok=True)
        except OSError as exc:  # another user's entry, in a sticky or read-only folder, or unreadable
            if exc.errno not in _REFUSED:
                raise
            log.debug("cache entry '%s' not removed (%s)", e.name, exc)
            if lock_path and not lock_existed and lock_path.exists():  # prune's own lock, not left in another's entry
                lock_path.unlink()
            mapped = fcntl is None and isinstance(exc, PermissionError) and str(exc.filename).endswith(".npy")
            (result.in_use if mapped else result.refused).append(e)
            continue
        result.removed.append(e)
        left -= e.size
    if not dry_run:  # the folders those entries were in (calibration/, flow-v*/, apex/), once nothing is left in them
        _remove_empty_folders(root, {p.parent for e in result.removed for p in e.paths})
    return result


def _remove_empty_folders(root: Path, folders: set[Path]) -> None:
    """Remove each of ``folders`` (inside ``root``) that is empty, then its parents up to ``root``, if empty too:
    only folders that mmnet makes (``cache_names``)."""
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        while folder != root and root in folder.parents and is_mmnet_folder(folder.relative_to(root).as_posix()):
            try:
                folder.rmdir()
            except OSError:  # not empty (a build writes into it again), or not this user's
                break
            folder = folder.parent


def _entry_lock_path(root: Path, name: str) -> Path | None:
    """The lock file of an entry that has one: a frame cache's, a calibration's (mmnet.train.calibrate)."""
    if re.fullmatch(r"frames-[0-9a-f]+", name):
        return root / f"{name}.lock"
    calibration = root / name
    if calibration.parent == root / "calibration" and re.fullmatch(r"[0-9a-f]+\.(?:json|lock)", calibration.name):
        return calibration.with_suffix(".lock")
    return None


@contextmanager
def _unless_mapped(entry: CacheEntry) -> Iterator[bool]:
    """Lock each data file of the entry exclusively if no run maps it (holds it shared, :func:`use_entry`), without
    waiting; yields False where one does. Opened for writing where allowed: NFS grants an exclusive lock on a file
    opened for writing only."""
    fds = []
    try:
        for path in [p for p in entry.paths if p.suffix == ".npy"] if fcntl else []:
            try:
                fds.append(os.open(path, os.O_RDWR))
            except FileNotFoundError:
                continue
            except OSError:  # not ours to write, or a read-only file system: a shared lock's holder still shows
                fds.append(os.open(path, os.O_RDONLY))
            try:
                fcntl.flock(fds[-1], fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            except OSError as exc:  # a file system without locks: deleted unprotected, as without the entry lock
                log.debug("no lock on cache file '%s' (%s)", path, exc)
        yield True
    finally:
        for fd in fds:
            os.close(fd)


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
