"""`--landmarks` where it chooses something: with `--align` (predict, explain, serve), and for the recordings that
`mmnet serve` spots itself; refused where it would choose nothing."""

from __future__ import annotations

import pytest

from mmnet.cli import main


@pytest.mark.parametrize("command", ["predict", "explain"])
def test_landmarks_without_align_is_refused_naming_align(command, tmp_path, capsys):
    # refused before the model is read: the checkpoint does not exist
    args = [command, str(tmp_path / "clip.mp4"), "--checkpoint", str(tmp_path / "absent"), "--landmarks", "5"]
    if command == "explain":
        args += ["--out", str(tmp_path / "x.png")]
    assert main(args) != 0
    err = capsys.readouterr().err
    assert "--landmarks 5 chooses the landmark model of --align, which was not given" in err
    assert "Add --align" in err


@pytest.fixture
def served(monkeypatch):
    """create_app's spotter and aligner of a `mmnet serve` run, without listening."""
    pytest.importorskip("fastapi")
    import mmnet.serve as serve_package
    from mmnet.commands import serve
    from mmnet.serve import server

    seen = {"apps": [], "spotters": [], "aligners": []}
    create_app = serve_package.create_app

    def recording(*args, **kwargs):
        seen["spotters"].append(kwargs.get("spotter"))
        seen["aligners"].append(kwargs.get("aligner"))
        return create_app(*args, **kwargs)

    monkeypatch.setattr(serve, "check_port_free", lambda host, port: None)
    monkeypatch.setattr(serve_package, "create_app", recording)
    monkeypatch.setattr(server, "serve", lambda app, **kwargs: seen["apps"].append(app) or True)
    return seen


class _Spotted(Exception):
    pass


def _spot_config(spotter, monkeypatch, tmp_path):
    """The SpotConfig that ``spotter`` spots a recording with (the spotting itself stood in for)."""
    from mmnet.serve import spotting

    seen = []

    def spot_and_classify(path, predictor, config=None, **kwargs):
        seen.append(config)
        raise _Spotted

    monkeypatch.setattr(spotting, "spot_and_classify", spot_and_classify)
    with pytest.raises(_Spotted):
        spotter(tmp_path / "recording.mp4", fps=30.0)
    return seen[0]


def test_serve_spots_recordings_with_the_landmark_model_chosen(served, checkpoint, monkeypatch, tmp_path):
    from mmnet.serve.spotting import spot_recording, spotting_available

    if not spotting_available(5):
        pytest.skip("needs the face extra with the 5-point model")
    assert main(["serve", "--checkpoint", str(checkpoint), "--landmarks", "5"]) == 0
    (spotter,) = served["spotters"]
    assert spotter is not None and served["aligners"] == [None]
    assert _spot_config(spotter, monkeypatch, tmp_path).face.landmarks == 5
    assert main(["serve", "--checkpoint", str(checkpoint), "--align", "--landmarks", "5"]) == 0
    assert _spot_config(served["spotters"][1], monkeypatch, tmp_path).face.landmarks == 5
    assert served["aligners"][1].points == 5  # clips and recordings alike
    # without --landmarks: the server's own spotter as before, the 68-point model (the preset's)
    assert main(["serve", "--checkpoint", str(checkpoint)]) == 0
    assert served["spotters"][2] is None
    assert _spot_config(spot_recording, monkeypatch, tmp_path).face.landmarks == 68


def test_serve_refuses_landmarks_that_a_spotter_model_leaves_unused(served, checkpoint, tmp_path, capsys):
    from mmnet.serve.spotting import spotting_available
    from mmnet.spotting.config import spot_config
    from mmnet.spotting.spotters import make_spotter

    if not spotting_available():
        pytest.skip("--spotter-model needs the face extra")
    model = tmp_path / "spotter.pt"  # made with the 68-point model (the default)
    make_spotter(spot_config("casme2", ["method=flow", "face.mode=none"])).save(model)
    code = main(["serve", "--checkpoint", str(checkpoint), "--spotter-model", str(model), "--landmarks", "5"])
    err = capsys.readouterr().err
    assert code != 0 and served["apps"] == []
    assert "--landmarks 5 chooses the landmark model of --align, which was not given" in err
    assert "face.landmarks=68" in err and "Add --align" in err
