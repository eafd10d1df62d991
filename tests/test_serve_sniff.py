"""An upload that is no video (a text file, a PDF, a web page) is refused by what its first bytes look like, not
with the video decoder's words ("moov atom not found", an errno); one that begins as a video but does not decode
is said to be damaged, the decoder's words going to the server's log only. Every container the command line
reads is recognised."""

import logging
import tempfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
av = pytest.importorskip("av")

from mmnet.serve import create_app  # noqa: E402
from mmnet.serve.sniff import looks_like, video_container  # noqa: E402
from tests.serve_helpers import fake_spotter, local_client, mp4_bytes, synth_frames, zip_bytes  # noqa: E402

DECODER_WORDS = ("moov", "errno", "invalid data", "last error log", "mov,mp4")
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <</Type /Catalog>> endobj\n" * 20
ZIP = zip_bytes(synth_frames(n=3, apex=1))
DAMAGED_MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8  # an MP4's first box, then nothing of one


@pytest.fixture(scope="module")
def client(predictor):
    with local_client(create_app(predictor, spotter=fake_spotter()), raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize("endpoint,kind", [("/api/predict", "clip"), ("/api/recordings", "recording")])
@pytest.mark.parametrize("name,data,what", [
    ("notes", b"hello, this is not a video\n", "looks like text"),  # no suffix
    ("paper.mp4", PDF, "looks like a PDF document"),  # renamed
    ("page.mov", b"<!DOCTYPE html>\n<html><body>saved page</body></html>\n", "looks like a web page (HTML)"),
    ("noise.avi", bytes(range(256)) * 8, "is in no video format this server reads"),
])
def test_a_file_that_is_no_video_is_told_what_it_looks_like_and_what_to_upload(client, endpoint, kind, name, data,
                                                                               what):
    r = client.post(endpoint, files={"file": (name, data)})
    assert r.status_code == 415 and r.json()["code"] == "unsupported_type", r.text
    error = r.json()["error"]
    assert error.startswith(f"The {kind} '{name}' is neither a video nor a zip of its frames: it {what}. "), error
    assert "Upload a video (MP4, MOV" in error and f"a zip of the {kind}'s frames" in error, error
    assert not any(words in error.lower() for words in DECODER_WORDS), error


@pytest.mark.parametrize("endpoint", ["/api/predict", "/api/recordings"])
def test_a_zip_cut_short_is_a_bad_request_as_other_unreadable_zips(client, endpoint):
    # a zip is a type the server takes: cut short, it is answered as a zip whose entries cannot be read (400
    # bad_request, as docs/serve.md's error table says), not as a file of another type (415)
    r = client.post(endpoint, files={"file": ("frames.zip", ZIP[: len(ZIP) // 2])})
    assert r.status_code == 400 and r.json()["code"] == "bad_request", r.text
    assert r.json()["error"].startswith("The zip archive 'frames.zip' cannot be read: it seems cut short or "
                                        "damaged"), r.text


@pytest.mark.parametrize("endpoint,kind", [("/api/predict", "clip"), ("/api/recordings", "recording")])
def test_a_file_that_begins_as_a_video_but_does_not_decode_is_said_to_be_damaged(client, caplog, endpoint, kind):
    caplog.set_level(logging.INFO, logger="mmnet.serve")
    r = client.post(endpoint, files={"file": ("visit.mp4", DAMAGED_MP4)}, headers={"X-Request-ID": "damaged-1"})
    assert r.status_code == 415 and r.json()["code"] == "unsupported_type", r.text
    error = r.json()["error"]
    assert error.startswith(f"The {kind} 'visit.mp4' begins as a video (MP4/MOV) but cannot be decoded: it seems "
                            "damaged or cut short"), error
    assert not any(words in error.lower() for words in DECODER_WORDS), error
    said = [r.getMessage() for r in caplog.records if "the decoder refused" in r.getMessage()]
    assert len(said) == 1, said
    assert said[0].startswith("request damaged-1: the decoder refused an upload (<file>.mp4): "), said
    assert "moov atom not found" in said[0] and "visit" not in said[0], said  # its words, not the user's file name


def test_a_cut_mp4_keeps_its_own_reason(client):
    cut = mp4_bytes(synth_frames(n=14, apex=7))
    error = client.post("/api/predict", files={"file": ("cut.mp4", cut[: len(cut) // 3])}).json()["error"]
    assert error.startswith("Video 'cut.mp4' is incomplete: its index"), error


def _written(fmt: str, codec: str, suffix: str, **options) -> bytes | None:
    path = Path(tempfile.mkdtemp()) / f"v{suffix}"
    try:
        with av.open(str(path), "w", format=fmt, options=options) as container:
            stream = container.add_stream(codec, rate=25)
            stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
            for image in np.random.default_rng(0).integers(0, 255, (3, 64, 64, 3), np.uint8):
                for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
    except (av.error.FFmpegError, ValueError):  # an encoder or muxer this PyAV build lacks
        return None
    return path.read_bytes()


@pytest.mark.parametrize("fmt,codec,suffix,options,container", [
    ("mp4", "libx264", ".mp4", {}, "MP4/MOV"), ("mov", "libx264", ".mov", {}, "MP4/MOV"),
    ("3gp", "mpeg4", ".3gp", {}, "MP4/MOV"), ("ipod", "libx264", ".m4v", {}, "MP4/MOV"),
    ("avi", "mpeg4", ".avi", {}, "AVI"), ("matroska", "libx264", ".mkv", {}, "MKV/WebM"),
    ("webm", "libvpx", ".webm", {}, "MKV/WebM"), ("mpeg", "mpeg1video", ".mpg", {}, "MPEG"),
    ("mpegts", "libx264", ".ts", {}, "MPEG-TS"), ("mpegts", "libx264", ".m2ts", {"mpegts_m2ts_mode": "1"}, "MPEG-TS"),
    ("asf", "wmv2", ".wmv", {}, "WMV"), ("flv", "flv", ".flv", {}, "FLV"), ("ogg", "libtheora", ".ogv", {}, "Ogg"),
    ("mxf", "mpeg2video", ".mxf", {}, "MXF"),
])
def test_every_container_the_command_line_reads_is_recognised(fmt, codec, suffix, options, container):
    data = _written(fmt, codec, suffix, **options)
    if data is None:
        pytest.skip(f"this PyAV cannot write {fmt} with {codec}")
    assert video_container(data) == container


def test_what_other_files_look_like():
    assert video_container(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic") is None  # an iPhone photo
    assert looks_like(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic") == "an HEIC or AVIF photo"
    assert looks_like(b"ID3\x04\x00" + b"\x00" * 100) == "a sound file (MP3), without video"
    assert looks_like(b"\x1f\x8b\x08\x00" + b"\x00" * 100) == "a gzip archive"
    assert looks_like("frame;label\n1;überrascht\n".encode()) == "text"
    assert looks_like("aé".encode() * 2000) == "text"  # a character cut at the end of the head is still text
    assert looks_like(bytes(range(256))) is None
    assert video_container(b"Good morning, " * 40) is None  # a 'G' (0x47, the TS sync byte) is not enough
