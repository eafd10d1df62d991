"""The output folder of ``mmnet synth`` and of the demos' data: room for the set is checked before anything is
written; the set is written into a new folder beside it (inside it, where it exists) and moved into place when
complete (``synth.json`` last: a set with it is whole), so that a write that fails (a full disk) or an interruption
leaves no partial set behind, which would block the rerun ("not empty"), and a process reading the folder meanwhile
never sees half a set. A demo holds :func:`data_lock` while it checks and writes its data: a second demo started at
once waits, then uses it."""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..data.common import SYNTH_MARKER
from ..errors import ConfigError

__all__ = ["JPEG_BYTES_PER_PIXEL", "MP4_BYTES_PER_PIXEL", "check_empty", "check_room", "data_lock", "written_beside"]

log = logging.getLogger("mmnet.synth")

# Bytes per pixel of a frame, on the low side of what the synthetic faces take (measured: long recordings' JPEGs at
# quality 90 0.076-0.097 up to 640 x 480, 0.066 at 1920 x 1080 and 0.060 at 3840 x 2160, whose large faces are drawn
# with features scaled to them, smoother per pixel; clip sets' 0.31 at full chroma, H.264 0.023-0.026 for a few
# seconds), so that a set is refused only when it surely does not fit.
JPEG_BYTES_PER_PIXEL = {"long": 0.055, "clips": 0.25}
MP4_BYTES_PER_PIXEL = 0.01


def _size(paths: Iterable[Path]) -> int:
    """Bytes held by files (and the files in folders) that the write replaces."""
    total = 0
    for path in paths:
        files = path.rglob("*") if path.is_dir() else [path]
        total += sum(f.stat().st_size for f in files if f.is_file() and not f.is_symlink())
    return total


def check_room(root: Path, need: float, replaced: Iterable[Path] = (), *, smaller: str) -> None:
    """ConfigError, before anything is written, when about ``need`` bytes do not fit on ``root``'s disk (what the
    write replaces counts as free). ``smaller`` names the options that make the set smaller."""
    where = root
    while not where.exists() and where != where.parent:  # the folder is created later: its nearest existing parent
        where = where.parent
    try:
        free = shutil.disk_usage(where).free
    except OSError:  # cannot tell: the write itself will say if the disk fills
        return
    free += _size(p for p in replaced if p.exists())
    if need > free:
        raise ConfigError(f"The synthetic set needs about {need / 1e9:.2f} GB but the disk of '{where}' has "
                          f"{free / 1e9:.2f} GB free: free space, choose another output folder, or write a smaller "
                          f"set ({smaller}).")


def check_empty(root: Path, overwrite: bool, parts: Iterable[str]) -> None:
    """ConfigError when ``root`` holds anything and is not an earlier synthetic set (``synth.json``) that
    ``overwrite`` replaces. Stages that killed commands left (their process is gone) are removed first. ``parts``:
    the set's own entries besides the marker, named when a folder holds only them (a write cut off while it moved
    them into place, or a dataset that is not synthetic: only the user can tell, so nothing is deleted)."""
    _sweep_stale(root.resolve())
    if not (root.exists() and any(root.iterdir())):
        return
    if (root / SYNTH_MARKER).is_file():
        if not overwrite:
            raise ConfigError(f"Output folder '{root}' is not empty; pass --overwrite to replace it.")
        return
    held = sorted(p.name for p in root.iterdir())
    if all(_STAGE.fullmatch(name) for name in held):
        raise ConfigError(f"Output folder '{root}' is not empty: another mmnet command is writing a set into it "
                          f"({held[0]}). Wait for it to end, or choose another folder (a folder left by a command "
                          "killed on another machine can be deleted).")
    if set(held) <= set(parts):
        raise ConfigError(f"Output folder '{root}' is not empty: it holds {', '.join(held)} but no {SYNTH_MARKER}, "
                          "which --overwrite needs (it replaces synthetic sets only). If it is a synthetic set whose "
                          "writing was cut off, delete those and rerun; else choose an empty folder.")
    raise ConfigError(f"Output folder '{root}' is not empty; choose an empty folder.")


# A stage's name: the folder's, the writer's host and process id, a random tail.
_STAGE = re.compile(r"\.(?P<name>.+)\.partial-(?P<pid>\d+)@(?P<host>.*)-[0-9a-f]{8}")


def _stage_name(target: Path) -> str:
    return f".{target.name}.partial-{os.getpid()}@{socket.gethostname()}-{secrets.token_hex(4)}"


def _sweep_stale(target: Path) -> None:
    """Remove the stages of ``target`` (beside or inside it) whose writer, a process of this host, is gone: a
    command killed (SIGKILL, power cut) while it wrote its set had no chance to."""
    if os.name != "posix":  # os.kill(pid, 0) tells whether a process runs on POSIX only
        return
    host = socket.gethostname()
    for folder in (target.parent, target):
        try:
            entries = list(folder.iterdir()) if folder.is_dir() else []
        except OSError:
            continue
        for entry in entries:
            match = _STAGE.fullmatch(entry.name)
            if not match or match["name"] != target.name or match["host"] != host or _running(int(match["pid"])):
                continue
            log.info("removing '%s', left by a synth command that was killed", entry)
            shutil.rmtree(entry, ignore_errors=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process (PermissionError), or cannot tell: kept
        return True
    return True


@contextmanager
def written_beside(root: Path) -> Iterator[Path]:
    """A new folder for the ``with`` block to write a set into, moved into place when the block ends. Where ``root``
    is absent, the new folder is made beside it and renamed to it; where it exists, it is made inside it (on its
    disk, also when ``root`` is a link or a mount point) and its entries are moved into ``root``, ``synth.json``
    last. A failure or an interruption removes what was written and leaves ``root`` as it was."""
    target = root.resolve()  # '.', '..' and links name the folder itself, not a sibling of their own
    name = _stage_name(target)
    stage = target / name if target.is_dir() else target.with_name(name)
    stage.mkdir(parents=True)  # as the set's folder would be (mkdtemp's would be private to the user)
    try:
        yield stage
        _move_in(stage, target)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _move_in(stage: Path, root: Path) -> None:
    if not root.exists():
        try:
            stage.rename(root)
            return
        except OSError:  # made meanwhile: moved into as an existing folder is
            if not root.is_dir():
                raise
    entries = sorted(stage.iterdir(), key=lambda p: (p.name == SYNTH_MARKER, p.name))  # marker last: set whole
    if clash := [p.name for p in entries if p.is_dir() and (root / p.name).exists()]:
        raise ConfigError(f"Output folder '{root}' is not empty: another command wrote {clash[0]} into it while "
                          "this one wrote its set. Choose an empty folder.")
    moved: list[Path] = []
    try:
        for entry in entries:
            shutil.move(entry, root / entry.name)  # a rename on one disk; replaces an earlier set's marker
            moved.append(root / entry.name)
    except BaseException:  # no half set without its marker, which would block --overwrite
        if not moved or moved[-1].name != SYNTH_MARKER:
            for path in moved:
                shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        raise
    stage.rmdir()


@contextmanager
def data_lock(root: Path) -> Iterator[None]:
    """Hold the lock of a demo's data folder ``root`` (a file beside it) for the ``with`` block, waiting (said on
    stderr) for another command that holds it: one command at a time checks and writes the set, and one that
    waited finds the set the other wrote."""
    from filelock import FileLock, Timeout

    from ..progress import write_line
    from ..utils import in_made_folder

    target = root.resolve()
    path = target.with_name(f".{target.name}.lock")
    lock = FileLock(path, timeout=0)

    def acquire() -> None:
        try:
            lock.acquire()
        except Timeout:
            write_line(f"waiting for another mmnet command writing the synthetic data in {root}")
            lock.acquire(timeout=-1)

    try:
        in_made_folder(path, acquire)
    except OSError as exc:  # a folder that holds no lock file: writing the set names the error
        log.debug("no lock for the synthetic data in '%s' (%s)", root, exc)
    try:
        yield
    finally:
        if lock.is_locked:
            lock.release()
