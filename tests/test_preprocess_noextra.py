"""Parts of preprocessing that must work without the face extra, and its absence explained."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from mmnet.cli import main
from mmnet.errors import PreprocessError
from mmnet.preprocess import face, landmarks
from mmnet.preprocess.face import CropGeometry, alignment_matrix


def test_importing_preprocess_loads_no_heavy_package():
    code = ("import sys, mmnet.preprocess, mmnet.commands.prepare; "
            "print(sorted(m for m in ('cv2', 'dlib', 'skimage') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _pretend_missing(monkeypatch, missing: str):
    real = face.importlib.util.find_spec
    monkeypatch.setattr(face.importlib.util, "find_spec", lambda name, *a: None if name == missing else real(name, *a))
    monkeypatch.setattr(landmarks, "_SYSTEM_MODEL_DIRS", ())


@pytest.mark.parametrize("missing", ["dlib", "cv2", "face_recognition_models"])
def test_missing_extra_names_the_install_command(monkeypatch, missing):
    _pretend_missing(monkeypatch, missing)
    with pytest.raises(PreprocessError) as info:
        face.require_face_extra()
    assert 'pip install -e ".[face]"' in str(info.value) and "mmnet[" not in str(info.value)


def test_prepare_without_the_extra_exits_3_with_the_command(monkeypatch, tmp_path, capsys):
    _pretend_missing(monkeypatch, "dlib")
    (tmp_path / "clip").mkdir()
    assert main(["prepare", str(tmp_path / "clip"), "--no-progress"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: Face preprocessing needs the optional face extra")
    assert 'pip install "opencv-contrib-python-headless<6,>=4.10" "dlib-bin<21,>=20.0.1" ' in err
    assert '(from a source checkout: pip install -e ".[face]")' in err


def _landmarks(eye_a, eye_b) -> np.ndarray:
    pts = np.zeros((68, 2))
    pts[36:42] = eye_a  # six points per eye: their mean is the eye centre
    pts[42:48] = eye_b
    return pts


@pytest.mark.parametrize("angle_deg", [0.0, 10.0, -25.0])
def test_alignment_matrix_puts_the_eyes_where_the_geometry_says(angle_deg):
    g = CropGeometry()
    centre, half = np.array([300.0, 200.0]), 40.0
    t = np.radians(angle_deg)
    d = half * np.array([np.cos(t), np.sin(t)])
    m = alignment_matrix(_landmarks(centre - d, centre + d), g)
    eyes = m[:, :2] @ np.stack([centre - d, centre + d]).T + m[:, 2:]  # (2, 2): columns are the eyes
    np.testing.assert_allclose(eyes[:, 0], [g.width / 2 - g.iod * g.width / 2, g.eye_y * g.height], atol=1e-9)
    np.testing.assert_allclose(eyes[:, 1], [g.width / 2 + g.iod * g.width / 2, g.eye_y * g.height], atol=1e-9)
    # a similarity: orthogonal rows of equal norm
    assert m[0, :2] @ m[1, :2] == pytest.approx(0.0, abs=1e-12)
    assert np.linalg.norm(m[0, :2]) == pytest.approx(np.linalg.norm(m[1, :2]))


def test_degenerate_landmarks_and_bad_geometry_are_refused():
    with pytest.raises(PreprocessError, match="coincide"):
        alignment_matrix(_landmarks([10.0, 10.0], [10.0, 10.0]))
    with pytest.raises(PreprocessError, match="eye_y"):
        CropGeometry(eye_y=1.5)


def test_discover_lists_clips_with_the_media_rules(tmp_path):
    from PIL import Image

    from mmnet.preprocess.discover import discover

    raw = tmp_path / "CASME2" / "CASME2_RAW_selected"
    frame = Image.fromarray(np.zeros((8, 8, 3), np.uint8))
    for clip, names in {"EP01": ["img9.jpg", "img10.jpg", ".img11.jpg", "notes.txt"],
                        "EP02": ["img70.jpg", "img070.jpg"]}.items():
        (raw / "sub01" / clip).mkdir(parents=True)
        for name in names:
            if name.endswith(".jpg"):
                frame.save(raw / "sub01" / clip / name, format="JPEG")
            else:
                (raw / "sub01" / clip / name).write_text("x")
    layout, out_root, jobs = discover(tmp_path / "CASME2")
    assert layout == "casme2" and out_root == tmp_path / "CASME2"
    ok, dup = jobs
    assert [(n, name) for n, _, name in ok.frames] == [(9, "reg_img9.jpg"), (10, "reg_img10.jpg")]  # by number
    assert ok.ignored == ("notes.txt",)  # a hidden file is counted in the run's desktop_files note instead
    assert ok.desktop == (raw / "sub01" / "EP01" / ".img11.jpg",)
    assert ok.out_dir == tmp_path / "CASME2" / "Cropped" / "sub01" / "EP01"
    assert dup.frames == () and "two files with frame number 70" in dup.problem


@pytest.mark.parametrize("layout, subject, folders", [
    ("casme2", "CASME2_RAW_selected", ["notasub", "sub03", ".hidden"]),
    ("samm", "SAMM", ["006", "subject7"]),
])
def test_no_clips_found_gives_the_expected_layout_and_the_folders_skipped(tmp_path, layout, subject, folders):
    from mmnet.preprocess.discover import discover

    for name in folders:
        (tmp_path / "data" / subject / name).mkdir(parents=True)
    with pytest.raises(PreprocessError) as caught:
        discover(tmp_path / "data", layout=layout)
    said = str(caught.value)
    below = "subNN/CLIP/imgN.jpg" if layout == "casme2" else "SSS/CLIP/SSS_NNNNN.jpg"
    assert said.startswith(f"no clips found under '{tmp_path / 'data'}' for layout '{layout}': expected "
                           f"{subject}/{below}, one folder of frames per clip in each subject folder; "), said
    skipped = said.split(f"skipped in '{tmp_path / 'data' / subject}': ")[1]
    subjects, others = (["sub03"], ["notasub"]) if layout == "casme2" else (["006"], ["subject7"])
    assert sorted(skipped.split(", ")) == sorted([f"{n}/ (not a subject folder)" for n in others]
                                                 + [f"{n}/ (no clip folder in it)" for n in subjects]), said


def _frames(folder, names):
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / name, format="JPEG")


@pytest.mark.parametrize("out", ["clip", "clip/aligned", "."])
def test_an_output_that_is_inside_or_holds_the_input_is_refused(tmp_path, monkeypatch, out):
    # --out == the input moved the raw frames aside and deleted them with --force
    from mmnet.preprocess.discover import discover

    _frames(tmp_path / "clip", ["img1.jpg", "img2.jpg"])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PreprocessError, match="give --out a folder outside the input, e.g. '.*clip_aligned'"):
        discover("clip", out)
    raw = tmp_path / "CASME2" / "CASME2_RAW_selected"
    _frames(raw / "sub01" / "EP01", ["img1.jpg"])
    with pytest.raises(PreprocessError, match="lies inside the input"):
        discover(tmp_path / "CASME2", raw)
    # the dataset layout's own default (Cropped/ beside CASME2_RAW_selected/) is fine
    assert discover(tmp_path / "CASME2")[1] == tmp_path / "CASME2"


def test_dot_as_input_is_the_folder_it_names(tmp_path, monkeypatch):
    from mmnet.preprocess.discover import discover

    _frames(tmp_path / "clipA", ["img1.jpg", "img2.jpg"])
    monkeypatch.chdir(tmp_path / "clipA")
    layout, _, (job,) = discover(".")
    assert layout == "frames" and job.clip_id == "clipA" and job.out_dir == tmp_path / "clipA_aligned"
    raw = tmp_path / "rawD" / "CASME2_RAW_selected"
    _frames(raw / "sub01" / "EP01", ["img1.jpg"])
    monkeypatch.chdir(raw)
    layout, out_root, (job,) = discover(".")
    assert layout == "casme2" and out_root == tmp_path / "rawD"
    assert job.out_dir == tmp_path / "rawD" / "Cropped" / "sub01" / "EP01"


def test_a_clip_prepared_beside_its_frames_is_not_a_clip_of_the_dataset(tmp_path):
    from mmnet.media import PREPARED_MARKER
    from mmnet.preprocess.discover import discover

    sub = tmp_path / "CASME2" / "CASME2_RAW_selected" / "sub01"
    _frames(sub / "EP01_01f", ["img1.jpg"])
    _frames(sub / "EP01_01f_aligned", ["reg_img1.jpg"])  # mmnet prepare sub01/EP01_01f wrote it
    (sub / "EP01_01f_aligned" / PREPARED_MARKER).write_text("{}")
    _, _, jobs = discover(tmp_path / "CASME2")
    assert [j.clip_id for j in jobs] == ["sub01/EP01_01f"]


def test_folders_that_are_not_clips_are_explained(tmp_path):
    from mmnet.preprocess.discover import discover

    _frames(tmp_path / "named", ["onset.jpg", "apex.jpg"])
    (job,) = discover(tmp_path / "named")[2]
    assert job.problem_reason == "no_frames"
    assert "'apex.jpg', 'onset.jpg'" in job.problem and "e.g. img12.jpg" in job.problem
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("a.mp4", "b.mp4"):
        (videos / name).write_bytes(b"x")
    with pytest.raises(PreprocessError, match="folder of videos .a.mp4, b.mp4.: prepare takes one video at a time") \
            as info:
        discover(videos)
    assert "--layout" not in str(info.value)
