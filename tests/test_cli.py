import subprocess
import sys

import pytest
import torch

from mmnet import MMNet, __version__
from mmnet.cli import main


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for name in ("convert", "info"):
        assert name in out


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert __version__ in capsys.readouterr().out


def test_python_dash_m():
    r = subprocess.run([sys.executable, "-m", "mmnet", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and __version__ in r.stdout


def test_user_error_exits_3_without_traceback(tmp_path, capsys):
    code = main(["info", str(tmp_path / "missing")])
    err = capsys.readouterr().err
    assert code == 3
    assert err.startswith("error: ") and "Traceback" not in err


def test_convert_then_info(tmp_path, capsys):
    model = MMNet()
    from mmnet.model.convert import _KEY_MAP  # noqa: F401  (the map exists)

    # Build an authors'-layout checkpoint from our weights by inverting names through the converter test helper.
    from .test_convert import _fake_official_state_dict

    torch.save(_fake_official_state_dict(), tmp_path / "authors.pth")
    assert main(["convert", str(tmp_path / "authors.pth"), str(tmp_path / "ours")]) == 0
    assert main(["info", str(tmp_path / "ours")]) == 0
    out = capsys.readouterr().out
    assert "9,438,841" in out and "happiness" in out
    assert MMNet.from_pretrained(tmp_path / "ours").config == model.config


def test_convert_garbage_exits_3(tmp_path, capsys):
    (tmp_path / "x.pth").write_bytes(b"garbage")
    assert main(["convert", str(tmp_path / "x.pth"), str(tmp_path / "out")]) == 3
    err = capsys.readouterr().err
    assert "x.pth" in err and "is not a PyTorch checkpoint" in err and "weights_only" not in err
    # a pickle holding other objects than tensors: named, and no advice to unpickle it anyway
    import argparse

    torch.save({"args": argparse.Namespace(lr=1)}, tmp_path / "y.pth")
    assert main(["convert", str(tmp_path / "y.pth"), str(tmp_path / "out")]) == 3
    err = capsys.readouterr().err
    assert "argparse.Namespace" in err and "weights_only" not in err and "trust" not in err
