"""bench_predict_memory's peak memory is each predict process's own, not that of the benchmark that started it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = str(Path(__file__).resolve().parents[1] / "benchmarks")

# The benchmark holds 600 MiB (as it does with torch and a model loaded) and measures a module that holds 200 MiB.
_PARENT = r"""
import sys
sys.path.insert(0, sys.argv[1])
from bench_predict_memory import peak_rss_mb
held = bytearray(600 * 2**20)
held[::4096] = b"\1" * len(held[::4096])
rss, wall, code = peak_rss_mb(["holds_200_mib", "--flag"])
print(rss, code)
"""

_CHILD = """
import sys
assert sys.argv[1:] == ["--flag"], sys.argv
data = bytearray(200 * 2**20)
data[::4096] = b"\\1" * len(data[::4096])
sys.exit(3)
"""


def test_child_peak_is_its_own_not_the_benchmarks(tmp_path) -> None:
    (tmp_path / "holds_200_mib.py").write_text(_CHILD)
    env = {**__import__("os").environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", _PARENT, BENCHMARKS], check=True, capture_output=True, text=True,
                         env=env)
    rss, code = out.stdout.split()
    assert code == "3", "the module's exit code comes back"
    assert 200 <= float(rss) < 450, f"child's peak {rss} MiB: 200 MiB of its own, the parent's 600 must not count"
