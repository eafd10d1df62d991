"""Throughput and peak memory of the long-video spotter (``mmnet spot``) on a synthetic 640x480 video.

The video (H.264 .mp4, 30 fps, the face about 280 x 340 px) is written once with ``mmnet synth
--long`` machinery and reused (``--video``). Each length (default 1, 5 and 10 minutes) is spotted
in a fresh process that reads the first N frames of that video, end to end as ``mmnet spot``
does: decoding (PyAV), face detection and alignment (dlib; one check per second), DIS flow at
both strides, region scores, then intervals. Reported: frames, wall seconds, frames per second,
and the child's peak RSS (``ru_maxrss``). The 1-minute load average is printed before and after:
on a shared machine the figures are lower bounds of what it can do.

    python benchmarks/bench_spot.py [--minutes 1 5 10] [--video /tmp/mmnet-bench-spot/10min.mp4]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

_CHILD = r"""
import itertools, json, resource, sys, time
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
print(json.dumps({"frames": len(curves.numbers), "wall_s": wall, "fps": len(curves.numbers) / wall,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "intervals": len(intervals)}))
"""


def make_video(path: Path, minutes: float) -> None:
    from mmnet.synth.long import LongConfig, plan_recording, render_frames
    from mmnet.synth.long_writer import write_video

    config = LongConfig()
    n = int(round(minutes * 60 * config.fps))
    rec = plan_recording(0, 1, 1, n, config)
    start = time.perf_counter()
    write_video(path, render_frames(0, 1, 1, rec, config), config.fps)
    print(f"wrote {path} ({n} frames) in {time.perf_counter() - start:.0f} s", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, nargs="+", default=[1, 5, 10])
    ap.add_argument("--video", type=Path, default=Path("/tmp/mmnet-bench-spot/spot-bench.mp4"))
    args = ap.parse_args()
    if not args.video.is_file():
        args.video.parent.mkdir(parents=True, exist_ok=True)
        make_video(args.video, max(args.minutes))
    print(f"load average (1 min) before: {os.getloadavg()[0]:.2f}; CPUs: {os.cpu_count()}", flush=True)
    rows = []
    for minutes in args.minutes:
        n = int(round(minutes * 60 * 30))
        out = subprocess.run([sys.executable, "-c", _CHILD, str(args.video), str(n)], check=True,
                             capture_output=True, text=True)
        row = {"minutes": minutes, **json.loads(out.stdout.strip().splitlines()[-1])}
        rows.append(row)
        print(f"{minutes:>5g} min  {row['frames']:>6} frames  {row['wall_s']:7.1f} s  {row['fps']:6.1f} frames/s  "
              f"peak RSS {row['peak_rss_mib']:6.0f} MiB  {row['intervals']} intervals", flush=True)
    print(f"load average (1 min) after: {os.getloadavg()[0]:.2f}")
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
