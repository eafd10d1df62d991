"""The face a recording's spotter follows (``flow_spotter.extract_motion``): its alignment, re-checked every
``face.check_every`` seconds, the checks that found it or not, and the other faces in view.

``FaceTrack.state`` and ``FaceTrack.restore`` give and take all of it as JSON numbers and two arrays (the
alignment and the landmarks its regions were made from), so that a resumed spotter (``partial_state``) follows
the face exactly as the interrupted one did.
"""

from __future__ import annotations

import numpy as np

from .config import SpotConfig
from .regions import Regions, regions_from_landmarks, template_regions

__all__ = ["FaceTrack", "MAX_LISTED"]

MAX_LISTED = 10  # runs of missing frames, or faces lost, named in a note
#: A followed face narrower than this fraction of the crop's width (``face.width``) is noted: it is upsampled more
#: than twice into the crop, which enlarges camera and encoder noise with it (more false intervals).
SMALL_FACE = 0.5
#: With face.mode=none (--no-align) the whole frame is the crop: a face found on the first frame narrower than this
#: fraction of the frame's width says the frames are not face crops (a prepared crop's face box spans 0.6-0.85).
UNCROPPED = 0.35

Box = tuple[int, int, int, int]


def _crowd_state(crowd, box) -> tuple:
    """``FaceTrack.crowd`` read back from ``FaceTrack.state``'s list (an older mmnet kept no scores: 3 items)."""
    number, count, followed, *scores = crowd
    score, others = scores if scores else (None, [])
    return (int(number), int(count), box(followed), None if score is None else float(score),
            tuple((box(b), float(s)) for b, s in others))


def _edge_state(edge) -> tuple[int, int, float, str] | None:
    """``FaceTrack.edge`` read back from ``FaceTrack.state``'s list."""
    if edge is None:
        return None
    first, count, share, text = edge
    if not isinstance(text, str):
        raise TypeError(f"a face-edge description is text, not {text!r}")
    return int(first), int(count), float(share), text


class FaceTrack:
    """The current alignment of a recording, re-checked every ``every`` frames."""

    def __init__(self, config: SpotConfig, every: int, aligner):
        from ..preprocess.face import CropGeometry

        self.config, self.every = config, every
        self.geometry = CropGeometry(config.face.width, config.face.height)
        self.shape = (config.face.height, config.face.width)
        self.aligner = aligner
        self.matrix = None
        self.box = None
        self.regions: Regions | None = None
        self.points: np.ndarray | None = None  # the landmarks in crop pixels the regions were made from
        self.last_check = -(10**9)
        self.checks: list[tuple[int, bool]] = []
        self.realignments: list[int] = []
        self.moved = None  # crop-to-crop transform of the last re-alignment, until the window follows it
        self.restart = False  # another face is followed from this frame on, until the window is emptied
        self.others: tuple[tuple[int, int, int, int], ...] = ()  # the other faces' boxes at that check
        self.switches: list[tuple[int | None, int, int]] = []  # (previous check, check, frame number)
        # (frame number, faces, followed box, its score, ((box, score) of the others)) of the first check that saw
        # several faces (``face_watch.other_faces``, prepare's rule), and how many checks saw several
        self.crowd = None
        self.crowded = 0
        self.seen: list[tuple[int, tuple[int, int, int, int]]] = []  # (frame number, followed box) per check
        # (first frame, checks, largest share, its description) of the checks that found the face partly outside
        self.edge: tuple[int, int, float, str] | None = None
        # face.mode=none: (frame number, frame width, height, face width) where the first frame shows a face far
        # smaller than the frame, () when it does not (or dlib is not installed), None before the first frame
        self.whole: tuple[int, ...] | None = None
        if config.face.mode == "none":
            self.regions = template_regions(self.shape, config.face.eye_margin)
        elif aligner is None:
            from ..preprocess.face import FaceAligner

            self.aligner = FaceAligner(self.geometry, landmarks=config.face.landmarks)
        elif getattr(aligner, "points", 68) != config.face.landmarks:  # a caller's bug: say it, not misplace regions
            raise ValueError(f"the aligner uses the {aligner.points}-point landmark model, the config "
                             f"face.landmarks={config.face.landmarks}")

    def crop(self, pos: int, number: int, grey: np.ndarray) -> np.ndarray | None:
        import cv2

        if self.config.face.mode == "none":
            if self.whole is None:
                self._look_whole(number, grey)
            return cv2.resize(grey, (self.shape[1], self.shape[0]), interpolation=cv2.INTER_AREA)
        if pos - self.last_check >= self.every:  # also before the first face: a faceless video stays cheap
            self._check(pos, number, grey)
        if self.matrix is None:
            return None
        return cv2.warpAffine(grey, self.matrix, (self.shape[1], self.shape[0]), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)

    def _check(self, pos: int, number: int, grey: np.ndarray) -> None:
        from ..preprocess.face import alignment_matrix, followed_face
        from ..preprocess.face_watch import other_faces

        faces = self.aligner.detect(grey)
        self.last_check = pos
        previous = self.checks[-1][0] if self.checks else None
        self.checks.append((pos, bool(faces)))
        if not faces:
            return
        # the face followed so far, not the best-scoring one: with two people in view that flips between them
        followed = self.seen[-1][1] if self.seen else None  # its box at the last check that saw a face
        face = faces[0] if followed is None else followed_face(faces, followed, self.others)
        switched = face is None  # the followed face is gone and another is in view: a new segment, as after a loss
        if switched:
            face = faces[0]
            self.switches.append((previous, pos, number))
        counted = other_faces(faces, face)
        self.crowded += bool(counted)
        if counted and self.crowd is None:
            self.crowd = (number, 1 + len(counted), face.box, round(face.score, 2),
                          tuple((f.box, round(f.score, 2)) for f in counted))
        self.others = tuple(f.box for f in faces if f is not face)
        self.seen.append((number, face.box))
        box = face.box
        if self.box is not None and not switched:
            width = max(self.box[2] - self.box[0], 1)
            moved = np.hypot(box[0] + box[2] - self.box[0] - self.box[2], box[1] + box[3] - self.box[1] - self.box[3])
            moved /= 2 * width  # the box centre's shift in box widths (the sides jitter by a HOG cell)
            if moved < self.config.face.realign:
                self._edge(number, box, grey.shape)
                return
        points = self.aligner.landmarks(grey, face)
        self._edge(number, box, grey.shape, points)
        matrix = alignment_matrix(points, self.geometry)
        if switched:  # the kept crops show the other face: no pair may compare the two
            self.restart = True
        elif self.matrix is not None:  # the crops still in the window move to the new alignment
            self.moved = np.vstack([matrix, [0, 0, 1]]) @ np.linalg.inv(np.vstack([self.matrix, [0, 0, 1]]))
        self.matrix = matrix
        self.box = box
        self.points = points @ self.matrix[:, :2].T + self.matrix[:, 2]
        self.regions = regions_from_landmarks(self.points, self.shape, self.config.face.eye_margin)
        self.realignments.append(number)

    def _look_whole(self, number: int, grey: np.ndarray) -> None:
        """One detector pass on the first frame of a recording spotted without alignment (tens of ms, no landmark
        model): is the face in it much narrower than the frame (``UNCROPPED``)?"""
        import importlib.util

        self.whole = ()
        if importlib.util.find_spec("dlib") is None:  # without the face extra nothing is checked (docs say so)
            return
        from ..preprocess.face import detect_faces

        faces = detect_faces(grey)
        height, width = grey.shape[:2]
        face = faces[0].box[2] - faces[0].box[0] if faces else width
        if face < UNCROPPED * width:
            self.whole = (int(number), int(width), int(height), int(face))

    def _edge(self, number: int, box: Box, shape: tuple[int, ...], points: np.ndarray | None = None) -> None:
        """Count a check that found the followed face partly outside the picture (``face_edge.face_outside``)."""
        from ..preprocess.face_edge import face_outside

        outside = face_outside(box, shape, points)
        if outside is None:
            return
        first, count, share, text = self.edge or (number, 0, -1.0, "")
        worse = outside.share > share
        self.edge = (first, count + 1, outside.share if worse else share, outside.describe() if worse else text)

    def lost(self, n: int) -> np.ndarray:
        """(n,) True for frames without a usable face: before the first face, and around failed checks."""
        out = np.zeros(n, bool)
        if self.config.face.mode == "none":
            return out
        ok = [(p, good) for p, good in self.checks]
        first = next((p for p, good in ok if good), n)
        out[:first] = True
        for (a, good_a), (b, good_b) in zip(ok, ok[1:] + [(n, ok[-1][1] if ok else False)]):
            if not (good_a and good_b) and a >= first:
                out[a if not good_a else a + 1:b] = True
        for previous, pos, _ in self.switches:  # the followed face left somewhere between the two checks
            out[previous + 1:pos] = True
        return out

    def notes(self, source: str) -> list[str]:
        """Sentences on the faces in view: several of them, and where the followed one was not found again."""
        out = []
        if self.crowd is not None:
            number, count, box, score, others = self.crowd
            scored = f"; detector score {score:.2f}" if score is not None else ""
            listed = ", ".join(f"score {s:.2f} at {list(b)}" for b, s in others)
            seen = f"; {self.crowded} of the {len(self.checks)} face checks saw several" if self.crowded else ""
            out.append(f"{source}: {count} faces in view from frame {number}; the spotter followed one, the one at "
                       f"{list(box)} (left, top, right, bottom in pixels{scored}) on that frame, and ignored the "
                       f"others{': ' + listed if listed else ''}{seen}")
        if self.switches:
            listed = ", ".join(str(number) for _, _, number in self.switches[:MAX_LISTED])
            more = f" and {len(self.switches) - MAX_LISTED} more" if len(self.switches) > MAX_LISTED else ""
            out.append(f"{source}: the followed face was not found again at frame(s) {listed}{more}, where another "
                       "face was; the spotter followed that one from there on, and the frames since the check before "
                       "are a gap (no motion is compared across two faces)")
        if self.edge is not None:
            from ..preprocess.face_edge import REFRAME

            first, count, _, text = self.edge
            out.append(f"{source}: {text} from frame {first} ({count} of the {len(self.seen)} face checks found it "
                       "partly outside; the largest share is given): the crop there repeats the picture's edge pixels, "
                       f"motion there is not measured and false intervals become likelier; {REFRAME}")
        if self.whole:
            number, width, height, face = self.whole
            out.append(f"{source}: --no-align (face.mode=none) takes each whole frame as the face crop, but frame "
                       f"{number} ({width}x{height} px) shows a face only {face} px wide: the frames look uncropped, "
                       "and the face's motion, shrunk with the frame into the crop, is too small to be found. Spot "
                       "without --no-align to follow the face, or crop the frames to the face first (mmnet prepare)")
        widths = [box[2] - box[0] for _, box in self.seen]
        crop = self.config.face.width
        width = float(np.median(widths)) if widths else None
        if width is not None and width < SMALL_FACE * crop:
            out.append(f"{source}: the face is small, {width:.0f} px wide (the median of the checks), and is "
                       f"enlarged about {crop / width:.1f}x into the {crop} px crop: "
                       "camera and encoder noise are enlarged with it, and false intervals become likelier; the "
                       f"spotter expects a face at least {SMALL_FACE * crop:.0f} px wide (film it closer or at a "
                       "higher resolution)")
        return out

    def state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """Everything a resumed track needs, between two frames: (JSON-able numbers, arrays)."""
        def box(b):
            return None if b is None else [int(v) for v in b]

        meta = {"box": box(self.box), "last_check": int(self.last_check),
                "checks": [[int(p), bool(good)] for p, good in self.checks],
                "realignments": [int(n) for n in self.realignments], "others": [box(b) for b in self.others],
                "switches": [[None if a is None else int(a), int(p), int(n)] for a, p, n in self.switches],
                "crowd": None if self.crowd is None else [int(self.crowd[0]), int(self.crowd[1]), box(self.crowd[2]),
                                                          self.crowd[3], [[box(b), s] for b, s in self.crowd[4]]],
                "seen": [[int(n), box(b)] for n, b in self.seen], "crowded": int(self.crowded),
                "whole": None if self.whole is None else [int(v) for v in self.whole],
                "edge": None if self.edge is None else [int(self.edge[0]), int(self.edge[1]), float(self.edge[2]),
                                                        str(self.edge[3])]}
        # in their own dtype: a matrix of another precision would warp the kept crops a little differently
        arrays = {} if self.matrix is None else {"face_matrix": np.asarray(self.matrix),
                                                  "face_points": np.asarray(self.points)}
        return meta, arrays

    @staticmethod
    def parse_state(meta: dict, arrays: dict[str, np.ndarray], landmarks: int = 68) -> dict:
        """What ``state`` gave, read back and checked: the attributes ``restore`` sets (``landmarks``: the number
        of points of the config's model, ``face.landmarks``).

        Raises:
            KeyError, TypeError, ValueError: ``meta`` or ``arrays`` are not what ``state`` writes.
        """
        def box(b) -> Box | None:
            if b is None:
                return None
            if len(b) != 4:
                raise ValueError(f"a face box has 4 sides, not {b!r}")
            return tuple(int(v) for v in b)  # type: ignore[return-value]

        crowd = meta["crowd"]
        out = {"box": box(meta["box"]), "last_check": int(meta["last_check"]),
               "checks": [(int(p), bool(good)) for p, good in meta["checks"]],
               "realignments": [int(n) for n in meta["realignments"]],
               "others": tuple(box(b) for b in meta["others"]),
               "switches": [(None if a is None else int(a), int(p), int(n)) for a, p, n in meta["switches"]],
               "crowd": None if crowd is None else _crowd_state(crowd, box),
               "seen": [(int(n), box(b)) for n, b in meta["seen"]], "matrix": None, "points": None,
               "edge": _edge_state(meta.get("edge")),  # these two are absent from a state an older mmnet kept
               "crowded": int(meta.get("crowded", 0)),
               # an older state: the first frame was seen then, and not looked at again
               "whole": None if meta.get("whole", []) is None else tuple(int(v) for v in meta.get("whole", []))}
        if "face_matrix" in arrays:
            matrix, points = arrays["face_matrix"], arrays["face_points"]
            # the 68 or 5 landmarks the regions are made from (restore), finite: checked here, where a file is damaged
            if matrix.shape != (2, 3) or points.shape != (landmarks, 2) or matrix.dtype.kind != "f" or \
                    points.dtype.kind != "f" or not (np.isfinite(matrix).all() and np.isfinite(points).all()):
                raise ValueError(f"an alignment {matrix.shape} {matrix.dtype} from landmarks {points.shape}")
            out["matrix"], out["points"] = matrix, points
        return out

    def restore(self, parsed: dict) -> None:
        """Follow the face on from where ``parse_state``'s track was (the same recording and config)."""
        for name, value in parsed.items():
            setattr(self, name, value)
        if self.points is not None:
            self.regions = regions_from_landmarks(self.points, self.shape, self.config.face.eye_margin)
