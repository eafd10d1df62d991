"""The CPU's model name where Linux's CPU listing does not give it (``mmnet.runtime.cpu_model_name`` reads
that listing): macOS, Windows, Linux on ARM. env.json and the calibration cache key record it, so two machines sharing a
home folder keep their calibrations apart."""

from __future__ import annotations

import platform
import subprocess
import sys


def cpu_model_without_proc() -> str:
    """macOS names the CPU through sysctl ("Apple M2"), Windows in ``platform.processor()`` ("Intel64 Family 6
    Model 158 Stepping 10, GenuineIntel"); elsewhere the architecture ("aarch64") is the best left. "" only where
    nothing says anything."""
    return _macos_brand() or platform.processor().strip() or platform.machine()


def _macos_brand() -> str:
    if sys.platform != "darwin":
        return ""
    try:
        done = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                              timeout=2, check=False)
    except (OSError, subprocess.SubprocessError):  # no sysctl, or it hung
        return ""
    return " ".join(done.stdout.split()) if done.returncode == 0 else ""
