"""A mistyped path or number is said before the slow steps (torch, models) of a command, not after them."""

import subprocess
import sys

import pytest

from mmnet.cli import main

# the `mmnet` program (argv from the command line, as a user runs it), then whether torch was imported
_PROBE = ("import sys; sys.argv = ['mmnet', *sys.argv[1:]]; from mmnet.cli import main; code = main(); "
          "print('torch' in sys.modules, file=sys.stderr); sys.exit(code)")


def _program(*args, cwd) -> tuple[int, str, str, bool]:
    r = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, cwd=cwd, timeout=120)
    *said, loaded = r.stderr.strip().splitlines()
    return r.returncode, r.stdout, "\n".join(said), loaded == "True"


def test_spot_says_a_missing_recording_before_loading_anything(tmp_path):
    code, _, err, torch_loaded = _program("spot", str(tmp_path / "none.mp4"), "--out", str(tmp_path / "out"),
                                          cwd=tmp_path)
    assert code == 3 and f"'{tmp_path / 'none.mp4'}' does not exist; give a video file or a folder" in err
    assert not torch_loaded
    assert not (tmp_path / "out").exists()  # no --out folder made for it either


@pytest.mark.parametrize("args, said", [
    (["train", "--list-recipes"], None),
    (["train", "--root", "data"], "the following arguments are required: --out"),
    (["train", "--out", "run", "--executor", "slurm", "--slurm-time", "banana"], "is not a SLURM time limit"),
    (["serve", "--checkpoint", "model", "--workers", "0"], "--workers must be >= 1, got 0"),
    (["serve", "--checkpoint", "model", "--port", "99999"], "--port must be at most 65535, got 99999"),
    (["serve", "--checkpoint", "model", "--spotter-model", "none.pt"], "Spotter model 'none.pt' does not exist"),
    (["score-spots", "truth.csv", "spots.csv"], "does not exist"),  # CSVs alone: the data package without torch
    # every clip missing: refused before the model (and torch, through mmnet.infer) loads
    (["predict", "none.png", "--checkpoint", "model"], "Input 'none.png' does not exist."),
    (["predict", "a.mp4", "b", "--checkpoint", "model"], "None of the 2 inputs exists ('a.mp4', 'b')"),
    (["explain", "none.mp4", "--checkpoint", "model", "--out", "f.png"], "Input 'none.mp4' does not exist."),
    # a bad configuration: mmnet.config reads the model section without torch
    (["train", "--out", "run", "--set", "model.image_size=100"], "model.image_size must be a positive multiple of 16"),
    (["train", "--out", "run", "--set", "model.factory=not a spec"], "model.factory must be"),
])
def test_listings_and_mistyped_options_answer_without_torch(tmp_path, args, said):
    code, out, err, torch_loaded = _program(*args, cwd=tmp_path)
    if said is None:  # the recipes are listed
        assert code == 0 and "casme2" in out
    else:
        assert code in (2, 3) and said in err
    assert not torch_loaded


def test_export_says_an_unsupported_opset_before_the_model_loads(tmp_path, capsys, monkeypatch):
    def load_checkpoint(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr("mmnet.model.load_checkpoint", load_checkpoint)
    code = main(["export", "--checkpoint", str(tmp_path / "model"), "--onnx", str(tmp_path / "m.onnx"), "--opset",
                 "1", "--no-check"])
    assert code == 3 and "--opset 1 is not supported" in capsys.readouterr().err


class _Loaded(Exception):
    pass


@pytest.fixture
def loads(monkeypatch):
    """The checkpoints the command asked to load (each load raises _Loaded: these tests stop there)."""
    asked = []

    def load_predictor(checkpoint, **kwargs):
        asked.append(checkpoint)
        raise _Loaded

    monkeypatch.setattr("mmnet.commands.common.load_predictor", load_predictor)
    return asked


@pytest.mark.parametrize("command", [["predict"], ["explain", "--out", "figure.png"]])
def test_a_missing_clip_is_said_before_the_model_loads(tmp_path, capsys, loads, command):
    code = main([*command, "--checkpoint", str(tmp_path / "model"), str(tmp_path / "none.mp4")])
    assert code == 3 and f"Input '{tmp_path / 'none.mp4'}' does not exist." in capsys.readouterr().err
    assert loads == []


def test_predict_with_every_clip_missing_says_so_before_the_model_loads(tmp_path, capsys, loads):
    code = main(["predict", "--checkpoint", str(tmp_path / "model"), str(tmp_path / "a.mp4"), str(tmp_path / "b")])
    err = capsys.readouterr().err
    assert code == 3 and "None of the 2 inputs exists" in err and str(tmp_path / "b") in err
    assert loads == []
    code = main(["predict", "--checkpoint", str(tmp_path / "model"), str(tmp_path / "a.png"), str(tmp_path / "b.png")])
    assert code == 3 and f"Input '{tmp_path / 'a.png'}' does not exist." in capsys.readouterr().err
    assert loads == []


def test_predict_with_some_clips_found_still_classifies_them(tmp_path, loads):
    (tmp_path / "clip").mkdir()  # found: the model loads, the missing clip is listed at the end as before
    with pytest.raises(_Loaded):
        main(["predict", "--checkpoint", str(tmp_path / "model"), str(tmp_path / "clip"), str(tmp_path / "b.mp4")])
    assert loads == [tmp_path / "model"]


@pytest.fixture
def terminal(monkeypatch):
    """stderr as a person's terminal (where progress is shown)."""
    monkeypatch.setattr("mmnet.progress.bars_wanted", lambda progress: bool(progress))


def _stop(*args, **kwargs):
    raise _Loaded


def test_predict_says_it_loads_the_model_on_stderr_at_a_terminal(tmp_path, capsys, monkeypatch, terminal):
    monkeypatch.setattr("mmnet.infer.predictor.Predictor.from_checkpoint", _stop)
    (tmp_path / "clip").mkdir()
    with pytest.raises(_Loaded):
        main(["predict", "--checkpoint", str(tmp_path / "model"), str(tmp_path / "clip"), "--json"])
    said = capsys.readouterr()
    assert said.err == f"loading the model {tmp_path / 'model'} ...\n" and said.out == ""  # stdout: the JSON alone


def test_no_step_lines_on_a_log_or_a_pipe(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("mmnet.infer.predictor.Predictor.from_checkpoint", _stop)
    (tmp_path / "clip").mkdir()
    with pytest.raises(_Loaded):
        main(["predict", "--checkpoint", str(tmp_path / "model"), str(tmp_path / "clip")])
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("options, said", [([], True), (["--no-align"], False), (["--no-progress"], False)])
def test_spot_says_it_loads_the_landmark_model(tmp_path, capsys, monkeypatch, terminal, options, said):
    monkeypatch.setattr("mmnet.infer.recordings.spot_and_classify", _stop)
    (tmp_path / "frames").mkdir()
    with pytest.raises(_Loaded):
        main(["spot", str(tmp_path / "frames"), "--fps", "30", "--json", *options])
    out, err = capsys.readouterr()
    assert ("loading the 68-point landmark model (about 100 MB) ...\n" in err) is said and out == ""


@pytest.mark.parametrize("options, said", [([], True), (["--no-progress"], False)])
def test_train_says_it_loads_torch_and_the_configuration(tmp_path, capsys, monkeypatch, terminal, options, said):
    monkeypatch.setattr("mmnet.commands.train.experiment_config", _stop)
    with pytest.raises(_Loaded):
        main(["train", "--out", str(tmp_path / "run"), *options])
    out, err = capsys.readouterr()
    assert (err == "loading PyTorch and the configuration ...\n") is said and out == ""


def test_synth_says_what_it_writes_before_loading_its_modules(tmp_path, capsys, monkeypatch, terminal):
    monkeypatch.setattr("mmnet.synth.write_dataset", _stop)
    with pytest.raises(_Loaded):
        main(["synth", str(tmp_path / "set")])
    assert capsys.readouterr().err == f"writing a synthetic set to {tmp_path / 'set'} ...\n"


def test_serve_says_what_it_loads_before_the_model(tmp_path, capsys, monkeypatch, terminal):
    pytest.importorskip("fastapi")
    monkeypatch.setattr("mmnet.infer.predictor.Predictor.from_checkpoint", _stop)
    monkeypatch.setattr("mmnet.commands.serve.check_port_free", lambda host, port: None)
    monkeypatch.setattr("mmnet.commands.serve.resolve_checkpoint", lambda checkpoint, cwd: checkpoint)
    with pytest.raises(_Loaded):
        main(["serve", "--checkpoint", str(tmp_path / "model")])
    said = capsys.readouterr()
    assert said.err.splitlines() == ["starting the server: loading FastAPI and PyTorch ...",
                                     f"loading the model {tmp_path / 'model'} ..."]
    assert said.out == ""


def test_the_configuration_and_the_inference_names_import_without_torch():
    code = ("import sys, mmnet.config, mmnet.model, mmnet.infer; from mmnet.infer import ClipRequest, load_clip; "
            "from mmnet.model import MMNetConfig; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120).stdout
    assert out.strip() == "False"
