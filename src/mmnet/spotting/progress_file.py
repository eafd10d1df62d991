"""Reading ``mmnet spot --out``'s progress file (``partial_state``) without trusting it.

The folder may be another user's and the file may be damaged, so it is opened as the ZIP archive ``np.savez``
writes and nothing in it is decompressed before its size is known: its JSON document first (bounded by
``META_BYTES``), so that a file of another recording or configuration is told apart without loading its arrays;
then the arrays, only when their uncompressed sizes together stay within what the frames the document declares can
need (``arrays_bound``) and each array's header matches its size. Nothing is read with pickle. Every way a file can
fail to be what ``partial_state`` writes raises ``Damaged``.
"""

from __future__ import annotations

import io
import json
import math
import time
import zipfile
from typing import BinaryIO

import numpy as np

__all__ = ["Damaged", "ProgressArchive", "META_BYTES", "FRAME_BYTES", "SLACK_BYTES"]

META_BYTES = 64 << 20  # the JSON document: the key, the faces seen and checks (a few per second of recording)
FRAME_BYTES = 8 + 1 + 2 * 8 * 8  # per frame: its number, missing flag and both scales' scores (8 regions at most)
SLACK_BYTES = 1 << 20  # the .npy headers, the face's landmarks and alignment
KINDS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # what np.savez writes


class Damaged(ValueError):
    """The file is not a progress file ``partial_state`` wrote: why."""


class ProgressArchive:
    """One progress file opened (``file``, read from as needed: a file of any size is not read whole): ``meta``
    (its JSON document, checked to be a dict of ``format``), ``saved_at`` (its time, as text), then
    ``arrays(bound)``. Closed with the file."""

    def __init__(self, file: BinaryIO, state_format: int):
        try:
            self._zip = zipfile.ZipFile(file)
            members = self._zip.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise Damaged(f"not a ZIP archive ({type(exc).__name__}: {exc})") from None
        names = [m.filename for m in members]
        if len(set(names)) != len(names) or "meta.npy" not in names:
            raise Damaged("no single 'meta' entry")
        for m in members:
            if m.compress_type not in KINDS or not m.filename.endswith(".npy") or m.flag_bits & 0x1:
                raise Damaged(f"entry {m.filename!r} is not an array as NumPy stores it")
        self._members = {m.filename[:-4]: m for m in members}
        raw = self._array("meta", META_BYTES)
        try:
            meta = json.loads(raw.tobytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise Damaged(f"its document is not JSON ({exc})") from None
        if not isinstance(meta, dict) or meta.get("format") != state_format:
            raise Damaged(f"not a progress file of format {state_format}")
        if not isinstance(meta.get("key"), dict) or meta.get("kind") not in ("motion", "curves"):
            raise Damaged("no key or kind")
        frames = meta.get("frames")
        if not isinstance(frames, int) or isinstance(frames, bool) or frames < 0:
            raise Damaged(f"it says it holds {frames!r} frames")
        try:  # a time far outside the calendar overflows here, not later
            self.saved_at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(meta["saved"])))
        except (KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
            raise Damaged(f"its time {meta.get('saved')!r} is not one ({type(exc).__name__})") from None
        self.meta, self.frames = meta, frames

    def arrays(self, bound: int) -> dict[str, np.ndarray]:
        """Every array but the document, when together they hold at most ``bound`` bytes (Damaged otherwise)."""
        rest = {name: m for name, m in self._members.items() if name != "meta"}
        size = sum(m.file_size for m in rest.values())
        if size > bound:
            raise Damaged(f"its arrays would take {size} bytes, more than the {bound} that {self.frames} frames "
                          "need")
        return {name: self._array(name, bound) for name in rest}

    def _array(self, name: str, bound: int) -> np.ndarray:
        member = self._members[name]
        if member.file_size > bound:
            raise Damaged(f"its '{name}' would take {member.file_size} bytes, more than {bound}")
        try:
            data = self._zip.read(member)  # stops at file_size; a CRC that differs is BadZipFile
            stream = io.BytesIO(data)
            version = np.lib.format.read_magic(stream)
            if version not in ((1, 0), (2, 0)):
                raise Damaged(f"its '{name}' is of .npy version {version}")
            header = (np.lib.format.read_array_header_1_0 if version == (1, 0) else
                      np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = header(stream)
            if dtype.hasobject:
                raise Damaged(f"its '{name}' holds objects (they would be read with pickle)")
            if math.prod(shape) * dtype.itemsize != len(data) - stream.tell():
                raise Damaged(f"its '{name}' header says {shape} {dtype}, not what it holds")
            stream.seek(0)
            return np.lib.format.read_array(stream, allow_pickle=False)
        except Damaged:
            raise
        except Exception as exc:  # zipfile, zlib or NumPy: each has its own errors for a damaged entry
            raise Damaged(f"its '{name}' cannot be read ({type(exc).__name__}: {str(exc)[:200]})") from None
