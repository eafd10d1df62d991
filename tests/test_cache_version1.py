"""A run started under frame cache version 1 resumes where its frames decode as that version decoded them (8-bit,
no EXIF orientation), and is refused where one frame is a 16-bit grey or a rotated photo."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from PIL import Image

from mmnet import synth
from mmnet.config import load_config
from mmnet.data import load_dataset
from mmnet.data.cache import FrameWindows, cache_fingerprint, frame_windows
from mmnet.errors import ConfigError
from mmnet.train.cache_version1 import decoded_unlike_version1, version1_fingerprints
from mmnet.train.prepare import prepare_run

from .fake_runs import as_frame_cache_version1


class _Frames:
    def __init__(self, folder):
        self.folder = folder

    def frame_path(self, n):
        return self.folder / f"{n}.img"


def _save(path, image, fmt, **kwargs):
    image.save(path, format=fmt, **kwargs)


def test_the_frames_version_1_decoded_otherwise_are_found_from_their_headers(tmp_path):
    grey = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16
    rgb = Image.fromarray(np.full((8, 8, 3), 100, np.uint8))
    rotated = Image.Exif()
    rotated[0x0112] = 6
    upright = Image.Exif()
    upright[0x0112] = 1
    _save(tmp_path / "1.img", rgb, "JPEG")
    _save(tmp_path / "2.img", Image.fromarray(np.full((8, 8), 7, np.uint8)), "PNG")
    _save(tmp_path / "3.img", rgb, "JPEG", exif=upright)
    windows = [FrameWindows((1, 2), (3,), 1, 3)]
    assert decoded_unlike_version1([_Frames(tmp_path)], windows) == []  # 8-bit, upright: decoded alike
    _save(tmp_path / "2.img", Image.fromarray(grey), "PNG")  # 16-bit grey: version 1 clipped it to white
    assert Image.open(tmp_path / "2.img").mode.startswith("I")
    _save(tmp_path / "3.img", rgb, "JPEG", exif=rotated)  # a phone's portrait photo: version 1 left it sideways
    found = decoded_unlike_version1([_Frames(tmp_path)], windows)
    assert [f.split(" (")[0] for f in found] == [str(tmp_path / "2.img"), str(tmp_path / "3.img")]
    assert "16-bit" in found[0] and "EXIF orientation 6" in found[1]


def _version1_run(tmp_path, monkeypatch):
    root = synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=2, seed=0)
    base = [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", "data.image_size=32"]
    out = tmp_path / "run"
    prepare_run(load_config(None, base), out, progress=False)
    as_frame_cache_version1(out)
    monkeypatch.setattr("mmnet.train.cache_version1.version1_fingerprints", lambda *a: {"fingerprint-v1"})
    return root, base, out


def test_a_version_1_run_whose_frames_decode_alike_resumes_with_a_note(tmp_path, monkeypatch, caplog):
    _, base, out = _version1_run(tmp_path, monkeypatch)
    with caplog.at_level(logging.WARNING, logger="mmnet"):
        prepare_run(load_config(None, base), out, progress=False)  # refused before: "frame cache version 1"
    (note,) = [r.getMessage() for r in caplog.records if "frame cache version 1" in r.getMessage()]
    assert "commits 6518e06 to 6522f66" in note and "the run resumes" in note


def test_a_version_1_run_with_a_rotated_photo_is_refused_naming_it_and_the_versions(tmp_path, monkeypatch):
    root, base, out = _version1_run(tmp_path, monkeypatch)
    photo = sorted(root.rglob("*.jpg"))[0]
    exif = Image.Exif()
    exif[0x0112] = 8
    with Image.open(photo) as im:
        im.load()
        im.save(photo, format="JPEG", exif=exif)
    with pytest.raises(ConfigError) as caught:
        prepare_run(load_config(None, base), out, progress=False)
    message = str(caught.value)
    assert "started by an earlier mmnet (frame cache version 1: mmnet of 2026-11-25 to 2026-12-04" in message
    assert f"{photo} (EXIF orientation 8)" in message and "--restart" in message


def test_the_version_1_name_of_a_relative_root_is_found(tmp_path, monkeypatch):
    # that mmnet hashed the frame paths as --root gave them (`--root data`); this one finds them absolute, and the
    # run was refused as "trained on other data" instead of being known as version 1's
    synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=2, seed=0)
    monkeypatch.chdir(tmp_path)
    names = []
    for root in ("data", str(tmp_path / "data")):
        samples = load_dataset("casme2", root).samples
        windows = [frame_windows(s, 0.15, clamp=False) for s in samples]
        names.append((cache_fingerprint(samples, windows, 32, version=1),  # the name version 1 gave
                      version1_fingerprints(samples, windows, 32)))
    (relative, _), (absolute, found) = names
    assert relative != absolute and found == {relative, absolute}
