"""A job's place in its pool is freed as soon as nobody will want its result: a waiting job deleted, a clip whose
client left, the server stopping. A full pool answers 503 before an upload's body is read. Each job's end is logged
once."""

import asyncio
import logging
import socket
import threading
import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("uvicorn")
pytest.importorskip("av")

import mmnet.serve.app as serve_app  # noqa: E402
import mmnet.serve.jobs as serve_jobs  # noqa: E402
from mmnet.serve import ServeSettings, create_app  # noqa: E402
from mmnet.serve.job_store import JobStore  # noqa: E402
from mmnet.serve.jobs import Job, Pool  # noqa: E402
from mmnet.serve.request_context import short_id  # noqa: E402
from tests.serve_helpers import LiveServer, local_client, mp4_bytes, synth_frames, uploads_left  # noqa: E402


@pytest.fixture(scope="module")
def clip_mp4():
    return mp4_bytes(synth_frames(n=8, apex=4))


def endless(started: threading.Event, stopped: list):
    """Work that reports progress every 10 ms for up to 30 s; ``stopped`` gets what ended it."""

    def work(job, *args, progress=None, **kwargs):
        started.set()
        try:
            for k in range(3000):
                if progress is not None:  # a recording's spotter
                    progress(k, 3000)
                else:  # a clip's analysis
                    job.update(progress=k / 3000)
                time.sleep(0.01)
        except BaseException as exc:
            stopped.append(type(exc).__name__)
            raise
        stopped.append("ran to its end")
        return {"fps": 30.0, "frames": 1, "intervals": []}

    return work


def until(condition, limit_s: float = 10.0) -> bool:
    t0 = time.monotonic()
    while not condition():
        if time.monotonic() - t0 > limit_s:
            return False
        time.sleep(0.05)
    return True


def job_lines(caplog, job_id: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if f" job {short_id(job_id)} " in r.getMessage()]


def on_event_loop(monkeypatch) -> list[bool]:
    """Whether each removal of a dropped job's folder ran on an event loop (where every request would wait)."""
    seen, remove = [], serve_jobs.remove_folder

    def recorded(folder):
        try:
            asyncio.get_running_loop()
            seen.append(True)
        except RuntimeError:
            seen.append(False)
        remove(folder)

    monkeypatch.setattr(serve_jobs, "remove_folder", recorded)
    return seen


def test_deleting_a_waiting_recording_frees_its_place_and_upload_and_ends_it_at_once(predictor, clip_mp4, caplog,
                                                                                      monkeypatch):
    caplog.set_level(logging.INFO, logger="mmnet.serve")
    removals = on_event_loop(monkeypatch)
    started, stopped = threading.Event(), []
    spotter = lambda path, **kwargs: endless(started, stopped)(None, **kwargs)  # noqa: E731
    app = create_app(predictor, settings=ServeSettings(workers=1, queue=1), spotter=spotter)
    with local_client(app, raise_server_exceptions=False) as c:
        running = c.post("/api/recordings", files={"file": ("long.mp4", clip_mp4)}).json()["id"]
        assert started.wait(20)
        waiting = c.post("/api/recordings", files={"file": ("next.mp4", clip_mp4)}).json()["id"]
        job = app.state.store.get(waiting)
        assert job.stage.startswith("Waiting") and len(uploads_left(app.state.root)) == 2
        assert c.post("/api/recordings", files={"file": ("third.mp4", clip_mp4)}).status_code == 503

        assert c.delete(f"/api/jobs/{waiting}").status_code == 204
        assert removals == [False]  # its frames removed in a worker thread, not on the event loop
        # at once, while the job ahead still runs: its place, its upload, and its event stream's last event
        assert c.get("/api/health").json()["load"]["recording"]["active"] == 1
        assert len(uploads_left(app.state.root)) == 1 and not job.folder.exists()
        assert job.ended and job.status == "failed" and job.error_code == "job_deleted"
        third = c.post("/api/recordings", files={"file": ("third.mp4", clip_mp4)})
        assert third.status_code == 202, third.text

        for job_id in (third.json()["id"], running):  # the waiting one first: it never starts
            assert c.delete(f"/api/jobs/{job_id}").status_code == 204
        assert until(lambda: c.get("/api/health").json()["load"]["recording"]["active"] == 0)
        app.state.pools["recording"]._executor.shutdown(wait=True)  # the worker has taken the deleted job too
    assert stopped == ["JobCancelled"]  # the deleted waiting jobs never started
    assert len(job_lines(caplog, waiting)) == 1, job_lines(caplog, waiting)  # its end said once, not again later


def _post(port: int, data: bytes) -> socket.socket:
    """A whole upload to /api/predict on a raw connection, left open for its answer."""
    head = (b'--XB\r\nContent-Disposition: form-data; name="file"; filename="c.mp4"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n")
    body = head + data + b"\r\n--XB--\r\n"
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=XB\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    return s


def test_a_clip_whose_client_leaves_is_cancelled_and_frees_its_place(predictor, clip_mp4, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="mmnet.serve")
    started, stopped = threading.Event(), []
    monkeypatch.setattr(serve_app, "analyse_clip", endless(started, stopped))
    removals = on_event_loop(monkeypatch)
    app = create_app(predictor, settings=ServeSettings(workers=1, queue=1))
    pool = app.state.pools["clip"]
    with LiveServer(app) as server:
        running = _post(server.port, clip_mp4)
        assert started.wait(20)
        waiting = _post(server.port, clip_mp4)
        assert until(lambda: pool.active == 2)
        waiting.close()  # as `curl -m 1`: the client gives up
        assert until(lambda: pool.active == 1, 5), pool.active  # at once, not after the job ahead
        assert removals[:1] == [False]  # its upload removed off the event loop
        running.close()
        assert until(lambda: pool.active == 0, 5), pool.active  # not after its 30 s of analysis
        assert until(lambda: stopped == ["JobCancelled"], 5), stopped  # the waiting one never started
        assert sum(app.state.store.counts().values()) == 0  # no result kept under an id nobody got
    said = [r.getMessage() for r in caplog.records if "its client left" in r.getMessage()]
    assert len(said) == 2 and all("clip job" in line and "cancelled" in line for line in said), said


def test_a_full_queue_answers_503_before_the_upload_is_read(predictor):
    app = create_app(predictor, settings=ServeSettings(workers=1, queue=0))
    not_a_form = {"content": b"--x\r\nnot a form at all",
                  "headers": {"Content-Type": "multipart/form-data; boundary=x"}}
    with local_client(app, raise_server_exceptions=False) as c:
        assert c.post("/api/predict", **not_a_form).status_code in (400, 422)  # a free place: the body is read
        with app.state.pools["clip"].slot():
            r = c.post("/api/predict", **not_a_form)  # no place: answered before the body's form is parsed
            assert r.status_code == 503 and r.json()["code"] == "busy", r.text
            assert r.headers["Retry-After"] == "60" and r.json()["request_id"] == r.headers["X-Request-ID"]
            assert c.post("/api/recordings", **not_a_form).status_code in (400, 422)  # its own pool has room


def test_stopping_logs_each_job_once_and_counts_only_the_jobs_it_stopped(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="mmnet.serve")
    store, pool = JobStore(tmp_path), Pool("clip", 1, 1)
    started, finish = threading.Event(), threading.Event()

    def work(job):  # a clip between two frames when the server stops: it finishes, and its client gets it
        started.set()
        finish.wait(10)
        return {}

    jobs = [store.add(Job("clip", f"c{k}.mp4", None)) for k in range(2)]
    for job in jobs:
        with pool.slot() as slot:
            slot.submit(job, work)
        assert started.wait(10)
    assert store.stop_all("stopping") == (1, 1)  # the waiting one stopped; the running one only told to
    assert pool.active == 1  # the waiting job's place is free at once
    finish.set()
    pool._executor.shutdown(wait=True)
    assert jobs[0].status == "done" and jobs[1].status == "failed" and pool.active == 0
    assert [len(job_lines(caplog, job.id)) for job in jobs] == [1, 1]
