"""Atomic file writes: a reader (or a resumed run) never sees half a file, even after SIGKILL.

Files get the permissions of an ordinary ``open()`` (0666 minus the process umask), so that
colleagues on shared storage can read reports and checkpoints when the umask lets them.
``tempfile.mkstemp`` would make every file 0600 whatever the umask.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_write_text", "atomic_write_bytes", "replace_files_together", "atomic_torch_save",
           "checked_torch_load", "move_aside", "remove_stale_temporaries", "CorruptFile"]

_TRAILER = b"MMNETSHA256"  # + 32-byte digest of everything before it


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename: readers never see half."""
    path = Path(path)
    tmp = _write_temporary(path, data)
    try:
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _about_target(exc, path) from None
        raise


def replace_files_together(folder: str | Path, files: Mapping[str, bytes], remove: Iterable[str] = ()) -> None:
    """Write ``files`` (names relative to ``folder``) and delete ``remove``, all or nothing as far as can be:
    every file goes to a temporary beside its target first (the slow part, where a full disk or Ctrl-C
    strikes), then all are renamed at once with Ctrl-C held back, so that the old set of files is never
    left half replaced by the new one."""
    folder = Path(folder)
    temporaries: dict[Path, str] = {}
    try:
        for name, data in files.items():
            temporaries[folder / name] = _write_temporary(folder / name, data)
        with _interrupts_held():
            for name in remove:
                (folder / name).unlink(missing_ok=True)
            for path, tmp in temporaries.items():
                try:
                    os.replace(tmp, path)
                except OSError as exc:
                    raise _about_target(exc, path) from None
    finally:
        for tmp in temporaries.values():
            Path(tmp).unlink(missing_ok=True)  # those not renamed: an error came first


@contextmanager
def _interrupts_held():
    """Hold SIGINT and SIGTERM back in this block (POSIX); one that came meanwhile is raised after it."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _write_temporary(path: Path, data: bytes) -> str:
    """``data`` in a new, fsynced temporary file beside ``path`` (its folder made); returns the temporary's name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = _create_temporary(path)
    except OSError as exc:
        raise _about_target(exc, path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _about_target(exc, path) from None
        raise
    return tmp


def _about_target(exc: OSError, path: Path) -> OSError:
    """The same error about the file the caller asked for: the temporary name means nothing to a user."""
    if exc.strerror is None:
        return exc
    return OSError(exc.errno, exc.strerror, str(path))


_TEMPORARY = re.compile(r"\..+\.[0-9a-f]{12}\.tmp")  # what _create_temporary names them


def _create_temporary(path: Path) -> tuple[int, str]:
    """A new, exclusive temporary file beside ``path``, mode 0666 & ~umask (the kernel applies the umask)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = str(path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {path}")


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
    data = buf.getvalue()
    # a checksum trailer (torch.load reads zip archives from the end, so it is stripped before loading)
    atomic_write_bytes(path, data + _TRAILER + hashlib.sha256(data).digest())


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
