"""check-data reads the frames (quickly, or fully with --deep) and counts what training will use."""

from __future__ import annotations

import json

import pytest

from mmnet.config import load_config
from mmnet.errors import DataError
from mmnet.train import run_experiment

from ..fakes import frame_bytes, write_casme2
from .helpers import TINY, assert_named_error, cli

ROWS = [("01", "EP01", 1, 5, 9, "4", "happiness", 1), ("01", "EP02", 1, 5, 9, "4", "disgust", 3),
        ("02", "EP01", 1, 5, 9, "4", "happiness", 1), ("02", "EP02", 1, 5, 9, "4", "surprise", 2),
        ("03", "EP01", 1, 5, 9, "4", "happiness", 1), ("03", "EP02", 1, 5, 9, "4", "surprise", 2)]


def _frame(root, subject, clip, n):
    return root / "Cropped" / f"sub{subject}" / clip / f"reg_img{n}.jpg"


@pytest.mark.parametrize("damage, check", [
    ("empty", "is empty"), ("random", "not an image"), ("truncated", "frame_unreadable"), ("text", "not an image"),
    ("size", "differ in size"), ("twice", "two files for frame"),
])
def test_damaged_frames_are_reported_and_counted_as_training_counts_them(tmp_path, capsys, damage, check):
    root = write_casme2(tmp_path / "c2", ROWS, junk=False, on_disk={})
    target = _frame(root, "01", "EP01", 3)
    data = target.read_bytes()
    if damage == "empty":
        target.write_bytes(b"")
    elif damage == "random":
        target.write_bytes(bytes(range(256)) * 4)
    elif damage == "truncated":
        target.write_bytes(data[: len(data) * 2 // 3])
    elif damage == "text":
        target.write_text("this is a note, not a picture\n")
    elif damage == "size":
        target.write_bytes(frame_bytes(0.5, size=16))
    else:
        (target.parent / "reg_img03.jpg").write_bytes(frame_bytes(0.9))
    code, out, _ = cli(capsys, "check-data", "casme2", "--root", root)
    assert code == 0 and check in out and "casme2/01/EP01" in out
    assert "5 of 6 annotated samples used for training" in out
    code, out, _ = cli(capsys, "check-data", "casme2", "--root", root, "--json")
    doc = json.loads(out)
    assert len(doc["used"]) == 5 and doc["training_stops"]
    assert [x["sample_id"] for x in doc["left_out"] if x["problem"]] == ["casme2/01/EP01"]
    # training applies the same rule
    cfg = load_config(None, [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", *TINY])
    with pytest.raises(DataError, match="casme2/01/EP01"):
        run_experiment(cfg, tmp_path / "run", progress=False)


def test_a_truncated_frame_is_found_without_decoding(tmp_path):
    from mmnet.data.frame_check import probe_frame

    for fmt, name in (("JPEG", "a.jpg"), ("PNG", "a.png")):
        path = tmp_path / name
        data = frame_bytes(0.5, fmt=fmt, size=64)
        path.write_bytes(data)
        assert probe_frame(path) == ((64, 64), None)
        path.write_bytes(data[: len(data) - 30])
        assert "truncated" in probe_frame(path)[1]


def test_deep_decodes_every_frame(tmp_path):
    import io

    import numpy as np
    from PIL import Image

    from mmnet.data.frame_check import probe_frame

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    data[len(data) // 2 : len(data) // 2 + 200] = b"\x00" * 200  # damaged inside, header and end intact
    path = tmp_path / "f.png"
    path.write_bytes(bytes(data))
    assert probe_frame(path) == ((64, 64), None)  # the quick check cannot see it
    assert "cannot be decoded" in probe_frame(path, deep=True)[1]


def test_root_that_is_a_file(tmp_path, capsys):
    f = tmp_path / "CASME2-coding.xlsx"
    f.write_bytes(b"x")
    code, _, err = cli(capsys, "check-data", "casme2", "--root", f)
    assert_named_error(code, err, "is a file, not a folder", "--annotation")


def test_training_counts_frame_errors_as_check_data_does(tmp_path, capsys, caplog):
    # train logged "N issue(s) (0 errors)" from the loader while check-data counted the damaged frame's error too
    import logging

    root = write_casme2(tmp_path / "c2", ROWS, junk=False, on_disk={})
    _frame(root, "01", "EP01", 3).write_bytes(b"")
    code, out, _ = cli(capsys, "check-data", "casme2", "--root", root)
    assert "problems    1 error(s)" in out
    cfg = load_config(None, [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", *TINY])
    with caplog.at_level(logging.WARNING, logger="mmnet"), pytest.raises(DataError, match="casme2/01/EP01"):
        run_experiment(cfg, tmp_path / "run", progress=False)
    # the damaged frame named, not "1 more error(s)" than a summary that counted none
    assert "1 frame file error(s), each leaving its sample unusable: casme2/01/EP01: frame 3 " in caplog.text
    assert "more error" not in caplog.text and str(tmp_path / "run" / "skipped.csv") in caplog.text
