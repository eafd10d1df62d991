"""The 5-point landmark model against the 68-point one: where each puts the eye centres, and the crops.

On the synthetic faces (``mmnet synth``'s clip subjects, seeds 0-7 x subjects 1-5, and the spotting demo's
recording faces, seeds 0-7 x subjects 1-6, every skin tone), both models fit landmarks in the same detector
box (the detector is the same: a face is found in the same frames by construction). Prints, over the faces:
how many were found, the distance between the two models' eye centres in frame pixels and in inter-ocular
distances, how far the 5-point alignment puts the 68-point eye centres from where the crop wants them
(crop pixels, 280 x 340), the mean absolute difference of the two crops (grey levels), and each model's eye
centres against the drawn ones (the synthetic face's own eye positions). Needs the face extra.

Usage: python benchmarks/bench_landmarks.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.preprocess_helpers

#: The photograph's frames: (rotation in degrees, shift in pixels), as bench_preprocess moves it.
MOVES = [(0.0, (0.0, 0.0)), (7.0, (20.0, 5.0)), (-12.0, (-15.0, 10.0)), (15.0, (4.0, 4.0)), (-5.0, (8.0, -12.0))]


def _photographs():
    """scikit-image's astronaut at CASME II's size (640 x 480, face about 160 px), moved by ``MOVES``."""
    from tests.preprocess_helpers import face_frame, moved

    frame = face_frame((640, 480), scale=1.8)
    for angle, shift in MOVES:
        yield f"photograph {angle:+g} deg", moved(frame, angle, shift)[0]


def _faces():
    from mmnet.synth import subject_face
    from mmnet.synth.long import LongConfig, recording_face

    demo = LongConfig(frame_size=(320, 240), face_size=(140, 170))
    for seed in range(8):
        for s in range(1, 6):
            yield f"clip seed {seed} subject {s}", subject_face(seed, s)
        for s in range(1, 7):
            yield f"recording seed {seed} subject {s}", recording_face(seed, s, demo)[0]


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    from mmnet.preprocess.face import CropGeometry, FaceAligner

    geometry = CropGeometry()
    a68, a5 = FaceAligner(geometry), FaceAligner(geometry, landmarks=5)
    for title, faces in (("synthetic faces", _faces()), ("photograph", _photographs())):
        print(title)
        _compare(faces, a68, a5, geometry)


def _compare(faces, a68, a5, geometry) -> None:
    from mmnet.preprocess.face import alignment_matrix, warp
    from mmnet.preprocess.landmarks import eye_centres

    target = np.array([[0.5 * (1 - geometry.iod) * geometry.width, geometry.eye_y * geometry.height],
                       [0.5 * (1 + geometry.iod) * geometry.width, geometry.eye_y * geometry.height]])
    frame_px, iods, crop_px, crop_diff, truth68, truth5, missed = [], [], [], [], [], [], []
    total = 0
    for name, face in faces:
        total += 1
        image = face if isinstance(face, np.ndarray) else np.clip(face.image + 0.5, 0, 255).astype(np.uint8)
        found = a68.detect(image)
        if not found or not a5.detect(image):
            missed.append(name)
            continue
        p68, p5 = a68.landmarks(image, found[0]), a5.landmarks(image, found[0])
        e68, e5 = np.array(eye_centres(p68)), np.array(eye_centres(p5))
        iod = float(np.hypot(*(e68[1] - e68[0])))
        frame_px += list(np.linalg.norm(e5 - e68, axis=1))
        iods += list(np.linalg.norm(e5 - e68, axis=1) / iod)
        m5, m68 = alignment_matrix(p5, geometry), alignment_matrix(p68, geometry)
        crop_px += list(np.linalg.norm(e68 @ m5[:, :2].T + m5[:, 2] - target, axis=1))
        crop_a, crop_b = warp(image, m68, geometry), warp(image, m5, geometry)
        crop_diff.append(float(np.abs(crop_a.astype(int) - crop_b.astype(int)).mean()))
        if not isinstance(face, np.ndarray):
            drawn = np.array([face.landmarks["eye_r"], face.landmarks["eye_l"]])  # the subject's right: image left
            truth68 += list(np.linalg.norm(e68 - drawn, axis=1))
            truth5 += list(np.linalg.norm(e5 - drawn, axis=1))

    def stats(values) -> str:
        v = np.asarray(values)
        return f"mean {v.mean():.2f}, max {v.max():.2f}"

    print(f"  faces: {total}, found by both: {total - len(missed)}" + (f" (missed: {', '.join(missed)})" if missed
                                                                     else ""))
    print(f"  eye centre, 5-point vs 68-point (frame px): {stats(frame_px)}")
    print(f"    in inter-ocular distances: {stats(iods)}")
    print(f"  68-point eye centres in the 5-point crop, from their target (crop px): {stats(crop_px)}")
    print(f"  crops, mean absolute difference (grey levels 0-255): {stats(crop_diff)}")
    if truth68:
        print(f"  eye centre vs the drawn eye (frame px): 68-point {stats(truth68)}; 5-point {stats(truth5)}")


if __name__ == "__main__":
    main()
