"""A face that moves or leaves during a clip: prepare warns where its crops miss it, predict --align refuses it."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from mmnet.preprocess.face_watch import FaceWatch

from .preprocess_helpers import face_frame, save_frames, skip_without_face_extra


class _StandIn:
    """detect() finds a face box wherever the frame's bright square is (the pixels above 200)."""

    def detect(self, image):
        ys, xs = np.nonzero(image[..., 0] > 200 if image.ndim == 3 else image > 200)
        if not len(xs):
            return []
        return [SimpleNamespace(box=(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1), score=1.0)]


def _square(x: int, size: int = 20) -> np.ndarray:
    frame = np.zeros((60, 200, 3), np.uint8)
    if x is not None:
        frame[20:20 + size, x:x + size] = 255
    return frame


def test_the_watch_looks_at_a_sample_and_the_last_frame_and_names_spans():
    positions = [40] * 20 + [50] * 10 + [None] * 9 + [41]  # still, moved half a face, gone, back on the last
    watch = FaceWatch(_StandIn(), (40, 20, 60, 40), fps=20)  # a look every 10 frames
    for n, x in enumerate(positions):
        watch.see(n, _square(x))
    warning = watch.warning()
    assert [n for n, _ in watch.looks] == [0, 10, 20, 30, 39]
    assert warning.startswith("face_moved:")
    assert "frame 20 (moved" in warning and "frame 30 (no face near its place)" in warning
    assert "frame 39" not in warning and "every 10 frames" in warning


def test_a_still_face_or_a_slight_change_of_box_is_no_warning():
    watch = FaceWatch(_StandIn(), (40, 20, 60, 40), last=30)  # a frame folder: every 15 frames and the last
    for n in range(31):
        watch.see(n, _square(40 + n % 3, 20 + n % 2))
    assert watch.warning() is None and [n for n, _ in watch.looks] == [0, 15, 30]


def test_one_rule_says_when_a_face_left_its_place(monkeypatch):
    from mmnet.preprocess import face_watch
    from mmnet.preprocess.face_watch import MOVED_SCALE, MOVED_SHIFT, face_moved_beyond

    assert not face_moved_beyond(MOVED_SHIFT, MOVED_SCALE)  # at the thresholds: still in place
    assert face_moved_beyond(MOVED_SHIFT + 0.01, 1.0) and face_moved_beyond(0.0, MOVED_SCALE + 0.01)
    # the watch asks the rule, as predict --align's face check does
    monkeypatch.setattr(face_watch, "face_moved_beyond", lambda shift, ratio: False)
    watch = FaceWatch(_StandIn(), (40, 20, 60, 40), last=15)
    for n in range(16):
        watch.see(n, _square(40 if n < 10 else 50))  # half a face over
    assert watch.warning() is None


# --------------------------------------------------------------------- the face extra, on real footage


def test_prepare_warns_where_the_face_left_the_crop(tmp_path, capsys):
    skip_without_face_extra()
    from mmnet.cli import main

    frames = {f"img{n}.jpg": face_frame((480, 240), dx=0 if n < 10 else 60) for n in range(30)}
    save_frames(tmp_path / "moving", frames)
    assert main(["prepare", str(tmp_path / "moving"), "--out", str(tmp_path / "out"), "--workers", "1",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "face_moved" in out and "frames 15-29 (moved" in out
    record = json.loads((tmp_path / "out" / ".mmnet-prepared.json").read_text())["record"]
    assert any(w.startswith("face_moved") for w in record["warnings"])
    assert record["face_watch"] == {"step": 15, "spans": [[15, 29, "moved"]]}  # the same spans, as fields

    save_frames(tmp_path / "still", {f"img{n}.jpg": face_frame((480, 240)) for n in range(30)})
    assert main(["prepare", str(tmp_path / "still"), "--out", str(tmp_path / "out2"), "--workers", "1",
                 "--no-progress"]) == 0
    assert "face_moved" not in capsys.readouterr().out
    record = json.loads((tmp_path / "out2" / ".mmnet-prepared.json").read_text())["record"]
    assert record["face_watch"] == {"step": 15, "spans": []}  # looked, and found the face in place


def test_prepare_says_a_long_video_looks_like_a_recording(tmp_path, capsys):
    skip_without_face_extra()
    pytest.importorskip("av")
    from mmnet.cli import main
    from tests.serve_helpers import mp4_bytes

    video = tmp_path / "long.mp4"
    video.write_bytes(mp4_bytes(np.stack([face_frame()] * 40), fps=10))  # 4 s
    assert main(["prepare", str(video), "--out", str(tmp_path / "out"), "--workers", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "recording:" in out and "4.0 s long" in out and "mmnet spot" in out and "face_moved" not in out
    record = json.loads((tmp_path / "out" / ".mmnet-prepared.json").read_text())["record"]
    assert record["face_watch"] == {"step": 5, "spans": []}  # a look every 0.5 s of the video


@pytest.mark.slow  # a checkpoint made, and predict --align run three times
def test_predict_align_refuses_an_apex_whose_face_moved_away(tmp_path, capsys):
    skip_without_face_extra()
    from tests.robustness.helpers import assert_named_error, cli, small_checkpoint

    ckpt = small_checkpoint(tmp_path / "ckpt")
    frames = {f"img{n}.jpg": face_frame((480, 240), dx=0 if n < 6 else 120) for n in range(12)}
    save_frames(tmp_path / "moved", frames)
    for apex in (["--apex", "10"], []):  # given, or spotted (the largest motion is the head moving)
        code, _, err = cli(capsys, "predict", "--checkpoint", ckpt, tmp_path / "moved", "--align", "--onset", "0",
                           *apex)
        assert_named_error(code, err, "apex frame", "face widths from its place on the onset frame", "mmnet spot")
    code, out, err = cli(capsys, "predict", "--checkpoint", ckpt, tmp_path / "moved", "--align", "--onset", "0",
                         "--apex", "4", "--json")
    assert code == 0, err
    assert json.loads(out)[0]["face_score"] > 0


# --------------------------------------------------------------------- 16-bit frames of 10/12-bit cameras


def _save_16bit(folder, frames):
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for n, grey in enumerate(frames):
        Image.fromarray(grey.astype(np.uint16)).save(folder / f"img{n}.png")  # PIL mode I;16


def test_sixteen_bit_frames_are_scaled_by_the_bits_the_clip_uses(tmp_path):
    from mmnet.images import grey_bits, read_image

    grey = np.arange(256, dtype=np.uint16).reshape(16, 16)
    _save_16bit(tmp_path / "twelve", [grey * 16, grey * 8])  # a 12-bit camera: values up to 4080
    paths = sorted((tmp_path / "twelve").iterdir())
    assert grey_bits(paths) == (12, 4080)
    assert np.abs(read_image(paths[0], 12).astype(int) - grey).max() <= 1  # the second frame keeps its half
    assert np.abs(read_image(paths[1], 12).astype(int) - grey // 2).max() <= 1
    assert read_image(paths[0]).max() == 16  # the whole 16-bit range by default, as before
    _save_16bit(tmp_path / "sixteen", [grey * 257])
    assert grey_bits(sorted((tmp_path / "sixteen").iterdir())) == (16, 65535)
    from PIL import Image

    Image.fromarray(grey.astype(np.uint8)).save(tmp_path / "eight.png")
    assert grey_bits([tmp_path / "eight.png"]) is None


def test_prepare_scales_twelve_bit_frames_and_warns_of_dark_crops(tmp_path, capsys):
    skip_without_face_extra()
    from mmnet.cli import main
    from mmnet.images import read_image

    grey = face_frame().mean(axis=2).astype(np.uint16)
    _save_16bit(tmp_path / "raw12", [grey * 16] * 10)
    assert main(["prepare", str(tmp_path / "raw12"), "--out", str(tmp_path / "out12"), "--workers", "1",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "bit_depth:" in out and "12-bit data" in out and "dark:" not in out
    assert read_image(tmp_path / "out12" / "reg_img0.jpg").mean() > 60  # not the 0..16 of a 16-bit scaling
    # a clip an earlier mmnet prepared (scaled from the whole 16-bit range: dark) is not skipped as done
    from mmnet.media import PREPARED_MARKER

    marker = tmp_path / "out12" / PREPARED_MARKER
    written = json.loads(marker.read_text())
    del written["settings"]["grey16"]
    marker.write_text(json.dumps(written))
    args = ["prepare", str(tmp_path / "raw12"), "--out", str(tmp_path / "out12"), "--workers", "1", "--no-progress"]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "1 prepared with other settings" in out and "grey16 from the whole 16-bit range (now from the bits" in out
    assert "rerun with --force" in out
    assert main([*args, "--force"]) == 0 and "1 clip(s) prepared" in capsys.readouterr().out

    save_frames(tmp_path / "dim", {f"img{n}.jpg": face_frame(background=8) // 12 for n in range(4)})
    assert main(["prepare", str(tmp_path / "dim"), "--out", str(tmp_path / "outdim"), "--workers", "1",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "dark: the crop of the onset frame has a mean grey level of" in out
    assert "grey16" not in (tmp_path / "outdim" / PREPARED_MARKER).read_text()  # 8-bit clips: markers as before


# --------------------------------------------------------------------- no face on the onset frame


def test_no_face_on_the_onset_names_the_sideways_remedy_as_spot_does(tmp_path, capsys):
    from mmnet.errors import PreprocessError
    from mmnet.infer import align_clip, load_clip
    from mmnet.preprocess.face import SIDEWAYS
    from mmnet.spotting import flow_spotter

    from .preprocess_helpers import NoFaceAligner

    assert flow_spotter.SIDEWAYS is SIDEWAYS  # one sentence, wherever it is said
    save_frames(tmp_path / "blank", {f"img{n}.png": np.full((40, 40, 3), 120, np.uint8) for n in range(3)})
    with pytest.raises(PreprocessError, match="rotate the video first"):
        align_clip(load_clip(tmp_path / "blank"), aligner=NoFaceAligner())
    skip_without_face_extra()
    from mmnet.cli import main

    assert main(["prepare", str(tmp_path / "blank"), "--out", str(tmp_path / "out"), "--no-progress"]) == 3
    err = capsys.readouterr().err
    assert "[no_face]" in err and SIDEWAYS in err


def test_the_server_words_the_moved_face_remedy_for_its_page():
    from mmnet.infer.clips import FOLLOW_FACE
    from mmnet.serve.messages import for_web

    web = for_web(f"Clip 'x': apex frame 'img9.jpg': the face moved 0.80 face widths. {FOLLOW_FACE}")
    assert "mmnet spot" not in web and "A long recording" in web
