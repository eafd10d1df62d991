"""`mmnet synth` on a small disk: a set that cannot fit is refused before anything is written, and a write that fails
or an interruption leaves no partial set, which blocked the rerun ("Output folder ... is not empty")."""

from __future__ import annotations

import errno
import shutil
from collections import namedtuple

import pytest
from PIL import Image

from mmnet.cli import main

LONG = ["--long", "--minutes", "0.02", "--size", "160", "120"]
Usage = namedtuple("Usage", "total used free")


def test_a_set_that_does_not_fit_is_refused_naming_its_size_and_the_free_space(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10**9, 10**9 - 10**6, 10**6))  # 1 MB free
    out = tmp_path / "hd"
    assert main(["synth", str(out), "--long", "--minutes", "1", "--size", "1920", "1080"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: The synthetic set needs about ") and "0.00 GB free" in err and "--minutes" in err
    assert not out.exists()  # nothing was written
    assert main(["synth", str(tmp_path / "clips")]) == 3  # a clip set too
    assert "--clips-per-subject" in capsys.readouterr().err and not (tmp_path / "clips").exists()


def _disk_full_after(monkeypatch, frames: int):
    real_save, saved = Image.Image.save, []

    def save(self, fp, *args, **kwargs):
        if len(saved) >= frames:
            raise OSError(errno.ENOSPC, "No space left on device", str(fp))
        saved.append(fp)
        return real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save)


@pytest.mark.parametrize("argv, made", [(LONG, False), (LONG, True), ([], False)])
def test_a_full_disk_leaves_no_partial_set_and_the_rerun_works(tmp_path, monkeypatch, capsys, argv, made):
    out = tmp_path / "set"
    if made:
        out.mkdir()  # an empty folder the user made stays, empty
    with monkeypatch.context() as patch:
        _disk_full_after(patch, 5)
        assert main(["synth", str(out), *argv]) == 3
    assert "No space left on device" in capsys.readouterr().err
    assert (list(out.iterdir()) == []) if made else not out.exists()
    assert main(["synth", str(out), *argv]) == 0  # not "Output folder ... is not empty"


def test_an_interrupted_overwrite_keeps_the_marker_so_overwrite_works_again(tmp_path, monkeypatch, capsys):
    out = tmp_path / "set"
    assert main(["synth", str(out), *LONG]) == 0
    with monkeypatch.context() as patch:
        def interrupted(*args, **kwargs):
            raise KeyboardInterrupt

        patch.setattr(Image.Image, "save", interrupted)
        assert main(["synth", str(out), *LONG, "--overwrite"]) == 130
    assert "the incomplete set was removed" in capsys.readouterr().err
    assert not (out / "rawpic").exists()  # no partial frames
    assert main(["synth", str(out), *LONG, "--overwrite"]) == 0
