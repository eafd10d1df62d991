"""Inputs a user gets wrong, found by trying them on the command line: each is one named `error:` line."""

from __future__ import annotations

import numpy as np
import pytest

from .helpers import assert_named_error, cli, small_checkpoint


def _pair(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png"):
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(tmp_path / name)
    return tmp_path / "a.png", tmp_path / "b.png"


@pytest.mark.parametrize("device, needle", [("bogus", "is not a device"), ("mps", "cpu or cuda"),
                                            ("cuda:99", "cuda:99")])
def test_a_device_this_machine_lacks_is_named_before_any_work(tmp_path, capsys, device, needle):
    ckpt = small_checkpoint(tmp_path / "ckpt")
    code, _, err = cli(capsys, "predict", "--checkpoint", ckpt, *_pair(tmp_path), "--device", device)
    assert_named_error(code, err, device, needle)
    code, _, err = cli(capsys, "spot", tmp_path / "absent.mp4", "--device", device)
    assert_named_error(code, err, f"--device={device}")
