"""Facial regions on the spotter's crop: where motion is measured, the rigid reference, the eye masks.

With landmarks (68-point iBUG scheme, already mapped into the crop) the regions follow SoftNet's
choice (docs/spotting.md, "How it works"): each eyebrow from the brow points down to the eye line, the mouth
around points 48-67, the nose ridge (points 27-30) as the rigid reference, the nose and the sides of the
face from the eyes down to the nose tip as the rigid parts the head's motion is fitted to (``head_motion``), and
the eyes (points 36-41, 42-47) masked, pushed out by ``eye_margin`` times the
inter-ocular distance, so that blinks do not count. Without landmarks (``face.mode=none``) the same
regions sit where they are in an aligned face crop: eye centres at ``EYE_Y`` of the height and
``IOD`` of the width apart (mmnet.preprocess.face.CropGeometry's defaults), the rest placed in
inter-ocular distances from the eyes. With dlib's 5-point model (``face.landmarks=5``: eye corners and the
base of the nose, no brow or mouth points) the regions are those same template regions, placed at the eye
centres the 5 points give (the means of each eye's corners) and scaled by their distance.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["Regions", "regions_from_landmarks", "template_regions", "MEASURED"]

EYE_Y, IOD = 0.38, 0.40
MEASURED = ("brow_right", "brow_left", "mouth")  # right/left: the subject's (image left/right)


@dataclass(frozen=True)
class Regions:
    """Flat pixel indices into the crop (row-major) per measured region, and of the reference."""

    measured: dict[str, np.ndarray]
    reference: np.ndarray
    shape: tuple[int, int]  # (height, width)
    rigid: np.ndarray | None = None  # the parts the head's motion is fitted to (head_motion); None: ``reference``

    @cached_property
    def head(self):
        """The ``head_motion.HeadMotion`` that removes the head's motion from a flow on this crop (made once)."""
        from .head_motion import HeadMotion

        return HeadMotion(self)


def _box(shape, x0, y0, x1, y1) -> np.ndarray:
    h, w = shape
    m = np.zeros(shape, bool)
    m[max(0, int(round(y0))):min(h, int(round(y1)) + 1), max(0, int(round(x0))):min(w, int(round(x1)) + 1)] = True
    return m


def _ellipse(shape, cx, cy, rx, ry) -> np.ndarray:
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    return ((xx - cx) / max(rx, 1e-6)) ** 2 + ((yy - cy) / max(ry, 1e-6)) ** 2 <= 1.0


def _finish(shape, boxes: dict[str, np.ndarray], eyes: np.ndarray, reference: np.ndarray,
            rigid: np.ndarray) -> Regions:
    measured = {}
    for name, mask in boxes.items():
        idx = np.flatnonzero(mask & ~eyes)
        if idx.size < 8:  # a region squeezed out of the crop: fall back to the unmasked box
            idx = np.flatnonzero(mask)
        measured[name] = idx
    ref = np.flatnonzero(reference)
    ref = ref if ref.size else np.flatnonzero(np.ones(shape, bool))
    fit = np.flatnonzero(rigid & ~eyes)
    return Regions(measured, ref, shape, fit if fit.size >= 8 else ref)


def regions_from_landmarks(points: np.ndarray, shape: tuple[int, int], eye_margin: float) -> Regions:
    """Regions from (68, 2) or (5, 2) landmarks in crop pixels; ``shape`` = (height, width) of the crop."""
    p = np.asarray(points, dtype=np.float64)
    if p.shape == (5, 2):  # no brow or mouth points: the template's regions, at the measured eyes
        (xr, yr), (xl, yl) = p[2:4].mean(0), p[0:2].mean(0)
        return _template(shape, xr, xl, (yr + yl) / 2, float(np.hypot(xl - xr, yl - yr)), eye_margin)
    eye_r, eye_l = p[36:42], p[42:48]
    iod = float(np.hypot(*(eye_l.mean(0) - eye_r.mean(0))))
    pad = 0.12 * iod
    eyes = np.zeros(shape, bool)
    for eye in (eye_r, eye_l):
        c = eye.mean(0)
        rx = (eye[:, 0].max() - eye[:, 0].min()) / 2 + eye_margin * iod
        ry = (eye[:, 1].max() - eye[:, 1].min()) / 2 + eye_margin * iod
        eyes |= _ellipse(shape, c[0], c[1], rx, ry)
    boxes = {}
    for name, brow, eye in (("brow_right", p[17:22], eye_r), ("brow_left", p[22:27], eye_l)):
        boxes[name] = _box(shape, brow[:, 0].min() - pad, brow[:, 1].min() - 2 * pad, brow[:, 0].max() + pad,
                           eye[:, 1].max())
    mouth = p[48:68]
    boxes["mouth"] = _box(shape, mouth[:, 0].min() - 2 * pad, mouth[:, 1].min() - 2 * pad,
                          mouth[:, 0].max() + 2 * pad, mouth[:, 1].max() + pad)
    ridge = p[27:31]
    reference = _box(shape, ridge[:, 0].min() - pad, ridge[1, 1], ridge[:, 0].max() + pad, ridge[3, 1])
    # the nose (ridge and base), and the sides of the face from the eyes down to the nose tip
    nose = _box(shape, p[31:36, 0].min() - pad, p[27, 1], p[31:36, 0].max() + pad, p[33, 1])
    sides = _box(shape, p[1, 0] + pad, p[36:48, 1].min(), p[31, 0] - 2 * pad, p[30, 1])
    sides |= _box(shape, p[35, 0] + 2 * pad, p[36:48, 1].min(), p[15, 0] - pad, p[30, 1])
    return _finish(shape, boxes, eyes, reference, nose | sides)


def template_regions(shape: tuple[int, int], eye_margin: float) -> Regions:
    """Regions of an aligned face crop without landmarks (``face.mode=none``)."""
    h, w = shape
    iod = IOD * w
    return _template(shape, w / 2 - iod / 2, w / 2 + iod / 2, EYE_Y * h, iod, eye_margin)


def _template(shape, xr: float, xl: float, ey: float, iod: float, eye_margin: float) -> Regions:
    """The template's regions for eye centres at (``xr``, ``ey``) and (``xl``, ``ey``), ``iod`` apart."""
    cx = (xr + xl) / 2  # the face's centre line
    eyes = _ellipse(shape, xr, ey, (0.28 + eye_margin) * iod, (0.1 + eye_margin) * iod)
    eyes |= _ellipse(shape, xl, ey, (0.28 + eye_margin) * iod, (0.1 + eye_margin) * iod)
    boxes = {
        "brow_right": _box(shape, xr - 0.45 * iod, ey - 0.7 * iod, xr + 0.35 * iod, ey + 0.1 * iod),
        "brow_left": _box(shape, xl - 0.35 * iod, ey - 0.7 * iod, xl + 0.45 * iod, ey + 0.1 * iod),
        "mouth": _box(shape, cx - 0.7 * iod, ey + 0.8 * iod, cx + 0.7 * iod, ey + 1.5 * iod),
    }
    reference = _box(shape, cx - 0.08 * iod, ey + 0.1 * iod, cx + 0.08 * iod, ey + 0.5 * iod)
    nose = _box(shape, cx - 0.3 * iod, ey, cx + 0.3 * iod, ey + 0.75 * iod)
    sides = _box(shape, xr - 0.5 * iod, ey, cx - 0.4 * iod, ey + 0.6 * iod)
    sides |= _box(shape, cx + 0.4 * iod, ey, xl + 0.5 * iod, ey + 0.6 * iod)
    return _finish(shape, boxes, eyes, reference, nose | sides)
