"""Ctrl-C at any moment: the one-line message, exit code 130, and nothing finished lost (an earlier report)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from ..fake_runs import make_samples, write_run
from .helpers import cli


def _reported_run(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    from mmnet.report import build_report

    run = write_run(tmp_path / "run", make_samples({"01": [0, 1, 2], "02": [0, 1, 2]}), lambda s, e, x: 0)
    report = build_report(run)
    return run, {name: (run / name).read_bytes() for name in report["files"]}


def _interrupt():
    raise KeyboardInterrupt


def _value_error_during_interrupt():
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt as exc:
        raise ValueError("a library's error while handling Ctrl-C") from exc


def _interrupt_swallowed():
    """SIGINT arrives, C code swallows the KeyboardInterrupt and fails with an unchained error."""
    try:
        signal.raise_signal(signal.SIGINT)
    except KeyboardInterrupt:
        pass
    raise ValueError("unchained")


@pytest.mark.parametrize("fault", [_interrupt, _value_error_during_interrupt, _interrupt_swallowed])
def test_an_interrupted_report_keeps_the_earlier_one(tmp_path, monkeypatch, capsys, fault):
    from mmnet.report import build

    run, before = _reported_run(tmp_path)
    monkeypatch.setattr(build, "render_figures", lambda *a, **k: fault())
    with pytest.raises((KeyboardInterrupt, ValueError)):
        build.build_report(run)
    assert {name: (run / name).read_bytes() for name in before} == before


def test_ctrl_c_in_mmnet_report_says_interrupted_and_keeps_the_report(tmp_path, monkeypatch, capsys):
    from mmnet.commands import report as report_command
    from mmnet.report import build

    run, before = _reported_run(tmp_path)
    monkeypatch.setattr(build, "render_figures", lambda *a, **k: _interrupt())
    code, out, err = cli(capsys, "report", run)
    assert code == 130 and err.strip() == f"interrupted: {report_command.INTERRUPTED}", err
    assert {name: (run / name).read_bytes() for name in before} == before


def test_an_interrupt_while_writing_leaves_the_old_report_whole_and_no_temporaries(tmp_path, monkeypatch):
    from mmnet import utils
    from mmnet.report import build_report

    run, before = _reported_run(tmp_path)
    written = []
    real = utils._write_temporary

    def interrupted_after_three(path, data):
        if len(written) == 3:
            raise KeyboardInterrupt
        written.append(path)
        return real(path, data)

    monkeypatch.setattr(utils, "_write_temporary", interrupted_after_three)
    with pytest.raises(KeyboardInterrupt):
        build_report(run, resamples=200)  # other confidence intervals: another report.md and report.json
    assert {name: (run / name).read_bytes() for name in before} == before
    assert not list(run.rglob("*.tmp"))


def test_a_full_disk_while_writing_the_report_names_the_file_and_keeps_the_old_report(tmp_path, monkeypatch, capsys):
    import errno

    from mmnet import utils

    run, before = _reported_run(tmp_path)
    real = utils._write_temporary

    def full(path, data):
        if path.name == "report.md":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data)

    monkeypatch.setattr(utils, "_write_temporary", full)
    code, out, err = cli(capsys, "report", run, "--resamples", "200")
    assert code == 3 and "report.md" in err and "Traceback" not in err, err
    assert {name: (run / name).read_bytes() for name in before} == before
    assert not list(run.rglob("*.tmp"))


def test_ctrl_c_while_the_commands_load_is_one_line_not_a_traceback(monkeypatch, capsys):
    from mmnet import cli as cli_module

    monkeypatch.setattr(cli_module, "build_parser", lambda: _interrupt())
    code, out, err = cli(capsys, "report", "anything")
    assert code == 130 and err.strip() == "interrupted: nothing was started", err


@pytest.fixture
def recording(tmp_path):
    from mmnet.synth.long import LongConfig
    from mmnet.synth.long_writer import write_long_dataset

    config = LongConfig(frame_size=(96, 112), face_size=(96, 112), weights=(1.0, 0.0, 0.0), blinks_per_min=0.0)
    root = write_long_dataset(tmp_path / "set", minutes=0.05, seed=2, config=config, formats=("jpg",))
    return next((root / "rawpic").glob("*/*"))


def test_ctrl_c_in_spot_says_nothing_was_written_and_leaves_no_empty_out_folder(recording, tmp_path, monkeypatch,
                                                                               capsys):
    from mmnet.infer import recordings

    monkeypatch.setattr(recordings, "spot_and_classify", lambda *a, **k: _interrupt())
    out = tmp_path / "spots"
    code, _, err = cli(capsys, "spot", recording, "--fps", "30", "--no-align", "--no-progress", "--out", out)
    assert code == 130 and "nothing was written" in err and "finished work is kept" not in err, err
    assert not out.exists()


def test_spot_on_a_full_disk_names_the_file(recording, tmp_path, monkeypatch, capsys):
    import errno
    import os

    real = os.fsync

    def full(fd):  # the disk fills up as the timeline is written
        if "timeline.png" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd)

    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "spots"
    code, _, err = cli(capsys, "spot", recording, "--fps", "30", "--no-align", "--no-progress", "--out", out)
    assert code == 3 and str(out / "timeline.png") in err and "Traceback" not in err, err
    # all or nothing: no intervals.csv without its timeline; the spotting is kept, for a rerun once there is space
    assert [p.name for p in out.iterdir()] == [".mmnet-spot-partial.npz"]


def test_a_disk_error_without_a_file_name_is_one_line(monkeypatch, capsys):
    import errno

    from mmnet.commands import info

    def full(args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(info, "run", full)
    code, out, err = cli(capsys, "info")
    assert code == 3 and err.startswith("error: no space left on the disk") and "another --out" in err, err


def test_a_read_only_command_does_not_promise_kept_work(monkeypatch, capsys):
    from mmnet.commands import check_data

    monkeypatch.setattr(check_data, "run", lambda args: _interrupt())
    code, out, err = cli(capsys, "check-data", "casme2", "--root", "anywhere")
    assert code == 130 and err.strip() == "interrupted: nothing was written (check-data only reads)", err


def test_ctrl_c_at_the_report_step_of_mmnet_train_keeps_the_earlier_report(tmp_path, monkeypatch, capsys):
    from mmnet import synth
    from mmnet.report import build

    from .helpers import TINY

    root = synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=3, seed=0)
    argv = ["train", "--dataset", "casme2", "--root", root, "--out", tmp_path / "run", "--no-progress",
            *[a for item in TINY for a in ("--set", item)], "--set", f"data.cache_dir={tmp_path / 'cache'}"]
    assert cli(capsys, *argv)[0] == 0
    run = tmp_path / "run"
    before = {p: p.read_bytes() for p in run.iterdir() if p.name.startswith(("report", "pooled", "confusion"))}
    assert len(before) >= 4
    monkeypatch.setattr(build, "render_figures", lambda *a, **k: _interrupt())
    code, out, err = cli(capsys, *argv)  # every fold finished: straight to the report
    assert code == 130 and "finished work is kept" in err, err
    assert {p: p.read_bytes() for p in before} == before


@pytest.mark.parametrize("command, argv, says", [
    ("predict", ["predict", "--checkpoint", "m", "clip"], "printed above"),
    ("explain", ["explain", "--checkpoint", "m", "clip", "--out", "f.png"], "no figure was written"),
    ("info", ["info"], "nothing was written"),
    ("synth", ["synth", "out"], "the incomplete set was removed"),
])
def test_commands_that_keep_nothing_do_not_promise_a_rerun_continues(command, argv, says, monkeypatch, capsys):
    import importlib

    module = importlib.import_module(f"mmnet.commands.{command}")
    monkeypatch.setattr(module, "run", lambda args: _interrupt())
    code, out, err = cli(capsys, *argv)
    assert code == 130 and says in err and "continue" not in err, err


def _terminate():
    """What ``kill PID`` (SIGTERM) does to the process, in the middle of the step."""
    signal.raise_signal(signal.SIGTERM)


def test_sigterm_in_mmnet_train_is_handled_as_ctrl_c_with_its_own_exit_code(tmp_path, monkeypatch, capsys):
    from mmnet import synth
    from mmnet.report import build

    from .helpers import TINY

    root = synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=3, seed=0)
    argv = ["train", "--dataset", "casme2", "--root", root, "--out", tmp_path / "run", "--no-progress",
            *[a for item in TINY for a in ("--set", item)], "--set", f"data.cache_dir={tmp_path / 'cache'}"]
    monkeypatch.setattr(build, "render_figures", lambda *a, **k: _terminate())
    code, out, err = cli(capsys, *argv)
    assert code == 143 and err.strip().endswith("stopped (SIGTERM): finished work is kept; rerun the same command "
                                                "to continue; 2/2 folds finished"), err  # stopped in the report
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # the handler is mmnet's only while a command runs
    monkeypatch.undo()
    code, out, err = cli(capsys, *argv)
    assert code == 0 and "2/2 folds already finished" in out + err, out + err


def test_sigterm_is_held_back_while_files_are_renamed_into_place():
    from mmnet import cli as cli_module
    from mmnet import utils

    reached = []
    with pytest.raises(cli_module.Terminated), cli_module._sigterm_as_interrupt():
        with utils.interrupts_held():
            _terminate()
            reached.append("the renames finish first")
    assert reached == ["the renames finish first"]
