"""Which output folders ``mmnet prepare`` wrote, and with which settings.

``prepare`` writes ``mmnet.media.PREPARED_MARKER`` into a clip's private folder before renaming the
folder into place, so the marker exists exactly when the clip is complete. It holds the settings
that shape the crops and the clip's record (frames, alignment, warnings). A rerun therefore skips
only clips prepared with the same settings and keeps their records, and never counts as done, nor
replaces with --force, a folder it did not write (such as the ``Cropped/`` that CASME II ships).

Since mmnet 0.2.0 the marker also records its ``format`` (``MARKER_FORMAT``) and the ``mmnet_version`` that
prepared the clip; a marker without them (an earlier mmnet's) has the same layout and is read as format 1. A
marker of a newer format is not counted as prepared with the same settings: a rerun leaves it as it is and says
which mmnet wrote it.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path

from ..media import PREPARED_MARKER
from ..utils import atomic_write_text

__all__ = ["MARKER_FORMAT", "FolderState", "folder_state", "is_prepared", "marker_origin", "read_marker",
           "read_record", "read_settings", "settings_change", "kept_message", "write_marker"]

#: The marker's layout; bump it when an earlier mmnet would misread a marker (docs/contributing.md's format table).
MARKER_FORMAT = 1


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
    from ..version import __version__

    atomic_write_text(folder / PREPARED_MARKER, json.dumps(
        {"written_by": "mmnet prepare", "format": MARKER_FORMAT, "mmnet_version": __version__, "settings": settings,
         "record": record}) + "\n")


def is_prepared(folder: Path) -> bool:
    return (folder / PREPARED_MARKER).is_file()


def _read(folder: Path) -> dict | None:
    try:
        data = json.loads((folder / PREPARED_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_marker(folder: Path) -> tuple[dict | None, dict, tuple[int, str | None]]:
    """``read_settings``, ``read_record`` and ``marker_origin`` of ``folder``, from one read of its marker."""
    data = _read(folder) or {}
    settings, record = data.get("settings"), data.get("record")
    return ({**_EARLIER_DEFAULTS, **settings} if isinstance(settings, dict) else None,
            record if isinstance(record, dict) else {}, _origin(data))


def marker_origin(folder: Path) -> tuple[int, str | None]:
    """(the marker's format, the mmnet version that prepared the clip) of ``folder``: (1, None) for a marker of an
    mmnet before 0.2.0, which recorded neither, and for an unreadable one."""
    return _origin(_read(folder) or {})


def _origin(data: dict) -> tuple[int, str | None]:
    fmt, version = data.get("format", 1), data.get("mmnet_version")
    return (fmt if isinstance(fmt, int) and not isinstance(fmt, bool) else 1,
            version if isinstance(version, str) else None)


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
    fmt, version = marker_origin(folder)
    if fmt > MARKER_FORMAT:  # its settings may mean other crops than this mmnet's of the same names
        return (f"a newer mmnet ({version or 'version not recorded'}) prepared it: its {PREPARED_MARKER} is of format "
                f"{fmt}, this mmnet reads format {MARKER_FORMAT}; upgrade mmnet to reuse it")
    old, new = {**_EARLIER_DEFAULTS, **data["settings"]}, _normalised(settings)
    return ", ".join(f"{k} {old.get(k, _UNRECORDED.get(k))} (now {v})" for k, v in new.items() if old.get(k) != v)


def kept_message(folder: Path, settings: dict) -> str:
    """Why a rerun leaves ``folder`` (``FolderState.OTHER_SETTINGS``) as it is: a newer mmnet's marker format, or
    the settings that differ from ``settings``."""
    fmt, version = marker_origin(folder) if is_prepared(folder) else (MARKER_FORMAT, None)
    if fmt > MARKER_FORMAT:  # not other settings: settings this mmnet may not read as that one meant them
        return (f"prepared by a newer mmnet ({version or 'version not recorded'}; its {PREPARED_MARKER} is of format "
                f"{fmt}, this mmnet reads format {MARKER_FORMAT}): left as it is (upgrade mmnet to reuse it, or "
                "rerun with --force to prepare it again with this one)")
    return (f"prepared before with other settings: {settings_change(folder, settings)}; left as it is (rerun with "
            "--force to redo it)")


def folder_state(folder: Path, settings: dict, *, listed: bool = False) -> FolderState:
    """What an existing output folder is to a run with ``settings`` (a path that is a file is not asked);
    ``listed``: an earlier summary lists it as prepared (an earlier mmnet wrote no marker: settings unknown)."""
    if not folder.is_dir() or not any(folder.iterdir()):
        return FolderState.ABSENT
    if not is_prepared(folder):
        return FolderState.OTHER_SETTINGS if listed else FolderState.FOREIGN
    return FolderState.OTHER_SETTINGS if settings_change(folder, settings) else FolderState.DONE
