"""What ties a spotting result to its recording and to the software that produced it: ``spot.json``'s
``provenance`` (``mmnet spot --out`` / ``--json``). The intervals depend on the recording's bytes, on mmnet,
on OpenCV (the DIS optical flow), on the decoder (PyAV, else OpenCV), on dlib (faces) and, with a model,
on its weights and on PyTorch; a reader of the result can check each against what they have.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..errors import DataError
from ..media import list_frames
from ..run_folder import file_sha256, weights_sha256

__all__ = ["spot_provenance"]

# the modules whose versions the intervals depend on (their own __version__: pip's names for them vary)
_MODULES = {"opencv": "cv2", "av": "av", "dlib": "dlib", "numpy": "numpy"}


def _recording(source: Path) -> dict:
    """A video file's size and sha256; for a frame folder, its frames' count (those the spotter reads:
    ``media.list_frames``), total size and one sha256 over their names and bytes in number order (a renamed,
    added or changed frame changes it)."""
    if source.is_file():
        return {"kind": "video file", "bytes": source.stat().st_size, "sha256": file_sha256(source)}
    frames, _ = list_frames(source)
    digest = hashlib.sha256()
    for _, path in frames:
        digest.update(os.fsencode(path.name) + b"\0" + file_sha256(path).encode("ascii"))
    return {"kind": "frame folder", "frames": len(frames), "bytes": sum(path.stat().st_size for _, path in frames),
            "sha256": digest.hexdigest()}


def _weights(path: Path) -> dict:
    """The weights file a model argument loads (a folder's model.safetensors, or the file given) and its sha256."""
    from ..model.checkpoint import weights_file

    weights = weights_file(path)
    return {"path": str(path), "file": weights.name, "sha256": weights_sha256(weights)}


def spot_provenance(source: str | Path, *, models: dict[str, Path] | None = None,
                    summaries: dict[str, dict] | None = None) -> dict:
    """``spot.json``'s provenance: mmnet's version, git revision and code digest, the versions of the libraries the
    intervals depend on, the recording's size and sha256 and, for each of ``models`` (role -> checkpoint folder or
    file), its weights' sha256 and PyTorch's version, with what ``summaries`` say of it (role -> ``model_summary``:
    title, synthetic, permuted labels, note, performance). Best effort: what cannot be read is an ``error`` entry,
    never an exception (the spotting it describes is done and must be written)."""
    from ..version import __version__, code_digest, git_revision, library_versions

    def attempt(read, *args) -> dict:
        try:
            return read(*args)
        except (OSError, UnicodeError, DataError) as exc:  # moved, unreadable, a frame gone since
            return {"error": f"{type(exc).__name__}: {exc}"}

    record = {"mmnet_version": __version__, "mmnet_git_revision": git_revision(), "mmnet_code_digest": code_digest(),
              "libraries": library_versions(_MODULES),  # None: not installed, so the spotter did not use it
              "recording": attempt(_recording, Path(source))}
    if models:
        import torch

        record["libraries"]["torch"] = torch.__version__
        record["models"] = {role: {**attempt(_weights, Path(path)), **(summaries or {}).get(role, {})}
                            for role, path in models.items()}
    return record
