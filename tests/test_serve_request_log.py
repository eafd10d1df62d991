"""The server's log after the fact: every answer carries a request id (header, and an error's body) that the log's
lines name; a refused request leaves a line with its reason, a job one line with its outcome and duration; the
lines of `mmnet serve` are timestamped; none shows a token, a job id or an upload's file name."""

import logging
import re
import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("av")

from mmnet.serve import ServeSettings, create_app  # noqa: E402
from mmnet.serve.request_context import hide_in_line  # noqa: E402
from tests.serve_helpers import fake_spotter, local_client, mp4_bytes, synth_frames  # noqa: E402

TOKEN = "s3cret-token-for-tests_0123456789"
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def _client(predictor, **kwargs):
    settings = kwargs.pop("settings", None) or ServeSettings()
    return local_client(create_app(predictor, settings=settings, **kwargs), raise_server_exceptions=False)


def _lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("mmnet.serve")]


def test_every_answer_carries_a_request_id_that_an_errors_body_repeats(predictor):
    with _client(predictor) as c:
        first, second = c.get("/api/health"), c.get("/api/health")
        assert re.fullmatch(r"[0-9a-f]{16}", first.headers["x-request-id"])
        assert first.headers["x-request-id"] != second.headers["x-request-id"]
        assert c.get("/api/health", headers={"X-Request-ID": "lb-42.a:b"}).headers["x-request-id"] == "lb-42.a:b"
        odd = c.get("/api/health", headers={"X-Request-ID": "has space\"and quote"}).headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{16}", odd)  # not logged as it came: a new one
        missing = c.get("/nothing/here", headers={"X-Request-ID": "mine-1"})
        assert missing.status_code == 404 and missing.json()["request_id"] == "mine-1"
        assert missing.headers["x-request-id"] == "mine-1"
        assert int(missing.headers["content-length"]) == len(missing.content)
        head = c.head("/nowhere")  # no body: the id in the header only
        assert head.status_code == 404 and head.headers["x-request-id"] and not head.content


def test_a_refused_upload_leaves_a_line_with_its_reason_and_no_file_name(predictor, caplog):
    caplog.set_level(logging.INFO, logger="mmnet.serve")
    with _client(predictor) as c:
        answer = c.post("/api/predict", files={"file": ("patient-Jane-Doe.txt", b"this is not a video")},
                        headers={"X-Request-ID": "upload-7"})
    assert answer.status_code == 415 and "patient-Jane-Doe" in answer.json()["error"]  # the client sees it
    refused = [line for line in _lines(caplog) if line.startswith("request upload-7: POST /api/predict answered 415")]
    assert len(refused) == 1, _lines(caplog)
    assert answer.json()["code"] in refused[0] and "neither a video" in refused[0] and "<file>.txt" in refused[0]
    assert "Jane" not in caplog.text and "this is not a video" not in caplog.text


def test_a_refusal_for_want_of_a_token_logs_no_token(predictor, caplog):
    caplog.set_level(logging.INFO, logger="mmnet.serve")
    with _client(predictor, settings=ServeSettings(token=TOKEN)) as c:
        wrong = c.get("/api/model", headers={"Authorization": f"Bearer {TOKEN}-wrong"})
        in_query = c.get(f"/api/model?token={TOKEN}")
    assert wrong.status_code == in_query.status_code == 401
    assert wrong.json()["request_id"] == wrong.headers["x-request-id"]
    lines = _lines(caplog)
    assert any(f"request {wrong.headers['x-request-id']}: GET /api/model answered 401 unauthorized: " in line
               for line in lines), lines
    assert TOKEN not in caplog.text


def test_each_job_leaves_one_line_naming_its_request_and_outcome(predictor, caplog):
    caplog.set_level(logging.INFO, logger="mmnet.serve")
    clip = mp4_bytes(synth_frames())
    with _client(predictor, spotter=lambda path, **kw: 1 / 0) as c:
        done = c.post("/api/predict", files={"file": ("p01-visit.mp4", clip)}, headers={"X-Request-ID": "c-1"})
        assert done.status_code == 200, done.text
        started = c.post("/api/recordings", files={"file": ("p01-visit.mp4", clip)}, headers={"X-Request-ID": "r-2"})
        job_id = started.json()["id"]
        t0 = time.monotonic()
        while (state := c.get(f"/api/jobs/{job_id}").json())["status"] != "failed":
            assert time.monotonic() - t0 < 60
            time.sleep(0.05)
    assert "first 6 characters of this job's id" in state["error"]
    lines = _lines(caplog)
    assert [line for line in lines if line.startswith("request c-1: clip job ")] == [
        next(line for line in lines if re.fullmatch(rf"request c-1: clip job {done.json()['id'][:6]}\.\.\. done in "
                                                    r"[\d.]+ s", line))]
    ended = [line for line in lines if line.startswith(f"request r-2: recording job {job_id[:6]}... failed")]
    assert len(ended) == 1 and "failed 500 internal in " in ended[0], lines
    failure = next(r for r in caplog.records if r.exc_info and "job" in r.getMessage())
    assert failure.getMessage().startswith("request r-2: a recording job") and "<file>.mp4" in failure.getMessage()
    assert "p01-visit" not in caplog.text and job_id not in caplog.text and done.json()["id"] not in caplog.text


def test_a_bugs_500_names_the_request_id_the_log_line_names(predictor, monkeypatch, caplog):
    from mmnet.serve import app as app_module

    def broken(settings):
        raise RuntimeError("a bug")

    monkeypatch.setattr(app_module, "server_limits", broken)
    with _client(predictor) as c:
        answer = c.get("/api/model")
    assert answer.status_code == 500 and "request_id" in answer.json()["error"]
    request_id = answer.json()["request_id"]
    assert request_id == answer.headers["x-request-id"]
    assert any(r.exc_info and r.getMessage() == f"request {request_id}: internal error" for r in caplog.records)


def test_log_lines_hide_job_ids_and_file_names():
    job = "9abd20" + "f" * 26
    text = f"Job {job} failed on 'scan 1.mp4' (scan 1.mp4.bak kept); no job 'xyz' here"
    assert hide_in_line(text, {"scan 1.mp4"}, "/api/jobs/xyz/result") == \
        "Job 9abd20... failed on '<file>.mp4' (<file>.mp4.bak kept); no job '<job>' here"
    assert len(hide_in_line("word " * 200)) == 400


def test_the_served_lines_are_timestamped_and_the_access_log_has_duration_and_id(predictor, capfd):
    import httpx

    from tests.test_serve_shutdown import _Served

    host = {"Host": "localhost"}
    with _Served(create_app(predictor, spotter=fake_spotter()), shutdown_timeout_s=1) as served:
        httpx.get(f"{served.url}/api/health", headers=host)
        httpx.get(f"{served.url}/nowhere", headers={**host, "X-Request-ID": "quiet-1"})
    out, err = capfd.readouterr()
    assert "/api/health" not in out + err  # no access log: only the refusal
    assert re.search(rf"^{STAMP} info: request quiet-1: GET /nowhere answered 404 not_found: ", err, re.M), err
    with _Served(create_app(predictor), shutdown_timeout_s=1, access_log=True) as served:
        answer = httpx.get(f"{served.url}/api/health", headers={**host, "X-Request-ID": "seen-2"})
    out, err = capfd.readouterr()
    assert answer.headers["x-request-id"] == "seen-2"
    line = rf'^{STAMP} info: request seen-2: 127\.0\.0\.1:\d+ "GET /api/health HTTP/1\.1" 200 in (\d+ ms|[\d.]+ s)$'
    assert re.search(line, out, re.M), out


def test_a_job_stopped_before_it_started_has_its_line_too(caplog):
    from mmnet.serve.jobs import Job

    caplog.set_level(logging.INFO, logger="mmnet.serve")
    job = Job("recording", "p01.mp4", None)
    job.stop("The server is stopping.")
    job.stop("The server is stopping.")  # said once
    assert _lines(caplog) == [f"recording job {job.id[:6]}... failed 503 server_stopping in 0.0 s"]


def test_a_bug_outside_a_request_is_logged_without_a_request_id(caplog):
    import asyncio

    from mmnet.serve.answers import InternalErrors

    async def broken(scope, receive, send):
        raise RuntimeError("a bug")

    sent = []

    async def send(message):
        sent.append(message)

    asyncio.run(InternalErrors(broken)({"type": "http", "method": "GET", "path": "/", "headers": []}, None, send))
    assert sent[0]["status"] == 500
    assert [r.getMessage() for r in caplog.records if r.exc_info] == ["internal error"]  # no "request None: "
