"""A clip's video that turns out damaged once read (cut short, as an interrupted copy or download is) is still
classified from the frames that decoded, and `mmnet predict`, the Python API and `/api/predict` say so: the
decoder's note among the prediction's notes, and the length of the recording warning counted in decoded frames."""

import json

import numpy as np
import pytest

pytest.importorskip("av")

from mmnet.cli import main  # noqa: E402
from mmnet.infer import ClipRequest  # noqa: E402
from mmnet.media import stream_video  # noqa: E402
from tests.serve_helpers import synth_frames  # noqa: E402

FPS, FRAMES = 20, 200  # 10 s: what decodes of 60 % of it still over the 3 s of the recording warning


def cut_mp4(path, codec: str, keep: float = 0.6):
    """A faststart .mp4 (the index first, as streamed files are) of a face clip, cut to ``keep`` of its bytes
    as an interrupted copy leaves it; ``path`` gets the cut copy, and the number of frames that decode is returned.
    mpeg4's decoder ends quietly where the file ends, H.264's stops on a broken packet and says so."""
    import av

    if codec not in av.codecs_available:
        pytest.skip(f"this PyAV has no {codec} encoder")
    frames = np.concatenate([synth_frames(n=FRAMES // 4, apex=FRAMES // 8, seed=s) for s in range(4)])
    full = path.with_name("full.mp4")
    with av.open(str(full), "w", options={"movflags": "faststart"}) as out:
        stream = out.add_stream(codec, rate=FPS)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        for image in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())
    path.write_bytes(full.read_bytes()[: int(full.stat().st_size * keep)])
    decoded = list(stream_video(path))[-1].index + 1  # frames lost before the last count, as the decoder counts
    assert 3 * FPS < decoded < 0.9 * FRAMES, decoded  # cut well short, yet a long clip by its decoded frames
    return decoded


@pytest.mark.parametrize("codec", ["mpeg4", "libx264"])
def test_predict_says_the_video_was_cut_short_and_counts_its_decoded_frames(tmp_path, checkpoint, predictor,
                                                                            capsys, codec):
    path = tmp_path / "cut.mp4"
    decoded = cut_mp4(path, codec)
    (pred,) = predictor.predict_clips([ClipRequest(path)])
    (note,) = [n for n in pred.notes if "truncated" in n]
    assert note.startswith(f"decoded {decoded} of {FRAMES} frames: the file may be truncated"), note
    assert note in pred.warning
    assert f"({decoded} frames at {FPS} fps)" in pred.recording_warning, pred.recording_warning
    assert f"{FRAMES} frames" not in pred.recording_warning  # not the header's count
    assert main(["predict", "--checkpoint", str(checkpoint), str(path), "--json"]) == 0
    out, err = capsys.readouterr()
    (row,) = json.loads(out)
    assert note in row["warning"] and f"{decoded} frames at" in row["recording_warning"]
    assert f"warning: {path}: decoded {decoded} of {FRAMES} frames: the file may be truncated" in err
    # a whole file says nothing of the kind
    whole = tmp_path / "full.mp4"
    (pred,) = predictor.predict_clips([ClipRequest(whole)])
    assert not any("truncated" in n for n in pred.notes) and f"({FRAMES} frames at" in pred.recording_warning
    assert main(["predict", "--checkpoint", str(checkpoint), str(whole)]) == 0
    assert "truncated" not in capsys.readouterr().err


def test_the_api_lists_the_damage_among_the_warnings(tmp_path, predictor):
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from mmnet.serve import ServeSettings, create_app
    from tests.serve_helpers import local_client

    path = tmp_path / "cut.mp4"
    decoded = cut_mp4(path, "mpeg4")
    with local_client(create_app(predictor, settings=ServeSettings()), raise_server_exceptions=False) as client:
        r = client.post("/api/predict", files={"file": ("my cut.mp4", path.read_bytes())})
    assert r.status_code == 200, r.text
    got = r.json()
    (note,) = [n for n in got["warnings"] if "truncated" in n]
    assert note.startswith(f"decoded {decoded} of {FRAMES} frames: the file may be truncated"), note
    assert note in got["warning"] and f"({decoded} frames at {FPS} fps)" in got["recording_warning"]
