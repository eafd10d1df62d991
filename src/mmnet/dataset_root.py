"""The dataset root as ``data.root`` and ``--root`` give it: one folder, or a folder per part of the
composite dataset; parsed here and nowhere else (re-exported by :mod:`mmnet.config`)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from types import SimpleNamespace

from .errors import ConfigError
from .overrides import parse_override
from .typed_separators import separator_note

__all__ = ["parse_root", "format_root", "absolute_paths", "absolute_override"]

# The composite's PART=DIR pieces: split at ',' and at a full-width '，' that a PART= follows (a folder's own name may
# hold '，'), each piece at its first '=' or '＝' (a folder's name may hold either after it).
_PIECES = re.compile(r"\s*(?:,|，(?=\s*[^\s,，=＝/\\]+\s*[=＝]))\s*")
_PART_DIR = re.compile(r"\s*[=＝]\s*")


def parse_root(dataset: str, root: str | Path | list | tuple | dict | None) -> Path | dict[str, Path]:
    """The dataset root as a loader takes it: one folder, or for the composite a folder per part.

    Accepted forms: a folder; ``"casme2=DIR,samm=DIR,smic=DIR"``; a list of such items (what a
    repeated ``--root`` gives: ``["casme2=DIR", "samm=DIR", ...]``); a mapping part -> folder.
    """
    if root is None or root == [] or root == "" or root == {}:
        raise ConfigError(f"No dataset root given: pass --root DIR (or set data.root) for dataset {dataset!r}.")
    if isinstance(root, dict) and dataset == "composite":  # folders as written: a mapping has no separators to read
        return _parts([(str(k), str(v)) for k, v in root.items()])
    if isinstance(root, dict):
        items = [f"{k}={v}" for k, v in root.items()]
    elif isinstance(root, (list, tuple)):
        items = [str(r) for r in root]
    else:
        items = [str(root)]
    parted = "=＝" if dataset == "composite" else "="  # '＝' as '=' where PART=DIR is read (typed_separators)
    folder = len(items) == 1 and dataset == "composite" and Path(items[0]).expanduser().exists()
    if not any(c in item for item in items for c in parted) or folder:
        if len(items) > 1:
            raise ConfigError(f"--root given {len(items)} times; give one folder (or PART=DIR for the composite).")
        if folder:
            _one_reading(items[0])
        return Path(items[0]).expanduser()  # a config file's "~/data" is no shell's to expand
    if dataset != "composite":
        raise ConfigError(f"--root PART=DIR is only for the composite dataset; give {dataset} one folder.")
    pairs, bad = _pairs(items)
    if bad:
        note = separator_note("".join(items))
        raise ConfigError(f"--root values {bad} are not PART=DIR; {note}{'W' if note else 'w'}rite them as "
                          "casme2=/data/CASME2,samm=/data/SAMM.")
    return _parts(pairs)


def _pairs(items: list[str]) -> tuple[list[list[str]], list[str]]:
    """The PART=DIR pieces of ``items``, each split in two, and those that are not PART=DIR."""
    # a '，' at the end separates nothing, as a ',' there: not kept in the last folder's name
    pairs = [_PART_DIR.split(piece, maxsplit=1) for item in items for piece in _PIECES.split(item.strip().rstrip("，"))
             if piece.strip()]
    return pairs, ["=".join(p) for p in pairs if len(p) != 2 or not p[0].strip() or not p[1].strip()]


def _one_reading(item: str) -> None:
    """Refuse a composite root that is an existing folder ('casme2=CASME2') and reads as PART=DIR too: each part a
    dataset's name, each folder there. Which was meant cannot be told; taken as the folder, a typo'd layout would
    load the wrong data. One reading alone is kept: the folder."""
    from .choices import DATASETS

    pairs, bad = _pairs([item])
    if bad or not all(p.strip().lower() in DATASETS and Path(d.strip()).expanduser().is_dir() for p, d in pairs):
        return
    parts = ", ".join(f"part {p.strip().lower()} at the folder '{d.strip()}'" for p, d in pairs)
    raise ConfigError(f"--root {item!r} reads two ways: the folder '{item}' (it exists), and the composite's {parts} "
                      f"(each exists). Write './{item}' for the folder, or end it with a comma ('{item},') for the "
                      "parts.")


def _parts(pairs) -> dict[str, Path]:
    parts = {k.strip().lower(): Path(v.strip()).expanduser() for k, v in pairs}
    if len(parts) != len(pairs):
        raise ConfigError(f"--root names a part twice: {[k for k, _ in pairs]}")
    return parts


def format_root(root: Path | dict[str, Path]) -> str:
    """The canonical text of a parsed root, as data.root stores it in config.yaml."""
    if isinstance(root, dict):
        return ",".join(f"{k}={v}" for k, v in root.items())
    return str(root)


def absolute_paths(data) -> dict[str, str | None]:
    """``data.root``, ``data.annotation`` and ``data.cache_dir`` of a DataConfig as absolute paths (relative
    ones are relative to the working folder), as a run's config.yaml keeps them: rerun from another folder,
    it reads the same files. No root stays none (``mmnet train --print-config`` without --root)."""
    absolute = None
    if data.root:
        root = parse_root(data.dataset, data.root)
        absolute = ({part: Path(os.path.abspath(p)) for part, p in root.items()} if isinstance(root, dict)
                    else Path(os.path.abspath(root)))
    return {"root": format_root(absolute) if absolute is not None else data.root,
            "annotation": os.path.abspath(data.annotation) if data.annotation else data.annotation,
            "cache_dir": os.path.abspath(data.cache_dir) if data.cache_dir else data.cache_dir}


def absolute_override(item: str | tuple[str, object], dataset: str) -> str | tuple[str, object]:
    """An override of ``data.root``, ``data.annotation`` or ``data.cache_dir`` with its path absolute (relative to
    the working folder), as ``absolute_paths`` makes them; other overrides as given. A record of overrides (a
    sweep's OUT/sweep.yaml) read back from another folder then reads the same files, as config.yaml does."""
    key, value = parse_override(item) if isinstance(item, str) else (item[0].strip(), item[1])
    if key not in ("data.root", "data.annotation", "data.cache_dir") or not value:
        return item
    if not isinstance(value, (str, list, dict)):  # typed as text: data.root=0701 is "0701", as apply_overrides reads it
        value = item.split("=", 1)[1].strip() if isinstance(item, str) else str(value)
    data = SimpleNamespace(**{"dataset": dataset, "root": None, "annotation": None, "cache_dir": None, key[5:]: value})
    return key, absolute_paths(data)[key[5:]]
