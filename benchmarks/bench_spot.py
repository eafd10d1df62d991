"""Throughput, CPU time and peak memory of the long-video spotter (``mmnet spot``) on a synthetic video.

The video (H.264 .mp4, default 640 x 480 at 30 fps, ``--size`` and ``--fps`` for others; the face about
280 x 340 px) is written once with ``mmnet synth --long`` machinery and reused (``--video``). Each length
(default 1, 5 and 10 minutes) is spotted
in a fresh process that reads the first N frames of that video, end to end as ``mmnet spot``
does: decoding (PyAV), face detection and alignment (dlib; one check per second), DIS flow at
both strides, region scores, then intervals. Reported: frames, wall seconds, frames per second,
CPU seconds (user + system, all threads: the frames are decoded on a second thread) per minute of
video, the child's own peak RSS (``VmHWM``: not ``ru_maxrss``, which on Linux also counts what the
process that started it held) and whether it imported torch (the flow spotter needs none). The video
is written in a process of its own, so the encoder's memory reaches none of the measured ones. The
1-minute load average is printed before and after: on a shared machine the figures are lower bounds
of what it can do.

    python benchmarks/bench_spot.py [--minutes 1 5 10] [--size 640x480] [--fps 30]
                                    [--video /tmp/mmnet-bench-spot/spot-bench-640x480-30.mp4]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
_CHILD = r"""
import itertools, json, resource, sys, time
sys.path.insert(0, sys.argv[3])
from bench_spot import own_peak_mib
from mmnet.runtime import prepare_process
prepare_process()
from mmnet.spotting.config import spot_config
from mmnet.spotting.flow_spotter import extract_motion, open_recording
from mmnet.spotting.peaks import spot_intervals
video, n = sys.argv[1], int(sys.argv[2])
start = time.perf_counter()
config = spot_config("casme2")
frames, fps, _ = open_recording(video)
curves = extract_motion(itertools.islice(frames, n), fps, config, source=video)
intervals, _ = spot_intervals(curves, config)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu = usage.ru_utime + usage.ru_stime  # the whole process, start-up (imports) included
print(json.dumps({"frames": len(curves.numbers), "wall_s": wall, "fps": len(curves.numbers) / wall,
                  "cpu_s_per_video_min": cpu / (len(curves.numbers) / fps / 60),
                  "peak_rss_mib": own_peak_mib(), "torch": "torch" in sys.modules,
                  "intervals": len(intervals)}))
"""

_WRITER = r"""
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from bench_spot import make_video
make_video(Path(sys.argv[2]), float(sys.argv[3]), (int(sys.argv[4]), int(sys.argv[5])), float(sys.argv[6]))
"""


def own_peak_mib() -> float:
    """This process's peak resident memory in MiB, since it started its program.

    ``ru_maxrss`` will not do on Linux: a child's counts the peak of the process that started it (the
    address space it had before exec, the parent's own with vfork), so a benchmark that had written
    a video reported its own peak for every child. ``VmHWM`` is the high-water mark of this address
    space alone; ``ru_maxrss`` is the fallback where /proc is missing.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_video(path: Path, minutes: float, size: tuple[int, int] = (640, 480), fps: float = 30.0) -> None:
    from mmnet.synth.long import LongConfig, plan_recording, render_frames
    from mmnet.synth.long_writer import write_video

    face = LongConfig.face_size
    scale = min(1.0, size[0] / face[0], size[1] / face[1])  # a frame smaller than the face: the face shrunk to fit
    config = LongConfig(fps=fps, frame_size=size, face_size=(int(face[0] * scale), int(face[1] * scale)))
    n = int(round(minutes * 60 * config.fps))
    rec = plan_recording(0, 1, 1, n, config)
    start = time.perf_counter()
    write_video(path, render_frames(0, 1, 1, rec, config), config.fps)
    print(f"wrote {path} ({n} frames) in {time.perf_counter() - start:.0f} s", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, nargs="+", default=[1, 5, 10])
    ap.add_argument("--size", default="640x480",
                    help="frame size WIDTHxHEIGHT of a video written (default %(default)s)")
    ap.add_argument("--fps", type=float, default=30.0, help="frame rate of a video written (default %(default)s)")
    ap.add_argument("--video", type=Path, default=None,
                    help="the video to spot; written first if missing (default /tmp/mmnet-bench-spot/spot-bench-"
                         "WxH-FPS.mp4)")
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    video = args.video or Path(f"/tmp/mmnet-bench-spot/spot-bench-{size[0]}x{size[1]}-{args.fps:g}.mp4")
    if not video.is_file():
        video.parent.mkdir(parents=True, exist_ok=True)
        # in a process of its own: this one stays small, whatever encoding the video costs
        subprocess.run([sys.executable, "-c", _WRITER, _HERE, str(video), str(max(args.minutes)), str(size[0]),
                        str(size[1]), str(args.fps)], check=True)
    from mmnet.media import video_header

    rate = video_header(video)[0] or args.fps
    print(f"{video}: {rate:g} fps; CPU: {_cpu_name()}", flush=True)
    print(f"load average (1 min) before: {os.getloadavg()[0]:.2f}; CPUs: {os.cpu_count()}", flush=True)
    rows = []
    for minutes in args.minutes:
        n = int(round(minutes * 60 * rate))
        out = subprocess.run([sys.executable, "-c", _CHILD, str(video), str(n), _HERE], check=True,
                             capture_output=True, text=True)
        row = {"minutes": minutes, **json.loads(out.stdout.strip().splitlines()[-1])}
        rows.append(row)
        print(f"{minutes:>5g} min  {row['frames']:>6} frames  {row['wall_s']:7.1f} s  {row['fps']:6.1f} frames/s  "
              f"{row['cpu_s_per_video_min']:5.1f} CPU s per video minute  peak RSS {row['peak_rss_mib']:6.0f} MiB  "
              f"torch {'imported' if row['torch'] else 'not imported'}  {row['intervals']} intervals", flush=True)
    print(f"load average (1 min) after: {os.getloadavg()[0]:.2f}")
    print(json.dumps(rows))
    return 0


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "unknown")
    except OSError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
