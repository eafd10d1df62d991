"""The output folder of ``mmnet synth`` and of the demos' data: room for the set is checked before anything is
written; the set is written into a new folder beside it and moved into place when complete (``synth.json`` last: a
set with it is whole), so that a write that fails (a full disk) or an interruption leaves no partial set behind,
which would block the rerun ("not empty"), and a process reading the folder meanwhile never sees half a set. A demo
holds :func:`data_lock` while it checks and writes its data: a second demo started at once waits, then uses it."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..data.common import SYNTH_MARKER
from ..errors import ConfigError

__all__ = ["JPEG_BYTES_PER_PIXEL", "MP4_BYTES_PER_PIXEL", "check_room", "data_lock", "written_beside"]

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


@contextmanager
def written_beside(root: Path) -> Iterator[Path]:
    """A new folder beside ``root`` for the ``with`` block to write a set into, moved into place when the block
    ends: renamed to ``root`` where that is absent, else moved into it entry by entry, ``synth.json`` last. A
    failure or an interruption removes the new folder and leaves ``root`` as it was."""
    name = f".{root.name}.partial-{os.getpid()}-{secrets.token_hex(4)}"
    stage = root.with_name(name)
    try:
        stage.mkdir(parents=True)  # as the set's folder would be (mkdtemp's would be private to the user)
    except PermissionError:  # a folder of one's own in a parent one may not write in: the new folder goes inside
        if not root.is_dir():
            raise
        stage = root / name
        stage.mkdir()
    try:
        yield stage
        _move_in(stage, root)
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
    entries = sorted(stage.iterdir(), key=lambda p: p.name == SYNTH_MARKER)  # the marker last: the set is whole
    if clash := [p.name for p in entries if p.is_dir() and (root / p.name).exists()]:
        raise ConfigError(f"Output folder '{root}' is not empty: another command wrote {clash[0]} into it while "
                          "this one wrote its set. Choose an empty folder.")
    for entry in entries:
        shutil.move(entry, root / entry.name)  # replaces a file (an earlier set's marker on --overwrite)
    stage.rmdir()


@contextmanager
def data_lock(root: Path) -> Iterator[None]:
    """Hold the lock of a demo's data folder ``root`` (a file beside it) for the ``with`` block, waiting (said on
    stderr) for another command that holds it: one command at a time checks and writes the set, and one that
    waited finds the set the other wrote."""
    from filelock import FileLock, Timeout

    from ..progress import write_line
    from ..utils import in_made_folder

    path = root.with_name(f".{root.name}.lock")
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
