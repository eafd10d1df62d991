"""`--no-progress` is taken by predict, explain and spot alike (a script may pass it to all three), and silences the
lines said at a terminal before a step of seconds ('loading the model ...')."""

from __future__ import annotations

import pytest

from mmnet.cli import main

from .test_inference import synthetic_clip, write_frames


@pytest.fixture
def at_a_terminal(monkeypatch):
    import mmnet.progress

    monkeypatch.setattr(mmnet.progress, "bars_wanted", lambda progress: bool(progress))  # stderr as a terminal's


@pytest.mark.parametrize("command", ["explain", "predict"])
def test_no_progress_is_taken_and_silences_the_loading_lines(command, checkpoint, tmp_path, capsys, at_a_terminal):
    write_frames(tmp_path / "clip", synthetic_clip(6, 3))
    args = [command, "--checkpoint", str(checkpoint), str(tmp_path / "clip"), "--apex", "4"]
    if command == "explain":
        args += ["--out", str(tmp_path / "figure.png"), "--dpi", "30", "--no-deletion-check"]
    assert main(args) == 0
    assert "loading the model" in capsys.readouterr().err
    assert main([*args, "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "loading the model" not in err and "classifying" not in err


def test_every_command_that_classifies_takes_no_progress():
    import argparse

    from mmnet.cli import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    for command in ("predict", "explain", "spot"):
        assert "--no-progress" in commands[command]._option_string_actions, command
