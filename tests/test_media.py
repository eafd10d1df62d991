"""mmnet.media: frame listing and numbering, image decoding, videos read as a stream."""

import importlib.util
import re
import sys
import weakref

import numpy as np
import pytest
from PIL import Image

from mmnet import media, media_video
from mmnet.errors import DataError
from mmnet.media import (
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    frame_number,
    is_video,
    list_frames,
    read_image,
    read_rgb,
    read_video,
    read_video_frames,
    stream_video,
)
from tests.fakes import write_audio_only


def _touch(folder, *names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(folder / name, format="PNG")
    return folder


def ramp_frames(n: int, size=(48, 64)) -> list[np.ndarray]:
    """Frames of distinct brightness, so a decoded frame tells which it is."""
    h, w = size
    rng = np.random.default_rng(0)
    base = rng.integers(0, 60, (h, w, 3))
    return [np.clip(base + 12 * k, 0, 255).astype(np.uint8) for k in range(n)]


def write_video(path, frames, rate=25):
    av = pytest.importorskip("av")
    h, w = frames[0].shape[:2] if frames else (16, 16)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=rate)  # lossless
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv444p"
        for f in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        container.mux(stream.encode(None))
    return path


# -- numbering and listing -----------------------------------------------------------------------
def test_frame_number_is_the_last_run_of_digits():
    assert frame_number("reg_img46.jpg") == 46
    assert frame_number("clip2/s3_frame_0012.png") == 12
    assert frame_number("a1b22c.png") == 22
    with pytest.raises(DataError, match="no number in its name"):
        frame_number("onset.png")


def test_suffix_lists_are_one_each():
    assert ".webp" in IMAGE_SUFFIXES and ".bmp" in IMAGE_SUFFIXES
    assert is_video("x.MP4") and not is_video("x.png")
    assert not set(IMAGE_SUFFIXES) & set(VIDEO_SUFFIXES)


def test_list_frames_sorts_by_number_and_reports_the_rest(tmp_path):
    folder = _touch(tmp_path / "clip", "img10.png", "img9.png", "frame_011.webp", "img2.png", ".img3.png")
    (folder / "notes.txt").write_text("not a frame")
    (folder / "sub7").mkdir()
    frames, others = list_frames(folder)
    assert [(n, p.name) for n, p in frames] == [(2, "img2.png"), (9, "img9.png"), (10, "img10.png"),
                                                (11, "frame_011.webp")]
    assert others == (".img3.png", "notes.txt", "sub7")  # hidden files, other files, folders: never frames


def test_list_frames_with_a_dataset_pattern(tmp_path):
    folder = _touch(tmp_path / "clip", "reg_image106324.bmp", "image106325.png", "img1.png", "reg_image7.jpg")
    pattern = re.compile(r"(?:reg_)?image(\d+)\.(?:bmp|png)", re.IGNORECASE)
    frames, others = list_frames(folder, pattern)
    assert [n for n, _ in frames] == [106324, 106325]
    assert others == ("img1.png", "reg_image7.jpg")  # the whole name must match


def test_duplicate_numbers(tmp_path):
    folder = _touch(tmp_path / "clip", "img70.jpg", "img070.jpg", "img69.jpg")
    with pytest.raises(DataError, match="two files with frame number 70: 'img070.jpg' and 'img70.jpg'") as e:
        list_frames(folder)
    assert str(folder) in str(e.value)
    frames, others = list_frames(folder, duplicates="first")
    assert [p.name for _, p in frames] == ["img69.jpg", "img070.jpg"] and others == ("img70.jpg",)


def test_unnumbered_images(tmp_path):
    folder = _touch(tmp_path / "clip", "img1.png", "onset.png")
    assert list_frames(folder)[1] == ("onset.png",)
    with pytest.raises(DataError, match=r"without a number in their name: \['onset.png'\]"):
        list_frames(folder, numbered=True)
    with pytest.raises(DataError, match="does not exist"):
        list_frames(tmp_path / "nowhere")


# -- images --------------------------------------------------------------------------------------
def test_read_image_keeps_grey_and_read_rgb_expands_it(tmp_path):
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    Image.fromarray(grey, "L").save(tmp_path / "g.png")
    assert read_image(tmp_path / "g.png").shape == (3, 4)
    rgb = read_rgb(tmp_path / "g.png")
    assert rgb.shape == (3, 4, 3) and np.array_equal(rgb[..., 1], grey)


def test_undecodable_and_missing_images_are_named(tmp_path):
    Image.fromarray(ramp_frames(1)[0]).save(tmp_path / "full.jpg", quality=95)
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    for name in ("cut.jpg", "text.png"):
        if name == "text.png":
            (tmp_path / name).write_text("not an image")
        with pytest.raises(DataError, match=f"'{re.escape(str(tmp_path / name))}' cannot be decoded"):
            read_rgb(tmp_path / name)
    with pytest.raises(DataError, match="does not exist"):
        read_rgb(tmp_path / "missing.png")


# -- videos --------------------------------------------------------------------------------------
def test_stream_counts_frames_from_zero_with_times(tmp_path):
    frames = ramp_frames(6)
    path = write_video(tmp_path / "clip.mkv", frames, rate=25)
    got = list(stream_video(path))
    assert [f.index for f in got] == [0, 1, 2, 3, 4, 5]  # the decode index, as OpenCV, FFmpeg and PyAV count
    np.testing.assert_allclose([f.time for f in got], [k / 25 for k in range(6)], atol=1e-6)
    for f, expected in zip(got, frames):
        assert f.image.shape == (48, 64, 3) and f.image.dtype == np.uint8
        assert np.abs(f.image.astype(int) - expected).mean() < 3  # colour conversion only
    assert [f.index for f in read_video(path)] == [0, 1, 2, 3, 4, 5]


def test_stream_keeps_no_frame(tmp_path):
    """Each frame is gone once the caller drops it: the stream holds no list of decoded frames."""
    path = write_video(tmp_path / "clip.mkv", ramp_frames(12))
    stream = stream_video(path)
    refs = []
    for frame in stream:
        refs.append(weakref.ref(frame.image))
        del frame
        assert all(r() is None for r in refs[:-1])  # the earlier frames are freed while decoding goes on
    assert len(refs) == 12


def test_fetching_frames_stops_after_the_last_one_asked(tmp_path, monkeypatch):
    frames = ramp_frames(10)
    path = write_video(tmp_path / "clip.mkv", frames)
    decoded = []
    real = media_video._stream_pyav

    def counting(av, p, notes):
        for frame in real(av, p, notes):
            decoded.append(frame.index)
            yield frame

    monkeypatch.setattr(media_video, "_stream_pyav", counting)
    got = read_video_frames(path, [4, 2, 10])
    assert sorted(got) == [2, 4] and decoded == list(range(10))  # 10 (== the frame count) is beyond the end
    decoded.clear()
    got = read_video_frames(path, [2, 4])
    assert decoded == [0, 1, 2, 3, 4]
    assert np.abs(got[4].astype(int) - frames[4]).mean() < 3
    assert np.abs(read_video_frames(path, [0])[0].astype(int) - frames[0]).mean() < 3


def test_decoder_fallback_and_none_installed(tmp_path, monkeypatch):
    frames = ramp_frames(5)
    path = write_video(tmp_path / "clip.mkv", frames, rate=25)
    monkeypatch.setitem(sys.modules, "av", None)  # as if PyAV were not installed
    if importlib.util.find_spec("cv2") is not None:
        got = list(stream_video(path))
        assert [f.index for f in got] == [0, 1, 2, 3, 4]
        np.testing.assert_allclose([f.time for f in got], [k / 25 for k in range(5)], atol=1e-3)
        assert np.abs(got[3].image.astype(int) - frames[3]).mean() < 3  # RGB, not OpenCV's BGR
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(DataError, match=r"pip install -e \"\.\[video\]\"") as e:
        stream_video(path)
    assert str(path) in str(e.value)


@pytest.mark.parametrize("decoder", ["av", "cv2"])
def test_bad_videos_are_named(tmp_path, monkeypatch, decoder):
    if decoder == "cv2":
        pytest.importorskip("cv2")
        monkeypatch.setitem(sys.modules, "av", None)
    else:
        pytest.importorskip("av")
    with pytest.raises(DataError, match="does not exist"):
        stream_video(tmp_path / "missing.mp4")
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video" * 50)
    with pytest.raises(DataError, match="cannot be|no decodable video frame") as e:
        list(stream_video(bad))
    assert str(bad) in str(e.value)


@pytest.mark.parametrize("command", ["predict", "spot"])
def test_a_0_byte_video_is_called_empty_with_what_to_do(tmp_path, capsys, command):
    # the decoder's own words ("Invalid data found when processing input") blamed the format of a failed copy
    from mmnet.cli import main

    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match=r"'.*empty\.mp4' is empty \(0 bytes\): .*copy it again"):
        next(stream_video(empty))
    args = {"predict": ["predict", str(empty), "--checkpoint", str(tmp_path / "model")],
            "spot": ["spot", str(empty), "--no-progress", "--no-align"]}[command]
    if command == "predict":
        from tests.test_inference import make_checkpoint

        make_checkpoint(tmp_path / "model")
    assert main(args) == 3
    err = capsys.readouterr().err
    assert f"'{empty}' is empty (0 bytes)" in err and "copy it again" in err and "Invalid data" not in err, err


def test_empty_video_and_no_video_stream(tmp_path):
    cv2 = pytest.importorskip("cv2")
    pytest.importorskip("av")
    path = tmp_path / "empty.avi"
    cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (32, 32)).release()  # header, no frame
    with pytest.raises(DataError, match="holds no decodable video frame") as e:
        list(stream_video(path))
    assert str(path) in str(e.value)
    sound = tmp_path / "sound.mka"
    write_audio_only(sound)
    with pytest.raises(DataError, match=r"has no video stream \(streams: \['audio'\]\)"):
        list(stream_video(sound))


@pytest.mark.parametrize("name, dtype", [("g.png", np.uint16), ("g.tiff", np.uint16), ("g.tiff", np.int32)])
def test_a_16_bit_grey_frame_is_scaled_not_clipped_to_white(tmp_path, name, dtype):
    # PIL's convert("RGB") clips 16-bit values at 255: the frame became white without a word
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    Image.fromarray((grey.astype(np.uint16) * 257).astype(dtype)).save(tmp_path / name)  # PIL modes I;16, I
    assert np.array_equal(read_image(tmp_path / name), grey)
    assert np.array_equal(read_rgb(tmp_path / name)[..., 2], grey)


def test_a_floating_point_frame_is_named_not_clipped(tmp_path):
    Image.fromarray(np.full((3, 4), 0.5, np.float32)).save(tmp_path / "f.tiff")
    with pytest.raises(DataError, match=r"f\.tiff.*floating-point.*8- or 16-bit"):
        read_image(tmp_path / "f.tiff")


def test_a_photo_s_exif_orientation_is_applied(tmp_path):
    # a phone stores a portrait photo sideways with an Orientation tag: it was read sideways
    upright = np.zeros((40, 60, 3), np.uint8)
    upright[:5] = 255  # a white band at the top
    sideways = Image.fromarray(np.ascontiguousarray(np.rot90(upright, 1)))  # as stored, tag 6: rotate 90 CW to view
    exif = sideways.getexif()
    exif[0x0112] = 6
    sideways.save(tmp_path / "p.png", exif=exif)
    image = read_rgb(tmp_path / "p.png")
    assert image.shape == (40, 60, 3) and image[:5].min() == 255 and image[5:].max() == 0


def test_a_header_without_a_frame_count_is_read_from_its_duration(tmp_path):
    """Matroska (and WebM, a Matroska) declares no frame count (PyAV's stream.frames is 0): the one header
    reader counts duration x rate, so a long clip is still warned about and a spotted recording's progress has
    a total."""
    from mmnet.infer import load_clip
    from mmnet.infer.recordings import long_clip_warning
    from mmnet.spotting.flow_spotter import open_recording

    path = write_video(tmp_path / "clip.mkv", ramp_frames(40, size=(16, 16)), rate=10)  # 4 s
    assert media.video_header(path) == (10.0, 40)
    assert media.declared_frame_count(path) == 40
    assert "4.0 s (40 frames at 10 fps)" in long_clip_warning(load_clip(path))
    _, fps, total = open_recording(path)
    assert (fps, total) == (10.0, 40)


def test_a_frame_not_there_is_named_with_its_source_range_and_numbering(tmp_path):
    """A spotted interval's frame beyond a recording said only 'has no frame(s) [9]': now, as a clip's, the source,
    the frames it holds and how they are numbered (a video from 0, a folder by file name)."""
    from mmnet.infer.recordings import read_pairs

    video = write_video(tmp_path / "rec.mkv", ramp_frames(8, size=(16, 16)))
    with pytest.raises(DataError) as e:
        read_pairs(video, [(2, 9)])
    assert str(e.value) == (f"Apex frame 9 is not in recording '{video}' (its frames are numbered 0..7, 8 frames). "
                            f"Frame numbers: {media.FRAME_NUMBERING}.")
    folder = _touch(tmp_path / "frames", "img3.png", "img4.png", "img6.png")
    with pytest.raises(DataError) as e:
        read_pairs(folder, [(2, 4)])
    assert str(e.value).startswith(f"Onset frame 2 is not in recording '{folder}' (its frames are numbered 3..6, "
                                   "3 frames). Frame numbers: a video's frames are counted from 0")
    assert [n for n, _ in media.iter_frames(folder, [6, 3], "x")] == [3, 6]


def test_a_cut_video_that_fails_to_decode_is_called_truncated(tmp_path):
    # a copy cut short keeps its header: the note says how many of the declared frames decode. The cut .mp4 failed
    # the whole stream (and a spot after its analysis) where a cut .webm ended with a note: now both end with one
    import av

    from mmnet.media import stream_video

    if "libx264" not in av.codecs_available:  # mpeg4's decoder ends quietly on a cut file (spotting notes that)
        pytest.skip("this PyAV has no H.264 encoder")
    full = tmp_path / "full.mp4"
    rng = np.random.default_rng(0)
    with av.open(str(full), "w", options={"movflags": "faststart"}) as out:  # the index first, as streamed files
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for _ in range(200):
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: int(full.stat().st_size * 0.45)])
    stream = stream_video(cut)
    decoded = len(list(stream))
    assert 0 < decoded < 200
    (note,) = [n for n in stream.notes if "truncated" in n]
    assert note.startswith(f"decoded {decoded} of 200 frames: the file may be truncated; re-encode or copy it again "
                           "(the decoder said: "), note  # libav's words last


def write_phone_video(path, upright: np.ndarray, frames: int = 3):
    """A lossless .mov whose pixels are stored sideways (turned counter-clockwise) with the display matrix a phone
    writes (rotation -90, a quarter turn clockwise to show it upright), as in a phone recording."""
    import struct

    av = pytest.importorskip("av")
    sideways = np.ascontiguousarray(np.rot90(upright))
    with av.open(str(path), "w", format="mov") as container:
        stream = container.add_stream("png", rate=10)
        stream.height, stream.width = sideways.shape[:2]
        stream.pix_fmt = "rgb24"
        for _ in range(frames):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(sideways, format="rgb24")))
        container.mux(stream.encode(None))
    data = bytearray(path.read_bytes())
    matrix = data.find(b"tkhd") + 4 + 4 + 20 + 8 + 8  # version/flags, times and ids, reserved, layer ... volume
    data[matrix:matrix + 36] = struct.pack(">9i", 0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("decoder", ["av", "cv2"])
def test_a_phone_video_is_turned_upright_as_players_show_it(tmp_path, monkeypatch, decoder):
    """PyAV handed a phone recording's pixels over sideways (its rotation ignored), so the spotter found no face
    and a clip was classified sideways; OpenCV turns them itself. Both decoders now give the upright picture."""
    upright = np.zeros((16, 32, 3), np.uint8)
    upright[:, :16] = 255  # the left half white: a sideways or upside-down frame shows otherwise
    path = write_phone_video(tmp_path / "phone.mov", upright)
    pytest.importorskip(decoder)
    if decoder == "cv2":
        monkeypatch.setitem(sys.modules, "av", None)  # as if PyAV were not installed
    frames = read_video(path)
    assert len(frames) == 3
    for frame in frames:
        np.testing.assert_array_equal(frame.image, upright)
        assert frame.image.flags.c_contiguous
