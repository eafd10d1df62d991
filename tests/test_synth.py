"""The synthetic CASME II-layout generator: determinism, layout, class mix, motion, subjects, CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmnet import synth
from mmnet.cli import main
from mmnet.data import load_dataset
from mmnet.errors import ConfigError
from mmnet.synth.motion import displacement_field, parse_aus, render_clip

TINY = {"subjects": 2, "clips_per_subject": 5, "seed": 7}


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory) -> Path:
    return synth.write_dataset(tmp_path_factory.mktemp("synth") / "set", **TINY)


def _frames(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "Cropped").rglob("*.jpg"))}


def _cells(root: Path) -> list[tuple]:
    from openpyxl import load_workbook

    return [tuple(r) for r in load_workbook(root / synth.CODING_FILE)["Sheet1"].iter_rows(values_only=True)]


def test_the_set_records_the_generator_that_drew_it(tiny_root):
    meta = json.loads((tiny_root / "synth.json").read_text())
    assert meta["generator_version"] == synth.GENERATOR_VERSION and synth.older_generator(meta) is None
    assert "version 1 " in synth.older_generator({k: v for k, v in meta.items() if k != "generator_version"})


def test_same_seed_same_files_other_seed_other_files(tiny_root, tmp_path):
    again = synth.write_dataset(tmp_path / "again", **TINY)
    assert _frames(again) == _frames(tiny_root)
    assert _cells(again) == _cells(tiny_root)
    other = synth.write_dataset(tmp_path / "other", **{**TINY, "seed": 8, "clips_per_subject": 2})
    a, b = _frames(other), _frames(tiny_root)
    assert all(a[k] != b[k] for k in a.keys() & b.keys())
    assert _cells(other)[1:] != _cells(tiny_root)[1:3]


def test_a_subjects_clips_do_not_depend_on_the_number_of_subjects():
    rows = synth.sample_annotations(subjects=3, clips_per_subject=4, seed=1)
    more = synth.sample_annotations(subjects=5, clips_per_subject=4, seed=1)
    assert [(r.subject, r.clip, r.onset) for r in rows] == [(r.subject, r.clip, r.onset) for r in more[:12]]


def test_coding_file_has_the_real_casme2_header_and_cell_types(tiny_root):
    from openpyxl import load_workbook

    wb = load_workbook(tiny_root / synth.CODING_FILE)
    assert wb.sheetnames == ["Sheet1", "Sheet2", "Sheet3"]
    assert wb["Sheet2"].max_row == 1 and wb["Sheet2"]["A1"].value is None
    ws = wb["Sheet1"]
    header = [c.value for c in ws[1]]
    assert header == ["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None,
                      "Action Units", "Estimated Emotion", "Objective Classes"]  # fmt: skip
    rows = list(ws.iter_rows(min_row=2))
    assert len(rows) == TINY["subjects"] * TINY["clips_per_subject"]
    for subject, filename, c, onset, apex, offset, g, aus, emotion, objective in rows:
        assert subject.data_type == "s" and subject.number_format == "@" and re.fullmatch(r"\d\d", subject.value)
        assert re.fullmatch(r"EP\d\d_\d\d f?".replace(" ", ""), filename.value)
        assert c.value is None and g.value is None
        assert all(type(x.value) is int for x in (onset, apex, offset, objective))
        assert onset.value <= apex.value <= offset.value and onset.value > 0
        assert 8 <= offset.value - onset.value + 1 <= 16
        # single AUs are numbers, combinations/sided AUs are text, as in the real file
        assert type(aus.value) is int or (isinstance(aus.value, str) and not aus.value.isdigit())
        assert emotion.value in synth.CLASS_MIX and emotion.value == emotion.value.lower()
        assert 1 <= objective.value <= 7


def test_pandas_reads_it_like_the_real_file(tiny_root):
    import pandas as pd

    df = pd.read_excel(tiny_root / synth.CODING_FILE, sheet_name="Sheet1")
    assert list(df.columns) == ["Subject", "Filename", "Unnamed: 2", "OnsetFrame", "ApexFrame", "OffsetFrame",
                                "Unnamed: 6", "Action Units", "Estimated Emotion", "Objective Classes"]  # fmt: skip
    assert df["Unnamed: 2"].isna().all() and df["Unnamed: 6"].isna().all()


def test_frames_are_exactly_onset_to_offset(tiny_root):
    for r in synth.read_annotations(tiny_root):
        folder = tiny_root / "Cropped" / f"sub{r.subject}" / r.clip
        names = sorted(p.name for p in folder.iterdir())
        assert names == sorted(f"reg_img{n}.jpg" for n in range(r.onset, r.offset + 1))
        with Image.open(folder / f"reg_img{r.apex}.jpg") as im:
            assert im.size == (280, 340) and im.mode == "RGB"


def test_class_mix_follows_casme2_five_class():
    rows = synth.sample_annotations(subjects=20, clips_per_subject=25, seed=3)
    for label, share in synth.CLASS_MIX.items():
        assert abs(sum(r.label == label for r in rows) / len(rows) - share) < 0.005
    # tiny sets still hold every class
    assert {r.label for r in synth.sample_annotations(**TINY)} == set(synth.CLASS_MIX)
    # the mix differs between subjects, as in CASME II
    per_subject = {s: sorted(r.label for r in rows if r.subject == s) for s in {r.subject for r in rows}}
    assert len({tuple(v) for v in per_subject.values()}) > 1
    # each class draws its own AU sets; "others" is heterogeneous
    assert all(r.aus in synth.CLASS_AUS[r.label] for r in rows)
    assert len({r.aus for r in rows if r.label == "others"}) >= 6


def _region(face: synth.Face, names: tuple[str, ...], shape: tuple[int, int]) -> np.ndarray:
    """Pixels within 1.6 eye widths of the named landmarks (both sides)."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    near = np.zeros((h, w), bool)
    for name, (x, y) in face.landmarks.items():
        if name in names or name.rsplit("_", 1)[0] in names:
            near |= (xx - x) ** 2 + (yy - y) ** 2 < (1.6 * face.scale) ** 2
    return near


# The face region each class's action units must move (landmark base names).
REGIONS = {
    "happiness": ("lip_corner", "cheek", "nasolabial", "lower_lid", "upper_lid"),
    "disgust": ("nose_wing", "upper_lip", "brow_inner", "glabella", "nasolabial", "lower_lid", "upper_lid"),
    "surprise": ("brow_inner", "brow_outer", "brow_mid", "forehead", "upper_lid", "lower_lip"),
    "repression": ("lip_corner", "chin", "lower_lip"),
}


@pytest.mark.parametrize("label", sorted(REGIONS))
def test_apex_differs_from_onset_in_the_class_region_only(label):
    face = synth.render_face(np.random.default_rng(5))
    for aus in synth.CLASS_AUS[label]:
        parsed = parse_aus(aus)
        field = displacement_field(face, parsed, [2.0] * len(parsed))
        frames = render_clip(face, field, 9, 4, np.random.default_rng(0), synth.Nuisance(0.0, 0.0, 0.0))
        energy = np.abs(frames[4].astype(float) - frames[0]).sum(axis=-1)
        assert energy.sum() > 0
        near = _region(face, REGIONS[label], energy.shape)
        assert energy[near].sum() / energy.sum() > 0.9, aus
        # ... and a region the class does not use stays still
        assert near.mean() < 0.45


def test_local_motion_survives_the_nuisances(tiny_root):
    """With drift, flicker, noise and JPEG, the class region still changes more than the rest of the face."""
    inside, outside = [], []
    for r in synth.read_annotations(tiny_root):
        folder = tiny_root / "Cropped" / f"sub{r.subject}" / r.clip
        onset = np.asarray(Image.open(folder / f"reg_img{r.onset}.jpg"), dtype=float)
        apex = np.asarray(Image.open(folder / f"reg_img{r.apex}.jpg"), dtype=float)
        change = np.abs(apex - onset).mean(axis=-1)
        assert 0 < change.mean() < 12  # a micro-expression: small, not nothing
        if r.label in REGIONS:
            face = synth.subject_face(TINY["seed"], int(r.subject))
            near = _region(face, REGIONS[r.label], change.shape)
            inside.append(change[near].mean())
            outside.append(change[~near].mean())
    assert inside and np.mean(inside) > 1.3 * np.mean(outside)


def test_subjects_are_visibly_different_faces():
    faces = [synth.render_face(np.random.default_rng([0, 2, s])) for s in range(6)]
    for i in range(len(faces)):
        for j in range(i):
            a, b = faces[i], faces[j]
            assert np.abs(a.image - b.image).mean() > 10  # colour / texture
            shift = max(
                np.hypot(a.landmarks[k][0] - b.landmarks[k][0], a.landmarks[k][1] - b.landmarks[k][1])
                for k in a.landmarks
            )
            assert shift > 4  # shape / proportions
    tones = [f.image[150:250, 100:180].mean(axis=(0, 1)) for f in faces]
    assert np.ptp([t.mean() for t in tones]) > 30  # skin tones span light to dark


def test_contact_sheet_shows_every_class(tiny_root, tmp_path):
    out = synth.contact_sheet(tiny_root, tmp_path / "sheet.png")
    with Image.open(out) as im:
        w, h = im.size
    assert w > 3 * 280 and h > 5 * 340


@pytest.mark.parametrize("low, high, hint", [("3", "1", ": give the smaller first, e.g."), ("-1", "2", ": give e.g."),
                                             ("1", "inf", ": give e.g.")])
def test_a_bad_amplitude_is_named_as_the_option(tmp_path, capsys, low, high, hint):
    # it was "synth amplitude_px must be (low, high) ..., got (3.0, 1.0)"
    assert main(["synth", str(tmp_path / "s"), "--amplitude", low, high, "--no-progress"]) == 3
    err = capsys.readouterr().err
    assert err.startswith(f"error: --amplitude LOW HIGH must be finite pixel counts with 0 <= LOW <= HIGH, got "
                          f"--amplitude {low} {high}{hint} --amplitude 8 12") and "amplitude_px" not in err
    assert not (tmp_path / "s").exists()


def test_bad_settings_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="subjects"):
        synth.sample_annotations(subjects=0, clips_per_subject=3, seed=0)
    with pytest.raises(ConfigError, match="amplitude_px"):
        synth.SynthConfig(amplitude_px=(2.0, 1.0))
    (tmp_path / "x.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        synth.write_dataset(tmp_path, subjects=1, clips_per_subject=1, seed=0)
    assert (tmp_path / "x.txt").read_text() == "mine"


def test_cli_writes_a_set_and_refuses_a_used_folder(tmp_path, capsys):
    from mmnet.commands import synth as command

    assert command._DEMO == synth.DEMO_PRESET
    out = tmp_path / "set"
    assert main(["synth", str(out), "--subjects", "1", "--clips-per-subject", "2", "--seed", "1"]) == 0
    assert "wrote 2 clips" in capsys.readouterr().out
    assert main(["synth", str(out), "--subjects", "1", "--clips-per-subject", "2"]) == 3
    assert "--overwrite" in capsys.readouterr().err
    assert main(["synth", str(out), "--subjects", "1", "--clips-per-subject", "1", "--overwrite"]) == 0
    assert len(synth.read_annotations(out)) == 1 and len(list((out / "Cropped").rglob("*/"))) == 2


def test_casme2_loader_reads_the_synthetic_set(tiny_root):
    loaded = load_dataset("casme2", tiny_root)
    assert not loaded.errors, loaded.errors
    rows = synth.read_annotations(tiny_root)
    assert sorted((s.subject, s.clip, s.onset, s.apex, s.offset, s.label) for s in loaded.samples) == sorted(
        (r.subject, r.clip, r.onset, r.apex, r.offset, r.label) for r in rows
    )
    for s in loaded.samples:
        assert s.frame_numbers == list(range(s.onset, s.offset + 1))


def test_the_closing_line_names_the_demos_recipe(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "set"), "--subjects", "1", "--clips-per-subject", "1", "--no-progress"]) == 0
    said = capsys.readouterr().out
    assert f"mmnet train --config synth_demo --root {tmp_path / 'set'} --out RUN trains `mmnet demo`'s recipe" in said
