"""Is the face partly outside the picture? Said by ``prepare``, ``predict --align`` and ``spot``.

The crop is a warp of the frame (``face.warp``) whose pixels outside the picture repeat its edge pixels: a face
cut by the frame's edge is completed with smears, which hold no motion of the face (and a micro-expression there
is missed) while the smears themselves change with every shift of the head (false intervals). The detector still
finds a face a third outside the picture, and the landmarks model places points outside it, so nothing fails:
this says how much of the face lies outside and at which edge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["EDGE_MARGIN", "LANDMARK_MARGIN", "FaceOutside", "face_outside", "face_edge_note", "face_edge_warning",
           "OUTSIDE", "REFRAME"]

#: The share of the face box's area (or of its landmarks) outside the picture that is said: a face in view touching
#: the edge has its box out by a few pixels, a detector cell.
EDGE_MARGIN = 0.05
#: How far (pixels) past the picture's edge a landmark may lie and still count as inside: landmarks are sub-pixel
#: points and the picture spans 0..width (pixel edges), so 639.5 in a 640-px frame is on its last pixel.
LANDMARK_MARGIN = 1.0
#: What to do about it, said by every command.
REFRAME = ("reframe the recording so the whole face is in view, or use only the frames where it is")
#: Every sentence on a face partly outside says this (a clip's notes keep theirs when its video is read again).
OUTSIDE = "lies outside the picture"
_EDGES = ("left", "top", "right", "bottom")


@dataclass(frozen=True)
class FaceOutside:
    """How much of a face lies outside the picture.

    Attributes:
        share: the share of the face box's area outside the picture (0-1).
        edges: the picture's edges the box crosses ("left", "top", "right", "bottom").
        landmarks: how many landmarks lie outside the picture, of ``points`` (0 of 0 without landmarks).
    """

    share: float
    edges: tuple[str, ...]
    landmarks: int = 0
    points: int = 0

    def describe(self) -> str:
        """E.g. "24 % of the face box (and 7 of its 68 landmarks) lies outside the picture (left edge)"."""
        marks = f" (and {self.landmarks} of its {self.points} landmarks)" if self.landmarks else ""
        plural = "s" if len(self.edges) > 1 else ""
        return f"{self.share * 100:.0f} % of the face box{marks} {OUTSIDE} ({' and '.join(self.edges)} edge{plural})"


def face_outside(box, shape, landmarks=None) -> FaceOutside | None:
    """How much of the face in ``box`` (left, top, right, bottom) lies outside a picture of ``shape`` ((height,
    width, ...)), with its ``landmarks`` ((points, 2) x, y) if given; None when within ``EDGE_MARGIN``."""
    height, width = shape[:2]
    left, top, right, bottom = (float(v) for v in box)
    area = max(right - left, 1.0) * max(bottom - top, 1.0)
    inside = max(min(right, width) - max(left, 0.0), 0.0) * max(min(bottom, height) - max(top, 0.0), 0.0)
    beyond = [-left, -top, right - width, bottom - height]
    out, points = 0, 0
    if landmarks is not None:
        pts = np.asarray(landmarks, dtype=float).reshape(-1, 2)
        points = len(pts)
        past = np.stack([-pts[:, 0], -pts[:, 1], pts[:, 0] - width, pts[:, 1] - height], axis=1) - LANDMARK_MARGIN
        out = int((past > 0).any(axis=1).sum())
        beyond = [max(b, float(p.max(initial=0.0))) for b, p in zip(beyond, past.T)]
    edges = tuple(name for name, past_edge in zip(_EDGES, beyond) if past_edge > 0)
    share = 1.0 - inside / area
    if share <= EDGE_MARGIN and out <= EDGE_MARGIN * points:
        return None
    return FaceOutside(round(share, 4), edges, out, points)


def face_edge_note(box, shape, landmarks=None) -> str | None:
    """The sentence on a clip's onset face (``box``, ``landmarks``) lying partly outside a picture of ``shape``
    (``predict --align``'s note), else None."""
    outside = face_outside(box, shape, landmarks)
    if outside is None:
        return None
    return (f"{outside.describe()} on the onset frame: the crops repeat the picture's edge pixels there, and motion "
            f"there is not measured; {REFRAME}")


def face_edge_warning(alignment, shape) -> str | None:
    """``prepare``'s ``face_edge`` warning when the onset frame's face (``alignment``: its box and landmarks) lies
    partly outside a picture of ``shape``, else None."""
    note = face_edge_note(alignment.face.box, shape, alignment.landmarks)
    return None if note is None else f"face_edge: {note}"
