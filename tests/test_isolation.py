"""The tests do not pass process-wide state on to the tests after them (conftest's _process_state_not_passed_on):
the first test leaves it as a test that forgets to clean up would, the second, run after it, finds it as before."""

from __future__ import annotations

import os

import pytest
import torch

from mmnet import runtime
from mmnet.train import calibrate as cal_mod

_BEFORE: dict = {}


def _process_state() -> dict:
    return {**{name: os.environ.get(name) for name in ("THP_MEM_ALLOC_ENABLE", "MPLCONFIGDIR")},
            "failed calibrations": dict(cal_mod._FAILED), "numerics": runtime.cpu_numerics_state(),
            "cudnn.benchmark": torch.backends.cudnn.benchmark}


def test_a_test_leaves_a_failed_calibration_numerics_and_the_commands_variables_behind(monkeypatch, tmp_path):
    from mmnet.config import TrainConfig
    from mmnet.user_folders import use_writable_matplotlib_folder

    _BEFORE.update(_process_state())
    monkeypatch.setenv("MMNET_CALIBRATE", "1")
    monkeypatch.setenv("MMNET_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cal_mod, "calibrate", lambda size: (_ for _ in ()).throw(RuntimeError("no timer here")))
    plan = cal_mod.plan_training(TrainConfig(device="cpu"), 64)
    assert "calibration failed" in plan.basis and cal_mod._FAILED  # remembered for the rest of the process
    (tmp_path / "file").write_text("a file where matplotlib's folders would be")
    monkeypatch.setattr("mmnet.user_folders._matplotlib_folders", lambda environ: [tmp_path / "file" / "mpl"])
    runtime.enable_huge_pages()  # what a command does for its process (os.environ itself, not the test's monkeypatch)
    use_writable_matplotlib_folder()
    runtime.configure_cpu_numerics()  # what training does
    torch.backends.cudnn.benchmark = True
    assert os.environ["THP_MEM_ALLOC_ENABLE"] and os.environ["MPLCONFIGDIR"] and runtime.cpu_numerics_state()[0]


def test_the_next_test_finds_the_process_as_it_was():
    if not _BEFORE:
        pytest.skip("runs after the test above (selected alone: nothing to compare)")
    assert _process_state() == _BEFORE
