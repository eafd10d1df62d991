"""Clips without a face: reported as such, never a confident label from an unchecked path."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from mmnet.errors import PreprocessError
from mmnet.infer import Predictor, align_clip, load_clip

from .helpers import assert_named_error, cli, small_checkpoint


def _write(folder, frames):
    folder.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(frames, start=1):
        Image.fromarray(f).save(folder / f"img{i}.png")
    return folder


def _face_then_blank(n_face: int, n_blank: int):
    pytest.importorskip("dlib")
    from ..preprocess_helpers import face_frame

    faces = [face_frame(dx=i) for i in range(n_face)]
    return faces + [np.full_like(faces[0], 120) for _ in range(n_blank)]


def test_align_refuses_an_apex_without_a_face(tmp_path, capsys):
    ckpt = small_checkpoint(tmp_path / "ckpt")
    clip = _write(tmp_path / "clip", _face_then_blank(4, 4))
    code, out, err = cli(capsys, "predict", "--checkpoint", ckpt, clip, "--align", "--onset", "1", "--apex", "7",
                         "--json")
    assert_named_error(code, err, "apex frame", "shows no face", "--apex")
    assert "leave out --align" not in err
    code, out, err = cli(capsys, "predict", "--checkpoint", ckpt, clip, "--align", "--onset", "1", "--apex", "3",
                         "--json")
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["aligned"] is True and 0 < row["face_score"] and row["warning"] is None


def test_no_face_at_the_onset_never_hints_at_the_unchecked_path(tmp_path, capsys):
    pytest.importorskip("dlib")
    ckpt = small_checkpoint(tmp_path / "ckpt")
    rng = np.random.default_rng(0)
    clip = _write(tmp_path / "noise", [rng.integers(0, 255, (240, 320, 3), dtype=np.uint8) for _ in range(4)])
    code, _, err = cli(capsys, "predict", "--checkpoint", ckpt, clip, "--align")
    assert_named_error(code, err, "no face", "--onset")
    assert "leave out --align" not in err


def test_without_align_the_output_says_the_face_was_not_checked(tmp_path, capsys):
    ckpt = small_checkpoint(tmp_path / "ckpt")
    clip = _write(tmp_path / "black", [np.zeros((48, 48, 3), np.uint8) for _ in range(3)])
    code, out, _ = cli(capsys, "predict", "--checkpoint", ckpt, clip, "--json")
    (row,) = json.loads(out)
    assert code == 0 and row["aligned"] is False and row["face_score"] is None
    assert "not checked for a face" in row["warning"]
    code, out, err = cli(capsys, "predict", "--checkpoint", ckpt, clip)
    assert err.count("note: input not checked for a face") == 1 and "not checked" not in out  # stdout: the table


def test_face_check_with_a_stand_in_aligner(tmp_path):
    """The rule without dlib: frames the detector finds no face in are refused by name."""
    frames = [np.full((40, 40, 3), 200 if i < 3 else 0, np.uint8) for i in range(6)]
    clip_dir = _write(tmp_path / "clip", frames)

    class Face:
        score = 1.5

    class Alignment:
        face = Face()

        def apply(self, image):
            return image[5:35, 5:35]

    class Aligner:
        def estimate(self, image):
            return Alignment()

        def detect(self, image):
            return [Face()] if image.mean() > 100 else []

    clip = align_clip(load_clip(clip_dir), 1, aligner=Aligner())
    predictor = Predictor.from_checkpoint(small_checkpoint(tmp_path / "ckpt"))
    assert predictor.predict_clip(clip, onset=1, apex=3).face_score == 1.5
    with pytest.raises(PreprocessError, match="frame 'img5.png' shows no face"):
        predictor.predict_clip(clip, onset=1, apex=5)
