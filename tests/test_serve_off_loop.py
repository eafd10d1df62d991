"""A job's upload folder (a recording's frames: thousands of files) is never removed on the event loop, where every
other request and event stream would wait for it: not after an upload fails on a bug, not when an upload arrives as
the server stops, not when the server stops with jobs waiting (the delete path is tested in test_serve_jobs)."""

import asyncio
from types import SimpleNamespace

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("av")

from mmnet.serve import create_app  # noqa: E402
from tests.serve_helpers import local_client, mp4_bytes, synth_frames, uploads_left  # noqa: E402


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.fixture
def removals(monkeypatch):
    """Each upload folder removed, and whether its removal ran on the event loop (a stand-in for shutil.rmtree in
    ``serve.uploads``, removing it too)."""
    from mmnet.serve import uploads

    seen, real = [], uploads.shutil.rmtree

    def rmtree(path, ignore_errors=False):
        seen.append((path, _on_event_loop()))
        real(path, ignore_errors=ignore_errors)

    monkeypatch.setattr(uploads, "shutil", SimpleNamespace(rmtree=rmtree))
    return seen


def test_an_upload_failing_on_a_bug_is_removed_off_the_event_loop(predictor, removals, monkeypatch):
    from mmnet.serve import app as app_module

    def bug(*args, **kwargs):
        raise RuntimeError("a bug while the upload is read")

    monkeypatch.setattr(app_module, "open_upload", bug)
    app = create_app(predictor)
    with local_client(app, raise_server_exceptions=False) as c:
        answer = c.post("/api/predict", files={"file": ("c.mp4", mp4_bytes(synth_frames()))})
        assert answer.status_code == 500 and answer.json()["code"] == "internal", answer.text
        assert uploads_left(app.state.root) == []
    assert len(removals) == 1 and removals[0][1] is False, removals


def test_an_upload_arriving_as_the_server_stops_is_removed_off_the_event_loop(predictor, removals):
    app = create_app(predictor)
    with local_client(app) as c:
        app.state.stop_jobs()  # as the server begins to stop: uploads still arriving are ended at once
        answer = c.post("/api/predict", files={"file": ("c.mp4", mp4_bytes(synth_frames()))})
        assert answer.status_code == 503 and answer.json()["code"] == "server_stopping", answer.text
        assert uploads_left(app.state.root) == []
    assert removals and not any(on_loop for _, on_loop in removals), removals


def test_the_server_stops_its_jobs_off_the_event_loop(monkeypatch):
    import uvicorn

    from mmnet.serve.server import StoppingServer

    async def closed(self, sockets=None):  # uvicorn's own stop: connections, lifespan (tested in test_serve_shutdown)
        pass

    monkeypatch.setattr(uvicorn.Server, "shutdown", closed)
    stopped = []
    server = StoppingServer(uvicorn.Config(app=None), on_stop=lambda: stopped.append(_on_event_loop()))
    asyncio.run(server.shutdown())
    assert stopped == [False]  # waiting jobs' folders are removed as they are stopped
