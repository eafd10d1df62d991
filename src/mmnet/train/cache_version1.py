"""A run started under frame cache version 1 (mmnet from 2026-11-25, commit 6518e06, to 2026-12-04, commit
6522f66), whose env.json records the cache's fingerprint but no digest of the decoded frames.

Version 1 decoded two kinds of frame otherwise than this mmnet (media.read_image, commits 358c3e5 and d754088):
16-bit (or floating-point) grey frames, which it clipped to white, and photos with an EXIF orientation, which it
left unrotated. Every other frame was decoded and resized alike (Pillow, bilinear, as now). So such a run resumes
where none of its frame files is of those kinds, read from their headers (Pillow opens without decoding; a PNG's
EXIF, which may follow its pixels, is decoded to be found), with a note; else it is refused as an earlier mmnet's.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from functools import cached_property
from pathlib import Path

from .. import run_folder as rf
from ..data.cache import FrameWindows
from ..data.sample import Sample
from ..errors import ConfigError

__all__ = ["Version1Run", "decoded_unlike_version1", "version1_fingerprints", "VERSION1_MMNET"]

VERSION1_MMNET = "mmnet of 2026-11-25 to 2026-12-04, commits 6518e06 to 6522f66"
_ORIENTATION = 0x0112  # the EXIF tag ImageOps.exif_transpose reads
_NOTED: set[str] = set()  # run folders whose resume was noted by this process (prepare asks up to three times)

log = logging.getLogger("mmnet")


def _unlike(path: Path) -> str | None:
    from PIL import Image

    try:
        with Image.open(path) as im:
            if im.mode.startswith("I") or im.mode == "F":
                return f"{path} (PIL mode {im.mode}: a 16-bit or floating-point grey frame)"
            orientation = im.getexif().get(_ORIENTATION)
            if orientation in range(2, 9):  # what exif_transpose turns; 1, none or another value: nothing
                return f"{path} (EXIF orientation {orientation})"
    except Exception as exc:  # any failure (Pillow raises several kinds): not shown alike; the build names the file
        return f"{path} (cannot be read: {exc})"
    return None


def version1_fingerprints(samples: list[Sample], windows: list[FrameWindows], image_size: int) -> set[str]:
    """The names frame cache version 1 gave these frame files (its fingerprint: paths, sizes, file times), with
    their paths as this mmnet finds them (absolute) and relative to the working folder: that mmnet hashed the
    paths as the dataset root was given, a relative --root (`--root data`) included."""
    digests = [hashlib.sha256(f"v1|{image_size}".encode()) for _ in range(2)]
    for s, w in zip(samples, windows):
        for h in digests:
            h.update(s.sample_id.encode())
        for n in sorted(set(w.onset_frames + w.apex_frames)):
            p = s.frame_path(n)
            st = p.stat()
            try:
                relative = os.path.relpath(p)
            except ValueError:  # another drive (Windows): no relative path
                relative = str(p)
            for h, path in zip(digests, (p, relative)):
                h.update(f"|{n}:{path}:{st.st_size}:{st.st_mtime_ns}".encode())
    return {h.hexdigest()[:20] for h in digests}


def decoded_unlike_version1(samples: list[Sample], windows: list[FrameWindows], limit: int = 3) -> list[str]:
    """The frame files (at most ``limit``, each with why) of these samples' windows that frame cache version 1
    decoded otherwise than this mmnet; [] when it decoded every one alike."""
    found = []
    for s, w in zip(samples, windows):
        for n in sorted(set(w.onset_frames + w.apex_frames)):
            if why := _unlike(s.frame_path(n)):
                found.append(why)
                if len(found) >= limit:
                    return found
    return found


class Version1Run:
    """Called: False when the run in ``out`` is not of frame cache version 1 on these files; True when it is and
    every frame decodes as version 1 decoded it (its resume goes on, noted once); else a ConfigError."""

    def __init__(self, out: Path, samples: list[Sample], windows: list[FrameWindows], image_size: int):
        self.out, self.samples, self.windows, self.image_size = Path(out), list(samples), list(windows), image_size

    @cached_property
    def _of_version1(self) -> bool:
        try:
            env = json.loads((self.out / rf.ENV).read_text(encoding="utf-8"))
            recorded = None if env.get("frames_digest") else env.get("dataset_fingerprint")
        except (OSError, ValueError, AttributeError):
            return False
        return bool(recorded) and recorded in version1_fingerprints(self.samples, self.windows, self.image_size)

    @cached_property
    def _unlike(self) -> list[str]:
        return decoded_unlike_version1(self.samples, self.windows)

    def __call__(self) -> bool:
        if not self._of_version1:
            return False
        if self._unlike:
            raise ConfigError(
                f"'{self.out}' holds a run started by an earlier mmnet (frame cache version 1: {VERSION1_MMNET}), "
                "which decoded some of its frames otherwise than this mmnet: 16-bit grey frames clipped to white, "
                f"photos with an EXIF orientation left unrotated ({'; '.join(self._unlike)}). It cannot be resumed "
                "with this version's frames: start it again with --restart (restart=True from Python), which moves "
                "it aside, or use another out folder.")
        if str(self.out) not in _NOTED:
            _NOTED.add(str(self.out))
            log.warning("'%s' was started by an earlier mmnet (frame cache version 1: %s); none of its frames is a "
                        "16-bit grey frame or a rotated photo, which that version decoded otherwise, so its finished "
                        "folds trained on the same pixels and the run resumes", self.out, VERSION1_MMNET)
        return True
