"""Face preprocessing of raw footage (detection, landmarks, per-clip alignment) and optical flow.

Needs the optional face extra (``pip install -e ".[face]"`` in the checkout); importing this package does not:
OpenCV and dlib are imported inside the functions that use them.
"""

from .discover import LAYOUTS
from .face import (
    FACE_EXTRA_HINT,
    Alignment,
    CropGeometry,
    FaceAligner,
    FaceDetection,
    alignment_matrix,
    calibrate_geometry,
    require_face_extra,
)
from .flow import FLOW_METHODS, FLOW_SCALE, cached_flow, compute_flow
from .pipeline import ClipResult, PrepareSummary, prepare

__all__ = [
    "FACE_EXTRA_HINT",
    "Alignment",
    "CropGeometry",
    "FaceAligner",
    "FaceDetection",
    "alignment_matrix",
    "calibrate_geometry",
    "require_face_extra",
    "FLOW_METHODS",
    "FLOW_SCALE",
    "cached_flow",
    "compute_flow",
    "LAYOUTS",
    "ClipResult",
    "PrepareSummary",
    "prepare",
]
