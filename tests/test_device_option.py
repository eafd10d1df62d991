"""--device: one option, one help and one check for every command that runs a model."""

import pytest

from mmnet.cli import main

DEVICE_LINE = "error: --device=tpu is not a device; use auto, cpu, cuda or cuda:N."


@pytest.mark.parametrize("argv", [
    ["train", "--root", "data", "--out", "run"],
    ["predict", "--checkpoint", "model", "clip"],
    ["serve", "--checkpoint", "model"],
    ["spot", "recording.mp4", "--out", "spots"],
    ["train-spotter", "casme-sq", "--root", "data", "--out", "models/spotter.pt"],
    ["explain", "--checkpoint", "model", "clip", "--out", "explained"],
], ids=lambda argv: argv[0])
def test_an_unknown_device_is_the_same_one_line_before_any_work(argv, tmp_path, capsys, monkeypatch):
    # predict and serve left the name to the model loader: a missing checkpoint was named first
    monkeypatch.chdir(tmp_path)
    assert main([*argv, "--device", "tpu"]) == 3
    assert capsys.readouterr().err.strip().splitlines() == [DEVICE_LINE]
    assert not any(tmp_path.iterdir())  # no run, output or model folder was made


def test_a_gpu_is_checked_only_where_the_run_uses_it(capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["train", "--device", "cuda", "--print-config"]) == 0  # a config for another machine
    assert "device: cuda" in capsys.readouterr().out
    assert main(["train", "--device", "cuda", "--root", "data", "--out", "run"]) == 3
    assert "--device=cuda, but" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["train", "predict", "serve", "spot", "train-spotter"])
def test_every_device_option_has_the_one_help(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    help_text = " ".join(capsys.readouterr().out.split())  # as wrapped to the terminal's width
    assert ("--device DEVICE torch device: auto (a CUDA GPU when there is one, else cpu), cpu, cuda or cuda:N "
            "(default") in help_text
