"""The HTTP API of `mmnet serve`, in-process: predictions equal `mmnet predict`'s, bad uploads get a
JSON sentence (never a traceback) and leave the server serving, jobs are bounded, folders removed."""

import csv
import errno
import io
import json
import os
import re
import stat
import threading
import time
import zipfile

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("av")

from mmnet.infer import ClipRequest, Predictor  # noqa: E402
from mmnet.serve import ServeSettings, create_app  # noqa: E402
from mmnet.serve.codes import CODES  # noqa: E402
from tests.serve_helpers import (  # noqa: E402
    CLASSES,
    csv_download,
    fake_spotter,
    local_client,
    make_checkpoint,
    mp4_bytes,
    recording_done,
    synth_frames,
    uploads_left,
    zip_bytes,
)


@pytest.fixture(scope="module")
def frames():
    return synth_frames()


@pytest.fixture(scope="module")
def clip_mp4(frames):
    return mp4_bytes(frames)


def client_for(predictor, **kwargs):
    settings = kwargs.pop("settings", None) or ServeSettings()
    return local_client(create_app(predictor, settings=settings, **kwargs), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def client(predictor):
    with client_for(predictor, spotter=fake_spotter()) as c:
        yield c


def leftovers(client):
    return uploads_left(client.app.state.root)


def wait_for(client, job_id, timeout=30.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        state = client.get(f"/api/jobs/{job_id}").json()
        if state["status"] in ("done", "failed"):
            return state
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {state}")


def assert_person_readable(response, status, *words, code=None):
    assert response.status_code == status, response.text
    body = response.json()
    assert {"error", "status", "code", "request_id"} <= set(body) <= {"error", "status", "code", "field",
                                                                     "failed_status", "failed_code", "request_id"}
    assert body["status"] == status and body["request_id"] == response.headers["x-request-id"]
    assert body["code"] in CODES and body["code"] == (code or body["code"]), body
    for word in words:
        assert word.lower() in body["error"].lower(), body["error"]
    assert "Traceback" not in body["error"] and "mmnet-serve-" not in body["error"] and "/tmp" not in body["error"]


def test_health_and_model(client):
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["spotting"] is True
    model = client.get("/api/model").json()
    assert model["classes"] == CLASSES and model["image_size"] == 32 and model["max_upload_mb"] == 200
    assert "/api/predict" in client.get("/openapi.json").json()["paths"]
    assert client.get("/").headers["content-type"].startswith("text/html")


def test_the_page_reads_the_attention_colours_as_the_figure_draws_them(client):
    from mmnet.infer.explain import render_explanation

    assert render_explanation.__kwdefaults__["cmap"] == "viridis"  # high values yellow, low dark blue
    caption = client.get("/").text.split("<figcaption>Attention gates")[1].split("</figcaption>")[0]
    assert "yellow = more attention" in caption and "red" not in caption
    # what the maps are not: evidence for the class, the whole network, tested
    caption = " ".join(caption.split())
    assert "the same whatever the class" in caption and "not been tested for faithfulness" in caption
    assert "Grad-CAM of the class shown" in caption


def test_predict_video_equals_mmnet_predict(client, predictor, clip_mp4, tmp_path):
    r = client.post("/api/predict", files={"file": ("my clip.mp4", clip_mp4, "application/octet-stream")})
    assert r.status_code == 200, r.text
    got = r.json()
    path = tmp_path / "clip.mp4"
    path.write_bytes(clip_mp4)
    want = predictor.predict_clips([ClipRequest(path)])[0].to_dict()
    assert got["source"] == "my clip.mp4"
    for key in ("onset", "apex", "apex_spotted", "label"):
        assert got[key] == want[key], key
    assert got["probabilities"] == pytest.approx(want["probabilities"], abs=1e-6)
    assert set(got["files"]) == {"onset.png", "apex.png", "attention.png"}
    # no face check without --align: the note says what the server's operator can do, not predict's option
    assert "not checked for a face" in got["warning"] and got["warning"].endswith(
        "ask whoever runs this server to restart it with face alignment on (the --align option of mmnet serve)")
    assert "`" not in got["warning"]  # no command shown as code to a page user
    assert got["warnings"] == [got["warning"]]  # the page shows each note on its own line
    figure = Image.open(io.BytesIO(client.get(got["files"]["attention.png"]).content))
    assert figure.width <= 1000 < 2 * figure.height  # mmnet explain's two rows of panels, some 9.6 in at 100 dpi
    crop = Image.open(io.BytesIO(client.get(got["files"]["apex.png"]).content))
    assert crop.size == (64, 80)  # the frame as decoded (under the thumbnail size)
    csv_text = csv_download(client.get(f"/api/jobs/{got['id']}/result?format=csv")).splitlines()
    assert csv_text[0].split(",")[:5] == ["source", "onset", "apex", "apex_spotted", "label"]
    # the p_ columns (model_note last): 6 decimals, as in a recording's CSV (not 1.2093543773517013e-05)
    probabilities = csv_text[1].split(",")[5:-1]
    assert len(probabilities) == 3 and all(re.fullmatch(r"[01]\.\d{6}", p) for p in probabilities), csv_text
    assert leftovers(client) == []  # the upload folder is gone once the clip is analysed


def test_predict_says_when_a_clip_looks_like_a_recording(client, frames):
    long = mp4_bytes(np.concatenate([frames] * 4), fps=10)  # 48 frames at 10 fps: 4.8 s, over the 3 s rule
    got = client.post("/api/predict", files={"file": ("long.mp4", long)}).json()
    assert "4.8 s" in got["recording_warning"] and "upload it as a recording" in got["recording_warning"]
    assert got["label"] in CLASSES  # still classified as one clip, as `mmnet predict` does
    short = client.post("/api/predict", files={"file": ("short.mp4", mp4_bytes(frames))}).json()
    assert short["recording_warning"] is None


def test_predict_zip_of_frames_with_onset_and_apex(client, predictor, frames, tmp_path):
    r = client.post("/api/predict", files={"file": ("x", zip_bytes(frames), "application/zip")},
                    data={"onset": "2", "apex": "7"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["onset"], got["apex"], got["apex_spotted"]) == (2, 7, False)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, image in enumerate(frames, start=1):
        Image.fromarray(image).save(folder / f"img{i}.png")
    want = predictor.predict_clips([ClipRequest(folder, None, 2, 7)])[0]
    assert got["probabilities"] == pytest.approx(want.probabilities, abs=1e-6)


def test_each_note_of_the_warning_is_listed_apart(client, frames, monkeypatch):
    # the notes are joined by "; ", which each note also holds: the page needs them apart, one line each
    import mmnet.infer.predictor as predictor_module
    from mmnet.serve.messages import SERVE_NOT_CHECKED

    still = zip_bytes(np.stack([frames[0]] * 3))  # the same frame three times: nothing moves
    got = client.post("/api/predict", files={"file": ("still.zip", still, "application/zip")}).json()
    assert got["warnings"] == [predictor_module.ZERO_MOTION, SERVE_NOT_CHECKED]
    assert got["warning"] == "; ".join(got["warnings"])
    # a note of unknown text that holds "; " is still one note (the joined text was split there)
    monkeypatch.setattr(predictor_module, "ZERO_MOTION", "a new note; in two parts")
    got = client.post("/api/predict", files={"file": ("still.zip", still, "application/zip")}).json()
    assert got["warnings"] == ["a new note; in two parts", SERVE_NOT_CHECKED]
    assert got["warning"] == "; ".join(got["warnings"])


def zip_with(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buf.getvalue()


def link_entry(name):
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def png_bytes(image):
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("name,payload,status,words", [
    ("notes.txt", b"hello, this is not a video", 415, ["neither a video"]),
    ("clip.mp4", b"", 400, ["empty"]),
    ("face.png", "image", 415, ["single image"]),
    ("clip.mp4", "truncated", 415, ["is incomplete"]),  # the decoder's own reason, without a generic sentence
    ("clip.zip", "traversal", 400, ["outside the archive"]),
    ("clip.zip", "absolute", 400, ["outside the archive"]),
    ("clip.zip", "link", 400, ["is a link"]),
    ("clip.zip", "bomb", 413, ["zip bombs"]),
    ("clip.zip", "only-not-frames", 415, ["no image", "2 other file(s)", "readme.txt", "notes.docx"]),
    ("clip.zip", "two-folders", 415, ["2 folders"]),
    ("clip.zip", "empty-zip", 415, ["no image"]),
    ("clip.zip", "bad-frame", 422, ["img2.png", "can be decoded"]),
    ("clip.zip", "one-frame", 422, ["1 frame"]),
])
def test_bad_uploads_get_a_sentence_and_the_server_keeps_serving(client, frames, clip_mp4, name, payload, status,
                                                                 words):
    image = frames[0]
    payloads = {
        "image": png_bytes(image),
        "truncated": clip_mp4[: len(clip_mp4) // 3],
        "traversal": zip_with([("../evil/img1.png", png_bytes(image))]),
        "absolute": zip_with([("/etc/img1.png", png_bytes(image))]),
        "link": zip_with([(link_entry("img1.png"), b"/etc/passwd")]),
        "bomb": zip_with([("img1.png", b"\0" * 5_000_000)]),
        "only-not-frames": zip_with([("readme.txt", b"x"), ("notes.docx", b"y")]),
        "two-folders": zip_with([("a/img1.png", png_bytes(image)), ("b/img2.png", png_bytes(image))]),
        "empty-zip": zip_with([("__MACOSX/._img1.png", b"x")]),
        "bad-frame": zip_with([("img1.png", png_bytes(image)), ("img2.png", b"\x89PNG broken")]),
        "one-frame": zip_with([("img1.png", png_bytes(image))]),
    }
    data = payloads.get(payload, payload)
    r = client.post("/api/predict", files={"file": (name, data, "application/octet-stream")})
    assert_person_readable(r, status, *words)
    assert client.get("/api/health").json()["status"] == "ok"
    assert leftovers(client) == []
    assert client.app.state.pools["clip"].active == 0


def test_client_file_names_are_shown_never_used(client, clip_mp4):
    r = client.post("/api/predict", files={"file": ("../../etc/evil<script>.mp4", clip_mp4)})
    assert r.status_code == 200 and r.json()["source"] == "evilscript.mp4"
    assert leftovers(client) == []


def test_display_names_decode_what_browsers_percent_encode():
    from mmnet.serve.uploads import display_name

    # a browser sends '"', CR and LF of a file name as %22, %0D, %0A (then filtered as any name); nothing else
    assert display_name("my %22best%22 clip.mp4") == "my best clip.mp4"
    assert display_name("a%0D%0Ab%0d%0a.mp4") == "ab.mp4"
    assert display_name("50%25 %41%2F.mp4") == "50%25 %41%2F.mp4"


def test_long_file_names_are_shortened_in_the_middle_and_stay_distinct(client, clip_mp4):
    from mmnet.serve.uploads import MAX_NAME, display_name

    stem = "Séance 3 – patiente P07, entretien clinique du 12 décembre (caméra frontale, lumière du jour) prise"
    names = []
    for take in (1, 2):  # two recordings whose names differ only after the 80th character
        r = client.post("/api/predict", files={"file": (f"{stem} {take}.mp4", clip_mp4)})
        assert r.status_code == 200, r.text
        names.append(r.json()["source"])
        csv = client.get(f"/api/jobs/{r.json()['id']}/result?format=csv")
        assert f"prise%20{take}.csv" in csv.headers["content-disposition"]  # the download's name is distinct too
    assert names[0] != names[1]
    for take, name in enumerate(names, 1):
        assert len(name) == MAX_NAME and name.startswith(stem[:50]) and "…" in name, name
        assert name.endswith(f"prise {take}.mp4"), name
    assert display_name("x" * 200) == "x" * 52 + "…" + "x" * 27  # no extension: the whole name is cut
    assert display_name(f"b{'a' * 78}.mp4") == f"b{'a' * 49}…{'a' * 25}.mp4"
    assert display_name(f"{'a' * 76}.mp4") == f"{'a' * 76}.mp4"  # 80 characters: kept whole
    assert display_name(f"{'a' * 100}.mpeg").index("…") == 49  # two thirds of what fits beside the extension


def test_a_zip_made_on_windows_skips_what_the_command_line_never_reads_as_a_frame(tmp_path):
    from mmnet.media import list_frames
    from mmnet.serve.uploads import UploadLimits, open_upload

    image = png_bytes(np.full((48, 40, 3), 128, np.uint8))
    # a Windows download's Zone.Identifier stream, copied out as a file by an archiver; desktop files in any case
    junk = [r"clip\Img1.png:Zone.Identifier", r"clip\THUMBS.DB", r"clip\Desktop.INI", "clip/._Img2.png"]
    upload = tmp_path / "upload.bin"
    upload.write_bytes(zip_with([(r"clip\Img1.png", image), (r"clip\Img2.png", image), *((n, b"x") for n in junk)]))
    got = open_upload(upload, UploadLimits())
    assert (got.kind, got.frames) == ("frames", 2) and sorted(p.name for p in got.path.iterdir()) == ["Img1.png",
                                                                                                      "Img2.png"]
    # the command line reads the unzipped folder to the same two frames
    folder = tmp_path / "clip"
    folder.mkdir()
    for name in ("Img1.png", "Img2.png", *(n.replace("\\", "/").split("/")[-1] for n in junk)):
        (folder / name).write_bytes(image)
    assert [n for n, _ in list_frames(folder)[0]] == [1, 2]


def with_files(archive: bytes, entries) -> bytes:
    buf = io.BytesIO(archive)
    with zipfile.ZipFile(buf, "a") as out:
        for name, data in entries:
            out.writestr(name, data)
    return buf.getvalue()


@pytest.mark.slow
def test_a_zips_files_that_are_not_frames_are_left_out_as_the_command_line_does_and_named(client, frames):
    extra = [("clip/readme.txt", b"coded by A"), ("clip/notes.docx", b"not a frame")]
    plain = client.post("/api/predict", files={"file": ("clip.zip", zip_bytes(frames), "application/zip")}).json()
    r = client.post("/api/predict", files={"file": ("clip.zip", with_files(zip_bytes(frames), extra),
                                                    "application/zip")})
    assert r.status_code == 200, r.text
    got = r.json()
    # the same frames, the same prediction; the files left out are named, not dropped unsaid
    assert got["probabilities"] == pytest.approx(plain["probabilities"], abs=1e-6)
    assert (got["onset"], got["apex"]) == (plain["onset"], plain["apex"])
    assert got["warnings"][:-1] == plain["warnings"] and got["warning"] == "; ".join(got["warnings"])
    assert "2 file(s) that are not frames ('clip/readme.txt', 'clip/notes.docx') were left out" in got["warnings"][-1]
    r = client.post("/api/recordings", files={"file": ("frames.zip", with_files(zip_bytes(synth_frames(n=12)), extra))},
                    data={"fps": "200"})
    state = wait_for(client, r.json()["id"])
    assert state["status"] == "done", state
    notes = client.get(f"/api/jobs/{state['id']}/result").json()["notes"]
    assert any("'clip/readme.txt', 'clip/notes.docx'" in note for note in notes), notes
    assert leftovers(client) == []


def test_the_csv_download_is_named_after_the_upload(client, clip_mp4, frames):
    got = client.post("/api/predict", files={"file": ("séance 1.mp4", clip_mp4)}).json()
    header = client.get(f"/api/jobs/{got['id']}/result?format=csv").headers["content-disposition"]
    assert header == "attachment; filename=\"s_ance 1.csv\"; filename*=UTF-8''s%C3%A9ance%201.csv"
    job = recording_done(client, mp4_bytes(frames), name="long.mp4")
    header = client.get(job["urls"]["csv"]).headers["content-disposition"]
    assert header == "attachment; filename=\"long.csv\"; filename*=UTF-8''long.csv"
    # the API's CSV reads as it is with a script's csv reader; the page's download (?bom=1) starts with a BOM for Excel
    answer = client.get(job["urls"]["csv"])
    assert next(csv.DictReader(io.StringIO(answer.text)))["source"] == "long.mp4"
    page = client.get(f"{job['urls']['csv']}&bom=1")
    assert page.content == b"\xef\xbb\xbf" + answer.content


def test_request_problems_are_json(client):
    assert_person_readable(client.post("/api/predict", data={"onset": "1"}), 422, "file")
    # a wrong field name (video=@clip.mp4): the message says which field to use
    assert_person_readable(client.post("/api/predict", files={"video": ("a.mp4", b"x")}), 422, "form field 'file'")
    assert_person_readable(client.post("/api/predict", files={"file": ("a", b"x")}, data={"onset": "soon"}), 422,
                           "onset")
    # two files in one request: refused, not the first kept and the second dropped
    two = [("file", ("a.mp4", b"x")), ("file", ("b.mp4", b"y"))]
    assert_person_readable(client.post("/api/predict", files=two), 400, "one file per request")
    answer = client.post("/api/recordings", files=two)
    assert_person_readable(answer, 400, "one file per request")
    assert (answer.json()["code"], answer.json()["field"]) == ("bad_request", "file")
    # a setting in the URL is not read: refused naming it, not a result for other frames than asked
    answer = client.post("/api/predict?onset=5", files={"file": ("a.mp4", b"x")})
    assert_person_readable(answer, 422, "?onset=", "-F onset=VALUE")
    assert (answer.json()["code"], answer.json()["field"]) == ("field_invalid", "onset")
    assert_person_readable(client.post("/api/recordings?fps=30", files={"file": ("a.mp4", b"x")}), 422, "-F fps=")
    assert_person_readable(client.post("/api/predict?wait=1", files={"file": ("a.mp4", b"x")}), 422,
                           "no setting of this endpoint", "onset, apex")
    # a misspelt, unknown or repeated form field: refused naming it, not a result computed without it
    answer = client.post("/api/predict", files={"file": ("a.mp4", b"x")}, data={"Onset": "5"})
    assert_person_readable(answer, 422, "'Onset' is not read", "did you mean 'onset'?")
    assert (answer.json()["code"], answer.json()["field"]) == ("field_invalid", "Onset")
    assert_person_readable(client.post("/api/predict", files={"file": ("a.mp4", b"x")}, data={"apx": "5"}), 422,
                           "'apx' is not read", "did you mean 'apex'?",
                           "form fields are file, onset, apex")
    assert_person_readable(client.post("/api/predict", files=[("file", ("a.mp4", b"x")), ("file2", ("b.mp4", b"y"))]),
                           422, "'file2' is not read")
    assert_person_readable(client.post("/api/recordings", files={"file": ("a.mp4", b"x")},
                                       data={"fps": ["30", "25"]}), 422, "'fps' was sent 2 times")
    assert_person_readable(client.get("/api/jobs/nope"), 404, "no job")
    assert_person_readable(client.get("/api/nothing-here"), 404)


def test_upload_size_limit(predictor, clip_mp4):
    with client_for(predictor, settings=ServeSettings(max_upload_mb=0.01)) as c:
        r = c.post("/api/predict", files={"file": ("clip.mp4", clip_mp4 + b"\0" * 2_000_000)})
        assert_person_readable(r, 413, "limit of 0.01 MB", "--max-upload-mb")
        r = c.post("/api/predict", files={"file": ("clip.mp4", b"\0" * 20_000)})  # under the body slack
        assert_person_readable(r, 413, "limit of 0.01 MB", "Send a shorter clip")
        r = c.post("/api/recordings", files={"file": ("long.mp4", b"\0" * 2_000_000)}, data={"fps": "30"})
        assert_person_readable(r, 413, "limit of 0.01 MB", "Send a shorter recording")  # the body limit's answer
        r = c.post("/api/predict", files={"file": ("clip.mp4", b"\0" * 2_000_000)})
        assert_person_readable(r, 413, "Send a shorter clip")
        assert c.get("/api/health").status_code == 200
        assert leftovers(c) == []


def test_recordings_without_the_face_extra_say_what_to_install(predictor, clip_mp4, monkeypatch):
    import importlib.util

    from mmnet.serve.spotting import spotting_available

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "dlib" else real_find_spec(name, *a))
    assert not spotting_available()
    with client_for(predictor) as c:
        assert c.get("/api/health").json()["spotting"] is False
        r = c.post("/api/recordings", files={"file": ("rec.mp4", clip_mp4)})
        assert_person_readable(r, 501, "spotting is not available", "dlib", 'pip install -e ".[face]"')
        assert c.post("/api/predict", files={"file": ("clip.mp4", clip_mp4)}).status_code == 200  # clips still work
    with client_for(predictor, spotter=fake_spotter()) as c:  # a spotter given needs no face extra
        assert c.get("/api/health").json()["spotting"] is True


@pytest.mark.slow
def test_recording_through_the_real_spotter(predictor, tmp_path):
    """The adapter runs mmnet.spotting on an uploaded synthetic recording and returns its curve."""
    from mmnet.synth.long import LongConfig
    from mmnet.synth.long_writer import write_long_dataset

    root = write_long_dataset(tmp_path / "set", minutes=0.1, seed=0, formats=("mp4",),
                              config=LongConfig(frame_size=(160, 160), face_size=(120, 140)))
    video = next((root / "rawvideo").rglob("*.mp4"))
    with client_for(predictor) as c:
        assert c.get("/api/health").json()["spotting"] is True
        r = c.post("/api/recordings", files={"file": ("rec.mp4", video.read_bytes())})
        assert r.status_code == 202, r.text
        job = r.json()
        events = [json.loads(line[6:]) for line in c.get(job["urls"]["events"]).text.splitlines()
                  if line.startswith("data: ")]
        assert events[-1]["status"] == "done", events[-1]
        result = c.get(job["urls"]["result"]).json()
        assert result["frames"] > 0 and len(result["curve"]["frames"]) > 0
        assert c.get(result["files"]["timeline.png"]).content.startswith(b"\x89PNG")  # as mmnet spot --out draws it
        assert all(i["type"] in ("micro", "macro") for i in result["intervals"])


def test_recording_job_progress_result_csv_files_and_cleanup(client, predictor):
    frames = synth_frames(n=30, apex=18, seed=1)
    r = client.post("/api/recordings", files={"file": ("session.mp4", mp4_bytes(frames))})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] in ("queued", "running", "done") and job["urls"]["result"].endswith("/result")
    events = [json.loads(line[6:]) for line in client.get(job["urls"]["events"]).text.splitlines()
              if line.startswith("data: ")]
    assert events[-1]["status"] == "done" and events[-1]["progress"] == 1.0
    result = client.get(job["urls"]["result"]).json()
    assert result["source"] == "session.mp4" and result["frames"] == 30 and result["fps"] == 30.0
    assert [(iv["onset"], iv["apex"], iv["offset"], iv["type"]) for iv in result["intervals"]] == [
        (3, 6, 9, "micro"), (15, 20, 26, "macro")]
    assert result["curve"]["score"][0] is None and len(result["curve"]["frames"]) == 30
    micro, macro = result["intervals"]
    # from frame 0, at 30 fps; the end of frame 26 is frame 27's start
    assert (macro["onset_s"], macro["apex_s"], macro["offset_s"], macro["end_s"]) == (0.5, 0.667, 0.867, 0.9)
    assert micro["label"] in CLASSES and sum(micro["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    Image.open(io.BytesIO(client.get(micro["files"]["interval-0-attention.png"]).content)).verify()
    assert macro["label"] is None and macro["probabilities"] is None and "not classified" in macro["note"]
    assert set(macro["files"]) == {"interval-1-onset.png", "interval-1-apex.png"}
    rows = csv_download(client.get(job["urls"]["csv"])).splitlines()
    assert len(rows) == 3
    assert rows[0] == ("source,frame_numbering,onset,apex,offset,type,score,label,onset_s,apex_s,offset_s,note,end_s,"
                       "p_negative,p_positive,p_surprise,model_note")
    source = f"{result['source']},video_from_0,"  # a video's frames, counted from 0
    assert rows[1].startswith(f"{source}3,6,9,micro,0.500000,{micro['label']},0.100,0.200,0.300,")
    # not classified: empty label and p_, the note says why (the last: model_note, empty)
    assert rows[2] == f"{source}15,20,26,macro,0.500000,,0.500,0.667,0.867,{macro['note']},0.900,,,,"
    assert leftovers(client) == []
    assert client.delete(f"/api/jobs/{job['id']}").status_code == 204
    assert client.get(job["urls"]["state"]).status_code == 404


def test_recording_zip_needs_no_fps_from_spotter_shape(client):
    r = client.post("/api/recordings", files={"file": ("frames.zip", zip_bytes(synth_frames(n=12)))},
                    data={"fps": "200"})
    state = wait_for(client, r.json()["id"])
    assert state["status"] == "done"
    result = client.get(f"/api/jobs/{state['id']}/result").json()
    assert result["fps"] == 200.0 and len(result["intervals"]) == 1  # the second ends past frame 12
    interval, = result["intervals"]  # 3, 6, 9: seconds from the zip's first frame (1), at 200 fps
    assert (interval["onset_s"], interval["apex_s"], interval["offset_s"], interval["end_s"]) == (0.01, 0.025, 0.04,
                                                                                                  0.045)


def test_a_recordings_csv_has_the_columns_of_intervals_csv_and_says_how_its_frames_count(client):
    from mmnet.spotting.intervals import intervals_csv

    r = client.post("/api/recordings", files={"file": ("frames.zip", zip_bytes(synth_frames(n=30)))},
                    data={"fps": "30"})
    state = wait_for(client, r.json()["id"])
    assert state["status"] == "done", state
    rows = list(csv.reader(io.StringIO(csv_download(client.get(state["urls"]["csv"])))))
    spot_header = intervals_csv([], CLASSES, video="v", frame_numbering="file_number").splitlines()[0].split(",")
    # `mmnet spot --out`'s intervals.csv, source for its video, and the model's note last
    assert rows[0] == ["source", *spot_header[1:], "model_note"]
    assert len(rows) == 3 and all(row[:2] == ["frames.zip", "file_number"] for row in rows[1:])  # a zip's numbers


def test_recording_zip_without_fps_is_refused_at_upload_with_the_form_field_to_send(client):
    r = client.post("/api/recordings", files={"file": ("frames.zip", zip_bytes(synth_frames(n=12)))})
    # the page's field and where it is, what a frame rate is; the API's field in short
    assert_person_readable(r, 422, "no frame rate", '"Frame rate" field under Options', "frames per second the camera",
                           "API: form field fps", "SAMM: 200")
    assert "--fps" not in r.json()["error"] and leftovers(client) == []  # no job, no folder left


def test_busy_past_the_queue_then_serving_again(predictor, clip_mp4):
    release = threading.Event()
    inner = fake_spotter()

    def slow(path, **kwargs):
        release.wait(20)
        return inner(path, **kwargs)

    settings = ServeSettings(workers=1, queue=1)
    with client_for(predictor, spotter=slow, settings=settings) as c:
        ids = [c.post("/api/recordings", files={"file": ("r.mp4", clip_mp4)}).json()["id"] for _ in range(2)]
        r = c.post("/api/recordings", files={"file": ("r.mp4", clip_mp4)})
        assert_person_readable(r, 503, "busy")
        assert r.headers["Retry-After"] == "60" and "Try again in a minute" in r.json()["error"]  # both say it
        assert c.get(f"/api/jobs/{ids[0]}/result").status_code == 409  # not finished yet
        release.set()
        assert [wait_for(c, i)["status"] for i in ids] == ["done", "done"]
        assert c.post("/api/recordings", files={"file": ("r.mp4", clip_mp4)}).status_code == 202
        assert c.app.state.pools["recording"].active <= 1


@pytest.mark.parametrize("spotter,status,code,words", [
    (lambda path, **kw: {"fps": 30, "frames": 10, "intervals": [{"onset": 5, "apex": 3, "offset": 8}]}, 422,
     "not_analysable", ["onset <= apex <= offset"]),
    (lambda path, **kw: 1 / 0, 500, "internal", ["internal error"]),
])
def test_failing_spotters_fail_the_job_not_the_server(predictor, clip_mp4, spotter, status, code, words):
    """The result of a failed job is one status that no retry layer retries (409, code job_failed) whatever the
    failure; the failure's own status and code are in the body and in the job's state."""
    with client_for(predictor, spotter=spotter) as c:
        job_id = c.post("/api/recordings", files={"file": ("r.mp4", clip_mp4)}).json()["id"]
        state = wait_for(c, job_id)
        assert state["status"] == "failed"
        assert (state["error_status"], state["error_code"]) == (status, code)
        answer = c.get(f"/api/jobs/{job_id}/result")
        assert_person_readable(answer, 409, *words, code="job_failed")
        assert (answer.json()["failed_status"], answer.json()["failed_code"]) == (status, code)
        assert leftovers(c) == []
        assert c.get("/api/health").status_code == 200


def test_job_time_limit_and_result_expiry(predictor, clip_mp4):
    settings = ServeSettings(job_timeout_s=0.0, result_ttl_s=60.0)
    with client_for(predictor, spotter=fake_spotter(), settings=settings) as c:
        job_id = c.post("/api/recordings", files={"file": ("r.mp4", clip_mp4)}).json()["id"]
        assert wait_for(c, job_id)["status"] == "failed"
        answer = c.get(f"/api/jobs/{job_id}/result")
        assert_person_readable(answer, 409, "longer than this server allows", "Send a shorter recording",
                               "raise --job-timeout", code="job_failed")
        assert (answer.json()["failed_status"], answer.json()["failed_code"]) == (504, "job_timeout")
        store = c.app.state.store
        assert store.sweep(time.monotonic() + 61.0) == 1
        assert c.get(f"/api/jobs/{job_id}").status_code == 404


def test_curve_is_downsampled_keeping_peaks():
    from mmnet.serve.spotting import downsample_curve

    score = np.zeros(10_000)
    score[7777] = 5.0
    curve = downsample_curve({"frames": list(range(1, 10_001)), "score": score.tolist()})
    assert len(curve["frames"]) <= 2000 and max(curve["score"]) == 5.0


def test_serve_finds_the_demo_model_or_says_how_to_get_one(tmp_path, capsys, monkeypatch):
    from mmnet.cli import main
    from mmnet.commands.serve import resolve_checkpoint
    from mmnet.serve.model_info import describe_checkpoint

    monkeypatch.chdir(tmp_path)
    assert main(["serve"]) == 3
    err = capsys.readouterr().err
    assert "mmnet demo --set train.save_models=true" in err and "add --restart" in err
    run = tmp_path / "demo-run" / "seed-0" / "run"
    model = make_checkpoint(run / "seed-0" / "fold-sub01" / "model")
    (tmp_path / "demo-run" / "data").mkdir()
    (tmp_path / "demo-run" / "data" / "synth.json").write_text("{}")
    (run / "config.yaml").write_text("data:\n  dataset: casme2\n  root: demo-run/data\ntrain:\n  epochs: 3\n")
    (run / "env.json").write_text("{}")
    assert resolve_checkpoint(None, tmp_path) == model
    info = describe_checkpoint(model, Predictor.from_checkpoint(model))
    assert info["synthetic"] is True and "trying this page only" in info["summary"]
    assert info["training"]["dataset"] == "casme2" and info["classes"] == CLASSES
    alone = describe_checkpoint(make_checkpoint(tmp_path / "alone"), Predictor.from_checkpoint(model))
    assert alone["synthetic"] is None and "not recorded" in alone["summary"]  # unknown, not real


def test_recording_result_files_hold_the_timeline_of_mmnet_spot(predictor, monkeypatch):
    # the recording's top-level `files` was empty; `mmnet spot --out` draws timeline.png: the API serves that figure
    import mmnet.infer.recordings as recordings
    from mmnet.spotting.config import spot_config

    # the server's own spotter on face crops (no alignment: no dlib, and fast)
    monkeypatch.setattr(recordings, "spot_config", lambda: spot_config("casme2", ["face.mode=none"]))
    frames = synth_frames(n=60, apex=30, seed=1)
    with client_for(predictor) as c:
        job = c.post("/api/recordings", files={"file": ("session.mp4", mp4_bytes(frames))}).json()
        assert wait_for(c, job["id"])["status"] == "done"
        result = c.get(job["urls"]["result"]).json()
        assert result["files"] == {"timeline.png": f"/api/jobs/{job['id']}/files/timeline.png"}
        r = c.get(result["files"]["timeline.png"])
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(r.content)).size == (1540, 572)  # timeline_png: 14 x 5.2 in at 110 dpi
        assert leftovers(c) == []


def test_a_spotter_without_a_timeline_leaves_files_empty(client):
    r = client.post("/api/recordings", files={"file": ("session.mp4", mp4_bytes(synth_frames(n=12)))})
    assert wait_for(client, r.json()["id"])["status"] == "done"
    assert client.get(f"/api/jobs/{r.json()['id']}/result").json()["files"] == {}


def test_a_malformed_body_or_a_wrong_method_says_what_to_send(client):
    # Starlette's bare "Missing boundary in multipart." and "Method Not Allowed" said nothing to do
    r = client.post("/api/predict", content=b"abc", headers={"content-type": "multipart/form-data"})
    assert_person_readable(r, 400, "boundary", "form field 'file'", "curl -F file=@clip.mp4")
    assert_person_readable(client.get("/api/predict"), 405, "/api/predict does not take GET", "/docs")
    assert client.get("/api/health").json()["status"] == "ok"


@pytest.mark.parametrize("fps", ["inf", "1e9", "nan"])
def test_a_frame_rate_the_spotter_refuses_is_refused_with_the_request(client, clip_mp4, fps):
    # infinity was accepted: the upload was stored and the job failed later; nan too under pydantic < 2.5, whose
    # gt/le let it through (the handler checks it itself)
    r = client.post("/api/recordings", files={"file": ("a.mp4", clip_mp4)}, data={"fps": fps})
    assert_person_readable(r, 422, "fps", "finite number", f"not {fps}", code="field_invalid")
    assert r.json()["field"] == "fps"
    assert leftovers(client) == []


def test_a_frame_too_large_for_pillow_is_refused_with_its_size(client, frames, monkeypatch):
    # Image.open raised DecompressionBombError, which nothing caught: a 500 with "Internal error"
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # refused over 2000 pixels: the test frames stand in
    r = client.post("/api/predict", files={"file": ("x.zip", zip_bytes(frames), "application/zip")})
    assert r.status_code == 413, r.text
    assert "more than Pillow decodes (2,000" in r.json()["error"] and "Send smaller frames" in r.json()["error"]


def _failing_write(error_number):
    def write(*_args, **_kwargs):
        raise OSError(error_number, os.strerror(error_number))
    return write


@pytest.mark.parametrize("error_number", [errno.ENOSPC, errno.EDQUOT])
def test_an_upload_without_room_to_store_it_is_507_and_the_log_names_the_folder(predictor, clip_mp4, frames,
                                                                                monkeypatch, caplog, error_number):
    import pathlib

    real_open = pathlib.Path.open
    full = []  # the folder whose files do not fit: a job's (the upload's copy) or its frames/ (the zip's frames)

    def open_on_a_full_disk(path, mode="r", *args, **kwargs):
        file = real_open(path, mode, *args, **kwargs)
        if "w" in mode and path.parent.name.startswith(full[-1]):
            file.write = _failing_write(error_number)
        return file

    with client_for(predictor) as c:
        monkeypatch.setattr(pathlib.Path, "open", open_on_a_full_disk)
        with caplog.at_level("ERROR", logger="mmnet.serve"):
            for folder, name, upload in (("job-", "clip.mp4", clip_mp4), ("frames", "clip.zip", zip_bytes(frames))):
                full.append(folder)
                r = c.post("/api/predict", files={"file": (name, upload)})
                assert_person_readable(r, 507, "no room to store the upload")
        logged = [rec.getMessage() for rec in caplog.records if "no room" in rec.getMessage()]
        assert len(logged) == 2 and all(str(c.app.state.root) in line and "TMPDIR" in line for line in logged)
        monkeypatch.undo()
        assert leftovers(c) == [] and c.get("/api/health").status_code == 200


def test_an_upload_without_room_to_spool_it_is_507(predictor, clip_mp4, monkeypatch, caplog):
    import tempfile

    from starlette.datastructures import UploadFile

    monkeypatch.setattr(UploadFile, "write", _failing_write(errno.ENOSPC))  # the form parser's spooled copy
    with client_for(predictor) as c, caplog.at_level("ERROR", logger="mmnet.serve"):
        r = c.post("/api/predict", files={"file": ("clip.mp4", clip_mp4 + b"\0" * 2_000_000)})
        assert_person_readable(r, 507, "no room to store the upload")
    assert any(tempfile.gettempdir() in rec.getMessage() for rec in caplog.records)


def test_the_spooled_upload_is_closed_before_the_clip_is_analysed(client, clip_mp4, monkeypatch):
    import mmnet.serve.app as app_module

    spooled, closed_during_analysis = [], []
    real_save, real_analyse = app_module.save_upload, app_module.analyse_clip
    monkeypatch.setattr(app_module, "save_upload", lambda source, *a, **k: spooled.append(source) or
                        real_save(source, *a, **k))
    monkeypatch.setattr(app_module, "analyse_clip", lambda *a, **k: closed_during_analysis.append(spooled[0].closed)
                        or real_analyse(*a, **k))
    assert client.post("/api/predict", files={"file": ("clip.mp4", clip_mp4)}).status_code == 200
    assert closed_during_analysis == [True]  # its disk space is free while the job's copy is analysed
