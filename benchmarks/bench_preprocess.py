"""Cost of face preprocessing per 640x480 frame on one core, and alignment accuracy.

Frames are scikit-image's astronaut pasted into a 640x480 canvas with a CASME II-sized face
(about 160 px). Prints milliseconds per frame (median of --repeat runs) for JPEG decode,
detection, 68 landmarks, warp to the 280x340 crop and JPEG encode; the per-frame cost of a clip
(detection and landmarks once per clip); optical flow at 224x224; and how well a known rotation
and shift are undone. Needs the face extra.

Usage: python benchmarks/bench_preprocess.py [--repeat 30] [--clip-frames 67]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.preprocess_helpers


def _ms(fn, repeat: int) -> tuple[float, float]:
    """Median (wall, CPU) milliseconds of one call. CPU time is what the call costs on its core;
    wall time is larger when other processes share the core."""
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        cpu.append((time.process_time() - c) * 1e3)
        wall.append((time.perf_counter() - t) * 1e3)
    return statistics.median(wall), statistics.median(cpu)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--clip-frames", type=int, default=67, help="frames per clip (CASME II mean: 67)")
    args = parser.parse_args()

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    import cv2
    from PIL import Image
    from tests.preprocess_helpers import face_frame, moved

    from mmnet.media import read_rgb
    from mmnet.preprocess.face import FaceAligner
    from mmnet.preprocess.flow import FLOW_METHODS, compute_flow

    cv2.setNumThreads(1)
    frame = face_frame((640, 480), scale=1.8)
    jpeg = Path(tempfile.mkdtemp()) / "frame.jpg"
    Image.fromarray(frame).save(jpeg, format="JPEG", quality=95)

    aligner = FaceAligner()
    face = aligner.detect(frame)[0]
    alignment = aligner.estimate(frame)
    crop = alignment.apply(frame)

    def decode():
        read_rgb(jpeg)  # as preprocessing, training and inference decode frames

    def encode():
        Image.fromarray(crop).save(io.BytesIO(), format="JPEG", quality=95)

    r = args.repeat
    t = {
        "jpeg decode 640x480": _ms(decode, r),
        "detection (dlib HOG, upsample 0)": _ms(lambda: aligner.detect(frame), r),
        "68 landmarks": _ms(lambda: aligner.landmarks(frame, face), r),
        "warp to 280x340": _ms(lambda: alignment.apply(frame), r),
        "jpeg encode 280x340": _ms(encode, r),
    }
    det, lm, warp = t["detection (dlib HOG, upsample 0)"], t["68 landmarks"], t["warp to 280x340"]
    print(f"one core, OpenCV threads 1, median of {r}; load average {os.getloadavg()[0]:.2f}")
    print(f"  {'step':<40s} {'wall ms':>9s} {'CPU ms':>9s}  per 640x480 frame")
    for name, (wall, cpu) in t.items():
        print(f"  {name:<40s} {wall:9.2f} {cpu:9.2f}")
    core = [det[i] + lm[i] + warp[i] for i in (0, 1)]
    print(f"  {'detection + landmarks + warp':<40s} {core[0]:9.2f} {core[1]:9.2f}  (target <= 30)")
    per_clip = [(det[i] + lm[i]) / args.clip_frames + warp[i] for i in (0, 1)]
    io_ms = [t["jpeg decode 640x480"][i] + t["jpeg encode 280x340"][i] for i in (0, 1)]
    print(f"  {'same, aligned once per ' + str(args.clip_frames) + '-frame clip':<40s} {per_clip[0]:9.2f} "
          f"{per_clip[1]:9.2f}  (+ JPEG I/O {io_ms[0]:.2f} / {io_ms[1]:.2f})")

    onset = cv2.resize(crop, (224, 224), interpolation=cv2.INTER_AREA)
    apex = cv2.resize(moved(crop, 0.5, (0.7, -0.4))[0], (224, 224), interpolation=cv2.INTER_AREA)
    for method in FLOW_METHODS:
        if method == "tvl1" and not hasattr(cv2, "optflow"):
            continue
        wall, cpu = _ms(lambda m=method: compute_flow(onset, apex, m), max(3, r // 3))
        print(f"  {'flow ' + method + ' (224x224 pair)':<40s} {wall:9.2f} {cpu:9.2f}")

    errs_angle, errs_eye, errs_crop = [], [], []
    g = alignment.geometry
    pts = np.array([[0, 0, 1], [g.width, 0, 1], [0, g.height, 1], [g.width, g.height, 1],
                    [g.width / 2, g.eye_y * g.height, 1]], float).T
    h = lambda m: np.vstack([m, [0, 0, 1]])  # noqa: E731
    for angle in (-15, -10, -5, 0, 5, 10, 15):
        for shift in ((-20.0, 10.0), (0.0, 0.0), (15.0, -12.0)):
            moved_frame, m = moved(frame, angle, shift)
            got = aligner.estimate(moved_frame)
            errs_angle.append(abs(got.angle_deg - alignment.angle_deg + angle))
            back = h(alignment.matrix) @ np.linalg.inv(h(m)) @ np.linalg.inv(h(got.matrix)) @ pts
            err = np.linalg.norm(back[:2] - pts[:2], axis=0)
            errs_eye.append(err[-1])
            errs_crop.append(err.max())
    jpeg.unlink()
    jpeg.parent.rmdir()
    print(f"alignment over {len(errs_angle)} known rotations (-15..15 deg) and shifts (up to 20 px), 280x340 crop:")
    print(f"  rotation error  max {max(errs_angle):.3f} deg, median {statistics.median(errs_angle):.3f}")
    print(f"  eye centre      max {max(errs_eye):.2f} px,  median {statistics.median(errs_eye):.2f}")
    print(f"  worst corner    max {max(errs_crop):.2f} px,  median {statistics.median(errs_crop):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
