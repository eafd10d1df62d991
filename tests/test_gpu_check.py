"""benchmarks/gpu_check.py: the quick CPU mode runs every section and writes the documented report;
one section's failure is recorded without losing the others."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
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
    assert loso["extrapolated_74_epochs_upper_s"] >= loso["extrapolated_74_epochs_s"]
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

    monkeypatch.setattr(gpu_check, "run_child_process", lambda cmd, env, timeout: None)  # stopped at its timeout
    args = argparse.Namespace(out=tmp_path, work=tmp_path, device="cuda", quick=False, ray_cpu=False)
    limit = gpu_check.CHILD["loso"]
    assert gpu_check._child("loso", args, timeout=limit - 100)["status"].startswith("skipped: stopped after")
    assert gpu_check._child("loso", args, timeout=limit)["status"].startswith("failed: no result within")


def test_a_child_stopped_at_its_timeout_takes_its_own_children_with_it(gpu_check, tmp_path):
    # Ray's workers and the inductor's compile workers are the child's children: a timeout must stop them too
    pid_file = tmp_path / "grandchild.pid"
    code = ("import subprocess, sys, time; "
            "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); "
            f"open({str(pid_file)!r}, 'w').write(str(p.pid)); time.sleep(120)")
    assert gpu_check.run_child_process([sys.executable, "-c", code], dict(os.environ), timeout=5) is None
    grandchild = int(pid_file.read_text())
    for _ in range(50):
        try:
            state = Path(f"/proc/{grandchild}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            break
        if state == "Z":  # killed, not yet reaped by its new parent
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the child's own child {grandchild} outlived the timeout")


def test_without_cuda_the_full_check_refuses_instead_of_checking_the_cpu(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, str(BENCH / "gpu_check.py"), "--out", str(tmp_path / "check")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "the GPU check needs CUDA" in proc.stderr and "--quick" in proc.stderr and "--device cpu" in proc.stderr
    assert not (tmp_path / "check" / "gpu-check.json").exists()


def _run_main(gpu_check, monkeypatch, *argv):
    monkeypatch.setenv("MMNET_ALLOCATOR_REEXEC", "1")  # no restart on mimalloc inside pytest
    monkeypatch.setattr(sys, "argv", ["gpu_check.py", *argv])
    return gpu_check.main()


def test_ray_not_installed_is_skipped_without_a_child_or_its_share_of_the_budget(gpu_check, tmp_path, monkeypatch):
    real = gpu_check.importlib.util.find_spec
    monkeypatch.setattr(gpu_check.importlib.util, "find_spec",
                        lambda name, *a: None if name == "ray" else real(name, *a))

    def no_child(*args, **kwargs):
        raise AssertionError("a child process was started for a section that cannot run")

    monkeypatch.setattr(gpu_check, "_child", no_child)
    out = tmp_path / "check"
    assert _run_main(gpu_check, monkeypatch, "--quick", "--device", "cpu", "--sections", "ray", "--out", str(out)) == 0
    ray = json.loads((out / "gpu-check.json").read_text())["sections"]["ray"]
    assert ray == {"status": "skipped: ray is not installed (pip install -e '.[ray]' in the mmnet checkout)",
                   "seconds": 0.0}


def test_the_budget_counts_from_the_scripts_start(gpu_check, tmp_path, monkeypatch):
    # the torch import and the set-up before the first section are part of the 8 minutes
    monkeypatch.setattr(gpu_check, "STARTED", time.perf_counter() - 100)
    out = tmp_path / "check"
    assert _run_main(gpu_check, monkeypatch, "--quick", "--device", "cpu", "--sections", "env", "--budget", "100",
                     "--out", str(out)) == 0
    report = json.loads((out / "gpu-check.json").read_text())
    assert report["sections"]["env"]["status"].startswith("skipped: time budget")
    assert report["total_s"] >= 100


def test_resume_accepts_a_tiny_difference_even_when_the_repeat_happened_to_match(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import gpu_check_sections as sec

    assert sec.resume_close_enough(0.0, 0.0)
    assert sec.resume_close_enough(3e-7, 0.0)  # atomic adds moved the step once, not on the repeat
    assert sec.resume_close_enough(5e-4, 1e-4)
    assert not sec.resume_close_enough(1e-3, 0.0)
    assert not sec.resume_close_enough(1e-2, 1e-4)


def test_markdown_names_folds_run_tf32_and_each_rows_reserved_memory(gpu_check, tmp_path):
    loso = {"status": "ok", "folds": 26, "folds_run": 9, "epochs_run": 3, "clips": 260, "image": 224, "folds_s": 80.0,
            "prepare_s": 5.0, "extrapolated_74_epochs_s": 300.0, "extrapolated_74_epochs_upper_s": 340.0}
    rows = [{"batch": 32, "precision": "bf16", "train_img_s": 900.0, "eval_img_s": 3000.0, "peak_gpu_gib": 3.0,
             "peak_reserved_gib": 4.5},
            {"batch": 32, "precision": "fp32", "train_img_s": 500.0, "eval_img_s": 1500.0, "peak_gpu_gib": 5.0,
             "peak_reserved_gib": 6.25, "tf32_convolutions": True, "tf32_matmul": False}]
    throughput = {"status": "ok", "image": 224, "precision": "bf16", "memory_format": "channels_last", "rows": rows,
                  "best_train_img_s": 900.0, "best_batch": 32, "best_eval_img_s": 3000.0, "peak_gpu_gib": 5.0,
                  "peak_reserved_gib": 6.25}
    md = gpu_check.write_outputs({"device": "cuda", "mode": "full", "sections": {"throughput": throughput,
                                                                                 "loso": loso}}, tmp_path)
    assert "9 of 26 folds x 3 epochs" in md and "at most 340 s" in md
    assert "| 32 | fp32 (TF32 convolutions) | 500.0 |" in md and "| 32 | bf16 | 900.0 |" in md
    assert "| 4.5 |" in md and "| 6.25 |" in md and "6.25 GiB reserved" in md
