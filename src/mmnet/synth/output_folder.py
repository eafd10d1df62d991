"""The output folder of ``mmnet synth``: room for the set is checked before anything is written, and a write that
fails (a full disk) or an interruption leaves no partial set behind, which would block the rerun ("not empty")."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import ConfigError

__all__ = ["JPEG_BYTES_PER_PIXEL", "MP4_BYTES_PER_PIXEL", "check_room", "removed_on_failure"]

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
def removed_on_failure(root: Path) -> Iterator[None]:
    """Remove what the ``with`` block wrote into ``root`` when it raises (the folder too when the block made it):
    a partial set is never kept, so the same command can run again."""
    existed = root.exists()
    before = set(root.iterdir()) if existed else set()
    try:
        yield
    except BaseException:
        if not existed:
            shutil.rmtree(root, ignore_errors=True)
        elif root.is_dir():
            for path in set(root.iterdir()) - before:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
        raise
