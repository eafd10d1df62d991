"""Peak memory of ``mmnet predict`` on videos of growing length: it streams, so it should stay flat.

Writes synthetic 640x480 videos (a moving bright patch on grey, PyAV/libx264) of 10 s, 1 min and
5 min at 25 fps, and a random checkpoint, then runs ``mmnet predict --checkpoint CKPT VIDEO --json``
once per video in a fresh subprocess (apex spotted: the whole video is read once, then the onset
and apex frames again) and prints the child's peak resident set size (its own ``VmHWM``, read by the
child as it ends: ``ru_maxrss`` would count this process's peak too, see ``peak_rss_mb``) and its
wall time.

    python benchmarks/bench_predict_memory.py [--seconds 10 60 300] [--fps 25] [--keep DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_video(path: Path, seconds: float, fps: int, size: tuple[int, int] = (640, 480)) -> Path:
    import av

    w, h = size
    n = int(seconds * fps)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "28"}
        base = np.full((h, w, 3), 90, np.uint8)
        for i in range(n):
            img = base.copy()
            x = (i * 4) % (w - 80)
            img[200:280, x : x + 80] = 60 + (i % 50) * 3  # a patch that moves and brightens
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


# Runs a module as ``python -m`` would, then reports this process's own peak memory (bench_spot.own_peak_mib) on
# stderr's last line. ``ru_maxrss`` (from os.wait4) will not do on Linux: a child's counts the peak of the process
# that started it (with vfork, this benchmark's own, which holds torch and a model).
_MEASURED = """
import runpy, sys
sys.path.insert(0, sys.argv[1])
from bench_spot import own_peak_mib
sys.argv = sys.argv[2:]
code = 0
try:
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
sys.stderr.write(f"\\npeak-kib {round(own_peak_mib() * 1024)}\\n")
sys.exit(code)
"""


def peak_rss_mb(module_argv: list[str]) -> tuple[float, float, int]:
    """(peak RSS in MiB, wall seconds, exit code) of ``python -m MODULE ARGS...`` in a child process, its own."""
    t0 = time.perf_counter()
    here = str(Path(__file__).resolve().parent)
    proc = subprocess.run([sys.executable, "-c", _MEASURED, here, *module_argv], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, errors="replace")
    lines = proc.stderr.rstrip().splitlines()
    if proc.returncode:
        print("\n".join(lines[:-1]), file=sys.stderr)
    kib = int(lines[-1].split()[1]) if lines and lines[-1].startswith("peak-kib ") else float("nan")
    return kib / 1024, time.perf_counter() - t0, proc.returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, nargs="+", default=[10, 60, 300])
    ap.add_argument("--fps", type=int, default=25)
    ap.add_argument("--keep", type=Path, default=None, help="write the videos here (default: a temporary folder)")
    args = ap.parse_args()

    from mmnet import MMNet
    from mmnet.model import CheckpointInfo

    work = args.keep or Path(tempfile.mkdtemp(prefix="mmnet-mem-"))
    work.mkdir(parents=True, exist_ok=True)
    ckpt = MMNet(num_classes=3).eval().save_pretrained(work / "ckpt", CheckpointInfo(["a", "b", "c"]))
    print(f"cpu: {_cpu_name()}; predict --json, apex spotted, one fresh process per video")
    print(f"{'video':>14}  {'frames':>6}  {'size MB':>7}  {'peak RSS MiB':>12}  {'seconds':>7}")
    for seconds in args.seconds:
        video = work / f"video-{int(seconds)}s.mp4"
        if not video.exists():
            write_video(video, seconds, args.fps)
        rss, wall, code = peak_rss_mb(["mmnet.cli", "predict", "--checkpoint", str(ckpt),
                                       str(video), "--json"])
        status = "" if code == 0 else f"  (exit {code})"
        print(f"{f'{seconds:g} s 640x480':>14}  {int(seconds * args.fps):>6}  {video.stat().st_size / 1e6:>7.1f}  "
              f"{rss:>12.0f}  {wall:>7.1f}{status}")


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    main()
