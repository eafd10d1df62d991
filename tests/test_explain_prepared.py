"""`mmnet explain` on crops mmnet prepare wrote applies predict's rule: a frame where prepare found the face moved out
of the crop is refused, a frame near such a span is a warning, and the crops are said to be prepared, not
unchecked."""

from __future__ import annotations

import pytest

from mmnet.cli import main
from mmnet.errors import PreprocessError
from mmnet.infer import Predictor, explain_clip, load_clip

from .test_predict_prepared_marker import DEFAULTS, _model
from .test_predict_prepared_warnings import _face_moved_warning, _prepared, _watched

SPANS = {"step": 10, "spans": [[20, 20, "moved"], [30, 39, "gone"]]}


@pytest.fixture
def predictor(tmp_path):
    return Predictor.from_checkpoint(_model(tmp_path / "m", DEFAULTS))


@pytest.mark.parametrize("apex", [20, 25, 35])
def test_explain_refuses_a_frame_where_prepare_found_the_face_away(tmp_path, predictor, apex):
    clip = load_clip(_watched(tmp_path / "fields", SPANS))
    with pytest.raises(PreprocessError, match=f"apex frame 'reg_img{apex}.jpg': mmnet prepare found the face"):
        explain_clip(predictor, clip, onset=0, apex=apex, check_deletion=False)


def test_explain_reads_an_earlier_mmnets_warning_text_too(tmp_path, predictor):
    clip = load_clip(_prepared(tmp_path / "old", [_face_moved_warning([40] * 20 + [70] * 20)]))
    with pytest.raises(PreprocessError, match="apex frame 'reg_img25.jpg': mmnet prepare found the face moved"):
        explain_clip(predictor, clip, onset=0, apex=25, check_deletion=False)
    e = explain_clip(predictor, clip, onset=0, apex=12, check_deletion=False)
    assert e.notes and e.notes[0].startswith("face_moved: apex frame 12 lies within 9 frames")


@pytest.mark.slow  # three explain runs with their attention figures (~5-14 s)
def test_explain_prints_prepares_warning_and_note_as_predict_does(tmp_path, capsys):
    model, clip = _model(tmp_path / "m", DEFAULTS), _watched(tmp_path / "fields", SPANS)
    args = ["explain", "--checkpoint", str(model), str(clip), "--onset", "0", "--out", str(tmp_path / "f.png"),
            "--dpi", "30", "--no-deletion-check"]
    assert main([*args, "--apex", "12"]) == 0
    err = capsys.readouterr().err
    assert f"warning: {clip}: face_moved: apex frame 12 lies within 9 frames" in err
    assert f"note: {clip}: prepared by mmnet prepare (68 points, 280x340" in err
    assert "not checked for a face" not in err
    assert main([*args, "--apex", "5"]) == 0
    assert f"note: {clip}: prepared by mmnet prepare warned that the face moved away" in capsys.readouterr().err
    assert main([*args, "--apex", "25"]) != 0
    err = capsys.readouterr().err
    assert "apex frame 'reg_img25.jpg': mmnet prepare found the face away from its place" in err
    assert "Traceback" not in err
