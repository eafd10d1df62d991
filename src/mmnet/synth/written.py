"""What ``mmnet synth`` wrote, recorded in synth.json (``written``) so that a run on the set can tell whether it still
holds what synth wrote: a set edited since (a label changed in its table, frames added or removed) is no longer
what its settings, or the ``mmnet synth`` command built from them, write again.

The annotation files are compared by sha256; the frame files by their names and sizes (a listing digest: reading
every frame of a long recording again at each training would cost minutes).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["WRITTEN", "written_record", "written_changes"]

#: synth.json's key of the record
WRITTEN = "written"
#: the folders that hold a set's frames (clip sets: Cropped/ or clips/; long recordings: rawpic/ and rawvideo/)
_FRAME_FOLDERS = ("Cropped", "clips", "rawpic", "rawvideo")
_FRAME_SUFFIXES = (".jpg", ".mp4")


def _frames_listing(root: Path) -> str:
    """sha256 (20 hex digits) of every frame file's path under the set's frame folders and its size."""
    lines = sorted(f"{p.relative_to(root).as_posix()}\t{p.stat().st_size}"
                   for folder in _FRAME_FOLDERS if (root / folder).is_dir()
                   for p in (root / folder).rglob("*") if p.suffix.lower() in _FRAME_SUFFIXES and p.is_file())
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:20]


def written_record(root: Path, annotation_files: list[str]) -> dict:
    """synth.json's ``written``: the sha256 of each annotation file synth wrote in ``root`` and its frames' listing
    digest (``frames_listing``)."""
    from ..run_folder import file_sha256

    return {"annotation_sha256": {name: file_sha256(root / name) for name in annotation_files},
            "frames_listing": _frames_listing(root)}


def written_changes(root: Path, meta: dict) -> list[str] | None:
    """What in ``root`` differs from what synth wrote (synth.json's ``meta``): [] for none; None where synth.json
    records nothing to compare with (written by mmnet before 0.2.0's record) or the record is unreadable."""
    from ..run_folder import file_sha256

    record = meta.get(WRITTEN)
    if not isinstance(record, dict) or not isinstance(record.get("annotation_sha256"), dict):
        return None
    changes = []
    for name, sha in sorted(record["annotation_sha256"].items()):
        try:
            now = file_sha256(root / name)
        except OSError:
            changes.append(f"{name} is missing")
            continue
        if now != sha:
            changes.append(f"{name} differs from the file it wrote (sha256)")
    if record.get("frames_listing") != _frames_listing(root):
        changes.append("the frame files differ from those it wrote (their names or sizes)")
    return changes
