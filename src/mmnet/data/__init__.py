"""Datasets: the common sample record, loaders per dataset, label schemes and protocol folds.

    from mmnet.data import load_dataset, get_scheme
    load = load_dataset("casme2", "/data/CASME2")          # DatasetLoad(samples, issues, excluded)
    pairs = get_scheme("casme2-5class").select(load.samples) # [(Sample, class index)]
    long = load_dataset("casme-sq", "/data/CASME_sq")      # LongVideoLoad(videos, issues, excluded): spotting
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from ..errors import DatasetNotFoundError, verify_choice
from .casme2 import load_casme2
from .casme3 import load_casme3
from .casme3_long import load_casme3_long
from .casme_sq import load_casme_sq
from .common import DatasetLoad
from .composite import load_composite
from .folds import PROTOCOLS, check_folds, protocol_folds
from .long_video import LongVideo, LongVideoLoad
from .mmew import load_mmew
from .samm import load_samm
from .samm_long import load_samm_long
from .sample import Issue, Sample
from .schemes import DEFAULT_SCHEME, SCHEMES, LabelScheme, class_counts, default_scheme, get_scheme, resolve_scheme
from .smic import load_smic
from .table import load_table
from .table_long import load_table_long

__all__ = [
    "Sample",
    "Issue",
    "DatasetLoad",
    "DATASETS",
    "LONG_VIDEO_DATASETS",
    "LongVideo",
    "LongVideoLoad",
    "load_dataset",
    "dataset_paths",
    "LabelScheme",
    "SCHEMES",
    "DEFAULT_SCHEME",
    "default_scheme",
    "get_scheme",
    "resolve_scheme",
    "class_counts",
    "PROTOCOLS",
    "protocol_folds",
    "check_folds",
]

# name -> loader(root, *, annotation=None, strict=False, **options) -> DatasetLoad.
# "smic" takes variant="HS" | "VIS" | "NIR"; "smic-hs" etc. fix it. "composite" takes a mapping
# {"casme2": DIR, "samm": DIR, "smic": DIR} or one folder holding the three parts. "table" takes
# frames="img{frame}.jpg".
DATASETS: dict[str, Callable[..., DatasetLoad]] = {
    "casme2": load_casme2,
    "samm": load_samm,
    "mmew": load_mmew,
    "smic": load_smic,
    "smic-hs": partial(load_smic, variant="HS"),
    "smic-vis": partial(load_smic, variant="VIS"),
    "smic-nir": partial(load_smic, variant="NIR"),
    "casme3": load_casme3,
    "composite": load_composite,
    "table": load_table,  # a lab's own clips: ROOT/annotations.csv + one folder per clip (data/table.py)
}

# Long recordings for spotting (docs/spotting.md): name -> loader(root, *, annotation=None, strict=False,
# **options) -> LongVideoLoad. "casme2-long" is another name for "casme-sq". "casme3-long" is CAS(ME)^3
# part A (micro and macro from CAS(ME)3_part_A_v2.xls; micro only from its label file alone). "table-long" has no
# default rate: the fps column, else the fps option (--fps); a recording with neither is refused, not guessed.
LONG_VIDEO_DATASETS: dict[str, Callable[..., LongVideoLoad]] = {
    "casme-sq": load_casme_sq,
    "casme2-long": load_casme_sq,
    "samm-long": load_samm_long,
    "casme3-long": load_casme3_long,
    "table-long": load_table_long,  # a lab's own recordings: ROOT/intervals.csv + one frame folder each (table_long.py)
}


def load_dataset(
    name: str,
    root: str | Path | dict[str, str | Path],
    *,
    annotation: str | Path | None = None,
    strict: bool = False,
    **options,
) -> DatasetLoad | LongVideoLoad:
    """Load dataset ``name`` from ``root``; ``options`` go to the loader (e.g. ``layout=``, ``variant=``).

    A clip dataset (``DATASETS``) gives a ``DatasetLoad``; a long-video one (``LONG_VIDEO_DATASETS``) a
    ``LongVideoLoad``.

    ``root`` is a folder; for "composite" also a mapping {"casme2": DIR, "samm": DIR, "smic": DIR}.

    Raises:
        ConfigError: unknown name.
        DatasetNotFoundError: root or annotation file missing (the message gives the expected layout).
        AnnotationError / DataError: with ``strict=True``, when any error-severity issue is found.
    """
    verify_choice("dataset", name, tuple(DATASETS) + tuple(LONG_VIDEO_DATASETS))
    for part, folder in dataset_paths(root)[0].items():
        if folder.is_file():
            what = f"the {part} root" if part else "--root"
            hint = (" An annotation table goes to --annotation FILE." if folder.suffix.lower() in
                    (".xlsx", ".xlsm", ".csv", ".xls") else "")
            raise DatasetNotFoundError(f"{what} '{folder}' is a file, not a folder: give the dataset's folder "
                                       f"(the one holding its annotation file and frames).{hint}")
    if annotation is not None and not Path(annotation).is_file():  # the loaders would call the root incomplete
        what = "is a folder" if Path(annotation).is_dir() else "does not exist"
        raise DatasetNotFoundError(f"--annotation '{annotation}' {what}: give the annotation table itself (.xlsx or "
                                   ".csv), or leave --annotation out to use the one in the dataset's folder.")
    if name in LONG_VIDEO_DATASETS:
        return LONG_VIDEO_DATASETS[name](root, annotation=annotation, strict=strict, **options)
    return DATASETS[name](root, annotation=annotation, strict=strict, **options)


def dataset_paths(root: str | Path | dict[str, str | Path] | None,
                  annotation: str | Path | None = None) -> tuple[dict[str, Path], list[Path]]:
    """What a dataset is read from, as a root and ``--annotation`` name it: the folders by part ("" for a
    one-folder root) and the annotation files named apart from them (the composite mapping's
    "annotation", then ``annotation``). A file inside a folder is not listed: the folder covers it."""
    given = root.items() if isinstance(root, dict) else [("", root)]
    folders = {part: Path(path) for part, path in given if path is not None and part.lower() != "annotation"}
    files = [Path(path) for part, path in given if path is not None and part.lower() == "annotation"]
    return folders, files + ([Path(annotation)] if annotation is not None else [])
