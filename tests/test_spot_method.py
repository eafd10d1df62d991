"""`mmnet spot --set method=...`: only the training-free flow spotter runs without a trained spotter model."""

from __future__ import annotations

from mmnet.cli import main


def test_spot_refuses_a_spotter_that_must_be_trained_without_a_spotter_model(tmp_path, capsys):
    frames = tmp_path / "frames"
    frames.mkdir()  # refused before it is read: an empty folder would be an error of its own
    assert main(["spot", str(frames), "--fps", "30", "--set", "method=learned", "--no-progress"]) == 3
    err = capsys.readouterr().err
    assert "method=learned" in err and "mmnet train-spotter" in err and "--spotter-model" in err
    # the flow spotter goes on to read the recording (and finds it empty)
    assert main(["spot", str(frames), "--fps", "30", "--set", "method=flow", "--no-progress"]) == 3
    err = capsys.readouterr().err
    assert "spotter-model" not in err and "no numbered image" in err
