"""Errors while writing outputs name the file the user asked for, and leave nothing behind."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
import torch

from mmnet import MMNet
from mmnet.errors import MMNetError
from mmnet.utils import atomic_write_bytes

UNWRITABLE = Path("/proc/mmnet-test-output.png")  # no file can be created in /proc, even by root
needs_proc = pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")


@needs_proc
def test_an_unwritable_target_is_named_not_its_temporary_file():
    # was "'/proc/.mmnet-test-output.png.2ae4ca83307c.tmp': No such file or directory"
    with pytest.raises(OSError) as err:
        atomic_write_bytes(UNWRITABLE, b"x")
    assert err.value.filename == str(UNWRITABLE) and err.value.strerror


def test_a_full_disk_names_the_target_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as err:
        atomic_write_bytes(tmp_path / "report.md", b"x")
    assert (err.value.errno, err.value.filename) == (errno.ENOSPC, str(tmp_path / "report.md"))
    assert list(tmp_path.iterdir()) == []


@needs_proc
def test_an_unwritable_onnx_target_is_named(tmp_path):
    pytest.importorskip("onnx")
    from mmnet.infer.export import export_onnx

    target = UNWRITABLE.with_suffix(".onnx")
    with pytest.raises(OSError) as err:  # was '/proc/mmnet-test-output.onnx.tmp'
        export_onnx(MMNet(num_classes=2, image_size=32), target)
    assert err.value.filename == str(target)


def test_a_failed_export_creates_no_folder(tmp_path, monkeypatch):
    pytest.importorskip("onnx")
    from mmnet.infer.export import export_onnx

    def fail(*args, **kwargs):
        raise RuntimeError("Exporting the operator 'aten::foo' to ONNX opset version 17 is not supported.")

    monkeypatch.setattr(torch.onnx, "export", fail)
    with pytest.raises(MMNetError):
        export_onnx(MMNet(num_classes=2, image_size=32), tmp_path / "new" / "m.onnx")
    assert not (tmp_path / "new").exists()
