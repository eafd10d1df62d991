"""One path from a recording to its classes: the server's recordings job (with and without --align) gives
exactly the intervals, labels and probabilities of `mmnet spot RECORDING --checkpoint MODEL --json`, and
draws the face crops it classified."""

import io
import json

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("av")
pytest.importorskip("dlib")


from mmnet.cli import main  # noqa: E402
from mmnet.infer import Predictor  # noqa: E402
from mmnet.serve import create_app  # noqa: E402
from tests.serve_helpers import local_client, make_checkpoint, recording_done  # noqa: E402


def _served(predictor, video, aligner):
    with local_client(create_app(predictor, aligner=aligner), raise_server_exceptions=False) as c:
        result = c.get(recording_done(c, video.read_bytes())["urls"]["result"]).json()
        onset = Image.open(io.BytesIO(c.get(result["intervals"][0]["files"]["interval-0-onset.png"]).content))
        return result, onset.size


@pytest.mark.slow
def test_server_recordings_classify_as_mmnet_spot_checkpoint(tmp_path, capsys):
    from mmnet.media import read_video_frames
    from mmnet.preprocess import FaceAligner
    from mmnet.serve.analysis import thumbnail
    from mmnet.synth.long import LongConfig
    from mmnet.synth.long_writer import write_long_dataset

    # 6 s at 30 fps in which the spotter reports a micro interval it classifies (seed 9: frames 42-48, before the
    # macro-expression; its other one, 5-5-14, has its onset on its apex: not classified. Seed 4's 137-144 was two
    # noise peaks merged, apart since the bounds are read on the unsmoothed score); the face large enough for dlib.
    # The video is the same bytes in every run (tests/test_synth_long.py).
    root = write_long_dataset(tmp_path / "set", minutes=0.1, seed=9, formats=("mp4",),
                              config=LongConfig(frame_size=(160, 160), face_size=(120, 140)))
    video = next((root / "rawvideo").rglob("*.mp4"))
    checkpoint = make_checkpoint(tmp_path / "model")
    assert main(["spot", str(video), "--checkpoint", str(checkpoint), "--json", "--no-progress"]) == 0
    want = [(i["onset"], i["apex"], i["offset"], i["type"], i["label"], i["probabilities"])
            for i in json.loads(capsys.readouterr().out)["intervals"]]
    assert sum(t == "micro" and p is not None for _, _, _, t, _, p in want) >= 1, want

    predictor = Predictor.from_checkpoint(checkpoint)
    for aligner in (None, FaceAligner()):  # `mmnet serve`, then `mmnet serve --align`: recordings alike
        result, onset_size = _served(predictor, video, aligner)
        got = [(i["onset"], i["apex"], i["offset"], i["type"], i["label"], i["probabilities"])
               for i in result["intervals"]]
        # the same intervals, labels and (to float rounding: batches may be cut differently) probabilities
        assert [g[:5] for g in got] == [w[:5] for w in want]
        for g, w in zip(got, want):
            assert (g[5] is None) == (w[5] is None) and (w[5] is None or g[5] == pytest.approx(w[5], abs=1e-5)), (g, w)
        crop = FaceAligner().geometry  # the picture is the crop classified (as a thumbnail), not the 160 x 160 frame
        assert onset_size[::-1] == thumbnail(np.zeros((crop.height, crop.width, 3), np.uint8)).shape[:2]

    # the test can fail: the uncropped frames (what the server classified before) give other probabilities
    onset, apex, _, kind, _, probs = next(w for w in want if w[3] == "micro" and w[5] is not None)
    frames = read_video_frames(video, [onset, apex])
    raw = predictor.predict_frames([frames[onset]], [frames[apex]])[0]
    assert not np.allclose(raw, [probs[c] for c in predictor.class_names], atol=1e-3)
