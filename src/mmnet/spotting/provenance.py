"""What ties a spotting result to its recording and to the software that produced it: ``spot.json``'s
``provenance`` (``mmnet spot --out`` / ``--json``). The intervals depend on the recording's bytes, on mmnet,
on OpenCV (the DIS optical flow), on the decoder (PyAV, else OpenCV), on dlib (faces) and, with a model,
on its weights and on PyTorch; a reader of the result can check each against what they have.
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path

from ..media import IMAGE_SUFFIXES
from ..run_folder import file_sha256

__all__ = ["spot_provenance"]

# the modules whose versions the intervals depend on (their own __version__: pip's names for them vary)
_MODULES = {"opencv": "cv2", "av": "av", "dlib": "dlib", "numpy": "numpy"}


def _version(module: str) -> str | None:
    try:
        return str(importlib.import_module(module).__version__)
    except (ImportError, AttributeError):  # not installed: the spotter did not use it
        return None


def _recording(source: Path) -> dict:
    """A video file's size and sha256; for a frame folder, its image files' count, total size and one sha256
    over their names and bytes in name order (a renamed, added or changed frame changes it)."""
    if source.is_file():
        return {"kind": "video file", "bytes": source.stat().st_size, "sha256": file_sha256(source)}
    digest, count, size = hashlib.sha256(), 0, 0
    for path in sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES):
        digest.update(path.name.encode("utf-8") + b"\0" + file_sha256(path).encode("ascii"))
        count, size = count + 1, size + path.stat().st_size
    return {"kind": "frame folder", "image_files": count, "bytes": size, "sha256": digest.hexdigest()}


def spot_provenance(source: str | Path, *, models: dict[str, Path] | None = None) -> dict:
    """``spot.json``'s provenance: mmnet's version and git revision, the versions of the libraries the intervals
    depend on, the recording's size and sha256 and, for each of ``models`` (role -> checkpoint folder or file),
    its weights' sha256 and PyTorch's version."""
    from ..version import __version__, git_revision

    record = {"mmnet_version": __version__, "mmnet_git_revision": git_revision(),
              "libraries": {key: _version(module) for key, module in _MODULES.items()},
              "recording": _recording(Path(source))}
    if models:
        import torch

        record["libraries"]["torch"] = torch.__version__
        record["models"] = {}
        for role, path in models.items():
            path = Path(path)
            weights = sorted(path.glob("*.safetensors")) + sorted(path.glob("*.pt")) if path.is_dir() else [path]
            record["models"][role] = {"path": str(path), **({"sha256": file_sha256(weights[0]),
                                                            "file": weights[0].name} if weights else {})}
    return record
