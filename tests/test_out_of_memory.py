"""Memory that runs out is the user's to fix (a smaller batch, other programs closed): one line and exit 3."""

from __future__ import annotations

import pytest

import mmnet.commands.predict as predict_command
import mmnet.commands.train as train_command
from mmnet.cli import main

CPU = ("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: you tried to allocate "
       "3221225472 bytes. Error code 12 (Cannot allocate memory)")
CUDA = "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 7.79 GiB of which 1.2 GiB is free"


def _failing(exc):
    def run(args):
        raise exc
    return run


@pytest.mark.parametrize("exc, where, size", [
    (RuntimeError(CPU), "this computer ran out of memory", "3.00 GiB"),
    (RuntimeError(CUDA), "the GPU ran out of memory", "2.00 GiB"),
    (MemoryError(), "this computer ran out of memory", ""),
])
def test_training_out_of_memory_is_one_line_that_names_a_smaller_batch(tmp_path, monkeypatch, capsys, exc, where,
                                                                       size):
    monkeypatch.setattr(train_command, "run", _failing(exc))
    code = main(["train", "--root", str(tmp_path / "d"), "--out", str(tmp_path / "r"), "--final-fit-only"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert err.startswith(f"error: {where}") and err.count("\n") == 1 and "Traceback" not in err
    assert size in err and "train.batch_size" in err and "close other programs" in err
    assert "kept" in err and "rerun the same command" in err


def test_predict_out_of_memory_names_its_own_batch_option(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(predict_command, "run", _failing(RuntimeError(CPU)))
    assert main(["predict", "--checkpoint", str(tmp_path / "m.pt"), str(tmp_path / "clip.mp4")]) == 3
    err = capsys.readouterr().err
    assert "--batch-size" in err and "train.batch_size" not in err


def test_another_runtime_error_is_still_a_bug_with_its_traceback(tmp_path, monkeypatch):
    monkeypatch.setattr(train_command, "run", _failing(RuntimeError("shape mismatch")))
    with pytest.raises(RuntimeError, match="shape mismatch"):
        main(["train", "--root", str(tmp_path / "d"), "--out", str(tmp_path / "r")])
