"""`mmnet spot --out DIR` stopped by a real SIGTERM from outside (a scheduler's time limit, `kill`): the process
finishes its frame, keeps its progress in DIR, exits 143 saying how to resume, and the same command run again
resumes and writes what an uninterrupted run writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmnet.spotting.partial_state import PARTIAL_NAME

from .fakes_long import write_face_recording

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM from outside")
pytest.importorskip("cv2")

# Saves after every frame and measures slowly, so that the signal lands mid-run on any machine.
SLOW_RUN = """
import sys, time
from mmnet.spotting import flow_spotter, partial_state
partial_state.SAVE_EVERY_S = 0.0
measure = flow_spotter._measure
flow_spotter._measure = lambda *args: (time.sleep(0.05), measure(*args))[1]
from mmnet.cli import main
sys.exit(main(sys.argv[1:]))
"""
RESULTS = ("intervals.csv", "spot.json", "spotting.csv")


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    """A 7 s face-crop recording (frames img1..img210.png) with one planted macro-expression."""
    return write_face_recording(tmp_path_factory.mktemp("sigterm") / "frames")


def _args(recording: Path, out: Path) -> list[str]:
    return ["spot", str(recording), "--fps", "30", "--no-align", "--no-progress", "--out", str(out)]


def _run(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=600, **kw)


def _results(out: Path) -> dict[str, str]:
    return {name: (out / name).read_text() for name in RESULTS}


@pytest.mark.slow  # three runs of the spotter in subprocesses: about 30 s
def test_sigterm_keeps_the_progress_and_the_rerun_resumes_to_the_same_result(recording, tmp_path):
    reference = tmp_path / "reference"
    done = _run("-m", "mmnet", *_args(recording, reference))
    assert done.returncode == 0, done.stderr
    assert json.loads((reference / "spot.json").read_text())["intervals"]  # something to compare

    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_RUN, *_args(recording, out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300  # a loaded machine may take long to import and start
        while not (out / PARTIAL_NAME).exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.poll() is not None:
            pytest.skip(f"the run ended (exit {proc.returncode}) before the signal could be sent")
        assert (out / PARTIAL_NAME).exists(), "no progress saved in 300 s"
        os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 143, err
    err = " ".join(err.split())
    assert "stopped (SIGTERM): nothing was written, but the spotting (" in err
    assert f"of 210 frames measured) is kept in {out / PARTIAL_NAME}; rerun the same command to resume" in err
    assert (out / PARTIAL_NAME).exists() and not (out / "spot.json").exists()

    resumed = _run("-m", "mmnet", *_args(recording, out))
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {recording}: " in resumed.stderr
    assert _results(out) == _results(reference)
    assert not (out / PARTIAL_NAME).exists()
