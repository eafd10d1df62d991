"""bench_spot's peak memory is each spotting process's own, not that of the process that started it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCHMARKS = str(Path(__file__).resolve().parents[1] / "benchmarks")

# A parent that has held 600 MiB (as the benchmark did while writing its video) starts a child that
# holds 200 MiB; the child reports its peak with the benchmark's own measure.
_PARENT = r"""
import subprocess, sys
held = bytearray(600 * 2**20)
held[::4096] = b"\1" * len(held[::4096])
child = '''
import sys
sys.path.insert(0, sys.argv[1])
from bench_spot import own_peak_mib
data = bytearray(200 * 2**20)
data[::4096] = b"\1" * len(data[::4096])
print(own_peak_mib())
'''
print(subprocess.run([sys.executable, "-c", child, sys.argv[1]], check=True, capture_output=True,
                     text=True).stdout.strip())
"""


def test_child_peak_is_its_own_not_its_parents() -> None:
    out = subprocess.run([sys.executable, "-c", _PARENT, BENCHMARKS], check=True, capture_output=True, text=True)
    peak = json.loads(out.stdout.strip().splitlines()[-1])
    assert 200 <= peak < 450, f"child's peak {peak:.0f} MiB: 200 MiB of its own, the parent's 600 must not count"
