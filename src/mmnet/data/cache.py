"""Decode each needed frame once, resize it, and keep it in an on-disk cache shared by folds and runs.

For every sample the cache holds the frames that training can draw (onset .. onset+j and
apex-j .. apex, j = int(jitter_fraction * (apex - onset) / 4), the authors' jitter) as one
uint8 array. The cache file's name is a fingerprint of the frame files (path, size, mtime), the
image size and the cache version, so changed inputs or settings give a new cache; an existing
one is reused. Files are written atomically: an interrupted build leaves no partial cache. One process
builds an entry while others wait for it (``cache_folder.entry_lock``), and a run checks the data against
the frames digest recorded at their build once per process: data changed on disk are rebuilt.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from .cache_folder import (
    CacheEntry,
    cache_entries,
    default_cache_dir,
    delete_entry,
    entry_lock,
    prune_cache,
    remove_build_temporaries,
    unreadable_entry,
    use_entry,
)
from .sample import Sample

__all__ = [
    "FrameWindows",
    "CachedFrames",
    "UnreadableFrames",
    "UnusableSample",
    "frame_windows",
    "build_frame_cache",
    "default_cache_dir",
    "CacheEntry",
    "cache_entries",
    "prune_cache",
]

# 2: frames decoded anew: 16-bit grey frames scaled to 8 bits (they were clipped to white) and a photo's EXIF
# orientation applied (media.read_image); a cache of version 1 may hold such frames as they were read then.
CACHE_VERSION = 2

log = logging.getLogger("mmnet.data")


@dataclass(frozen=True)
class FrameWindows:
    """The frame numbers training may draw for one sample, and the exact pair used for testing."""

    onset_frames: tuple[int, ...]
    apex_frames: tuple[int, ...]
    onset: int
    apex: int
    notes: tuple[str, ...] = ()  # what was clamped, for the run's audit trail


class UnusableSample(DataError):
    """A sample ``frame_windows`` cannot use. ``problem`` says why without the advice (skipped.csv's reason
    when data.on_bad_sample=skip has already left it out); the message adds the advice."""

    def __init__(self, problem: str, advice: str = "") -> None:
        self.problem = problem
        super().__init__(f"{problem} {advice}".strip())


def frame_windows(sample: Sample, jitter_fraction: float, *, clamp: bool) -> FrameWindows:
    """Resolve a sample's onset/apex (and jitter windows) against the frames on disk.

    Raises DataError naming the sample when a needed frame is absent and ``clamp`` is False, or when the
    nearest frames leave onset and apex on one frame (an empty motion image with a real label).
    """
    present = set(sample.frame_numbers)
    if not present:
        raise UnusableSample(f"{sample.sample_id}: no frames found on disk "
                             f"(expected frames {sample.onset}..{sample.offset}).")
    if sample.apex is None:
        raise UnusableSample(f"{sample.sample_id}: the annotation gives no apex frame.",
                             "Correct it, or use data.on_bad_sample=skip to leave the sample out.")
    if sample.apex < sample.onset:
        raise UnusableSample(f"{sample.sample_id}: onset {sample.onset} is after apex {sample.apex}; the motion would "
                             "be reversed.",
                             "Fix the annotation, or use data.on_bad_sample=skip to leave the sample out.")
    notes = []
    onset, apex = sample.onset, sample.apex
    for name, n in (("onset", onset), ("apex", apex)):
        if n not in present:
            if not clamp:
                raise UnusableSample(
                    f"{sample.sample_id}: the annotated {name} frame {n} {sample.why_missing(n)} (frames present: "
                    f"{min(present)}..{max(present)}).",
                    "Fix the annotation, or set data.on_bad_sample=nearest (use the nearest frame) or "
                    "data.on_bad_sample=skip (leave the sample out, listed in the report).")
            near = sample.nearest_frame(n)
            notes.append(f"{name} {n} not on disk, used nearest frame {near}")
            if name == "onset":
                onset = near
            else:
                apex = near
    if notes and apex == onset:  # the motion image would be empty while the label stays: no fix
        raise UnusableSample(
            f"{sample.sample_id}: with the nearest frames on disk, the annotated onset {sample.onset} and apex "
            f"{sample.apex} both become frame {apex}: no motion is left between them.",
            "data.on_bad_sample=nearest cannot fix this: fix the annotation or the frames, or use "
            "data.on_bad_sample=skip to leave the sample out.")
    j = int(jitter_fraction * (apex - onset) / 4) if apex > onset else 0
    onset_frames = tuple(n for n in range(onset, onset + j + 1) if n in present)
    apex_frames = tuple(n for n in range(apex - j, apex + 1) if n in present)
    return FrameWindows(onset_frames, apex_frames, onset, apex, tuple(notes))


def npy_intact(path: Path, shape: tuple[int, ...]) -> bool:
    """An .npy file of this shape whose size is exactly its header plus its data (not truncated). A file this user
    may not read raises PermissionError: it is not damaged, and not to be deleted."""
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
        return arr.shape == shape and path.stat().st_size == arr.offset + arr.nbytes
    except PermissionError:
        raise
    except (OSError, ValueError, EOFError):
        return False


def _cache_intact(data_path: Path, index_path: Path, shape: tuple[int, ...]) -> bool:
    """Whether the entry is complete; a DataError names a file this user may not read (another user's)."""
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
        if not isinstance(index, dict) or index.get("frames") != shape[0]:
            return False
        return npy_intact(data_path, shape)
    except PermissionError as exc:
        raise unreadable_entry(index_path, exc) from None
    except (OSError, ValueError):
        return False


class UnreadableFrames(DataError):
    """Frames that could not be decoded, by sample id (no cache is written)."""

    def __init__(self, failures: dict[str, str]) -> None:
        self.failures = failures
        lines = [f"  {sid}: {msg}" for sid, msg in sorted(failures.items())]
        super().__init__(
            f"{len(failures)} sample(s) have missing or unreadable frames:\n" + "\n".join(lines[:20])
            + ("\n  ..." if len(lines) > 20 else "")
            + "\nReplace the files, or set data.on_bad_sample=skip to leave these samples out (listed in the report)."
        )


@dataclass
class CachedFrames:
    """All cached frames of a sample list, and where each sample's windows lie in the array.

    Attributes:
        frames: (F, S, S, 3) uint8, memory-mapped from the cache file.
        onset_rows, apex_rows: per sample, the row range [start, stop) of its jitter window.
        onset_exact, apex_exact: per sample, the row of the annotated onset / apex frame.
        path: the cache file.
    """

    frames: np.ndarray
    onset_rows: np.ndarray  # (N, 2) int64
    apex_rows: np.ndarray  # (N, 2) int64
    onset_exact: np.ndarray  # (N,) int64
    apex_exact: np.ndarray  # (N,) int64
    path: Path
    content: str = ""  # frames_digest: the same for the same frames wherever their files lie


def cache_fingerprint(samples: list[Sample], windows: list[FrameWindows], image_size: int,
                      version: int = CACHE_VERSION) -> str:
    """The cache entry's name for these frame files (paths, sizes, times); ``version=1``: the one frame cache
    version 1 gave them, which a run started by an earlier mmnet recorded in its env.json (no frames digest yet)."""
    h = hashlib.sha256(f"v{version}|{image_size}".encode())
    for s, w in zip(samples, windows):
        h.update(s.sample_id.encode())
        for n in sorted(set(w.onset_frames + w.apex_frames)):
            p = s.frame_path(n)
            st = p.stat()
            h.update(f"|{n}:{p}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:20]


def frames_digest(frames: np.ndarray, sample_ids: list[str], rows: list[np.ndarray]) -> str:
    """sha256 of what training reads from a cache: the samples' ids, their windows' rows and the decoded
    pixels. Unlike the cache's name (paths and file times, cheap to check) it holds no location: the same
    frames copied or moved elsewhere give the same digest, which a resumed run compares
    (``run_folder.data_changes``). About a second per GB of cache."""
    h = hashlib.sha256(json.dumps([list(frames.shape), sample_ids, *[r.tolist() for r in rows]]).encode())
    step = max(1, (64 << 20) // max(1, int(np.prod(frames.shape[1:]))))  # 64 MB at a time
    for i in range(0, len(frames), step):
        h.update(np.ascontiguousarray(frames[i:i + step]))
    return h.hexdigest()[:20]


_VERIFIED: dict[tuple, str] = {}  # the entries whose digest this process checked: (path, inode, size, mtime) -> it


def _identity(data_path: Path) -> tuple:
    st = data_path.stat()
    return str(data_path.absolute()), st.st_ino, st.st_size, st.st_mtime_ns


def _verified_digest(data_path: Path, index_path: Path, frames: np.ndarray, digest) -> str | None:
    """The entry's frames digest computed from its data, once per process and entry, and compared with the one its
    index records (recorded there when absent; not at all in a read-only cache). None when they differ: the data
    changed on disk after the build (a flipped bit, an edit), which the size check cannot see."""
    from ..private_files import write_private

    ident = _identity(data_path)
    if ident in _VERIFIED:
        return _VERIFIED[ident]
    index = json.loads(index_path.read_text(encoding="utf-8"))
    actual = digest(frames)
    if isinstance(index.get("content"), str) and index["content"] != actual:
        log.warning("frame cache '%s' does not match the digest recorded when it was built (its data changed on "
                    "disk); rebuilding it", data_path)
        return None
    if index.get("content") != actual:
        index["content"] = actual
        try:
            write_private(index_path, json.dumps(index).encode("utf-8"))
        except OSError:
            pass  # a read-only cache folder: computed again next time
    _VERIFIED[ident] = actual
    return actual


def reserve_disk_space(path: str | Path) -> None:
    """Allocate the disk blocks of a (sparse) file before it is written through a memory map.

    A write into a mapped page the disk cannot back kills the process with SIGBUS, no error to catch;
    ``os.posix_fallocate`` makes a full disk an ``OSError(ENOSPC)`` here instead. Where the OS lacks it
    (macOS, Windows) or the file system does not support it, the file stays sparse, as before.
    """
    fallocate = getattr(os, "posix_fallocate", None)
    if fallocate is None:
        return
    with open(path, "r+b") as f:
        try:
            fallocate(f.fileno(), 0, os.fstat(f.fileno()).st_size)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                raise
            # EINVAL, EOPNOTSUPP: a file system without preallocation; the map still works


def build_frame_cache(
    samples: list[Sample],
    windows: list[FrameWindows],
    *,
    image_size: int,
    cache_dir: str | Path | None = None,
    num_workers: int | None = None,
    progress: bool = False,
) -> CachedFrames:
    """Return the cache for these samples, building it (once) when absent, damaged or changed on disk since its
    build (its frames digest is checked once per process)."""
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    key = cache_fingerprint(samples, windows, image_size)
    data_path = cache_dir / f"frames-{key}.npy"
    index_path = cache_dir / f"frames-{key}.json"

    # Row layout: per sample, its onset window then its apex window (contiguous ranges).
    onset_rows, apex_rows, onset_exact, apex_exact, jobs = [], [], [], [], []
    for s, w in zip(samples, windows):
        start = len(jobs)
        jobs += [(s.sample_id, s.frame_path(n)) for n in w.onset_frames]
        onset_rows.append((start, len(jobs)))
        onset_exact.append(start + w.onset_frames.index(w.onset))
        start = len(jobs)
        jobs += [(s.sample_id, s.frame_path(n)) for n in w.apex_frames]
        apex_rows.append((start, len(jobs)))
        apex_exact.append(start + w.apex_frames.index(w.apex))

    shape = (len(jobs), image_size, image_size, 3)
    rows = [np.asarray(onset_rows, dtype=np.int64).reshape(-1, 2), np.asarray(apex_rows, dtype=np.int64).reshape(-1, 2),
            np.asarray(onset_exact, dtype=np.int64), np.asarray(apex_exact, dtype=np.int64)]
    sample_ids = [s.sample_id for s in samples]

    def digest(frames: np.ndarray) -> str:
        return frames_digest(frames, sample_ids, rows)

    index = {"version": CACHE_VERSION, "image_size": image_size, "samples": sample_ids, "frames": len(jobs)}
    digest_failed = False
    while True:
        if not _cache_intact(data_path, index_path, shape):  # an intact entry is used without taking the lock
            with entry_lock(data_path) as locked:
                if locked:
                    remove_build_temporaries(data_path)
                if (data_path.exists() or index_path.exists()) and not _cache_intact(data_path, index_path, shape):
                    # a damaged entry (truncated copy, full disk, hand edit) is derived data: rebuilt
                    log.warning("frame cache '%s' is damaged (size or index does not match); rebuilding it", data_path)
                    try:
                        delete_entry(data_path, index_path)
                    except PermissionError as exc:  # another user's, in a folder that protects it
                        raise unreadable_entry(data_path, exc, "is damaged and cannot be replaced") from None
                if not (data_path.exists() and index_path.exists()):
                    _build(data_path, index_path, index, jobs, shape, digest, num_workers=num_workers,
                           progress=progress)
        try:  # held until this process ends, so that `mmnet cache prune` keeps the entry
            use_entry(data_path)
        except FileNotFoundError:  # pruned since the check: built again
            continue
        try:  # mark the entry as used, for `mmnet cache prune` (read-only cache folders are fine)
            os.utime(index_path)
        except OSError:
            pass
        frames = np.load(data_path, mmap_mode="r", allow_pickle=False)
        if frames.shape != shape:
            raise DataError(f"Frame cache '{data_path}' has shape {frames.shape}, expected {shape}; delete it and "
                            "rerun.")
        checked = _identity(data_path)
        content = _verified_digest(data_path, index_path, frames, digest)
        if content is not None:
            return CachedFrames(frames, *rows, path=data_path, content=content)
        if digest_failed:
            raise DataError(f"Frame cache '{data_path}' was rebuilt, and its data still do not match their digest: "
                            "the disk may be failing. Set data.cache_dir (or $MMNET_CACHE_DIR) to a folder on another "
                            "disk.")
        digest_failed = True  # rebuilt once
        del frames  # unmapped before the file is deleted (Windows refuses to delete a mapped file)
        with entry_lock(data_path):
            try:
                if data_path.exists() and _identity(data_path) == checked:  # not rebuilt meanwhile by another process
                    delete_entry(data_path, index_path)
            except OSError as exc:
                raise DataError(f"Frame cache '{data_path}' does not match its digest and cannot be rebuilt there "
                                f"({exc.strerror or exc}): delete it, or set data.cache_dir (or $MMNET_CACHE_DIR) to "
                                "a writable folder.") from None


def _build(data_path: Path, index_path: Path, index: dict, jobs: list, shape: tuple[int, ...], digest, *,
           num_workers: int | None, progress: bool) -> None:
    """Decode the frames into a temporary file, write the index with their digest, then rename the data into
    place (under the entry's lock: another process finds the index and data together)."""
    from ..private_files import file_mode, keep_private, make_private_folder, write_private

    cache_dir, image_size = data_path.parent, shape[1]
    tmp = data_path.with_name(f".{data_path.name}.{os.getpid()}.tmp")
    try:
        make_private_folder(cache_dir)  # 0700 when made here: decoded faces are the dataset's, not the server's
        # created private (0600, or 0660 in a group folder) before a face is written: no other account can open it
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, file_mode(cache_dir)))
        np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)  # header + a sparse file
        keep_private(tmp)
        reserve_disk_space(tmp)  # a full disk: OSError(ENOSPC) now, not SIGBUS on a write through the map
        out = np.lib.format.open_memmap(tmp, mode="r+")
    except OSError as exc:  # the CLI's generic OSError message would not say which folder this is
        if tmp.is_file():  # not unlink(missing_ok=True): with a file as the cache folder it raises NotADirectory
            tmp.unlink()
        raise DataError(f"The frame cache ({np.prod(shape) / 1e6:,.1f} MB) cannot be written in '{cache_dir}' "
                        f"({exc.strerror or exc}): set data.cache_dir (or $MMNET_CACHE_DIR) to a writable "
                        "folder with room for it.") from None

    failures: dict[str, str] = {}
    from .image import load_frame  # here, not above: it loads torch (seconds), which reading a data set needs not

    def _load(i: int, out: np.ndarray = out) -> None:
        sample_id, path = jobs[i]
        try:
            out[i] = load_frame(path, image_size)
        except DataError as exc:
            failures.setdefault(sample_id, str(exc))

    workers = num_workers or min(8, os.cpu_count() or 1)
    try:
        with ThreadPoolExecutor(workers) as pool:  # PIL releases the GIL while decoding
            iterator = pool.map(_load, range(len(jobs)))
            from ..progress import bars_wanted

            if bars_wanted(progress):  # a bar at a terminal only: on a log file tqdm writes one endless line
                from tqdm import tqdm

                iterator = tqdm(iterator, total=len(jobs), desc="caching frames", unit="frame", leave=False)
            for _ in iterator:
                pass
        if failures:
            raise UnreadableFrames(failures)
        out.flush()
        content = digest(out)
        del out, _load  # the map closed: Windows renames no mapped file
        write_private(index_path, json.dumps({**index, "content": content}).encode("utf-8"))
        os.replace(tmp, data_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _VERIFIED[_identity(data_path)] = content  # computed from these very bytes
