"""The library's inputs as a notebook gives them: paths where clips are expected, PIL images, frame numbers
of the wrong type, a bad batch size. Each fails early with a message that says what to pass."""

import numpy as np
import pytest
import torch
from PIL import Image

from mmnet.errors import ConfigError, DataError
from mmnet.infer import explain_clip, explain_pair, load_clip
from tests.test_inference import make_checkpoint
from tests.test_spotting import synthetic_clip

MAKE_CHECKPOINT = make_checkpoint  # the model conftest's checkpoint and predictor fixtures make in this module


def test_a_clip_path_is_read_as_mmnet_predict_reads_it(predictor, clip_folder):
    expected = predictor.predict_clip(load_clip(clip_folder), onset=104, apex=108)
    for given in (str(clip_folder), clip_folder):
        got = predictor.predict_clip(given, onset=104, apex=108)
        assert got.probabilities == expected.probabilities and got.source == expected.source
    (listed,) = predictor.predict_clips([str(clip_folder)])
    (tupled,) = predictor.predict_clips([(str(clip_folder), 104, 108)])
    assert listed.source == str(clip_folder) and tupled.probabilities == expected.probabilities


def test_explain_clip_opens_a_clip_path(predictor, clip_folder):
    e = explain_clip(predictor, str(clip_folder), onset=104, apex=108)
    assert e.source == str(clip_folder) and (e.onset_frame, e.apex_frame) == (104, 108)
    with pytest.raises(TypeError, match=r"Expected a Clip .*; got a list"):
        explain_clip(predictor, [clip_folder])


def test_a_missing_clip_path_is_a_failure_of_its_own(predictor, clip_folder, tmp_path):
    failures = []
    (pred,) = predictor.predict_clips([tmp_path / "missing", clip_folder], failures=failures)
    assert pred.source == str(clip_folder) and failures[0].source == str(tmp_path / "missing")


@pytest.mark.parametrize("call, message", [
    (lambda p, c: p.predict_clip(42), r"Expected a Clip .*a clip's path .*; got a int"),
    (lambda p, c: p.predict_clips([(c, 104)]), r"\(clip or path, onset, apex\); got 2 item"),
    (lambda p, c: p.predict_clips(str(c)), r"a list of clips, got one str: pass \[clip\]"),
])
def test_what_is_no_clip_is_a_type_error_that_says_what_is(predictor, clip_folder, call, message):
    with pytest.raises(TypeError, match=message):
        call(predictor, clip_folder)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, "8"])
def test_batch_size_is_a_whole_number_of_clips(predictor, clip_folder, batch_size):
    with pytest.raises(ConfigError, match=f"batch_size must be an int >= 1.*got {batch_size!r}"):
        predictor.predict_clips([clip_folder], batch_size=batch_size)


@pytest.mark.parametrize("onset, apex, message", [
    ("104", "108", r"onset must be an int frame number, got '104' \(str\)"),
    (104.0, 108, r"onset must be an int frame number, got 104.0 \(float\)"),
    (104, 108.0, r"apex must be an int frame number, got 108.0 \(float\)"),
    (True, 108, r"onset must be an int frame number, got True \(bool\)"),
])
def test_frame_numbers_are_ints(predictor, clip_folder, onset, apex, message):
    with pytest.raises(DataError, match=message):
        predictor.predict_clip(load_clip(clip_folder), onset=onset, apex=apex)


def test_numpy_frame_numbers_are_ints(predictor, clip_folder):
    pred = predictor.predict_clip(load_clip(clip_folder), onset=np.int64(104), apex=np.int32(108))
    assert (pred.onset, pred.apex) == (104, 108) and type(pred.onset) is int


def test_a_video_clip_refuses_a_text_onset(tmp_path):
    from tests.test_inference import write_video

    write_video(tmp_path / "clip.avi", synthetic_clip(6, 3))
    with pytest.raises(DataError, match=r"onset must be an int frame number, got '2' \(str\)"):
        load_clip(tmp_path / "clip.avi").select("2")


def test_explain_pair_takes_what_predict_frames_takes(predictor):
    frames = synthetic_clip(8, 5, noise=0.0)
    arrays = explain_pair(predictor, frames[0], frames[5])
    for convert in (Image.fromarray, torch.from_numpy):
        e = explain_pair(predictor, convert(frames[0]), convert(frames[5]))
        assert e.probabilities == arrays.probabilities and e.frame_size == arrays.frame_size
    with pytest.raises(DataError, match=r"explain_pair: onset frame is a float32 array"):
        explain_pair(predictor, frames[0].astype(np.float32), frames[5])
    with pytest.raises(DataError, match=r"explain_pair: onset frame is 80x96, apex frame 40x48"):
        explain_pair(predictor, frames[0], frames[5][::2, ::2])


def test_clip_requests_and_lists_are_importable_from_mmnet_infer_clips_as_before_they_moved(tmp_path):
    # they moved to infer/clip_list.py and `from mmnet.infer.clips import ClipRequest` stopped working
    from mmnet.infer import clip_list, clips

    assert clips.ClipRequest is clip_list.ClipRequest and clips.read_clip_list is clip_list.read_clip_list
    assert {"ClipRequest", "read_clip_list"} <= set(clips.__all__)
    (tmp_path / "clip").mkdir()
    (tmp_path / "list.csv").write_text("source,onset\nclip,3\n", encoding="utf-8")
    assert clips.read_clip_list(tmp_path / "list.csv") == [clips.ClipRequest(tmp_path / "clip", onset=3)]
