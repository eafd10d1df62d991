"""Atomic file writes: a reader (or a resumed run) never sees half a file, even after SIGKILL.

Files get the permissions of an ordinary ``open()`` (0666 minus the process umask), so that
colleagues on shared storage can read reports and checkpoints when the umask lets them.
``tempfile.mkstemp`` would make every file 0600 whatever the umask.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import signal
import stat
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import TypeVar

__all__ = ["atomic_write_text", "atomic_write_bytes", "replace_files_together", "atomic_torch_save",
           "checked_torch_load", "move_aside", "remove_stale_temporaries", "CorruptFile", "OPEN_ELSEWHERE",
           "in_made_folder", "check_writable", "writable", "existing_folder", "json_object_or_none",
           "DISK_REFUSALS", "stat_key", "local_timestamp"]

T = TypeVar("T")

_TRAILER = b"MMNETSHA256"  # + 32-byte digest of everything before it


def atomic_write_bytes(path: str | Path, data: bytes | tuple, check: Callable[[Path], None] | None = None, *,
                       mode: int = 0o666) -> None:
    """Write to a temporary file in the same folder, fsync, then rename: readers never see half. ``data``: the
    bytes, or a tuple of bytes-like parts written one after another (a large body is not copied to append to it).
    ``mode``: the temporary's mode when created, less the umask (``private_files.write_private`` gives 0600: no
    other account can open the file while it is written).

    ``check(temporary)``, when given, vets the written file before the rename: when it raises, the temporary is
    removed and the file at ``path``, if any, stays as it was."""
    path = Path(path)
    tmp = _write_temporary(path, data, mode)
    try:
        if check is not None:
            check(Path(tmp))
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _about_replaced_target(exc, path) from None
        raise


def replace_files_together(folder: str | Path, files: Mapping[str, bytes], remove: Iterable[str] = ()) -> None:
    """Write ``files`` (names relative to ``folder``) and delete ``remove``, all or nothing: every file goes to a
    temporary beside its target first (the slow part, where a full disk or Ctrl-C strikes); then, with Ctrl-C
    held back, the new files are renamed in, each old one kept aside until all are. When a rename fails (on
    Windows, a report open in Excel or a PDF viewer cannot be replaced) the old files are put back, so that
    the old set of files is never left half replaced by the new one."""
    folder = Path(folder)
    temporaries: dict[Path, str] = {}
    try:
        for name, data in files.items():
            temporaries[folder / name] = _write_temporary(folder / name, data)
        with interrupts_held():
            _swap_in(temporaries, [folder / name for name in remove if folder / name not in temporaries])
    finally:
        for tmp in temporaries.values():
            Path(tmp).unlink(missing_ok=True)  # those not renamed: an error came first


def _swap_in(temporaries: Mapping[Path, str], removed: Iterable[Path]) -> None:
    """Rename each temporary onto its target and delete ``removed``; after an error, every target as it was."""
    backups: dict[Path, str] = {}  # target -> its old file under a temporary name
    renamed_in: list[Path] = []
    path = None
    try:
        for path in removed:
            if (backup := _back_up(path, link=False)) is not None:
                backups[path] = backup
            elif os.path.lexists(path):
                path.unlink()  # a folder where a removed file was: fails here, before anything changed
        for path, tmp in temporaries.items():
            if (backup := _back_up(path, link=True)) is not None:
                backups[path] = backup
            os.replace(tmp, path)
            renamed_in.append(path)
    except OSError as exc:
        _put_back(backups, [new for new in renamed_in if new not in backups])
        raise _about_replaced_target(exc, path) from None
    for backup in backups.values():
        with suppress(OSError):  # the new files are in place; a leftover is swept as a stale temporary
            os.unlink(backup)


def _back_up(path: Path, link: bool) -> str | None:
    """The file at ``path`` under a temporary name beside it, None when there is none (or a folder is there).
    With ``link``, a hard link where the file system has them, so that ``path`` stays whole until replaced."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(mode):
        return None
    backup = _temporary_name(path)
    if link and stat.S_ISREG(mode):
        with suppress(OSError):  # no hard links here (FAT, some network shares): moved aside instead
            os.link(path, backup)
            return backup
    os.replace(path, backup)
    return backup


def _put_back(backups: Mapping[Path, str], created: Iterable[Path]) -> None:
    """Undo a part-done :func:`_swap_in`: the old files back in place, the files it created removed."""
    for path in created:
        with suppress(OSError):
            path.unlink()
    for path, backup in backups.items():
        with suppress(OSError):
            if os.path.lexists(path) and os.path.samefile(path, backup):
                os.unlink(backup)  # a hard link to the old file, which was never replaced
            else:
                os.replace(backup, path)


@contextmanager
def interrupts_held():
    """Hold SIGINT, SIGTERM and SIGHUP back in this block (POSIX); one that came meanwhile is raised after it."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def in_made_folder(path: Path, create: Callable[[], T], make_folder: Callable[[Path], None] | None = None) -> T:
    """``create()``, which makes a file in ``path``'s folder, after making that folder (``make_folder(folder)`` when
    given, as a cache makes its folders private); the folder is made again and
    ``create()`` tried once more where the folder was removed in between (`mmnet cache prune` removes a cache folder
    it emptied, which another process may have made a moment before to write into; a command that wrote nothing
    in a run folder it made removes it)."""
    tries = 3
    while True:
        try:
            if make_folder is not None:
                make_folder(path.parent)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
            return create()
        # mkdir's "exists" where the folder was there and is no longer a folder: removed as it was made
        except (FileNotFoundError, FileExistsError):
            tries -= 1
            if not tries or path.parent.is_dir():  # something else is missing, or exists
                raise


def _write_temporary(path: Path, data: bytes | tuple, mode: int = 0o666) -> str:
    """``data`` (bytes, or a tuple of bytes-like parts) in a new, fsynced temporary file beside ``path`` (its folder
    made); returns the temporary's name."""
    try:
        fd, tmp = in_made_folder(path, lambda: _create_temporary(path, mode))
    except OSError as exc:
        raise _about_target(exc, path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            for part in data if isinstance(data, tuple) else (data,):
                f.write(part)
            f.flush()
            os.fsync(f.fileno())
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _about_target(exc, path) from None
        raise
    return tmp


# What check_writable writes: more than a file system keeps inline in its metadata (an empty or tiny file needs no
# free block, so a full disk takes it); random, so that a compressing file system stores it all
PROBE_BYTES = 16 * 1024


def check_writable(path: str | Path) -> None:
    """Write ``PROBE_BYTES``, fsync and remove at once a temporary file in the folder that will hold ``path`` (its
    nearest existing folder where it is still to be made): a folder that refuses new files (permissions, a
    read-only file system) or their bytes (a full disk, a used-up quota; a network file system may say so only at
    the fsync) is said, in an OSError about ``path``, before the work whose result would be written there."""
    path = Path(path)
    folder = existing_folder(path.parent)
    try:
        fd, tmp = _create_temporary(folder / path.name)
    except OSError as exc:
        raise _about_target(exc, path) from None
    try:
        try:
            data = memoryview(os.urandom(PROBE_BYTES))
            while data:
                data = data[os.write(fd, data):]
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise _about_target(exc, path) from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def writable(path: str | Path) -> bool:
    """Whether ``check_writable(path)`` passes: the folder takes a small file now."""
    try:
        check_writable(path)
    except OSError:
        return False
    return True


def existing_folder(path: str | Path) -> Path:
    """``path`` or its nearest parent that exists (where a file to be written under ``path`` would go)."""
    path = Path(path).absolute()
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def _about_target(exc: OSError, path: Path) -> OSError:
    """The same error about the file the caller asked for: the temporary name means nothing to a user."""
    if exc.strerror is None:
        return exc
    return OSError(exc.errno, exc.strerror, str(path))


_WINDOWS = os.name == "nt"
#: What a refused replacement on Windows adds to its error (``mmnet report`` tells that case apart).
OPEN_ELSEWHERE = "it may be open in another program"


def _about_replaced_target(exc: OSError, path: Path) -> OSError:
    """As :func:`_about_target`; a file that may not be renamed is, on Windows, most often open in a program (on
    POSIX, a rename is refused for the folder's permissions, never for a reader)."""
    if _WINDOWS and isinstance(exc, PermissionError) and exc.strerror is not None:
        return PermissionError(exc.errno, f"{exc.strerror}; {OPEN_ELSEWHERE} (Excel, a PDF "
                               "viewer): close it and rerun", str(path))
    return _about_target(exc, path)


_TEMPORARY = re.compile(r"\..+\.[0-9a-f]{12}\.tmp")  # what _create_temporary names them


def _create_temporary(path: Path, mode: int = 0o666) -> tuple[int, str]:
    """A new, exclusive temporary file beside ``path``, mode ``mode`` & ~umask (the kernel applies the umask)."""
    # O_BINARY: without it Windows opens the file in text mode and writes every b"\n" as b"\r\n"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = _temporary_name(path)
        try:
            return os.open(tmp, flags, mode), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {path}")


def _temporary_name(path: Path) -> str:
    return str(path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp")


def remove_stale_temporaries(folder: str | Path, before: float) -> list[Path]:
    """Delete the temporary files of atomic writes under ``folder`` last written before ``before`` (a time.time()):
    what a process killed mid-write (SIGKILL) left behind. Returns them."""
    stale = []
    for path in Path(folder).rglob(".*.tmp"):
        try:
            if _TEMPORARY.fullmatch(path.name) and path.is_file() and path.stat().st_mtime < before:
                path.unlink()
                stale.append(path)
        except FileNotFoundError:
            continue  # gone meanwhile
    return stale


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_torch_save(obj, path: str | Path) -> None:
    """torch.save through a temporary file and a rename (safe against SIGKILL mid-write)."""
    import hashlib
    import io

    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    # a checksum trailer (torch.load reads zip archives from the end, so it is stripped before loading); the body is
    # hashed and written from the buffer itself: copies of a ~110 MB resume state tripled its memory
    with buf.getbuffer() as body:
        atomic_write_bytes(path, (body, _TRAILER, hashlib.sha256(body).digest()))


class CorruptFile(Exception):
    """A file written by mmnet that is damaged (truncated, altered); the message says how."""


def checked_torch_load(path: str | Path, **kwargs):
    """``torch.load(path, weights_only=True)`` of a file written by :func:`atomic_torch_save`, its
    checksum verified; CorruptFile when it is truncated, altered or unreadable. Nothing is unpickled
    beyond tensors and plain containers."""
    import hashlib
    import io

    import torch

    data = Path(path).read_bytes()
    n = len(_TRAILER) + 32
    if len(data) >= n and data[-n:-32] == _TRAILER:
        body, digest = data[:-n], data[-32:]
        if hashlib.sha256(body).digest() != digest:
            raise CorruptFile(f"checksum mismatch ({len(data)} bytes)")
    elif _TRAILER[:4] in data[-2 * n :]:
        raise CorruptFile(f"truncated checksum trailer ({len(data)} bytes)")
    else:
        body = data  # no trailer: truncated, or written before checksums; torch.load decides
    if not body:
        raise CorruptFile("empty file (0 bytes)")
    try:
        return torch.load(io.BytesIO(body), weights_only=True, **kwargs)
    except Exception as exc:  # zip, unpickling and storage errors differ between torch versions
        raise CorruptFile(f"unreadable ({type(exc).__name__}: {str(exc)[:200]})") from None


def move_aside(path: str | Path) -> Path:
    """Rename a damaged file to ``NAME.corrupt`` (``NAME.corrupt2`` ... when taken); returns the new path."""
    path = Path(path)
    for k in range(1, 1000):
        target = path.with_name(f"{path.name}.corrupt{'' if k == 1 else k}")
        if not target.exists():
            os.replace(path, target)
            return target
    raise OSError(f"too many damaged copies beside '{path}'")


# A write that failed for the disk's sake (full, over quota, read-only), whatever the file: the user's to fix.
DISK_REFUSALS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


def json_object_or_none(path: Path) -> dict | None:
    """The JSON object in ``path``, or None when it is missing, unreadable or not an object: for the records a
    command reads beside a file when they are there (a run's report.json, a fold's done.json, spot.json)."""
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def stat_key(path: Path) -> tuple[int, ...]:
    """What changes when a file's bytes may have: mtime and size, and inode and ctime, which a copy keeping the
    mtime (``shutil.copy2``, ``cp -p`` of a file of the same size) or a file moved into place changes too."""
    st = path.stat()
    return st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns


def local_timestamp(seconds: float | None = None) -> str:
    """``seconds`` (``time.time()``'s; now when None) as local ISO 8601 time to the second with its UTC offset,
    ``2026-03-01T14:02:11+01:00``: mmnet.log's lines and status.json's times."""
    moment = datetime.now() if seconds is None else datetime.fromtimestamp(seconds)
    return moment.astimezone().isoformat(timespec="seconds")
