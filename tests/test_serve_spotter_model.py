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


class _Stop(Exception):
    pass


def test_a_spotter_model_reports_every_frame_and_stops_when_the_job_is_cancelled(tmp_path):
    """The server's progress is called per frame while the model spots: a deleted or timed-out job raises there."""
    from mmnet.serve.spotting import model_spotter
    from mmnet.spotting.config import spot_config
    from mmnet.spotting.spotters import make_spotter

    _, load = tiny_recordings(tmp_path / "set", subjects=1, minutes=0.1, seed=2)
    video = load.videos[0]
    spot = model_spotter(make_spotter(spot_config("casme2", ["method=flow", "face.mode=none"])))
    seen = []

    def progress(done, total):
        seen.append((done, total))
        if done == 10:
            raise _Stop

    with pytest.raises(_Stop):
        spot(video.path, fps=video.fps, progress=progress)
    assert seen == [(n, video.n_frames) for n in range(1, 11)]
    out = spot(video.path, fps=video.fps)  # the lock was let go: the next recording is spotted
    assert out["frames"] == video.n_frames


def test_a_job_waiting_for_the_spotter_model_can_be_cancelled(monkeypatch):
    """One recording is spotted at a time; a job waiting for its turn still reports, so that it can be cancelled."""
    import threading
    import time

    from mmnet.serve import spotting
    from mmnet.serve.spotting import model_spotter

    release = threading.Event()
    started = threading.Event()

    class Slow:
        def spot(self, path, *, fps=None, on_frame=None):
            started.set()
            release.wait(10)
            raise _Stop  # the first job ends too, once let go

    spot = model_spotter(Slow())
    monkeypatch.setattr(spotting, "require_spotting", lambda: None)
    try:
        first = threading.Thread(target=lambda: pytest.raises(_Stop, spot, "a.mp4"))
        first.start()
        assert started.wait(5)
        calls = []

        def cancelled(done, total):
            calls.append((done, total))
            raise _Stop

        begun = time.monotonic()
        with pytest.raises(_Stop):
            spot("b.mp4", progress=cancelled)
        assert calls == [(0, None)] and time.monotonic() - begun < 2
    finally:
        release.set()
        first.join(10)
