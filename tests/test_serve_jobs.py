"""How long `mmnet serve` keeps results and what it says once one is gone; DELETE cancels a running job."""

import re
import threading
import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("av")


import mmnet.serve.app as serve_app  # noqa: E402
from mmnet.serve import ServeSettings, create_app  # noqa: E402
from tests.serve_helpers import (  # noqa: E402
    CLASSES,
    fake_spotter,
    local_client,
    mp4_bytes,
    synth_frames,
    uploads_left,
)


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
        assert uploads_left(c.app.state.root) == []  # its upload folder removed


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
        assert state["stage"].startswith("Classifying the expressions: frame ") and 0.85 <= state["progress"] <= 0.95
        assert state["stage"].endswith(" of 7")  # frames 0..6 decoded, up to the apex
        assert c.delete(f"/api/jobs/{job_id}").status_code == 204
        t0 = time.monotonic()
        while c.get("/api/health").json()["load"]["recording"]["active"] and time.monotonic() - t0 < 10:
            time.sleep(0.05)
        assert time.monotonic() - t0 < 1.5  # within a frame of the pass, not at its end (7 frames, 3.5 s)
        assert stopped == ["JobCancelled"]


def test_a_job_estimates_its_time_left_and_stops_once_it_clearly_cannot_end_in_time():
    from mmnet.serve.jobs import Job, JobTimeout

    job = Job("recording", "long.mp4", None, max_seconds=60.0)
    job.started = time.monotonic() - 5
    job.update(progress=0.05)
    assert job.eta_s is None and job.public()["eta_s"] is None  # too early to tell
    job.started = time.monotonic() - 20
    job.update(progress=0.1)  # 180 s left: past the limit, but measured for 20 s only
    assert job.eta_s == pytest.approx(180, abs=1) and job.public()["eta_s"] == job.eta_s
    job.started = time.monotonic() - 40
    job.update(progress=0.6)  # 27 s left: 67 s in all, within the limit and its margin (72 s)
    assert job.eta_s == pytest.approx(26.7, abs=1)
    with pytest.raises(JobTimeout) as stopped:  # 40 s left: 80 s in all
        job.update(progress=0.5)
    assert str(stopped.value).startswith("This analysis would take about 1m20s (estimated from its first 40 s, 50% "
                                         "done), longer than this server allows (1 minutes)")
    assert "raise --job-timeout (minutes; this one needs about 2)" in str(stopped.value)


def test_a_recording_that_would_outlast_the_time_limit_fails_early_with_the_estimate(predictor, clip_mp4,
                                                                                      monkeypatch):
    # the limit (30 min by default) was only reached after the work was done: an interview at 640x480 takes ~18 min
    # on a small CPU, longer ones were refused at 30 min, their work lost
    import mmnet.serve.jobs as jobs

    monkeypatch.setattr(jobs, "ETA_AFTER_S", 0.1)
    monkeypatch.setattr(jobs, "ESTIMATE_AFTER_S", 0.5)
    stopped = []

    def slow(path, *, progress=None, **kwargs):  # 50 frames a second of 1000: 20 s, past a 3 s limit
        try:
            for done in range(1, 1001):
                progress(done, 1000)
                time.sleep(0.02)
        except BaseException as exc:
            stopped.append(type(exc).__name__)
            raise
        return {"fps": 30.0, "frames": 1000, "intervals": []}

    with client_for(predictor, ServeSettings(job_timeout_s=3.0), spotter=slow) as c:
        t0 = time.monotonic()
        job_id = c.post("/api/recordings", files={"file": ("long.mp4", clip_mp4)}).json()["id"]
        while c.get(f"/api/jobs/{job_id}").json()["status"] != "failed" and time.monotonic() - t0 < 20:
            time.sleep(0.05)
        assert time.monotonic() - t0 < 2.5  # at the estimate, before the limit
        assert stopped == ["JobTimeout"]
        result = c.get(f"/api/jobs/{job_id}/result")
        # seconds, or minutes and seconds when a busy host made the first frames slow
        assert result.status_code == 409 and result.json()["failed_status"] == 504
        assert re.search(r"This analysis would take about (\d+ s|\d+m\d+s) \(estimated from its first \d\.\d s, "
                         r"\d+% done\)", result.json()["error"])
        assert "--job-timeout" in result.json()["error"]


@pytest.mark.parametrize("failure", [MemoryError(), RuntimeError(
    "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: you tried to allocate "
    "3221225472 bytes. Error code 12 (Cannot allocate memory)")])
def test_a_model_that_runs_out_of_memory_is_507_not_an_internal_error(predictor, clip_mp4, monkeypatch, caplog,
                                                                      failure):
    def forward(*_args, **_kwargs):
        raise failure

    monkeypatch.setattr(predictor.model, "forward", forward)  # torch's CPU allocator fails as the model runs
    with client_for(predictor) as c, caplog.at_level("WARNING", logger="mmnet.serve"):
        r = c.post("/api/predict", files={"file": ("clip.mp4", clip_mp4)}, headers={"X-Request-ID": "oom-1"})
        job_id = r.json()["id"] if r.status_code == 202 else None
        if job_id is not None:
            for _ in range(200):
                r = c.get(f"/api/jobs/{job_id}/result")
                if r.json()["code"] != "job_not_finished":
                    break
                time.sleep(0.05)
            assert r.status_code == 409 and r.json()["failed_status"] == 507, r.text
        else:
            assert r.status_code == 507, r.text
        assert "ran out of memory" in r.json()["error"] and "internal error" not in r.json()["error"]
    assert not any(rec.levelname == "ERROR" for rec in caplog.records)  # no traceback in the log: not a bug
    oom_line = r"request oom-1: a clip job \(id [0-9a-f]{6}\.\.\.\) ran out of memory: .*"  # as the job's other lines
    assert any(re.fullmatch(oom_line, rec.getMessage(), re.S) for rec in caplog.records)


def _no_room(*_args, **_kwargs):
    import errno
    import os

    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_attention_figures_are_drawn_in_memory_so_a_full_disk_does_not_fail_a_clip(predictor, clip_mp4, monkeypatch):
    # they were written into the job's folder and read back: on a nearly full disk every clip failed with 500
    import mmnet.infer.explain as explain

    monkeypatch.setattr(explain, "atomic_write_bytes", _no_room)  # any figure written to disk fails
    with client_for(predictor) as c:
        r = c.post("/api/predict", files={"file": ("clip.mp4", clip_mp4)})
        assert r.status_code == 200, r.text
        figure = c.get(r.json()["files"]["attention.png"])
        assert figure.status_code == 200 and figure.content.startswith(b"\x89PNG")


def test_explanation_png_is_the_figure_of_render_explanation(predictor, tmp_path):
    from mmnet.infer.explain import explain_pair, explanation_png, render_explanation

    frames = synth_frames(n=8, apex=4)
    explanation = explain_pair(predictor, frames[0], frames[4])
    assert explanation_png(explanation, dpi=50) == render_explanation(explanation, tmp_path / "e.png",
                                                                      dpi=50).read_bytes()
    assert not (tmp_path / "attention.png").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["e.png"]


@pytest.mark.parametrize("kind", ["clip", "recording"])
def test_a_disk_that_fills_during_an_analysis_is_507_no_room_not_an_internal_error(predictor, clip_mp4, monkeypatch,
                                                                                  caplog, kind):
    import mmnet.serve.analysis as analysis

    monkeypatch.setattr(analysis, "load_clip", _no_room)  # a clip's first read: where a disk write would fail
    with client_for(predictor, spotter=_no_room) as c, caplog.at_level("WARNING", logger="mmnet.serve"):
        if kind == "clip":
            r = c.post("/api/predict", files={"file": ("clip.mp4", clip_mp4)})
            assert r.status_code == 507, r.text
            body = r.json()
        else:
            job = c.post("/api/recordings", files={"file": ("rec.mp4", clip_mp4)}).json()
            for _ in range(200):
                if (body := c.get(f"/api/jobs/{job['id']}").json())["status"] in ("done", "failed"):
                    break
                time.sleep(0.05)
            assert body["error_status"] == 507, body
        assert body["error_code" if kind == "recording" else "code"] == "no_room"
        assert "no room" in body["error"] and "internal error" not in body["error"]
        assert uploads_left(c.app.state.root) == []
    assert not any(rec.exc_info for rec in caplog.records)  # no traceback in the log: not a bug
    assert any("no room" in rec.getMessage() and "TMPDIR" in rec.getMessage() for rec in caplog.records)


def test_the_sweeper_gives_the_memory_of_removed_results_back(predictor, clip_mp4, quick_clips, monkeypatch):
    # glibc keeps freed memory in its pools: a server's memory did not shrink as results went
    from mmnet.serve.freed_memory import release_freed_memory

    released = []
    monkeypatch.setattr(serve_app, "release_freed_memory", lambda: released.append(time.monotonic()))
    # a lifetime well above the answer's time (up to half a second on a loaded machine): not expired before it
    with client_for(predictor, ServeSettings(result_ttl_s=1.5)) as c:
        r = c.post("/api/predict", files={"file": ("clip.mp4", clip_mp4)})
        assert r.status_code == 200 and released == []
        for _ in range(200):  # expires after 1.5 s; the sweeper looks every 0.05 s
            if released:
                break
            time.sleep(0.05)
        assert len(released) == 1 and c.get(f"/api/jobs/{r.json()['id']}").status_code == 404
        time.sleep(0.3)
        assert len(released) == 1  # once per removal, not at every look
    assert isinstance(release_freed_memory(), bool)  # glibc: done; elsewhere: nothing to do
