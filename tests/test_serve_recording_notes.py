"""What a recording's result cannot vouch for reaches the client as valid JSON with a sentence: a recording too
short for a scale (no threshold: null, never Infinity) and an interval whose onset is its apex (not classified)."""

import math

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("av")

from mmnet.infer.recordings import SAME_FRAME  # noqa: E402
from mmnet.serve import create_app  # noqa: E402
from mmnet.serve.spotting import check_spot_result  # noqa: E402
from tests.serve_helpers import (  # noqa: E402
    CLASSES,
    csv_download,
    fake_spotter,
    local_client,
    mp4_bytes,
    recording_done,
    synth_frames,
)


def _strict(response):
    """The body as a strict JSON reader takes it (no Infinity or NaN)."""
    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    assert response.status_code == 200, response.text
    return response.json(parse_constant=refuse)


def test_a_recording_shorter_than_the_macro_window_gives_a_result_with_a_note(predictor, monkeypatch):
    # a 14-frame clip uploaded as a recording: the job was "done" but its result answered 500 (Infinity threshold)
    import mmnet.infer.recordings as recordings
    from mmnet.spotting.config import spot_config

    # the server's own spotter on face crops (no alignment: no dlib, and fast)
    monkeypatch.setattr(recordings, "spot_config", lambda: spot_config("casme2", ["face.mode=none"]))
    with local_client(create_app(predictor), raise_server_exceptions=False) as c:
        job = recording_done(c, mp4_bytes(synth_frames(n=14, apex=7)), name="clip.mp4")
        result = _strict(c.get(job["urls"]["result"]))
        assert result["frames"] == 14 and result["thresholds"]["macro"] is None
        assert not [i for i in result["intervals"] if i["type"] == "macro"]
        (note,) = result["notes"]
        assert "the recording (14 frames) is shorter than the macro-expression window" in note
        assert note.endswith('upload it as a clip: choose "A short clip" and upload it again (API: /api/predict)') \
            and "mmnet predict" not in note  # the page's words, not the CLI's
        assert c.get(job["urls"]["csv"]).status_code == 200
        # docs/serve.md: the curve is null at the first and last k / 2 frames (micro k = 6 at 30 fps), where no flow
        # pair is centred, as well as where no face was found
        score = result["curve"]["score"]
        assert score[:3] == score[-3:] == [None] * 3 and None not in score[3:-3]


def test_no_infinity_or_nan_from_a_spotter_reaches_the_json():
    raw = {"fps": 30.0, "frames": 3, "intervals": [], "thresholds": {"macro": math.inf, "micro": 0.5},
           "curve": {"frames": [0, 1, 2], "score": [math.nan, 1.0, -math.inf]}, "extra": [(math.nan, 2)]}
    checked = check_spot_result(raw)
    assert checked["thresholds"] == {"macro": None, "micro": 0.5}
    assert checked["curve"]["score"] == [None, 1.0, None] and checked["extra"] == [[None, 2]]


def test_a_spotter_s_interval_with_its_own_seconds_but_no_end_s_gets_the_end_of_its_offset_frame():
    # the web CSV's end_s cell and the page read end_s: a spotter's own seconds without it were passed through
    interval = {"onset": 3, "apex": 6, "offset": 9, "type": "micro", "onset_s": 10.1, "offset_s": 10.3}
    given = {"fps": 30.0, "frames": 20, "intervals": [interval, {**interval, "end_s": 10.5},
                                                      {**interval, "offset_s": None}]}
    own, kept, by_frame = check_spot_result(given)["intervals"]
    assert own["end_s"] == 10.334 and own["onset_s"] == 10.1  # a frame after its own offset_s, to the ms rounded up
    assert kept["end_s"] == 10.5
    assert by_frame["end_s"] == 0.334  # frame 10's start at 30 fps, as with_seconds gives it


def test_an_interval_whose_onset_is_its_apex_is_shown_not_classified(predictor):
    # a class of zero motion was shown with its probability; now the interval is listed with a note why not
    with local_client(create_app(predictor, spotter=fake_spotter(((3, 6, 9, "micro"), (12, 12, 17, "micro")))),
                      raise_server_exceptions=False) as c:
        job = recording_done(c, mp4_bytes(synth_frames(n=20, apex=10)))
        moving, still = _strict(c.get(job["urls"]["result"]))["intervals"]
        assert moving["label"] in CLASSES and "note" not in moving
        assert still["label"] is None and still["probabilities"] is None and still["note"] == SAME_FRAME
        assert set(still["files"]) == {"interval-1-onset.png", "interval-1-apex.png"}  # the frames, no attention
        # the note says why (then end_s, the empty p_ cells and model_note)
        assert csv_download(c.get(job["urls"]["csv"])).splitlines()[2] == \
            f'rec.mp4,video_from_0,12,12,17,micro,0.500000,,0.400,0.400,0.567,"{SAME_FRAME}",0.600,,,,'
