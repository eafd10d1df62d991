import os
import subprocess
import sys
from pathlib import Path

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



@pytest.mark.parametrize("command", ["predict", "explain"])
def test_predict_and_explain_help_say_a_prepared_folders_moved_face_is_refused(command, capsys):
    # explain --help said it, predict --help (whose check explain follows) did not; explain said viridis only
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "On a folder that `mmnet prepare` wrote, an onset or apex frame where prepare found the face moved" in out
    assert "is refused" in out
    if command == "explain":
        assert "drawn in --cmap (default viridis)" in out


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


def test_info_shows_the_preprocessing_a_plain_checkpoint_gets(tmp_path, capsys):
    from mmnet.model import CheckpointInfo

    MMNet(num_classes=3, image_size=64).save_pretrained(tmp_path / "plain")  # preprocessing: {}
    own = CheckpointInfo(preprocessing={"std": [1, 1, 1]})
    MMNet(num_classes=3, image_size=64).save_pretrained(tmp_path / "own", own)
    assert main(["info", str(tmp_path / "plain")]) == 0
    out = capsys.readouterr().out
    default = "(default: not stored in the checkpoint)"
    assert f"preprocessing.image_size = 64 {default}" in out  # nothing was printed: the defaults apply
    assert f"preprocessing.mean = [0.485, 0.456, 0.406] {default}" in out
    assert f"preprocessing.std = [0.229, 0.224, 0.225] {default}" in out
    assert main(["info", str(tmp_path / "own")]) == 0
    out = capsys.readouterr().out
    assert "preprocessing.std = [1, 1, 1]\n" in out and f"preprocessing.mean = [0.485, 0.456, 0.406] {default}" in out


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


def test_predict_warns_when_a_clip_looks_like_a_recording(tmp_path, capsys):
    import json

    import numpy as np
    from PIL import Image

    pytest.importorskip("av")
    from .serve_helpers import make_checkpoint, mp4_bytes, synth_frames

    checkpoint = str(make_checkpoint(tmp_path / "model"))
    frames = synth_frames(n=40, apex=20)
    (tmp_path / "long.mp4").write_bytes(mp4_bytes(frames, fps=10))  # 4 s: over the 3 s rule
    (tmp_path / "short.mp4").write_bytes(mp4_bytes(frames, fps=30))  # 1.3 s
    assert main(["predict", "--checkpoint", checkpoint, str(tmp_path / "long.mp4"), "--json"]) == 0
    out, err = capsys.readouterr()
    (row,) = json.loads(out)  # stdout stays JSON; the warning is in it and, for a person, on stderr
    assert "4.0 s (40 frames at 10 fps)" in row["recording_warning"] and "looks like a recording" in err
    assert "long.mp4" in err and "mmnet spot RECORDING --checkpoint MODEL" in err
    assert main(["predict", "--checkpoint", checkpoint, str(tmp_path / "short.mp4"), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)[0]["recording_warning"] is None and "recording" not in err
    # a frame folder carries no rate: more than 600 frames (3 s even at 200 fps) is a recording
    folder = tmp_path / "frames"
    folder.mkdir()
    tiny = Image.fromarray(np.zeros((16, 16, 3), np.uint8))
    for i in range(1, 602):
        tiny.save(folder / f"img{i}.png")
    assert main(["predict", "--checkpoint", checkpoint, str(folder), "--apex", "2"]) == 0
    assert "601 frames" in capsys.readouterr().err
    # onset and apex both given: one expression picked out of a recording (e.g. an interval of mmnet spot)
    assert main(["predict", "--checkpoint", checkpoint, str(tmp_path / "long.mp4"), "--onset", "3", "--apex", "9",
                 "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)[0]["recording_warning"] is None and "recording" not in err
    assert main(["predict", "--checkpoint", checkpoint, str(folder), "--onset", "1", "--apex", "2"]) == 0
    assert "recording" not in capsys.readouterr().err
    (folder / "img601.png").unlink()
    assert main(["predict", "--checkpoint", checkpoint, str(folder), "--onset", "1", "--apex", "2"]) == 0
    assert "recording" not in capsys.readouterr().err


def test_a_closed_stdout_ends_quietly():
    """`mmnet info | head -1`: the reader goes away; mmnet stops with exit code 1 and no BrokenPipeError."""
    import os

    import mmnet

    env = {**os.environ, "PYTHONPATH": str(Path(mmnet.__file__).parents[1])}
    p = subprocess.Popen([sys.executable, "-m", "mmnet", "info"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env)
    p.stdout.close()  # before mmnet writes anything: every write meets a closed pipe
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 1
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err, err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_stdout_is_a_one_line_error():
    # `mmnet predict ... > /dev/full` ended in an OSError traceback
    import os

    import mmnet

    env = {**os.environ, "PYTHONPATH": str(Path(mmnet.__file__).parents[1])}
    with open("/dev/full", "w") as full:
        p = subprocess.run([sys.executable, "-m", "mmnet", "info"], stdout=full, stderr=subprocess.PIPE, env=env,
                           timeout=120)
    err = p.stderr.decode()
    assert p.returncode == 3 and "Traceback" not in err and "Exception ignored" not in err, err
    assert err.startswith("error: the output could not be written to standard output (No space left on device)")
    assert len(err.strip().splitlines()) == 1


def test_every_device_option_states_its_default():
    # predict and explain said "e.g. cpu or cuda" where train said auto and spot cpu: each says its own default
    from mmnet.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    seen = []
    for name, p in sub.choices.items():
        for action in p._actions:
            if "--device" in action.option_strings:
                default = action.default or "auto"  # train: None is train.device of the config, auto
                assert action.help.startswith("torch device: ") and f"(default {default}" in action.help, name
                seen.append(name)
    assert {"predict", "explain", "spot", "serve", "train", "train-spotter"} <= set(seen)


def test_every_option_with_a_default_states_it():
    # predict --batch-size (8) and explain --dpi (100) did not say their defaults, where other options do
    import argparse
    import re

    from mmnet.cli import build_parser

    def states(action) -> bool:  # "default ..." or the value in brackets, as prepare's "(0.40)"
        values = re.findall(r"\(([\d.]+)\)", action.help or "")
        return "default" in (action.help or "") or any(float(v) == action.default for v in values)

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    silent = [f"{name} {action.option_strings[0]}" for name, p in sub.choices.items() for action in p._actions
              if action.option_strings and action.default not in (None, False, [], argparse.SUPPRESS)
              and not states(action)]
    assert not silent, silent


def test_the_cache_folder_is_described_as_default_cache_dir_finds_it(tmp_path, monkeypatch, capsys):
    # check-data --cache-dir left out $XDG_CACHE_HOME, and `info --cache` called a folder found through it "default"
    from mmnet.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name, p in sub.choices.items():
        text = " ".join(p.format_help().split())
        if ".cache/mmnet" in text:
            assert "$MMNET_CACHE_DIR, else $XDG_CACHE_HOME/mmnet, else ~/.cache/mmnet" in text, name
    monkeypatch.delenv("MMNET_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert main(["info", "--cache"]) == 0
    assert f"{tmp_path / 'mmnet'} ($XDG_CACHE_HOME/mmnet;" in capsys.readouterr().out


def test_train_seeds_take_a_list_as_demo_does_and_one_value_stays_a_count(capsys):
    # `mmnet train --seeds 0 1 2` stopped with the top-level usage, though `mmnet demo --seeds 0 1 2` is documented
    import yaml

    assert main(["train", "--seeds", "0", "4", "7", "--print-config"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["seeds"] == [0, 4, 7]
    assert main(["train", "--seeds", "3", "--print-config"]) == 0  # README and docs/cluster.md: a count
    assert yaml.safe_load(capsys.readouterr().out)["seeds"] == [0, 1, 2]
    for command, meaning in (("train", "one value is a count"), ("demo", "always a list")):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert meaning in " ".join(capsys.readouterr().out.split())


def test_no_command_is_a_usage_error_with_the_help_on_stderr(capsys):
    # `mmnet` alone exited 0 with the help on stdout, so a script that lost its command "succeeded"
    assert main([]) == 2
    printed = capsys.readouterr()
    assert printed.out == "" and "Start here:" in printed.err and printed.err.startswith("usage: mmnet ")


@pytest.mark.parametrize(("argv", "usage", "error"), [
    (["synth", "data", "--bogus"], "usage: mmnet synth ", "mmnet synth: error: unrecognized arguments: --bogus"),
    (["sweep", "s.yaml", "--out", "o", "--seeds", "0", "4", "7"], "usage: mmnet sweep ",
     "mmnet sweep: error: unrecognized arguments: 4 7"),
    (["--bogus"], "usage: mmnet [-h]", "mmnet: error: unrecognized arguments: --bogus"),
])
def test_an_unknown_argument_is_refused_with_its_commands_usage(capsys, argv, usage, error):
    # they were refused with the top level's usage, `usage: mmnet [-h] [--version] COMMAND ...`, which lists no options
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.startswith(usage) and err.rstrip().endswith(error)


def test_synth_convert_and_export_take_out_as_the_other_commands_do(tmp_path, capsys):
    from .test_convert import _fake_official_state_dict

    assert main(["synth", "--out", str(tmp_path / "set"), "--subjects", "1", "--clips-per-subject", "1"]) == 0
    assert (tmp_path / "set" / "synth.json").is_file()
    torch.save(_fake_official_state_dict(), tmp_path / "authors.pth")
    assert main(["convert", str(tmp_path / "authors.pth"), "--out", str(tmp_path / "ours")]) == 0
    assert (tmp_path / "ours" / "config.json").is_file()
    capsys.readouterr()
    # export's --out reaches the check of --onnx's value: a name that is no .onnx file
    assert main(["export", "--checkpoint", str(tmp_path / "ours"), "--out", str(tmp_path / "m.txt")]) == 3
    assert f"'{tmp_path / 'm.txt'}' must name a .onnx file" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "error"), [
    (["synth", "a", "--out", "b"], "mmnet synth: error: give OUT or --out, not both"),
    (["convert", "x.pth"], "mmnet convert: error: the following arguments are required: OUT (or --out)"),
    (["export", "--checkpoint", "c", "--onnx", "a.onnx", "--out", "b.onnx"],
     "mmnet export: error: give --onnx or --out, not both"),
    (["export", "--checkpoint", "c"], "mmnet export: error: the following arguments are required: --onnx (or --out)"),
])
def test_the_output_is_given_once_as_out_or_in_the_old_form(capsys, argv, error):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2 and error in capsys.readouterr().err


def test_a_call_from_python_gets_its_process_variables_back(tmp_path, monkeypatch, capsys):
    # the command sets them for its own process (huge pages, a writable matplotlib folder); a notebook's or a test's
    # later subprocesses inherited them
    from mmnet import cli, user_folders

    monkeypatch.delenv("THP_MEM_ALLOC_ENABLE", raising=False)
    monkeypatch.delenv("MPLCONFIGDIR", raising=False)
    monkeypatch.setenv("MMNET_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "home").write_text("a file, where matplotlib's folders would be")
    monkeypatch.setattr(user_folders, "_matplotlib_folders", lambda environ: [tmp_path / "home" / "matplotlib"])
    during, real_parser = [], cli.build_parser
    monkeypatch.setattr(cli, "build_parser", lambda: during.append(
        {name: os.environ.get(name) for name in ("THP_MEM_ALLOC_ENABLE", "MPLCONFIGDIR")}) or real_parser())
    with pytest.raises(SystemExit):
        main(["--version"])
    assert during == [{"THP_MEM_ALLOC_ENABLE": "1", "MPLCONFIGDIR": str(tmp_path / "cache" / "matplotlib")}]
    assert not {"THP_MEM_ALLOC_ENABLE", "MPLCONFIGDIR"} & set(os.environ)
    monkeypatch.setenv("THP_MEM_ALLOC_ENABLE", "0")  # a value of the caller's stays
    with pytest.raises(SystemExit):
        main(["--version"])
    assert os.environ["THP_MEM_ALLOC_ENABLE"] == "0"


def test_a_call_from_python_that_does_not_train_imports_no_training_stack():
    # setting the process back after a command called from Python must not pull in mmnet.train (and pandas) for it
    code = ("import sys\nfrom mmnet.cli import main\ntry:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith(('mmnet.train', 'pandas'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("command", ["predict", "explain", "serve"])
def test_threads_are_set_back_when_a_command_called_from_python_returns(command, tmp_path, capsys):
    before = torch.get_num_threads()
    chosen = 1 if before != 1 else 2
    try:
        # the command sets --threads, then stops at the missing checkpoint: what it set is set back all the same
        argv = [command, "--threads", str(chosen), "--checkpoint", str(tmp_path / "missing")]
        if command != "serve":
            argv.insert(1, str(tmp_path / "clip.mp4"))
        if command == "explain":
            argv += ["--out", str(tmp_path / "figure.png")]
        assert main(argv) != 0
        assert torch.get_num_threads() == before
    finally:
        torch.set_num_threads(before)
