"""benchmarks/gpu_check.py: the quick CPU mode runs every section and writes the documented report;
one section's failure is recorded without losing the others."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
STATUS = re.compile(r"^(ok|skipped: .+|failed: .+)$")


@pytest.fixture
def gpu_check(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import gpu_check

    return gpu_check


def test_a_failing_section_is_recorded_and_the_others_still_run(gpu_check, tmp_path):
    class Skip(Exception):
        pass

    class Failed(Exception):
        def __init__(self, message, figures):
            super().__init__(message)
            self.figures = figures

    def boom():
        raise RuntimeError("CUDA error: an illegal memory access")

    def checked():
        raise Failed("logits differ", {"max_abs": 0.5})

    def skipped():
        raise Skip("needs CUDA")

    got = {name: gpu_check.run_section(fn, Skip, Failed) for name, fn in
           [("a", boom), ("b", checked), ("c", skipped), ("d", lambda: {"img_s": 12.5})]}
    assert got["a"]["status"] == "failed: RuntimeError: CUDA error: an illegal memory access"
    assert "Traceback" in got["a"]["traceback"]
    assert got["b"]["status"] == "failed: logits differ" and got["b"]["max_abs"] == 0.5
    assert got["c"]["status"] == "skipped: needs CUDA"
    assert got["d"]["status"] == "ok" and got["d"]["img_s"] == 12.5
    report = {"device": "cpu", "mode": "quick", "sections": {"parity": got["b"], "throughput": got["a"]}}
    md = gpu_check.write_outputs(report, tmp_path)
    saved = json.loads((tmp_path / "gpu-check.json").read_text())
    assert saved["sections"]["parity"]["status"] == "failed: logits differ"
    assert "| parity | failed: logits differ |" in md and "| throughput | failed: RuntimeError" in md


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_quick_cpu_mode_writes_every_section(tmp_path):
    out = tmp_path / "check"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, str(BENCH / "gpu_check.py"), "--quick", "--device", "cpu", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "gpu-check.json").read_text())
    assert report["schema"] == 1 and report["mode"] == "quick" and report["device"] == "cpu"
    assert set(report["goals"]) >= {"train_img_s", "loso_74_epochs_s"}
    sections = report["sections"]
    assert list(sections) == ["env", "parity", "train_resume", "data_path", "throughput", "loso", "ray", "compile"]
    for name, s in sections.items():
        assert STATUS.match(s["status"]), (name, s["status"])
        assert isinstance(s["seconds"], float)
    for name in ("env", "parity", "train_resume", "data_path", "throughput", "loso"):
        assert sections[name]["status"] == "ok", (name, sections[name])
    assert sections["ray"]["status"].startswith("skipped: ")
    assert sections["compile"]["status"].startswith("skipped: --quick")
    assert sections["parity"]["cuda_vs_cpu_fp32"].startswith("skipped: needs CUDA")
    assert sections["train_resume"]["identical"] is True
    assert sections["data_path"]["batch"] == "cpu" and sections["data_path"]["host_syncs"].startswith("skipped")
    assert [r["batch"] for r in sections["throughput"]["rows"]][:2] == [2, 4]
    assert all(r["train_img_s"] > 0 and r["eval_img_s"] > 0 for r in sections["throughput"]["rows"])
    loso = sections["loso"]
    assert loso["folds"] == 4 and loso["epochs_run"] == 2
    assert loso["extrapolated_74_epochs_s"] > loso["folds_s"]
    md = (out / "gpu-check.md").read_text()
    assert md in proc.stdout  # the table is printed too
    rows = [line for line in md.splitlines() if line.startswith("| ") and not line.startswith("| section")]
    names = [r.split("|")[1].strip() for r in rows if r.split("|")[1].strip() in sections]
    assert names == list(sections)
    assert "| section | status | result | goal |" in md and "| ray | skipped: " in md


def test_compile_section_fails_on_non_finite_compiled_training(monkeypatch, tmp_path):
    # The compile section's code runs on CUDA only; here on the CPU with torch.compile stubbed out (an
    # identity, then one that poisons a parameter as a miscompiled backward would).
    import torch

    monkeypatch.syspath_prepend(str(BENCH))
    import gpu_check_runs as runs
    import gpu_check_sections as sec

    monkeypatch.setattr(runs, "need_cuda", lambda device: None)
    monkeypatch.setattr(runs, "check_compile", lambda device: None)
    monkeypatch.setattr(torch, "compile", lambda model, **kw: model)
    import dataclasses

    tiny = dataclasses.replace(sec.QUICK, image=16, steps=1, warmup=1, pool=4, compile_batch=2)
    res = runs.section_compile(torch.device("cpu"), tiny, tmp_path)
    assert res["params_finite"] is True and res["train_speedup"] > 0

    def poisoned(model, **kw):
        with torch.no_grad():
            next(model.parameters()).fill_(float("nan"))
        return model

    monkeypatch.setattr(torch, "compile", poisoned)
    with pytest.raises(sec.Failed, match="not finite"):
        runs.section_compile(torch.device("cpu"), tiny, tmp_path)


def test_ray_section_skips_a_numbered_cuda_device(monkeypatch, tmp_path):
    # run_ray refuses train.device=cuda:N (Ray assigns the GPU): the section says so instead of failing
    import torch

    pytest.importorskip("ray")
    monkeypatch.syspath_prepend(str(BENCH))
    import gpu_check_runs as runs
    import gpu_check_sections as sec

    with pytest.raises(sec.Skip, match="CUDA_VISIBLE_DEVICES=1"):
        runs.section_ray(torch.device("cuda:1"), sec.QUICK, tmp_path)


def test_a_child_stopped_by_the_budget_is_skipped_and_one_past_its_own_limit_failed(gpu_check, tmp_path,
                                                                                  monkeypatch):
    import argparse

    def hang(*args, timeout, **kwargs):
        raise subprocess.TimeoutExpired(args[0], timeout)

    monkeypatch.setattr(gpu_check.subprocess, "run", hang)
    args = argparse.Namespace(out=tmp_path, work=tmp_path, device="cuda", quick=False, ray_cpu=False)
    limit = gpu_check.CHILD["loso"]
    assert gpu_check._child("loso", args, timeout=limit - 100)["status"].startswith("skipped: stopped after")
    assert gpu_check._child("loso", args, timeout=limit)["status"].startswith("failed: no result within")
