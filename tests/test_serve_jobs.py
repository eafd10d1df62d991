"""How long `mmnet serve` keeps results and what it says once one is gone; DELETE cancels a running job."""

import threading
import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("av")


import mmnet.serve.app as serve_app  # noqa: E402
from mmnet.serve import ServeSettings, create_app  # noqa: E402
from tests.serve_helpers import CLASSES, fake_spotter, local_client, mp4_bytes, synth_frames  # noqa: E402


@pytest.fixture(scope="module")
def clip_mp4():
    return mp4_bytes(synth_frames(n=8, apex=4))


@pytest.fixture
def quick_clips(monkeypatch):
    """Clips 'analysed' at once (the upload is still received and decoded), each with a 1000-byte picture."""

    def analyse(job, predictor, path, **kwargs):
        job.files = {"attention.png": b"\0" * 1000}
        return {"source": job.name, "onset": 0, "apex": 4, "apex_spotted": True, "label": CLASSES[0],
                "probabilities": {c: 1 / len(CLASSES) for c in CLASSES}, "files": ["attention.png"]}

    monkeypatch.setattr(serve_app, "analyse_clip", analyse)


def client_for(predictor, settings=None, **kwargs):
    return local_client(create_app(predictor, settings=settings or ServeSettings(), **kwargs),
                        raise_server_exceptions=False)


def error_of(response, status=404) -> str:
    assert response.status_code == status, response.text
    return response.json()["error"]


def test_a_batch_of_clips_keeps_its_first_result(predictor, clip_mp4, quick_clips):
    with client_for(predictor) as c:
        ids = [c.post("/api/predict", files={"file": (f"clip{k}.mp4", clip_mp4)}).json()["id"] for k in range(67)]
        first = c.get(f"/api/jobs/{ids[0]}/result?format=csv")
        assert first.status_code == 200, first.text
        assert "clip0.mp4" in first.text
        assert c.get("/api/health").json()["jobs"]["done"] == 67


def test_a_result_removed_to_make_room_says_which_limit(predictor, clip_mp4, quick_clips):
    with client_for(predictor, ServeSettings(max_kept=2)) as c:
        ids = [c.post("/api/predict", files={"file": ("clip.mp4", clip_mp4)}).json()["id"] for _ in range(3)]
        text = error_of(c.get(f"/api/jobs/{ids[0]}/result?format=csv"))
        assert "removed to make room" in text and "the last 2 results" in text and "--max-results" in text
        assert "minutes" not in text
        assert c.get(f"/api/jobs/{ids[1]}/result").status_code == 200
    with client_for(predictor, ServeSettings(max_kept_mb=2500 / 2**20)) as c:  # room for two 1000-byte pictures
        ids = [c.post("/api/predict", files={"file": ("clip.mp4", clip_mp4)}).json()["id"] for _ in range(3)]
        text = error_of(c.get(f"/api/jobs/{ids[0]}"))
        assert "removed to make room" in text and "MB" in text and "--max-results-mb" in text
        assert [c.get(f"/api/jobs/{i}").status_code for i in ids[1:]] == [200, 200]


def test_an_expired_a_deleted_and_an_unknown_job_are_told_apart(predictor, clip_mp4, quick_clips):
    with client_for(predictor, ServeSettings(result_ttl_s=60.0)) as c:
        expired, deleted = (c.post("/api/predict", files={"file": ("clip.mp4", clip_mp4)}).json()["id"]
                            for _ in range(2))
        assert c.delete(f"/api/jobs/{deleted}").status_code == 204
        assert c.app.state.store.sweep(time.monotonic() + 61.0) == 1
        assert "expired" in error_of(c.get(f"/api/jobs/{expired}/result"))
        text = error_of(c.get(f"/api/jobs/{deleted}"))
        assert text == f"Job {deleted} was deleted."
        assert "There is no job" in error_of(c.get("/api/jobs/0123abcd"))


def looping_spotter(started: threading.Event, stopped: list, limit_s: float = 30.0):
    """A spotter reporting progress frame after frame for up to ``limit_s``; ``stopped`` gets what ended it."""

    def spot(path, *, fps=None, predictor=None, progress=None, classify_progress=None, draw=0):
        started.set()
        t0, done = time.monotonic(), 0
        try:
            while time.monotonic() - t0 < limit_s:
                done += 1
                progress(done, None)
                time.sleep(0.01)
        except BaseException as exc:
            stopped.append(type(exc).__name__)
            raise
        stopped.append("ran to its end")
        return {"fps": 30.0, "frames": done, "intervals": []}

    return spot


def test_deleting_a_running_recording_stops_it_and_frees_its_worker(predictor, clip_mp4):
    started, stopped = threading.Event(), []
    with client_for(predictor, ServeSettings(workers=1, queue=1), spotter=looping_spotter(started, stopped)) as c:
        running = c.post("/api/recordings", files={"file": ("long.mp4", clip_mp4)}).json()["id"]
        waiting = c.post("/api/recordings", files={"file": ("next.mp4", clip_mp4)}).json()["id"]
        assert started.wait(20)
        started.clear()
        assert c.delete(f"/api/jobs/{waiting}").status_code == 204
        assert c.delete(f"/api/jobs/{running}").status_code == 204
        t0 = time.monotonic()
        while c.get("/api/health").json()["load"]["recording"]["active"] and time.monotonic() - t0 < 10:
            time.sleep(0.05)
        health = c.get("/api/health").json()
        assert health["load"]["recording"]["active"] == 0 and health["jobs"]["running"] == 0, health
        assert stopped == ["JobCancelled"]
        assert not started.is_set()  # the deleted waiting job never started
        assert error_of(c.get(f"/api/jobs/{running}")) == f"Job {running} was deleted."
        assert list(c.app.state.root.iterdir()) == []  # its upload folder removed


def test_deleting_a_recording_while_its_expressions_are_classified_stops_that_pass(predictor, clip_mp4):
    # the intervals' frames are decoded a second time to classify them: that pass reported nothing, so a deleted
    # job (or one past its time limit) ran on to its end, its worker held
    started, stopped = threading.Event(), []
    inner = fake_spotter(intervals=((3, 6, 7, "micro"),))

    def spot(path, *, classify_progress=None, **kwargs):
        def slowly(read, to_read):
            started.set()
            time.sleep(0.5)
            classify_progress(read, to_read)

        try:
            return inner(path, classify_progress=slowly, **kwargs)
        except BaseException as exc:
            stopped.append(type(exc).__name__)
            raise

    with client_for(predictor, ServeSettings(workers=1, queue=0), spotter=spot) as c:
        job_id = c.post("/api/recordings", files={"file": ("long.mp4", clip_mp4)}).json()["id"]
        assert started.wait(20)
        time.sleep(0.6)
        state = c.get(f"/api/jobs/{job_id}").json()
        assert state["stage"].startswith("Classifying the expressions: frame ") and 0.8 <= state["progress"] <= 0.9
        assert state["stage"].endswith(" of 7")  # frames 0..6 decoded, up to the apex
        assert c.delete(f"/api/jobs/{job_id}").status_code == 204
        t0 = time.monotonic()
        while c.get("/api/health").json()["load"]["recording"]["active"] and time.monotonic() - t0 < 10:
            time.sleep(0.05)
        assert time.monotonic() - t0 < 1.5  # within a frame of the pass, not at its end (7 frames, 3.5 s)
        assert stopped == ["JobCancelled"]
