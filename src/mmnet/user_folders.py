"""Per-user folders: mmnet's cache folder, and a writable configuration folder for matplotlib where the
user's home cannot hold one.

Light on purpose (no numpy, no mmnet.data): the command line sets matplotlib's folder before any command runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, MutableMapping
from pathlib import Path

__all__ = ["cache_dir_and_source", "use_writable_matplotlib_folder"]


def cache_dir_and_source(environ: Mapping[str, str] = os.environ) -> tuple[Path, str]:
    """mmnet's cache folder (``mmnet.data.cache_folder.default_cache_dir``) and which setting chose it:
    "$MMNET_CACHE_DIR", "$XDG_CACHE_HOME/mmnet" or "default" (``~/.cache/mmnet``)."""
    if environ.get("MMNET_CACHE_DIR"):
        return Path(environ["MMNET_CACHE_DIR"]), "$MMNET_CACHE_DIR"
    if environ.get("XDG_CACHE_HOME"):
        return Path(environ["XDG_CACHE_HOME"]) / "mmnet", "$XDG_CACHE_HOME/mmnet"
    return Path(os.path.expanduser("~")) / ".cache" / "mmnet", "default"


def use_writable_matplotlib_folder(environ: MutableMapping[str, str] = os.environ) -> None:
    """Set ``MPLCONFIGDIR`` to ``CACHE/matplotlib`` when it is unset and the folders matplotlib would use
    cannot be created or written (a home folder that is read-only, or not the user's, on a shared server).
    Matplotlib would otherwise warn twice on every command ("mkdir -p failed ...", "Matplotlib created a
    temporary cache directory ...") and build its font cache again each time. Call it before matplotlib is
    imported. Where mmnet's cache folder cannot be written either, matplotlib's own fallback stays (its
    warning says what to set)."""
    if environ.get("MPLCONFIGDIR") or all(_can_hold(folder) for folder in _matplotlib_folders(environ)):
        return
    folder = cache_dir_and_source(environ)[0] / "matplotlib"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    if _can_hold(folder):
        environ["MPLCONFIGDIR"] = str(folder)


def _matplotlib_folders(environ: Mapping[str, str]) -> list[Path]:
    """Where matplotlib keeps its configuration and its cache without ``MPLCONFIGDIR`` (``matplotlib.
    get_configdir``, ``get_cachedir``); none on Windows, whose per-user folder is the user's own."""
    home = Path(os.path.expanduser("~"))
    if sys.platform.startswith(("linux", "freebsd")):
        return [Path(environ.get("XDG_CONFIG_HOME") or home / ".config") / "matplotlib",
                Path(environ.get("XDG_CACHE_HOME") or home / ".cache") / "matplotlib"]
    return [] if sys.platform == "win32" else [home / ".matplotlib"]


def _can_hold(folder: Path) -> bool:
    """Whether ``folder`` is, or can be created as, a folder this user may write in (nothing is created)."""
    folder = folder.resolve()  # as matplotlib does: a link to a folder elsewhere is that folder
    while not os.path.lexists(folder):
        if folder.parent == folder:
            return False
        folder = folder.parent
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)
