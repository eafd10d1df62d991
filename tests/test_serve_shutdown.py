"""Stopping the server is bounded: jobs still running are stopped at once (a client following one is told the
server stops, instead of keeping the process alive until the job's time limit), and an open request is cut off
after --shutdown-timeout. --access-log prints a line per request."""

import json
import os
import signal
import socket
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("uvicorn")
pytest.importorskip("av")

import httpx  # noqa: E402

from mmnet.serve import create_app  # noqa: E402
from mmnet.serve.jobs import SERVER_STOPPING  # noqa: E402
from mmnet.serve.server import CUT_OFF  # noqa: E402
from tests.serve_helpers import bound_port, mp4_bytes, synth_frames  # noqa: E402


def _endless_spotter(path, *, progress=None, **kwargs):
    """A recording that takes a minute: it reports progress until its job is stopped."""
    for k in range(6000):
        progress(k, 6000)
        time.sleep(0.01)
    raise AssertionError("the job was not stopped")


class _Served:
    """``mmnet.serve.server.serve`` on a free loopback port in a thread, as `mmnet serve` runs it."""

    def __init__(self, app, **options):
        from mmnet.serve.server import StoppingServer

        self.app, self.options = app, options
        self.server = None
        real_init = StoppingServer.__init__

        def keep(server, *args, **kwargs):  # the server serve() makes, to stop it as a signal would
            real_init(server, *args, **kwargs)
            self.server = server

        self.patch = pytest.MonkeyPatch()
        self.patch.setattr(StoppingServer, "__init__", keep)

    def __enter__(self):
        from mmnet.serve.server import serve

        self.thread = threading.Thread(target=serve, args=(self.app,), daemon=True,
                                       kwargs={"host": "127.0.0.1", "port": 0, **self.options})
        self.thread.start()
        t0 = time.monotonic()
        while self.server is None or not self.server.started:
            assert time.monotonic() - t0 < 20 and self.thread.is_alive(), "the test server did not start"
            time.sleep(0.02)
        self.port = bound_port(self.server)  # the system's free port (serve binds port 0)
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def stop(self) -> None:
        self.server.should_exit = True  # what uvicorn's SIGTERM and SIGINT handlers do

    def __exit__(self, *exc):
        self.stop()
        self.thread.join(timeout=30)
        self.patch.undo()


def test_stopping_ends_event_streams_and_running_jobs(predictor):
    app = create_app(predictor, spotter=_endless_spotter)
    video = mp4_bytes(synth_frames())
    with _Served(app, shutdown_timeout_s=30) as served, httpx.Client(base_url=served.url, timeout=10) as client:
        job = client.post("/api/recordings", files={"file": ("r.mp4", video)}).json()
        events = []
        with client.stream("GET", job["urls"]["events"]) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data: "):
                    continue
                events.append(json.loads(line[6:]))
                if events[-1]["status"] == "running" and len(events) == 3:
                    stopped_at = time.monotonic()
                    served.stop()
            ended_after = time.monotonic() - stopped_at
        served.thread.join(timeout=30)
        stopped_in = time.monotonic() - stopped_at
    assert ended_after < 5 and stopped_in < 5, (ended_after, stopped_in)  # not the job's minute, nor the 30 s
    assert events[-1]["status"] == "failed" and events[-1]["error"] == SERVER_STOPPING, events[-1]
    assert app.state.store.get(job["id"]).status == "failed"


def test_an_open_request_is_cut_off_after_the_shutdown_timeout(predictor, capfd):
    app = create_app(predictor)
    with _Served(app, shutdown_timeout_s=1) as served, socket.create_connection(("127.0.0.1", served.port)) as slow:
        # an upload that never finishes: the headers and the start of its body
        slow.sendall(b"POST /api/predict HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\n"
                     b"X-Request-ID: slow-1\r\nContent-Type: multipart/form-data; boundary=x\r\n\r\n--x\r\n")
        time.sleep(0.5)
        t0 = time.monotonic()
        served.stop()
        served.thread.join(timeout=20)
        assert not served.thread.is_alive() and time.monotonic() - t0 < 5
        answer = slow.recv(65536).decode()
    assert answer.startswith("HTTP/1.1 503") and CUT_OFF in answer, answer
    # as every other answer: its request id in the header and the body, and its 5xx line in the log
    assert "x-request-id: slow-1" in answer.lower(), answer
    assert json.loads(answer.partition("\r\n\r\n")[2])["request_id"] == "slow-1", answer
    assert "request slow-1: POST /api/predict answered 503 server_stopping: " in capfd.readouterr().err


def test_access_log_prints_a_line_per_request(predictor, capfd):
    with _Served(create_app(predictor), shutdown_timeout_s=1, access_log=True) as served:
        assert httpx.get(f"{served.url}/api/health", headers={"Host": "localhost"}).status_code == 200
    out, err = capfd.readouterr()
    assert '"GET /api/health HTTP/1.1" 200' in out + err
    with _Served(create_app(predictor), shutdown_timeout_s=1) as served:  # off by default
        assert httpx.get(f"{served.url}/api/health").status_code == 200
    out, err = capfd.readouterr()
    assert "/api/health" not in out + err


def test_the_logged_client_address_is_taken_from_x_forwarded_for_only_as_the_docs_say(predictor, capfd,
                                                                                    monkeypatch):
    # uvicorn trusts X-Forwarded-For from this computer (a local proxy): docs/serve.md says so, and how to stop it
    docs = " ".join((Path(__file__).parents[1] / "docs" / "serve.md").read_text(encoding="utf-8").split())
    assert "X-Forwarded-For" in docs and "`FORWARDED_ALLOW_IPS=`" in docs
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    with _Served(create_app(predictor), shutdown_timeout_s=1, access_log=True) as served:
        assert httpx.get(f"{served.url}/api/health", headers=forwarded).status_code == 200
    assert '203.0.113.9:0 "GET /api/health' in capfd.readouterr().out
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "")
    with _Served(create_app(predictor), shutdown_timeout_s=1, access_log=True) as served:
        assert httpx.get(f"{served.url}/api/health", headers=forwarded).status_code == 200
    out = capfd.readouterr().out
    assert "203.0.113.9" not in out and '127.0.0.1:' in out, out


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this system")
def test_sighup_stops_the_server_as_sigterm_does():
    # a closed terminal or SSH session sends SIGHUP: the server stops gracefully (uvicorn itself handles only SIGINT
    # and SIGTERM), then the earlier handler is back; without that the command's handler raised in the event loop
    from types import SimpleNamespace

    from mmnet.serve.server import serve

    class App:  # the least ASGI app serve() runs: a lifespan, and the stop hook create_app's apps have
        state = SimpleNamespace(stop_jobs=lambda: None)

        async def __call__(self, scope, receive, send):
            while scope["type"] == "lifespan":
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    seen = {"hup": [], "term": []}
    recorders = {sig: (lambda s, f, key=key: seen[key].append(s))
                 for sig, key in ((signal.SIGHUP, "hup"), (signal.SIGTERM, "term"))}
    earlier = {sig: signal.signal(sig, handler) for sig, handler in recorders.items()}
    hang_up = threading.Timer(3, os.kill, (os.getpid(), signal.SIGHUP))
    fallback = threading.Timer(30, os.kill, (os.getpid(), signal.SIGTERM))  # stops the server if SIGHUP did not
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    try:
        hang_up.start(), fallback.start()
        started = time.monotonic()
        assert serve(App(), host="127.0.0.1", port=port, shutdown_timeout_s=1)
        assert time.monotonic() - started < 25 and seen == {"hup": [], "term": []}
        assert signal.getsignal(signal.SIGHUP) is recorders[signal.SIGHUP]  # the earlier handler is back
    finally:
        hang_up.cancel(), fallback.cancel()
        for sig, handler in earlier.items():
            signal.signal(sig, handler)
