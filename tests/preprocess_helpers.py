"""Synthetic frames for the preprocessing tests: scikit-image's astronaut photograph (it ships in
the wheel) pasted on a grey canvas, then moved by known similarity transforms."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def skip_without_face_extra() -> None:
    """Skip the calling test unless a real prepare can run: the face extra and its 68-point landmark model."""
    import pytest

    pytest.importorskip("cv2")
    pytest.importorskip("dlib")
    pytest.importorskip("skimage")
    from mmnet.preprocess.face import landmark_model_path

    if landmark_model_path() is None:
        pytest.skip("the 68-point model (face-recognition-models) is not installed")


def astronaut_head() -> np.ndarray:
    """(240, 230, 3) RGB crop of the astronaut: head and shoulders, face about 87 px wide."""
    from skimage.data import astronaut

    return astronaut()[20:260, 110:340]


def face_frame(size: tuple[int, int] = (320, 240), scale: float = 1.0, dx: int = 0, dy: int = 0,
               background: int = 120) -> np.ndarray:
    """A (H, W, 3) uint8 frame with the astronaut's head centred (+dx, dy), scaled by ``scale``."""
    import cv2

    head = astronaut_head()
    if scale != 1.0:
        head = cv2.resize(head, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    w, h = size
    frame = np.full((h, w, 3), background, np.uint8)
    hh, ww = head.shape[:2]
    y0, x0 = (h - hh) // 2 + dy, (w - ww) // 2 + dx
    frame[y0:y0 + hh, x0:x0 + ww] = head
    return frame


def moved(frame: np.ndarray, angle_deg: float, shift: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Rotate ``frame`` about its centre (OpenCV sign: positive = counter-clockwise on screen) and
    shift it; returns the new frame and the (2, 3) matrix used."""
    import cv2

    h, w = frame.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    m[:, 2] += shift
    return cv2.warpAffine(frame, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), m


def save_frames(folder: Path, frames: dict[str, np.ndarray]) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for name, image in frames.items():
        Image.fromarray(image).save(folder / name, quality=95)


class NoFaceAligner:
    """A stand-in for FaceAligner that loads nothing and finds no face; ``built`` lists every one made (each a
    landmark model loaded by the real one), with the crop and landmark model it was made with, ``cropped`` every
    one made by ``cropping`` (no model loaded); a test sets both to [] before use."""

    built: list[NoFaceAligner] = []
    cropped: list[NoFaceAligner] = []

    def __init__(self, geometry=None, *, landmarks: int = 68, **kwargs):
        from mmnet.preprocess.face import CropGeometry

        self.geometry, self.points = geometry or CropGeometry(), landmarks
        NoFaceAligner.built.append(self)

    def cropping(self, geometry):
        import copy

        twin = copy.copy(self)
        twin.geometry = geometry
        NoFaceAligner.cropped.append(twin)
        return twin

    def detect(self, image):
        return []

    def estimate(self, image, near=None):
        from mmnet.errors import PreprocessError

        raise PreprocessError("no face found")
