"""The CPU's model name that env.json and the calibration cache key record, on systems without /proc/cpuinfo
(macOS, Windows) or without its "model name" line (Linux on ARM): it was "" on every Mac and PC, so two of them
sharing a home folder shared one calibration."""

import subprocess
import sys

import pytest

import mmnet.cpu_model
import mmnet.runtime
from mmnet.runtime import cpu_model_name, machine_fingerprint


@pytest.fixture
def cpuinfo(tmp_path, monkeypatch):
    """Point cpu_model_name at a stand-in /proc/cpuinfo: ``write(text)``, or none at all (the default)."""
    fake = tmp_path / "cpuinfo"
    monkeypatch.setattr(mmnet.runtime, "Path", lambda _: fake)
    return fake.write_text


def _system(monkeypatch, platform_name, processor="", machine="", sysctl=None):
    monkeypatch.setattr(sys, "platform", platform_name)
    monkeypatch.setattr(mmnet.cpu_model.platform, "processor", lambda: processor)
    monkeypatch.setattr(mmnet.cpu_model.platform, "machine", lambda: machine)
    calls = []

    def run(argv, **kwargs):
        calls.append((argv, kwargs.get("timeout")))
        if isinstance(sysctl, Exception):
            raise sysctl
        return subprocess.CompletedProcess(argv, 0 if sysctl else 1, stdout=sysctl or "", stderr="")

    monkeypatch.setattr(mmnet.cpu_model.subprocess, "run", run)
    return calls


def test_linux_reads_the_model_name_line(cpuinfo, monkeypatch):
    cpuinfo("processor\t: 0\nmodel name\t: Intel(R) Xeon(R)   Platinum 8480+\nflags\t\t: fpu avx\n")
    calls = _system(monkeypatch, "linux", processor="x86_64", machine="x86_64")
    assert cpu_model_name() == "Intel(R) Xeon(R) Platinum 8480+" and calls == []


def test_macos_asks_sysctl_briefly(cpuinfo, monkeypatch):
    calls = _system(monkeypatch, "darwin", processor="arm", machine="arm64", sysctl="Apple M2 Pro\n")
    assert cpu_model_name() == "Apple M2 Pro"
    assert calls == [(["sysctl", "-n", "machdep.cpu.brand_string"], 2)]
    assert machine_fingerprint()["cpu_model"] == "Apple M2 Pro"  # the calibration cache key


@pytest.mark.parametrize("failure", [FileNotFoundError("sysctl"), subprocess.TimeoutExpired("sysctl", 2), None])
def test_macos_without_an_answer_from_sysctl_falls_back_to_the_processor(cpuinfo, monkeypatch, failure):
    _system(monkeypatch, "darwin", processor="i386", machine="x86_64", sysctl=failure)
    assert cpu_model_name() == "i386"


def test_windows_names_the_processor(cpuinfo, monkeypatch):
    name = "Intel64 Family 6 Model 158 Stepping 10, GenuineIntel"
    calls = _system(monkeypatch, "win32", processor=name, machine="AMD64")
    assert cpu_model_name() == name and calls == []


def test_linux_on_arm_without_a_model_name_line_gives_the_architecture(cpuinfo, monkeypatch):
    cpuinfo("processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\n")
    _system(monkeypatch, "linux", processor="", machine="aarch64")
    assert cpu_model_name() == "aarch64"
