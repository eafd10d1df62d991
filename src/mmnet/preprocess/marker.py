"""Which output folders ``mmnet prepare`` wrote, and with which settings.

``prepare`` writes ``mmnet.media.PREPARED_MARKER`` into a clip's private folder before renaming the
folder into place, so the marker exists exactly when the clip is complete. It holds the settings
that shape the crops and the clip's record (frames, alignment, warnings). A rerun therefore skips
only clips prepared with the same settings and keeps their records, and never counts as done, nor
replaces with --force, a folder it did not write (such as the ``Cropped/`` that CASME II ships).
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path

from ..media import PREPARED_MARKER
from ..utils import atomic_write_text

__all__ = ["FolderState", "folder_state", "is_prepared", "read_marker", "read_record", "read_settings",
           "settings_change", "write_marker"]


class FolderState(Enum):
    ABSENT = "absent"  # no folder, or an empty one: prepare writes it
    DONE = "done"  # mmnet's, with the settings asked for
    OTHER_SETTINGS = "other_settings"  # mmnet's, with other settings (or an unreadable marker)
    FOREIGN = "foreign"  # holds files but no marker: not mmnet's, never touched


#: Settings added after markers were first written, with the value every earlier marker's clip was prepared with.
_EARLIER_DEFAULTS = {"landmarks": 68}
#: Settings recorded for some clips only, with what a marker without them means (shown, never compared as equal).
_UNRECORDED = {"grey16": "from the whole 16-bit range"}


def _normalised(settings: dict) -> dict:
    return json.loads(json.dumps(settings))  # tuples -> lists, as read back


def write_marker(folder: Path, settings: dict, record: dict) -> None:
    atomic_write_text(folder / PREPARED_MARKER,
                      json.dumps({"written_by": "mmnet prepare", "settings": settings, "record": record}) + "\n")


def is_prepared(folder: Path) -> bool:
    return (folder / PREPARED_MARKER).is_file()


def _read(folder: Path) -> dict | None:
    try:
        data = json.loads((folder / PREPARED_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_marker(folder: Path) -> tuple[dict | None, dict]:
    """``read_settings`` and ``read_record`` of ``folder``, from one read of its marker."""
    data = _read(folder) or {}
    settings, record = data.get("settings"), data.get("record")
    return ({**_EARLIER_DEFAULTS, **settings} if isinstance(settings, dict) else None,
            record if isinstance(record, dict) else {})


def read_record(folder: Path) -> dict:
    """The clip's record as written with it (n_frames, alignment, warnings and, since mmnet 0.2, face_watch:
    ``mmnet.preprocess.face_watch.FaceWatch.record``); {} when unreadable."""
    return read_marker(folder)[1]


def read_settings(folder: Path) -> dict | None:
    """The settings the clip in ``folder`` was prepared with (a setting added since read as before it), or None:
    no readable marker there."""
    return read_marker(folder)[0]


def settings_change(folder: Path, settings: dict) -> str:
    """How the folder's settings differ from ``settings`` ("" when equal), e.g. "eye_y 0.4 (now 0.38)"."""
    if not is_prepared(folder):
        return "its settings are not recorded (prepared by an earlier mmnet version)"
    data = _read(folder)
    if data is None or not isinstance(data.get("settings"), dict):
        return f"its {PREPARED_MARKER} cannot be read"
    old, new = {**_EARLIER_DEFAULTS, **data["settings"]}, _normalised(settings)
    return ", ".join(f"{k} {old.get(k, _UNRECORDED.get(k))} (now {v})" for k, v in new.items() if old.get(k) != v)


def folder_state(folder: Path, settings: dict, *, listed: bool = False) -> FolderState:
    """What an existing output folder is to a run with ``settings`` (a path that is a file is not asked);
    ``listed``: an earlier summary lists it as prepared (an earlier mmnet wrote no marker: settings unknown)."""
    if not folder.is_dir() or not any(folder.iterdir()):
        return FolderState.ABSENT
    if not is_prepared(folder):
        return FolderState.OTHER_SETTINGS if listed else FolderState.FOREIGN
    return FolderState.OTHER_SETTINGS if settings_change(folder, settings) else FolderState.DONE
