"""LOSO spotting F1 of the learned spotter, the flow spotter and the evenly-spaced baseline, with time and memory.

Writes (once, reused) a synthetic CAS(ME)^2-layout set with the spotting demo's pixels (320 x 240
frames, 140 x 170 px face, 30 fps; ``mmnet synth --long``), then runs
``mmnet.spotting.loso.loso_spotting`` for each method in a fresh process and prints one table
(MEGC rule, counts pooled over the LOSO folds) with each run's wall time and the child's peak RSS.
With seed 0 the first subject's recording holds the first minute of the events of the synthetic recording
the flow spotter's default p was chosen on (docs/spotting.md, "The threshold p"); p was not chosen on --seed 1.

    python benchmarks/bench_loso_spot.py [--data /tmp/mmnet-bench-loso] [--subjects 5] [--minutes 1]
        [--seed 0] [--set learned.epochs=10 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

# The child's peak is its own (bench_spot.own_peak_mib): ru_maxrss would count this process's, which wrote the set.
_CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[5])
from bench_spot import own_peak_mib
from mmnet.runtime import prepare_process
prepare_process()
from mmnet.data import load_dataset
from mmnet.spotting.config import spot_config
from mmnet.spotting.loso import loso_spotting
root, method, seed, overrides = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
start = time.perf_counter()
load = load_dataset("casme-sq", root)
load.raise_if_errors()
out = loso_spotting(load, spot_config("casme2", [f"method={method}", *overrides]), seed=seed, progress=True)
print(json.dumps({"counts": out["counts"], "baseline": out["baseline"], "time_s": out["time_s"],
                  "wall_s": time.perf_counter() - start, "folds": out["folds"],
                  "peak_rss_mib": own_peak_mib()}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/tmp/mmnet-bench-loso"))
    ap.add_argument("--subjects", type=int, default=5)
    ap.add_argument("--minutes", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--set", action="append", default=[], help="spotter overrides for the learned run")
    args = ap.parse_args()
    if (args.data / "synth.json").is_file():
        from mmnet.synth import older_generator

        if older := older_generator(json.loads((args.data / "synth.json").read_text())):
            sys.exit(f"{args.data} holds recordings {older}: delete it, or give another --data")
    else:
        from mmnet.spotting.demo import DEMO_FRAME
        from mmnet.synth.long import LongConfig
        from mmnet.synth.long_writer import write_long_dataset

        write_long_dataset(args.data, subjects=args.subjects, minutes=args.minutes, seed=args.seed,
                           config=LongConfig(**DEMO_FRAME), formats=("jpg",))
    print(f"load average before: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    rows = {}
    for method in ("learned", "flow"):
        overrides = args.set if method == "learned" else []
        here = str(Path(__file__).resolve().parent)
        done = subprocess.run([sys.executable, "-c", _CHILD, str(args.data), method, str(args.seed),
                               json.dumps(overrides), here], capture_output=True, text=True, check=False)
        sys.stderr.write(done.stderr[-3000:])
        if done.returncode:
            return done.returncode
        rows[method] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"load average after: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    print(json.dumps(rows, indent=1))
    print("| method | micro P / R / F1 | macro P / R / F1 | overall P / R / F1 | time | peak RSS |")
    print("|---|---|---|---|---|---|")
    for name, row, counts in [("learned", rows["learned"], rows["learned"]["counts"]),
                              ("flow", rows["flow"], rows["flow"]["counts"]),
                              ("baseline (learned's counts)", None, rows["learned"]["baseline"]),
                              ("baseline (flow's counts)", None, rows["flow"]["baseline"])]:
        cells = [f"{c['precision']:.2f} / {c['recall']:.2f} / **{c['f1']:.2f}** ({c['tp']} TP, {c['fp']} FP)"
                 for c in (counts["micro"], counts["macro"], counts["overall"])]
        extra = [f"{row['wall_s']:.0f} s", f"{row['peak_rss_mib']:.0f} MiB"] if row else ["-", "-"]
        print(f"| {name} | " + " | ".join(cells + extra) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
