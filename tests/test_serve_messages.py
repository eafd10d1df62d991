"""What `mmnet serve` says to a person: the command line's errors and notes worded for the page and the API
(no CLI option, no server path, no swallowed punctuation), CSV cells no spreadsheet runs as formulas, the
attention figure captioned as `mmnet explain`'s, an animated GIF named as such, and HTTP errors as sentences."""

import csv
import io
import sys
import zipfile
from contextlib import nullcontext

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("av")

from mmnet.serve import create_app  # noqa: E402
from mmnet.serve.messages import WEB_WORDING, for_web  # noqa: E402
from tests.fakes import write_audio_only  # noqa: E402
from tests.serve_helpers import csv_download, fake_spotter, local_client, mp4_bytes, synth_frames  # noqa: E402

CLI_WORDS = ("--no-align", "--onset", "--apex", "--fps", "face.mode", "to a folder", "in a folder", "mmnet spot")


@pytest.fixture(scope="module")
def client(predictor):
    with local_client(create_app(predictor, spotter=fake_spotter()), raise_server_exceptions=False) as c:
        yield c


def failed_recording(client, name, video):
    import time

    job = client.post("/api/recordings", files={"file": (name, video)}).json()
    t0 = time.monotonic()
    while (state := client.get(job["urls"]["state"]).json())["status"] not in ("done", "failed"):
        assert time.monotonic() - t0 < 120, state
        time.sleep(0.05)
    assert state["status"] == "failed", state
    return state["error"]


def assert_web_wording(message):
    for words in CLI_WORDS:
        assert words not in message, message
    assert "/tmp" not in message and "mmnet-serve-" not in message, message


def test_server_paths_become_the_upload_name_keeping_the_punctuation_after_them(tmp_path):
    folder = tmp_path / "job-1"
    assert for_web(f"{folder}/video.mp4: spotting needs at least 2 frames, got 1.", folder, "one.mp4") == \
        "one.mp4: spotting needs at least 2 frames, got 1."
    assert for_web(f"Video '{folder}/video.mp4' cannot be read.", folder, "a.mp4") == "Video 'a.mp4' cannot be read."
    assert for_web(f"Clip {folder}/frames.", folder, "f.zip") == "Clip f.zip."
    assert for_web(f"{folder}/frames/a:b.png, then", folder, "f.zip") == "f.zip, then"


def test_a_one_frame_recording_keeps_the_colon_after_its_name(predictor):
    with local_client(create_app(predictor), raise_server_exceptions=False) as c:  # the real spotter
        error = failed_recording(c, "oneframe.mp4", mp4_bytes(synth_frames(n=1, apex=0)))
    assert error.startswith("oneframe.mp4: spotting needs at least 2 frames"), error


def test_every_cli_remedy_is_reworded_and_no_web_remedy_names_a_cli_option():
    for cli, web in WEB_WORDING:
        assert cli != web
        assert_web_wording(web)


def test_a_damaged_video_is_told_to_upload_a_zip_of_frames_not_a_folder(tmp_path):
    from mmnet.errors import DataError
    from mmnet.media import stream_video

    bad = tmp_path / "video.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    with pytest.raises(DataError) as caught:
        next(stream_video(bad))
    assert "to a folder" in str(caught.value)  # the command line's remedy
    said = for_web(str(caught.value), tmp_path, "broken.mp4")
    assert said.startswith("Video 'broken.mp4' cannot be decoded") and "upload a zip of its frames" in said, said
    assert_web_wording(said)


def test_a_clip_that_looks_like_a_recording_says_how_to_upload_it_as_one(client):
    long = mp4_bytes(np.concatenate([synth_frames()] * 4), fps=10)  # 4.8 s: over the 3 s rule
    warning = client.post("/api/predict", files={"file": ("long.mp4", long)}).json()["recording_warning"]
    assert "upload it as a recording" in warning and "\"A long recording\"" in warning and "/api/recordings" in warning
    assert_web_wording(warning)


@pytest.mark.slow
def test_no_face_errors_name_the_page_remedy(predictor):
    pytest.importorskip("dlib")
    from mmnet.preprocess import FaceAligner

    blank = mp4_bytes(np.full((40, 96, 96, 3), 128, np.uint8))
    with local_client(create_app(predictor, aligner=FaceAligner()), raise_server_exceptions=False) as c:
        error = failed_recording(c, "noface.mp4", blank)
        assert error.startswith("noface.mp4: no face found in any of the"), error
        assert "upload a recording in which a face is visible" in error
        assert_web_wording(error)
        r = c.post("/api/predict", files={"file": ("noface.mp4", blank)})  # `mmnet serve --align`: clips aligned
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert "Clip 'noface.mp4'" in error and "\"Onset frame\" field" in error and "form field 'onset'" in error, error
    assert_web_wording(error)


def test_csv_cells_are_never_formulas_and_numbers_stay_numbers(client):
    from mmnet.spotting.intervals import intervals_csv, spreadsheet_safe

    r = client.post("/api/predict", files={"file": ("=1+2.mp4", mp4_bytes(synth_frames()))})
    assert r.status_code == 200, r.text
    got = r.json()
    rows = list(csv.reader(io.StringIO(csv_download(client.get(f"/api/jobs/{got['id']}/result?format=csv")))))
    assert rows[1][0] == "'=1+2.mp4"
    assert rows[1][3] == ("true" if got["apex_spotted"] else "false")  # as the JSON, not Python's True
    for cell in ("+A1", "-x", "@SUM(A1)", "\tx", "\rx"):
        assert spreadsheet_safe(cell) == "'" + cell
    assert [spreadsheet_safe(v) for v in ("-0.500000", "+3", "1e-5", -2, "happy", "")] == \
        ["-0.500000", "+3", "1e-5", -2, "happy", ""]
    record = {"onset": 1, "apex": 2, "offset": 3, "type": "micro", "score": -0.5, "label": "=HYPERLINK(\"x\")",
              "probabilities": {"=HYPERLINK(\"x\")": 1.0}}
    header, row = list(csv.reader(io.StringIO(intervals_csv([record]))))
    assert row[4] == "-0.500000" and row[5] == "'=HYPERLINK(\"x\")" and header[-1] == "p_=HYPERLINK(\"x\")"


def test_the_attention_figure_carries_the_training_caption_of_mmnet_explain(predictor, checkpoint, monkeypatch):
    import mmnet.serve.analysis as analysis
    from mmnet.infer.provenance import UNRECORDED_CAPTION, training_caption
    from mmnet.serve.model_info import describe_checkpoint

    drawn = []
    render = analysis.explanation_png
    monkeypatch.setattr(analysis, "explanation_png", lambda e, **kw: drawn.append(e.caption) or render(e, **kw))
    clip = mp4_bytes(synth_frames())
    info = describe_checkpoint(checkpoint, predictor)
    assert info["caption"] == training_caption(checkpoint)
    for model_info, caption in ((None, UNRECORDED_CAPTION), ({**info, "caption": "Model trained on X."},
                                                             "Model trained on X.")):
        with local_client(create_app(predictor, model_info=model_info), raise_server_exceptions=False) as c:
            assert c.post("/api/predict", files={"file": ("c.mp4", clip)}).status_code == 200
        assert drawn.pop() == caption


def test_an_animated_gif_is_named_as_one_with_the_command_lines_conversion(client, tmp_path):
    frames = [Image.fromarray(f) for f in synth_frames(n=14)]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], duration=40)
    for endpoint in ("/api/predict", "/api/recordings"):
        r = client.post(endpoint, files={"file": ("anim.gif", gif.getvalue())})
        assert r.status_code == 415, r.text
        error = r.json()["error"]
        assert "animation of 14 frames" in error and "An animated GIF: convert it to a video first" in error, error
        assert "ffmpeg -i 'anim.gif' 'anim.mp4'" in error and "single image" not in error, error
    still = io.BytesIO()
    frames[0].save(still, format="GIF")
    assert "single image" in client.post("/api/predict", files={"file": ("one.gif", still.getvalue())}).json()["error"]


def test_refusals_call_the_upload_what_it_was_sent_as(client):
    still = io.BytesIO()
    Image.fromarray(synth_frames(n=1, apex=0)[0]).save(still, format="PNG")
    entries = io.BytesIO()
    with zipfile.ZipFile(entries, "w") as archive:
        for i in range(5001):  # one more than the server accepts
            archive.writestr(f"img{i}.png", b"")
    for endpoint, kind, other in (("/api/predict", "clip", "recording"), ("/api/recordings", "recording", "clip")):
        rate = {"fps": "30"} if kind == "recording" else {}  # a clip's endpoint refuses a field it does not read
        r = client.post(endpoint, files={"file": ("face.png", still.getvalue())}, data=rate)
        assert r.status_code == 415 and f"single image, not a {kind}." in r.json()["error"], r.text
        assert other not in r.json()["error"], r.text
        r = client.post(endpoint, files={"file": ("many.zip", entries.getvalue())}, data=rate)
        assert r.status_code == 413 and f"Send a shorter {kind}." in r.json()["error"], r.text
        assert other not in r.json()["error"], r.text
    # an upload over the size limit: a video at a lower resolution or bitrate is as good as a shorter one
    from mmnet.serve.uploads import too_large

    assert "Send a shorter recording, or the same at a lower resolution or bitrate" in too_large(200, "recording")


@pytest.mark.parametrize("fps", ["nan", "inf", "-inf"])
def test_a_frame_rate_that_is_no_finite_number_is_told_so(client, fps):
    r = client.post("/api/recordings", files={"file": ("a.mp4", b"x")}, data={"fps": fps})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert "must be a finite number of frames per second" in error and "less than or equal" not in error, error


@pytest.mark.parametrize("field, value, said", [
    ("onset", "2.5", "Onset frame must be a whole number (0 or more), not 2.5 (under Options; API: form field "
                     "'onset')."),
    ("apex", "-1", "Apex frame must be a whole number (0 or more), not -1 (under Options; API: form field 'apex')."),
    ("fps", "-5", "Frame rate must be a finite number of frames per second, above 0 and at most 10000 (e.g. 30), "
                  "not -5 (under Options; API: form field 'fps')."),
])
def test_a_bad_option_is_told_by_the_pages_field_name_and_its_rule(client, field, value, said):
    # was "The request is not what this endpoint takes (onset: Input should be a valid integer, unable to ...)"
    endpoint = "/api/recordings" if field == "fps" else "/api/predict"
    r = client.post(endpoint, files={"file": ("a.mp4", mp4_bytes(synth_frames()))}, data={field: value})
    assert r.status_code == 422 and r.json()["error"] == said, r.text


def test_a_bad_option_and_a_missing_file_are_both_told(client):
    error = client.post("/api/predict", data={"onset": "x"}).json()["error"]
    assert error.startswith("Onset frame must be a whole number (0 or more), not x"), error
    assert "(file: Field required). Send the clip or recording as the multipart form field 'file'" in error, error


@pytest.mark.parametrize("upload, rule, other", [
    (("frames.zip", "zip"), "in a zip, a frame's number is the number in its image's file name", "video"),
    (("clip.mp4", "mp4"), "a video's first frame is frame 0", "zip"),
])
def test_a_frame_the_clip_does_not_hold_points_to_the_options_in_the_uploads_terms(client, upload, rule, other):
    from tests.serve_helpers import zip_bytes

    name, kind = upload
    frames = synth_frames()
    body = zip_bytes(frames) if kind == "zip" else mp4_bytes(frames)
    r = client.post("/api/predict", files={"file": (name, body)}, data={"onset": "500"})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error.startswith(f"Onset frame 500 is not in clip '{name}'"), error
    assert ('Correct or clear the "Onset frame" and "Apex frame" fields under Options (API: form fields \'onset\' '
            "and 'apex')") in error and rule in error, error
    assert "OpenCV" not in error and "decode order" not in error and "folder" not in error and other not in error


def test_http_errors_are_sentences(client):
    assert "Method Not Allowed. /api/predict does not take GET" in client.get("/api/predict").json()["error"]
    r = client.get("/api/nothing-here")
    assert r.status_code == 404
    error = r.json()["error"]
    assert error.startswith("There is nothing at /api/nothing-here.") and "/docs" in error and "at /" in error, error
    assert "There is no job" in client.get("/api/jobs/nope").json()["error"]  # the API's own 404s unchanged


def _audio_only_mp4() -> bytes:
    """An mp4 holding one short compressed audio stream and no video (PyAV), as a phone's voice memo."""
    import av

    for codec in ("aac", "libmp3lame", "mp3"):
        buf = io.BytesIO()
        try:
            with av.open(buf, "w", format="mp4") as container:
                stream = container.add_stream(codec, rate=8000)
                stream.layout = "mono"
                frame = av.AudioFrame.from_ndarray(np.zeros((1, 1152), np.float32), format="fltp", layout="mono")
                frame.sample_rate = 8000
                for packet in [*stream.encode(frame), *stream.encode(None)]:
                    container.mux(packet)
        except (av.error.FFmpegError, ValueError):  # an encoder this PyAV build lacks
            continue
        return buf.getvalue()
    pytest.skip("this PyAV encodes neither aac nor mp3")


def test_a_video_that_does_not_decode_is_told_why_as_the_command_line_tells_it(client):
    # the server answered both "neither a video that can be decoded nor a zip of frames", dropping the reason
    cut = mp4_bytes(synth_frames(n=14, apex=7))
    uploads = {"sound.mp4": (_audio_only_mp4(), "has no video stream (streams: ['audio'])",
                             "a zip of its frames"),  # the command line's "in a folder", in the page's words
               "cut.mp4": (cut[: len(cut) * 7 // 10], "is incomplete: its index (the MP4 'moov' atom",  # cut before it
                           "copy the file again in full")}
    for endpoint in ("/api/predict", "/api/recordings"):
        for name, (data, reason, remedy) in uploads.items():
            r = client.post(endpoint, files={"file": (name, data)})
            assert r.status_code == 415, r.text
            error = r.json()["error"]
            # the reason alone: "neither a video that can be decoded nor a zip" before it said less, and wrongly
            assert error.startswith(f"Video '{name}' {reason}"), error
            assert remedy in error, error
            assert_web_wording(error)


def _library_messages(tmp_path, monkeypatch):
    """(the constant WEB_WORDING rewords, a message the library says with it), each raised as a user meets it."""

    from mmnet import media
    from mmnet.errors import DataError, PreprocessError
    from mmnet.infer import Clip, align_clip, load_clip
    from mmnet.infer.clips import FaceMoved
    from mmnet.infer.recordings import long_clip_warning, read_pairs
    from mmnet.spotting import peaks
    from mmnet.spotting.config import spot_config
    from mmnet.spotting.flow_spotter import MotionCurves, extract_motion, open_recording

    def raised(call, error=DataError):
        with pytest.raises(error) as e:
            call()
        return str(e.value)

    class NoFace:
        def estimate(self, image):
            raise PreprocessError("no face found")

        def detect(self, image):
            return []

    frames = tmp_path / "frames"
    frames.mkdir()
    for n in range(2):
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(frames / f"img{n}.png")
    blank = np.zeros((16, 16, 3), np.uint8)  # the smallest frame clips take
    pair = Clip(source="a + b", kind="pair", _images={0: blank, 1: blank}, _names=("a", "b"),
                face_check=lambda image: None)
    sound = tmp_path / "sound.mka"
    write_audio_only(sound)
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)  # an MP4 that cannot be decoded
    long_clip = tmp_path / "long.mp4"
    long_clip.write_bytes(mp4_bytes(synth_frames(n=40, apex=20), fps=10))
    no_rate = tmp_path / "norate.mp4"
    no_rate.write_bytes(mp4_bytes(synth_frames(n=4, apex=2), fps=10))
    grey = [(n, np.zeros((32, 32), np.uint8)) for n in range(3)]
    yield "ONSET_FACE", raised(lambda: align_clip(pair, aligner=NoFace()), PreprocessError)
    yield "CHOOSE_FACE_FRAMES", raised(lambda: pair.read([0, 1], ("Onset", "Apex")), PreprocessError)

    def moved(image):
        raise FaceMoved("the face moved 0.80 face widths from its place on the onset frame")

    moved_pair = Clip(source="a + b", kind="pair", _images={0: blank, 1: blank}, _names=("a", "b"), face_check=moved)
    yield "FOLLOW_FACE", raised(lambda: moved_pair.read([0, 1], ("Onset", "Apex")), PreprocessError)
    yield "NO_ALIGN", raised(lambda: extract_motion(iter(grey), 30.0, spot_config(), aligner=NoFace()),
                             PreprocessError)
    yield "NO_ALIGN", raised(lambda: read_pairs(frames, [(0, 1)], NoFace()), PreprocessError)
    yield "SPOT_INSTEAD", long_clip_warning(load_clip(long_clip))
    yield "_NUMBERING", raised(lambda: load_clip(frames).read([0, 5], ("Onset", "Apex")))
    monkeypatch.setattr(media, "video_header", lambda path: (None, None))
    yield "NO_RATE", raised(lambda: open_recording(no_rate))
    def curves(n):
        return MotionCurves(30.0, np.arange(n), {}, (), {})

    yield "PREDICT_INSTEAD", peaks._unmeasured("micro", curves(3), 5, measured=False, aligned=True)
    yield "FACE_VISIBLE", peaks._unmeasured("micro", curves(30), 5, measured=False, aligned=True)
    yield "EXTRACT_FRAMES", raised(lambda: list(media.stream_video(damaged)))
    yield "GIVE_VIDEO_OR_FRAMES", raised(lambda: list(media.stream_video(sound)))
    monkeypatch.setitem(sys.modules, "av", None)
    monkeypatch.setitem(sys.modules, "cv2", None)
    yield "EXTRACT_THE_FRAMES", raised(lambda: list(media.stream_video(damaged)))
    from mmnet.infer.provenance import record_warning

    yield "TRAIN_ON_REAL", record_warning({"synthetic": True})  # the model's note (model_info)


def test_each_reworded_remedy_is_said_by_the_library_as_written(tmp_path, monkeypatch):
    """WEB_WORDING's left-hand sides are the libraries' own constants, and each occurs in the message raised
    with it: a rewording in the library carries over instead of silently leaving the CLI's words on the page."""
    from mmnet.serve import messages

    said = {}
    for name, message in _library_messages(tmp_path, monkeypatch):
        remedy = getattr(messages, name)
        assert remedy in message, (name, message)
        assert remedy not in for_web(message), (name, message)
        said[remedy] = name
    assert {cli for cli, _ in WEB_WORDING} - {messages.NOT_CHECKED} == set(said)


def test_the_upload_limit_is_written_as_the_operator_gave_it():
    from mmnet.serve.uploads import too_large

    for mb, shown in ((1024, "1024 MB"), (1500, "1500 MB"), (0.01, "0.01 MB"), (int(0.01 * 2**20) / 2**20, "0.01 MB")):
        assert f"limit of {shown}." in too_large(mb, "clip")


def test_the_model_is_titled_and_captioned_by_its_datasets_name(checkpoint, predictor, tmp_path, client):
    # the panel's title was the folder "seed-0/fold-casme2_02/model", the caption said "data.dataset=casme2"
    import shutil

    from mmnet.serve.model_info import describe_checkpoint

    run = tmp_path / "run"
    model = run / "seed-0" / "fold-sub01" / "model"
    shutil.copytree(checkpoint, model)
    (tmp_path / "data").mkdir()
    (run / "config.yaml").write_text(f"data:\n  dataset: casme2\n  root: {tmp_path / 'data'}\ntrain:\n  epochs: 3\n")
    (run / "env.json").write_text("{}")
    info = describe_checkpoint(model, predictor)
    assert info["title"] == "CASME II model, 3 classes: negative, positive, surprise"
    assert info["name"] == "seed-0/fold-sub01/model"  # kept for API clients
    assert info["caption"] == "Model trained on CASME II (run folder 'run', 3 epochs)." and info["summary"] == \
        "Trained on CASME II."
    assert client.get("/api/model").json()["title"] == "Model, 3 classes: negative, positive, surprise"


def test_progress_is_said_for_people(tmp_path):
    # was "waiting for a free worker" and "spotting: frame 388"
    from mmnet.serve.analysis import analyse_recording
    from mmnet.serve.jobs import Job

    job = Job("recording", "a.mp4", None)
    assert job.stage == "Queued"  # "Waiting: another analysis is running" only when one runs (test_serve_codes)
    stages = []
    job.update = lambda progress=None, stage=None: stages.append(stage)

    def spotter(path, *, progress, **kwargs):
        progress(388, 1140)
        progress(5, None)  # a length not known
        return {"fps": 30.0, "frames": 1140, "intervals": []}

    analyse_recording(job, None, tmp_path / "video.mp4", spotter)
    assert stages[1:] == ["Looking for expressions: frame 388 of 1140", "Looking for expressions: frame 5"]



def test_a_micro_interval_left_unclassified_says_why_on_the_page(tmp_path):
    # its onset showed other faces but not the one followed: the page said "No face was found on the onset frame"
    from mmnet.serve.analysis import analyse_recording
    from mmnet.serve.jobs import Job

    job = Job("recording", "a.mp4", None)
    job.update = lambda progress=None, stage=None: None
    why = "at its onset (frame 5) no face found near the one followed, so a crop would show another person"

    def spotter(path, **kwargs):
        return {"fps": 30.0, "frames": 60, "pairs": {0: None},
                "intervals": [{"onset": 5, "apex": 6, "offset": 7, "type": "micro", "score": 1.0, "note": why}]}

    (interval,) = analyse_recording(job, None, tmp_path / "video.mp4", spotter)["intervals"]
    assert interval["note"] == f"A{why[1:]}: not classified, nothing to draw." and interval["files"] == []

def test_the_pages_number_fields_take_what_the_api_takes(client):
    # a browser then refuses 2.5 as a frame, or a rate the server refuses, before anything is sent
    from mmnet.spotting.config import MAX_FPS

    page = client.get("/").text
    for frame in ("onset", "apex"):
        assert f'id="{frame}" min="0" step="1"' in page
    assert f'id="fps" min="1" max="{MAX_FPS}"' in page


@pytest.mark.parametrize("names, status, said", [
    # a case-insensitive file system (macOS, Windows) wrote both frames to one file: one frame was lost
    (["clip/img1.png", "clip/IMG1.png"], 415, "two frames with the same name ('clip/img1.png' and 'clip/IMG1.png'; "
                                              "upper and lower case count as the same)"),
    (["clip/img1.png", "clip/img1.png"], 415, "two frames with the same name ('clip/img1.png' and 'clip/img1.png'"),
    # ':' writes an NTFS alternate data stream; Windows refuses the others
    (["clip/img1.png", "clip/img2.png:x.png"], 400, "The zip entry 'clip/img2.png:x.png' has ':' in its name"),
    (["clip/img1.png", 'clip/img"2?.png'], 400, "The zip entry 'clip/img\"2?.png' has '\"', '?' in its name"),
])
def test_frame_names_one_file_system_would_merge_or_refuse_are_told_by_entry(client, names, status, said):
    png = io.BytesIO()
    Image.fromarray(synth_frames(n=1, apex=0)[0]).save(png, format="PNG")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z, pytest.warns(UserWarning, match="Duplicate name") if len(
            set(names)) < len(names) else nullcontext():
        for name in names:
            z.writestr(name, png.getvalue())
    r = client.post("/api/predict", files={"file": ("frames.zip", archive.getvalue())})
    assert r.status_code == status and said in r.json()["error"], r.text
    assert "upload the archive again" in r.json()["error"], r.text
