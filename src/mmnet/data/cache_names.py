"""Which files of the cache folder are mmnet's: the names its writers give them, in the folders it makes.

``mmnet cache prune`` and ``mmnet info --cache`` count only these, so that a cache folder set by mistake ($HOME, a
dataset: ``--dir``, ``$MMNET_CACHE_DIR``) loses nothing else; the rest is listed as not mmnet's and kept.

    frames-<key>.npy, .json, .lock        the frame cache (mmnet.data.cache), its index and lock
    flows-<key>-<method>.npy              its optical flow (mmnet.train.prepare)
    [flow/]flow-v<N>-<method>/<clip>-<hash>.npy   optical flow per clip (mmnet.preprocess.flow)
    apex/smic-<variant>.json              SMIC apex estimates (mmnet.data.apex)
    calibration/<hash>.json, .lock        CPU calibrations (mmnet.train.calibrate)
    .<one of these>.<pid or 12 hex>.tmp   a build's or an atomic write's temporary (mmnet.utils)

``matplotlib/`` is matplotlib's own folder (mmnet.user_folders): neither counted nor listed.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from ..private_files import owner_and_mode

__all__ = ["MATPLOTLIB_FOLDER", "scan_cache_folder", "is_mmnet_folder", "unsearched_folders", "unsearched_line"]

MATPLOTLIB_FOLDER = "matplotlib"

_FLOW_FOLDER = r"(?:flow/)?flow-v\d+-\w+"
_ENTRY_NAMES = [  # (folder relative to the cache folder, "" for itself; its entries' file names)
    (re.compile(r""), re.compile(r"(?:frames|flows)-[0-9a-f]+(?:-\w+)?\.(?:npy|json|lock)")),
    (re.compile(_FLOW_FOLDER), re.compile(r"[\w.-]*-[0-9a-f]{10}\.npy")),
    (re.compile(r"apex"), re.compile(r"smic-\w+\.json")),
    (re.compile(r"calibration"), re.compile(r"[0-9a-f]+\.(?:json|lock)")),
]
_FOLDERS = re.compile(rf"flow|{_FLOW_FOLDER}|apex|calibration")
_TEMPORARY = re.compile(r"\.(.+)\.(?:\d+|[0-9a-f]{12})\.tmp")  # data/cache.py's build, utils._create_temporary


def is_mmnet_folder(relative: str) -> bool:
    """Whether a folder of the cache folder (its path relative to it, "/"-separated) is one that mmnet makes."""
    return bool(_FOLDERS.fullmatch(relative))


def _is_entry_file(folder: str, name: str) -> bool:
    if m := _TEMPORARY.fullmatch(name):
        name = m.group(1)
    return any(where.fullmatch(folder) and names.fullmatch(name) for where, names in _ENTRY_NAMES)


def scan_cache_folder(root: Path) -> tuple[list[tuple[Path, os.stat_result]], list[Path], list[tuple[Path, OSError]]]:
    """mmnet's files in the cache folder ``root`` (plain files named as mmnet names them, in the folders it makes,
    with their stat), the rest, not mmnet's: files, links and folders (a folder as one item, not looked into), and
    the folders of mmnet's that could not be searched, with the error (another user's private folder): what they
    hold is neither counted nor removed, which a prune or an erasure must say."""
    mine, foreign, unsearched = [], [], []
    folders = [""]
    while folders:
        relative = folders.pop()
        try:
            children = sorted(os.scandir(root / relative), key=lambda d: d.name)
        except FileNotFoundError:  # removed meanwhile (a prune emptied it)
            continue
        except OSError as exc:  # not searchable: said by the caller
            unsearched.append((root / relative, exc))
            continue
        for child in children:
            path, sub = Path(child.path), f"{relative}/{child.name}" if relative else child.name
            if sub == MATPLOTLIB_FOLDER:
                continue
            try:
                st = path.lstat()
            except FileNotFoundError:  # removed since it was listed
                continue
            except OSError as exc:  # a folder that may be read but not searched (mode r--)
                unsearched.append((root / relative, exc))
                break
            if stat.S_ISDIR(st.st_mode) and is_mmnet_folder(sub):
                folders.append(sub)
            elif stat.S_ISREG(st.st_mode) and _is_entry_file(relative, child.name):
                mine.append((path, st))
            else:
                foreign.append(path)
    return mine, sorted(foreign), sorted(unsearched, key=lambda u: u[0])


def unsearched_folders(root: Path) -> list[tuple[Path, OSError]]:
    """The folders of the cache folder ``root`` that cannot be searched (``scan_cache_folder``)."""
    return scan_cache_folder(root)[2] if root.is_dir() else []


def unsearched_line(folder: Path, exc: OSError) -> str:
    """What `mmnet cache prune` and `mmnet info --cache` say of a folder they could not search."""
    whose = "; ".join(filter(None, [(exc.strerror or str(exc)).lower(), owner_and_mode(folder)]))
    return (f"not searched: {folder} ({whose}): its entries are neither listed nor removed; ask its owner or an admin "
            "to prune it or to open it to you (in a group's cache folder: chmod -R g+rwX and chmod g+s on its "
            "folders)")
