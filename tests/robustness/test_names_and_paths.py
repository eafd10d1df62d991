"""Odd names and paths: over-long cells, symbolic link loops, model settings, stale reports."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mmnet.data import load_dataset
from mmnet.errors import DataError

from ..fake_runs import make_samples, write_run
from ..fakes import CASME2_ROWS, write_casme2, write_casme2_xlsx
from .helpers import assert_named_error, cli


def test_a_5000_character_subject_or_clip_cell_is_a_named_row_error(tmp_path, capsys):
    rows = list(CASME2_ROWS[:2])
    root = write_casme2(tmp_path / "c2", rows)
    write_casme2_xlsx(root / "CASME2-coding-20190701.xlsx", [*rows, ("01", "X" * 5000, 10, 20, 30, "4", "disgust", 3),
                                                              ("Y" * 5000, "EP01", 10, 20, 30, "4", "disgust", 3)])
    load = load_dataset("casme2", root)
    bad = [i for i in load.issues if i.check == "bad_row"]
    assert len(bad) == 2 and all("5000 characters" in i.message and "row " in i.message for i in bad)
    assert {s.clip for s in load.samples} == {r[1] for r in rows}
    code, out, err = cli(capsys, "check-data", "casme2", "--root", root)
    assert code == 0 and "5000 characters" in out, err


def test_a_symbolic_link_loop_among_frames_is_named(tmp_path, capsys):
    rows = list(CASME2_ROWS[:2])
    root = write_casme2(tmp_path / "c2", rows)
    clip = root / "Cropped" / "sub01" / rows[0][1]
    os.symlink(clip / "reg_img999.jpg", clip / "reg_img998.jpg")
    os.symlink(clip / "reg_img998.jpg", clip / "reg_img999.jpg")
    load = load_dataset("casme2", root)
    (issue,) = [i for i in load.issues if i.check == "frames_unreadable"]
    assert "reg_img99" in issue.message and "symbolic link" in issue.message
    from mmnet.media import list_frames

    with pytest.raises(DataError, match="reg_img99"):
        list_frames(clip)
    code, out, err = cli(capsys, "check-data", "casme2", "--root", root)
    assert code == 0 and "frames_unreadable" in out


def test_pc_num_heads_zero_is_a_named_error_on_the_command_line(tmp_path, capsys):
    code, _, err = cli(capsys, "train", "--root", tmp_path, "--out", tmp_path / "run", "--set", "model.pc_num_heads=0")
    assert_named_error(code, err, "model.pc_num_heads")


def test_a_failed_report_leaves_no_stale_report(tmp_path, capsys):
    from mmnet.report import build_report
    from mmnet.report.build import REPORT_FILES

    run = write_run(tmp_path / "run", make_samples({"01": [0, 1, 2], "02": [0, 1, 2]}), lambda s, e, x: 0)
    build_report(run)
    assert all((run / n).exists() for n in REPORT_FILES)
    pred = next(Path(run).glob("seed-0/fold-*/predictions.csv"))
    pred.write_text("epoch,sample_id\nnot,a,table\n")
    code, out, err = cli(capsys, "report", run)
    assert_named_error(code, err, pred.name)
    assert not any((run / n).exists() for n in REPORT_FILES)


def test_invalid_yaml_in_a_run_config_is_named_by_report(tmp_path, capsys):
    run = write_run(tmp_path / "run", make_samples({"01": [0, 1, 2], "02": [0, 1, 2]}), lambda s, e, x: 0)
    (run / "config.yaml").write_text("data: [unclosed\n")
    code, _, err = cli(capsys, "report", run)
    assert_named_error(code, err, "config.yaml", "not valid YAML")


@pytest.mark.parametrize("option", ["--out", "--root", "--annotation", "--config"])
def test_a_path_that_is_not_utf8_is_refused_before_any_work(tmp_path, capsys, option):
    odd = os.fsdecode(bytes(tmp_path) + b"/out\xff")  # as Python reads b'out\xff' from the command line
    argv = {"--out": ["--out", odd], "--root": ["--root", odd], "--annotation": ["--annotation", odd],
            "--config": ["--config", odd]}[option]
    base = ["train", "--dataset", "casme2", "--root", str(tmp_path), "--out", str(tmp_path / "run")]
    code, out, err = cli(capsys, *base, *argv)
    assert_named_error(code, err, option, "out\ufffd", "b'", "not valid UTF-8", "rename it")
    assert not (tmp_path / "run").exists()


def test_a_set_value_that_is_not_utf8_says_so(tmp_path, capsys):
    odd = os.fsdecode(b"d\xffx")
    code, out, err = cli(capsys, "train", "--dataset", "casme2", "--out", tmp_path / "run", "--set", f"data.root={odd}")
    assert_named_error(code, err, "data.root", "d\ufffdx", "not valid UTF-8", "rename it")
    assert "cannot parse" not in err


@pytest.mark.parametrize("kind", ["folder", "pipe"])
def test_a_folder_or_pipe_where_the_apex_frame_should_be_is_not_a_regular_file(tmp_path, kind):
    rows = list(CASME2_ROWS[:2])
    root = write_casme2(tmp_path / "c2", rows)
    subject, clip, _, apex, *_ = rows[0]
    frame = root / "Cropped" / f"sub{subject}" / clip / f"reg_img{apex}.jpg"
    frame.unlink()
    frame.mkdir() if kind == "folder" else os.mkfifo(frame)
    load = load_dataset("casme2", root)
    (issue,) = [i for i in load.issues if i.check == "apex_not_on_disk"]
    assert f"is not a regular file: '{frame.name}'" in issue.message and "not on disk" not in issue.message
