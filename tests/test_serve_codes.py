"""Every error of the API carries a machine-readable ``code`` (and ``field`` for a field at fault), stable while its
sentence is not; a failed job's result is one status no retry layer retries (409 job_failed)."""

import threading
import zipfile
from io import BytesIO
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("av")

from mmnet.serve import ServeSettings, create_app  # noqa: E402
from mmnet.serve.codes import CODE_MEANINGS, CODES, code_of  # noqa: E402
from mmnet.serve.uploads import UploadError, UploadLimits, open_upload  # noqa: E402
from mmnet.spotting.flow_spotter import NO_ALIGN, NO_RATE  # noqa: E402
from tests.serve_helpers import fake_spotter, local_client, mp4_bytes, synth_frames, zip_bytes  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs" / "serve.md"


@pytest.fixture(scope="module")
def video():
    return mp4_bytes(synth_frames())


def code(answer, status):
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["status"] == status and body["code"] in CODES
    return body["code"]


def test_each_error_names_its_code(predictor, video):
    settings = ServeSettings(max_upload_mb=0.05, token="t" * 20)
    auth = {"Authorization": f"Bearer {'t' * 20}"}
    with local_client(create_app(predictor, settings=settings, spotter=fake_spotter()),
                      raise_server_exceptions=False) as c:
        assert code(c.get("/api/model"), 401) == "unauthorized"
        assert code(c.get("/api/model", headers={**auth, "Host": "evil.example"}), 400) == "bad_host"
        assert code(c.delete("/api/jobs/x", headers={**auth, "Origin": "http://localhost:5173"}), 403) \
            == "forbidden_origin"
        assert code(c.get("/api/nothing", headers=auth), 404) == "not_found"
        assert code(c.get("/api/jobs/" + "a" * 32, headers=auth), 404) == "job_unknown"
        wrong_method = c.put("/api/predict", headers=auth)
        assert code(wrong_method, 405) == "method_not_allowed" and wrong_method.headers["Allow"] == "POST"
        assert code(c.post("/api/predict", headers=auth, files={"file": ("c.mp4", b"x" * 200_000)}), 413) \
            == "upload_too_large"
        answer = c.post("/api/predict", headers=auth, files={"file": ("c.mp4", b"x")}, data={"onset": "-1"})
        assert code(answer, 422) == "field_invalid" and answer.json()["field"] == "onset"
        answer = c.get("/api/jobs/x/result?format=xml", headers=auth)
        assert code(answer, 422) == "field_invalid" and answer.json()["field"] == "format"
        frames = zip_bytes(synth_frames(n=4, size=(16, 16)))
        assert code(c.post("/api/recordings", headers=auth, files={"file": ("r.zip", frames)}), 422) \
            == "fps_required"
        assert code(c.post("/api/predict", headers=auth, files={"file": ("c.txt", b"hello")}), 415) \
            == "unsupported_type"


def test_too_many_entries_and_no_face_and_frames_not_held(predictor, video, tmp_path):
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k in range(12):
            z.writestr(f"img{k}.png", b"x")
    with local_client(create_app(predictor), raise_server_exceptions=False) as c:
        assert code(c.post("/api/predict", files={"file": ("c.zip", buf.getvalue())}), 422) == "undecodable"
        answer = c.post("/api/predict", files={"file": ("c.mp4", video)}, data={"apex": "500"})
        assert code(answer, 422) == "field_invalid" and answer.json()["field"] == "apex"
    (tmp_path / "upload.bin").write_bytes(buf.getvalue())
    with pytest.raises(UploadError) as refused:
        open_upload(tmp_path / "upload.bin", UploadLimits(max_zip_entries=5))
    assert (refused.value.status, refused.value.code) == (413, "too_many_entries")
    assert code_of(f"'r.mp4': no face found. {NO_ALIGN}") == "no_face"
    assert code_of(f"'r.mp4' {NO_RATE}") == "fps_required"


def test_a_failed_job_answers_409_job_failed_with_its_own_status(predictor, video):
    with local_client(create_app(predictor, spotter=lambda path, **kw: 1 / 0), raise_server_exceptions=False) as c:
        job = c.post("/api/recordings", files={"file": ("r.mp4", video)}).json()
        with c.stream("GET", job["urls"]["events"]) as events:
            last = [line for line in events.iter_lines() if line.startswith("data:")][-1]
        assert '"error_status": 500' in last and '"error_code": "internal"' in last
        state = c.get(job["urls"]["state"]).json()
        assert (state["status"], state["error_status"], state["error_code"]) == ("failed", 500, "internal")
        answer = c.get(job["urls"]["result"])
        assert code(answer, 409) == "job_failed" and "Retry-After" not in answer.headers
        assert (answer.json()["failed_status"], answer.json()["failed_code"]) == (500, "internal")
        c.delete(job["urls"]["state"])
        assert code(c.get(job["urls"]["state"]), 404) == "job_deleted"


def test_a_job_waits_only_when_another_runs_and_unfinished_results_say_when_to_ask_again(predictor, video):
    release = threading.Event()
    inner = fake_spotter()

    def slow(path, **kwargs):
        release.wait(20)
        return inner(path, **kwargs)

    with local_client(create_app(predictor, spotter=slow, settings=ServeSettings(workers=1, queue=2))) as c:
        first = c.post("/api/recordings", files={"file": ("r.mp4", video)})
        assert not first.json()["stage"].startswith("Waiting")  # an idle server: nothing else runs
        assert first.headers["Location"].endswith(first.json()["urls"]["state"])
        second = c.post("/api/recordings", files={"file": ("r.mp4", video)}).json()
        assert second["stage"] == "Waiting: another analysis is running"
        answer = c.get(second["urls"]["result"])
        assert code(answer, 409) == "job_not_finished" and int(answer.headers["Retry-After"]) >= 1
        release.set()


def test_the_codes_are_documented():
    text = DOCS.read_text(encoding="utf-8")
    assert set(CODE_MEANINGS) == set(CODES)
    assert [c for c in CODES if f"`{c}`" not in text] == []


def test_an_upload_refused_as_it_is_opened_keeps_the_code_of_its_reason(predictor, video, monkeypatch):
    from mmnet.errors import DataError
    from mmnet.serve import app as serve_app

    def refuse(*_args, **_kwargs):
        raise DataError(f"'upload.bin' {NO_RATE}")

    monkeypatch.setattr(serve_app, "open_upload", refuse)
    with local_client(create_app(predictor, spotter=fake_spotter())) as c:
        assert code(c.post("/api/recordings", files={"file": ("r.mp4", video)}), 422) == "fps_required"


def _finder_zip(n: int) -> bytes:
    # what a Mac's "Compress" writes: each frame, its folder entry, and __MACOSX/ with a ._name beside each file
    buf = BytesIO()
    plain = zipfile.ZipFile(BytesIO(zip_bytes(synth_frames(n=n, size=(16, 16)))))
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("clip/", b"")
        z.writestr("__MACOSX/clip/", b"")
        for info in plain.infolist():
            z.writestr(info.filename, plain.read(info))
            z.writestr(f"__MACOSX/clip/._{info.filename.split('/')[-1]}", b"\x00\x05\x16\x07junk")
        z.writestr("clip/.DS_Store", b"\x00\x00\x00\x01Bud1")
    return buf.getvalue()


def test_the_entry_limit_counts_files_not_a_macs_metadata(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "finder.zip").write_bytes(_finder_zip(6))  # 6 frames in 15 entries
    upload = open_upload(tmp_path / "a" / "finder.zip", UploadLimits(max_zip_entries=6))
    assert upload.frames == 6 and upload.ignored == ()
    (tmp_path / "b" / "finder.zip").write_bytes(_finder_zip(6))
    with pytest.raises(UploadError) as refused:  # one frame beyond the limit: refused, the files counted
        open_upload(tmp_path / "b" / "finder.zip", UploadLimits(max_zip_entries=5))
    assert refused.value.code == "too_many_entries" and "holds 6 files; this server accepts at most 5" \
        in str(refused.value)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "finder.zip").write_bytes(_finder_zip(2))  # 2 frames in 7 entries
    with pytest.raises(UploadError) as refused:  # within the files' limit (2), beyond the entries' (3 x 2)
        open_upload(tmp_path / "c" / "finder.zip", UploadLimits(max_zip_entries=2))
    assert refused.value.code == "too_many_entries" and "holds 7 entries, folders and metadata included; this " \
        "server accepts at most 6" in str(refused.value)
