"""What an API client needs to follow a job and plan its uploads: events that carry the job's urls and keep the
connection alive, the server's limits and API version, the load for callers with the token, and a note when a
recording's frame rate was replaced."""

import json
import threading
import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("av")

from mmnet.serve import ServeSettings, create_app  # noqa: E402
from mmnet.serve import app as serve_app
from tests.serve_helpers import fake_spotter, local_client, mp4_bytes, synth_frames  # noqa: E402

TOKEN = "s3cret-token-0123456789"


@pytest.fixture(scope="module")
def video():
    return mp4_bytes(synth_frames())


def test_events_carry_the_urls_and_keep_the_connection_alive(predictor, video, monkeypatch):
    monkeypatch.setattr(serve_app, "KEEPALIVE_S", 0.3)
    release = threading.Event()
    inner = fake_spotter()

    def slow(path, **kwargs):
        release.wait(20)
        return inner(path, **kwargs)

    with local_client(create_app(predictor, spotter=slow)) as c:
        job = c.post("/api/recordings", files={"file": ("r.mp4", video)}).json()
        timer = threading.Timer(1.5, release.set)
        timer.start()
        with c.stream("GET", job["urls"]["events"]) as events:
            assert events.headers["X-Accel-Buffering"] == "no"
            lines = [line for line in events.iter_lines() if line]
        timer.cancel()
        assert ": keep-alive" in lines
        states = [json.loads(line[5:]) for line in lines if line.startswith("data:")]
        assert states[-1]["status"] == "done" and all(s["urls"] == job["urls"] for s in states)


def test_model_says_the_limits_and_the_api_version(predictor):
    settings = ServeSettings(max_upload_mb=12.5, workers=2, queue=3, job_timeout_s=600, result_ttl_s=120,
                             max_kept=7, max_kept_mb=64)
    with local_client(create_app(predictor, settings=settings)) as c:
        model = c.get("/api/model").json()
    assert model["api_version"] == "1"
    limits = model["limits"]
    assert (limits["max_upload_mb"], limits["workers"], limits["queue"], limits["job_timeout_s"],
            limits["result_ttl_s"], limits["max_results"], limits["max_results_mb"]) == (12.5, 2, 3, 600, 120, 7, 64)
    assert limits["max_zip_entries"] == settings.limits.max_zip_entries
    assert limits["max_megapixels"] == pytest.approx(settings.limits.max_pixels / 1e6)
    assert limits["poll_interval_s"] > 0


def test_the_health_check_shows_the_load_to_callers_with_the_token(predictor):
    with local_client(create_app(predictor, settings=ServeSettings(token=TOKEN))) as c:
        anonymous = c.get("/api/health").json()
        assert "jobs" not in anonymous and "load" not in anonymous and anonymous["model"] is None
        wrong = c.get("/api/health", headers={"Authorization": "Bearer " + "x" * 23}).json()
        assert "jobs" not in wrong
        known = c.get("/api/health", headers={"Authorization": f"Bearer {TOKEN}"}).json()
        assert known["jobs"]["queued"] == 0 and known["load"]["clip"]["capacity"] == 5


def _result(client, video, fps):
    job = client.post("/api/recordings", files={"file": ("r.mp4", video)}, data={"fps": str(fps)}).json()
    for _ in range(600):
        if client.get(job["urls"]["state"]).json()["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    return client.get(job["urls"]["result"]).json()


def test_a_frame_rate_that_replaces_the_videos_own_is_noted(predictor, video):
    with local_client(create_app(predictor, spotter=fake_spotter())) as c:  # its video is 30 frames per second
        replaced, same = _result(c, video, 60), _result(c, video, 30)
    assert any("replaced the video's own (30)" in note for note in replaced["notes"]), replaced["notes"]
    assert not any("replaced" in note for note in same["notes"])
