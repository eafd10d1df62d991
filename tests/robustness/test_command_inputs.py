"""Command-line inputs that reached a traceback, a wrong answer or an overwritten file: each is now refused by name."""

from __future__ import annotations

import numpy as np
import pytest

from .helpers import assert_named_error, cli, small_checkpoint


def _pair(tmp_path, size=(40, 40)):
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png"):
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(tmp_path / name)
    return tmp_path / "a.png", tmp_path / "b.png"


@pytest.mark.parametrize("dpi", ["0", "-5", "1", "100000", "ten"])
def test_explain_refuses_a_resolution_outside_its_range_before_any_work(tmp_path, capsys, dpi):
    # --dpi 0 and -5 were a ValueError traceback, 1 one from FreeType, 100000 was killed for memory
    with pytest.raises(SystemExit) as exit_info:
        cli(capsys, "explain", "--checkpoint", tmp_path / "none", *_pair(tmp_path), "--out", tmp_path / "f.png",
            "--dpi", dpi)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert "--dpi" in err and "Traceback" not in err
    if dpi != "ten":
        assert "between 30 and 600" in err
    assert not (tmp_path / "f.png").exists()
