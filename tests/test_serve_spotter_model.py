"""`mmnet serve --spotter-model MODEL`: uploaded recordings are spotted by a spotter of `mmnet train-spotter`."""

from __future__ import annotations

import pytest

from mmnet.cli import main

from .fakes_long import tiny_recordings

pytest.importorskip("fastapi")
pytest.importorskip("cv2")


@pytest.fixture
def served(monkeypatch):
    """The app and create_app's spotter of a `mmnet serve` run, without listening."""
    import mmnet.serve as serve_package
    from mmnet.commands import serve
    from mmnet.serve import server

    seen = {"apps": [], "spotters": []}
    create_app = serve_package.create_app

    def recording(*args, **kwargs):
        seen["spotters"].append(kwargs.get("spotter"))
        return create_app(*args, **kwargs)

    monkeypatch.setattr(serve, "check_port_free", lambda host, port: None)
    monkeypatch.setattr(serve_package, "create_app", recording)
    monkeypatch.setattr(server, "serve", lambda app, **kwargs: seen["apps"].append(app) or True)
    return seen


def test_serve_spots_recordings_with_the_spotter_model(served, checkpoint, predictor, tmp_path, capsys):
    from mmnet.serve.spotting import check_spot_result
    from mmnet.spotting.config import spot_config
    from mmnet.spotting.spotters import make_spotter

    model = tmp_path / "spotter.pt"  # micro.k=5: not the default preset's 6
    make_spotter(spot_config("casme2", ["method=flow", "face.mode=none", "micro.k=5"])).save(model)
    assert main(["serve", "--checkpoint", str(checkpoint), "--spotter-model", str(model)]) == 0
    assert f"spotter: {model} (flow spotter)" in capsys.readouterr().out
    (spotter,) = served["spotters"]
    _, load = tiny_recordings(tmp_path / "set", subjects=1, minutes=0.1, seed=2)
    video = load.videos[0]
    out = spotter(video.path, fps=video.fps, predictor=predictor)
    check_spot_result(out)
    assert out["config"]["method"] == "flow" and out["config"]["micro"]["k"] == 5
    assert out["frames"] == video.n_frames and "timeline" in out


def test_a_bad_spotter_model_is_said_before_the_server_starts(served, checkpoint, tmp_path, capsys):
    assert main(["serve", "--checkpoint", str(checkpoint), "--spotter-model", str(tmp_path / "absent.pt")]) == 3
    assert "train one with `mmnet train-spotter`" in capsys.readouterr().err and served["apps"] == []
