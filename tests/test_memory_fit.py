"""Training says before it starts when it is unlikely to fit in the free memory (and which batch size would), and a
rerun after a command that was killed (the out-of-memory killer, SIGKILL) says so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mmnet.cli import main
from mmnet.train import memory_fit
from mmnet.train.memory_fit import available_bytes, estimate_peak_bytes, memory_warning
from mmnet.train.run_lock import driver_lock, ended_abruptly

GB = 1e9


def test_the_estimate_follows_the_measurements_at_224_px():
    # measured: 1.80 GB at batch 8, 4.00 GB at batch 32 (fp32, CPU), with a small frame cache
    assert estimate_peak_bytes(8, 224, 0) == pytest.approx(1.8 * GB, rel=0.03)
    assert estimate_peak_bytes(32, 224, 0) == pytest.approx(4.0 * GB, rel=0.03)
    assert estimate_peak_bytes(32, 112, 0) == pytest.approx(estimate_peak_bytes(8, 224, 0))  # a quarter of the pixels
    assert estimate_peak_bytes(8, 224, 10**8) == pytest.approx(estimate_peak_bytes(8, 224, 0) + 2.4e8)


def test_a_batch_that_does_not_fit_is_warned_with_one_that_does():
    frames = 300 * 10**6
    line = memory_warning(32, 224, frames, available=int(3 * GB))
    assert line is not None and "train.batch_size=32" in line and "3.0 GB is available" in line
    need = estimate_peak_bytes(32, 224, frames)
    assert f"about {need / GB:.1f} GB" in line
    suggested = int(line.split("--set train.batch_size=")[1].split()[0])
    assert 1 <= suggested < 32 and estimate_peak_bytes(suggested, 224, frames) <= 3 * GB
    assert memory_warning(32, 224, frames, available=int(need) + 1) is None
    assert "train.batch_size=1 may not fit" in memory_warning(8, 224, frames, available=int(1 * GB))


def test_free_memory_is_read_from_meminfo_and_unknown_without_it(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:        8000000 kB\nMemFree:          100000 kB\nMemAvailable:    5000000 kB\n")
    assert available_bytes(meminfo) == 5_000_000 * 1024
    assert available_bytes(tmp_path / "absent") is None  # macOS, Windows: nothing is said


HOLD = "import sys, time; from mmnet.train.run_lock import driver_lock\n" \
       "with driver_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(float(sys.argv[2]))\n"


def _driver(out: Path, seconds: float) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out), str(seconds)], stdout=subprocess.PIPE,
                              text=True, env=env)
    assert holder.stdout.readline().strip() == "held"
    return holder


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_only_a_killed_previous_command_is_an_abrupt_end(tmp_path):
    out = tmp_path / "run"
    _driver(out, 0).wait()  # ended on its own
    with driver_lock(out):
        assert not ended_abruptly(out)
    with pytest.raises(RuntimeError), driver_lock(out):  # ended by an error: still a clean end
        raise RuntimeError("a bug")
    with driver_lock(out):
        assert not ended_abruptly(out)
    killed = _driver(out, 60)
    killed.send_signal(signal.SIGKILL)  # as the out-of-memory killer does
    killed.wait()
    with driver_lock(out):
        assert ended_abruptly(out)
    with driver_lock(out):  # said once: the rerun itself ended cleanly
        assert not ended_abruptly(out)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_train_warns_of_memory_and_names_a_killed_previous_run(tmp_path, monkeypatch, capsys, caplog):
    from mmnet import synth

    root = synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=3, seed=0)
    out = tmp_path / "run"
    killed = _driver(out, 60)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    # 32 px frames: a sample of the batch takes 1.9 MB; 4 of them and the frames do not fit 4 MB above the base
    monkeypatch.setattr(memory_fit, "available_bytes", lambda: int(memory_fit.BASE_BYTES + 4e6))
    sets = ["data.image_size=32", "train.batch_size=4", "train.device=cpu", "train.precision=fp32", "train.epochs=1",
            f"data.cache_dir={tmp_path / 'cache'}"]
    assert main(["train", "--dataset", "casme2", "--root", str(root), "--out", str(out), "--no-progress",
                 "--final-fit-only", *[x for s in sets for x in ("--set", s)]]) == 0
    err = capsys.readouterr().err
    assert "the previous run stopped abruptly (killed, or out of memory: see `dmesg`" in err
    (line,) = [r.getMessage() for r in caplog.records if "needs about" in r.getMessage()]  # one line, not per fold
    assert line.startswith("training at train.batch_size=4 and 32 px needs about") and "is available" in line
    assert int(line.split("--set train.batch_size=")[1].split()[0]) in (1, 2, 3)
