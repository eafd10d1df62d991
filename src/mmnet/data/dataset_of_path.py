"""Which dataset a clip path lies in, by the layouts the loaders read: a folder name only a dataset's release
uses on the path (``CASME2_RAW_selected``, ``SAMM_cropped``, ``SMIC_all_cropped``, ``spNO.1`` ...), or a folder
above the clip that holds the dataset's annotation file. For the note of ``mmnet explain``, whose figure shows
the clip's faces: the dataset's agreement says where they may appear."""

from __future__ import annotations

import re
from pathlib import Path

from .casme2 import ANNOTATION_NAMES as CASME2_ANNOTATIONS
from .casme3 import ANNOTATION_GLOB as CASME3_ANNOTATION
from .casme_sq import ANNOTATION_GLOBS as CASME_SQ_ANNOTATIONS
from .common import SYNTH_MARKER
from .mmew import ANNOTATION_NAMES as MMEW_ANNOTATIONS
from .root_files import root_files
from .samm import ANNOTATION_GLOB as SAMM_ANNOTATION
from .samm import FRAME_FOLDERS as SAMM_FOLDERS
from .samm_long import ANNOTATION_GLOBS as SAMM_LONG_ANNOTATIONS
from .samm_long import FRAME_FOLDERS as SAMM_LONG_FOLDERS
from .smic import RELEASES as SMIC_FOLDERS

__all__ = ["dataset_of"]

_LEVELS = 6  # folders above the clip looked at: a clip lies a few levels under its dataset root

# folder names on the path, most specific first (SAMM Long Videos before SAMM)
_FOLDERS: list[tuple[str, re.Pattern]] = [
    ("samm-long", re.compile("|".join(re.escape(f.rpartition("/")[2]) for f in SAMM_LONG_FOLDERS) + "|SAMMLV",
                             re.IGNORECASE)),
    ("samm", re.compile("|".join(map(re.escape, SAMM_FOLDERS)), re.IGNORECASE)),
    ("casme2", re.compile(r"CASME[ _-]?(II|2)([ _-].*)?", re.IGNORECASE)),  # CASME2_RAW_selected, CASME2-RAW ...
    ("smic", re.compile("|".join(map(re.escape, SMIC_FOLDERS)) + r"(_.*)?", re.IGNORECASE)),
    ("casme3", re.compile(r"spNO\.\d+|CAS\(ME\)\^?3.*|CASME3.*", re.IGNORECASE)),
    ("casme-sq", re.compile(r"CAS\(ME\)\^?2.*|CASME_sq.*", re.IGNORECASE)),
    ("mmew", re.compile(r"MMEW.*", re.IGNORECASE)),
]
_CASME2_CLIP = re.compile(r"EP\d+_\w+")
_CASME2_SUBJECT = re.compile(r"sub\d+", re.IGNORECASE)
# annotation files in a folder above the clip (SAMM Long Videos' first: its names also match SAMM*.xlsx)
_ANNOTATIONS: list[tuple[str, tuple[str, ...]]] = [
    ("samm-long", tuple(SAMM_LONG_ANNOTATIONS)),
    ("casme2", tuple(CASME2_ANNOTATIONS)),
    ("samm", (SAMM_ANNOTATION,)),
    ("casme3", (CASME3_ANNOTATION,)),
    ("casme-sq", tuple(CASME_SQ_ANNOTATIONS)),
    ("mmew", tuple(MMEW_ANNOTATIONS)),
]


def dataset_of(path: str | Path) -> str | None:
    """The key of the dataset (as ``data.dataset`` names it) whose layout ``path`` lies in, or None."""
    path = Path(path).absolute()
    folders = [path, *path.parents][:_LEVELS + 1]
    if any((folder / SYNTH_MARKER).is_file() for folder in folders):  # mmnet's synthetic faces, in a layout
        return None
    for folder in folders:
        for key, pattern in _FOLDERS:
            if pattern.fullmatch(folder.name):
                return key
        if _CASME2_CLIP.fullmatch(folder.name) and _CASME2_SUBJECT.fullmatch(folder.parent.name):
            return "casme2"  # Cropped/sub01/EP02_01f, as CASME II releases it and `mmnet prepare` writes it
    for folder in folders:
        for key, globs in _ANNOTATIONS:
            if root_files(folder, globs):  # in any case, not an Office lock file; an unreadable folder has none
                return key
    return None
