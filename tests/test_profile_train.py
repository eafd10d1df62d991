"""benchmarks/profile_train.py: its quick mode runs a real training step through torch's profiler and
oneDNN's verbose log and reports what the docs read (kinds of work, each convolution's kernel and GFLOP/s)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_quick_profile_reports_kinds_kernels_and_convolution_rates(tmp_path):
    out = tmp_path / "profile.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "profile_train.py"), "--quick", "--precision",
                           "fp32", "--json", str(out)], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["machine"]["torch_threads"] >= 1
    assert report["peaks"]["matmul_fp32_gflops"] > 0 and report["peaks"]["bandwidth_inplace_add_gb_s"] > 0
    (run,) = report["runs"]
    assert run["precision"] == "fp32" and run["train_img_s"] > 0
    assert len(run["warm_up"]) == 1 and set(run["warm_up"][0]) == {"s", "system_s", "page_faults"}
    assert run["kinds_ms"]["convolution"] > 0 and run["kinds_ms"]["matrix products (linear, attention)"] > 0
    # the time split adds up to the profiled step (the remainder is its own row)
    assert sum(run["kinds_ms"].values()) == pytest.approx(run["wall_ms"], rel=0.02)
    convs = [r for r in run["primitives"] if r["kind"] == "convolution"]
    # the main branch's first convolution (180 -> 128 channels, 3x3): all three passes, rates from its shape
    stem = {r["pass"]: r for r in convs if "ic180oc128" in r["shape"]}
    assert set(stem) == {"forward_training", "backward_data", "backward_weights"}, sorted(stem)
    for row in stem.values():
        assert row["kernel"] and row["ms"] > 0 and row["gflops"] > 0
    # the motion stem's input is the data: no backward-data pass is run for it
    assert not [r for r in convs if "ic3oc180" in r["shape"] and r["pass"] == "backward_data"]
    assert "## fp32" in proc.stdout and "| primitive | pass | kernel |" in proc.stdout
    # the layout check ran on a real step and says what it found
    assert run["mixed_layouts"]["calls"] >= 0 and "memory layouts: " in proc.stdout
