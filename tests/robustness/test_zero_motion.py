"""An onset and apex that are the same frame: the motion is zero by construction, and the user is told."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from mmnet.infer import ClipRequest, Predictor

from .helpers import cli, small_checkpoint

SAME = "the onset and apex frames are identical"


def _images(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "clip"
    folder.mkdir()
    for i in (1, 2):
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(folder / f"img{i}.png")
    return folder, folder / "img1.png", folder / "img2.png"


def test_the_same_image_as_onset_and_apex_is_noted(tmp_path, capsys):
    # `mmnet predict a.png a.png` printed a class as if an expression had been seen
    ckpt = small_checkpoint(tmp_path / "ckpt")
    folder, a, b = _images(tmp_path)
    code, out, err = cli(capsys, "predict", "--checkpoint", ckpt, a, a)
    assert code == 0 and f"note: {a} + {a}: {SAME}" in err and "zero" in err, err
    assert SAME not in out  # stdout stays the table
    code, out, err = cli(capsys, "predict", "--checkpoint", ckpt, a, a, "--json")
    (row,) = json.loads(out)
    assert SAME in row["warning"] and "face crops" in row["warning"]  # both notes, for a script
    still = tmp_path / "still"  # a clip of one frame copied: whichever apex is spotted, nothing moved
    still.mkdir()
    for i in (1, 2, 3):
        (still / f"img{i}.png").write_bytes(a.read_bytes())
    code, out, err = cli(capsys, "predict", "--checkpoint", ckpt, still)
    assert code == 0 and f"note: {still}: {SAME}" in err, err
    code, out, err = cli(capsys, "predict", "--checkpoint", ckpt, a, b)
    assert code == 0 and SAME not in err + out and "note: input not checked for a face" in err
    assert "not checked" not in out  # stdout stays the table, as with explain


def test_the_api_says_so_in_the_prediction_warning(tmp_path):
    _, a, b = _images(tmp_path)
    predictor = Predictor.from_checkpoint(small_checkpoint(tmp_path / "ckpt"))
    same, other = predictor.predict_clips([ClipRequest(a, a), ClipRequest(a, b)])
    assert SAME in same.warning and SAME not in other.warning


def test_the_notes_are_kept_apart_and_the_json_still_joins_them(tmp_path):
    # the notes were only one "; "-joined text, which the server and `predict` searched again for each note
    from dataclasses import replace

    from mmnet.infer.predictor import NOT_CHECKED, ZERO_MOTION

    _, a, b = _images(tmp_path)
    predictor = Predictor.from_checkpoint(small_checkpoint(tmp_path / "ckpt"))
    same, other = predictor.predict_clips([ClipRequest(a, a), ClipRequest(a, b)])
    assert same.notes == (ZERO_MOTION, NOT_CHECKED) and other.notes == (NOT_CHECKED,)
    row = same.to_dict()  # `predict --json` and the API: the fields and their order as before
    assert list(row) == ["source", "onset", "apex", "apex_spotted", "label", "probabilities", "aligned",
                         "face_score", "warning", "recording_warning"]
    assert row["warning"] == same.warning == f"{ZERO_MOTION}; {NOT_CHECKED}"
    assert replace(other, notes=()).to_dict()["warning"] is None


def test_explain_notes_the_same_image_as_onset_and_apex(tmp_path, capsys):
    # `mmnet explain a.png a.png` drew a motion panel of zeros without a word, where predict notes it
    ckpt = small_checkpoint(tmp_path / "ckpt")
    _, a, b = _images(tmp_path)
    code, out, err = cli(capsys, "explain", "--checkpoint", ckpt, a, a, "--out", tmp_path / "same.png", "--dpi", "30")
    assert code == 0 and f"note: {a} + {a}: {SAME}" in err and "zero" in err, err
    code, out, err = cli(capsys, "explain", "--checkpoint", ckpt, a, b, "--out", tmp_path / "diff.png", "--dpi", "30")
    assert code == 0 and SAME not in err + out
