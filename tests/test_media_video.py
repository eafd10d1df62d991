"""mmnet.media's videos as phones, webcams and camcorders write them: damaged data in the middle, an AVI that holds
B-frames, timestamps that start late, several video streams, an unfinished MP4, interlaced and non-square pixels."""

import fractions
import sys

import numpy as np
import pytest

from mmnet.errors import DataError
from mmnet.media import is_video, stream_video, video_header
from mmnet.media_damage import no_drops_found

from .video_helpers import vfr_video

av = pytest.importorskip("av")


def _numbered(n: int, size: int = 64):
    """Noisy frames with their number drawn in 8 black or white blocks (bit b of the number in block b)."""
    rng = np.random.default_rng(0)
    for i in range(n):
        image = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
        for b in range(8):
            r, c = divmod(b, 4)
            image[r * 16:(r + 1) * 16, c * 16:(c + 1) * 16] = 255 if (i >> b) & 1 else 0
        yield image


def _drawn(image: np.ndarray) -> int:
    """The frame number ``_numbered`` drew into ``image``."""
    return sum(1 << b for b in range(8)
               if image[(b // 4) * 16 + 4:(b // 4 + 1) * 16 - 4, (b % 4) * 16 + 4:(b % 4 + 1) * 16 - 4].mean() > 128)


def _encode(path, n, codec="libx264", options=None, rate=30, setup=None):
    if codec not in av.codecs_available:
        pytest.skip(f"this PyAV has no {codec} encoder")
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate, options=options or {})
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        if setup is not None:
            setup(stream)
        for image in _numbered(n):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())
    return path


def _read(path):
    stream = stream_video(path)
    frames = [(f.index, f.time, _drawn(f.image)) for f in stream]
    return frames, getattr(stream, "notes", [])


def test_damaged_data_in_the_middle_loses_those_frames_only_and_keeps_later_numbers(tmp_path):
    """Zeroed bytes in the middle of a Matroska file: decoding stopped there (or went on numbering by decode order,
    so every later frame was called by an earlier number). Now the frames after it keep their own numbers, and
    the lost ones are named."""
    path = _encode(tmp_path / "clip.mkv", 60, options={"g": "10", "bf": "0", "crf": "18"})
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 1500] = bytes(1500)
    path.write_bytes(bytes(data))
    frames, notes = _read(path)
    indices = [i for i, _, _ in frames]
    assert len(frames) < 60 and indices == sorted(set(indices)) and indices[-1] == 59
    gap = next(i for i, j in zip(indices, indices[1:]) if j > i + 1)
    assert all(drawn == index for index, _, drawn in frames if index > gap + 1)  # the frame is the one named
    (note,) = [n for n in notes if "could not be decoded" in n]
    assert note.startswith(f"frames {gap + 1}-")
    assert _read(path) == (frames, notes)  # read again (libav says a repeated line once only): the same frames


def _remuxed_to_mpegts(source, path):
    """``source`` in an MPEG-TS file (as camcorders write .mts), its packets copied as they are."""
    if "mpegts" not in av.formats_available:
        pytest.skip("this PyAV has no MPEG-TS muxer")
    with av.open(str(source)) as inp, av.open(str(path), "w", format="mpegts") as out:
        stream = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    return path


def test_damaged_data_in_an_mpeg_ts_file_loses_those_frames_only_and_keeps_later_numbers(tmp_path):
    """The MPEG-TS demuxer says of the data it skips only 'Packet corrupt', a warning, and the decoder hides the
    rest: the damage went unseen, so every later frame was numbered too early and no note named the lost ones."""
    source = _encode(tmp_path / "clip.mp4", 90, options={"g": "10", "bf": "0", "crf": "18"})
    path = _remuxed_to_mpegts(source, tmp_path / "clip.ts")
    data = bytearray(path.read_bytes())
    third = len(data) // 3
    data[third:third + len(data) // 10] = bytes(len(data) // 10)
    path.write_bytes(bytes(data))
    frames, notes = _read(path)
    indices = [i for i, _, _ in frames]
    assert len(frames) < 90 and indices == sorted(set(indices)) and indices[-1] == 89
    gap = next(i for i, j in zip(indices, indices[1:]) if j > i + 1)
    assert all(drawn == index for index, _, drawn in frames if index <= gap or index > gap + 30)  # 30: past the damage
    (note,) = [n for n in notes if "could not be decoded" in n]
    assert note.startswith(f"frames {gap + 1}-"), notes


@pytest.mark.parametrize("size, where", [(10, 2), (25, 3)])  # a tenth of the file at its half, a 25th at a third
def test_a_frame_the_damage_leaves_out_of_order_takes_no_later_frames_number(tmp_path, size, where):
    """Zeroed bytes in an MP4 with B-frames: after them the decoder gave one earlier frame late (5.07 s among frames
    at 6 s). It took the number of the next frame, every later frame was numbered one late, and a note said the
    frame rate varies. Now it is dropped, and said so."""
    source = _encode(tmp_path / "clip.mp4", 90, options={"g": "10", "crf": "18"})
    data = bytearray(source.read_bytes())
    at, length = len(data) // where, len(data) // size
    data[at:at + length] = bytes(length)
    path = tmp_path / "damaged.mp4"
    path.write_bytes(bytes(data))
    frames, notes = _read(path)
    indices, times = [i for i, _, _ in frames], [t for _, t, _ in frames]
    assert len(frames) < 90 and indices[-1] == 89
    assert all(a < b for a, b in zip(indices, indices[1:])) and all(a < b for a, b in zip(times, times[1:]))
    assert [round(time * 30) for time in times] == indices  # each frame keeps the number its time gives
    assert len([n for n in notes if "could not be decoded" in n]) == 1, notes


def test_a_frame_that_fails_to_decode_is_skipped_not_the_end_of_the_video(tmp_path):
    """One packet that the decoder refuses (InvalidDataError): the whole video failed ('cannot be decoded after
    frame 30 ...; the file may be truncated'). Now that frame is missing and the others are read."""
    path = _encode(tmp_path / "clip.mkv", 60, options={"g": "10", "crf": "18"})
    raw = path.read_bytes()
    with av.open(str(path)) as container:
        payload = [bytes(p) for p in container.demux(video=0) if p.size][33]
    at = raw.find(payload)
    damaged = bytearray(raw)
    damaged[at:at + 8] = b"\xff" * 8  # the length of its first NAL unit: the decoder raises
    path.write_bytes(bytes(damaged))
    frames, notes = _read(path)
    indices = [i for i, _, _ in frames]
    assert len(frames) == 59 and indices[-1] == 59
    (missing,) = set(range(60)) - set(indices)
    assert all(drawn == index for index, _, drawn in frames if index > missing)
    assert f"frame {missing} could not be decoded" in " ".join(notes), notes


def test_lost_frames_are_missing_frames_for_the_spotter(tmp_path):
    from mmnet.spotting.recording import TimedFrames

    path = _encode(tmp_path / "clip.mkv", 60, options={"g": "10", "bf": "0", "crf": "18"})
    data = bytearray(path.read_bytes())
    data[len(data) // 2:len(data) // 2 + 1500] = bytes(1500)
    path.write_bytes(bytes(data))
    timed = TimedFrames(stream_video(path), 30.0)
    got = list(timed)
    assert [n for n, _ in got] == list(range(60))
    assert any(image is None for _, image in got)
    assert "could not be decoded" in timed.note("clip.mkv") and "frame rate varies" not in timed.note("clip.mkv")
    # the spotter says it once, in the decoder's words (not "re-extract the frames", which fits a frame folder)
    from mmnet.spotting.config import spot_config
    from mmnet.spotting.flow_spotter import extract_motion

    curves = extract_motion(TimedFrames(stream_video(path), 30.0), 30.0, spot_config("casme2", ["face.mode=none"]),
                            source="clip.mkv")
    said = [n for n in curves.notes if "decoded" in n or "missing" in n]
    assert len(said) == 1 and "could not be decoded" in said[0] and "re-extract" not in said[0], curves.notes


def _avi_with_b_frames(tmp_path):
    """An MP4 with B-frames copied into AVI, as ``ffmpeg -i in.mp4 -c copy out.avi`` does."""
    mp4 = _encode(tmp_path / "bf.mp4", 40, options={"bf": "2", "crf": "18"})
    avi = tmp_path / "bf.avi"
    with av.open(str(mp4)) as source, av.open(str(avi), "w") as out:
        video = source.streams.video[0]
        copy = out.add_stream_from_template(video)
        copy.time_base = video.time_base  # PyAV >= 15's template copies it; 14.1's left none (AVI chose 1/30)
        annexb = av.BitStreamFilterContext("h264_mp4toannexb", video)
        for packet in source.demux(video):
            for filtered in annexb.filter(packet):
                if filtered.dts is not None:
                    if filtered.time_base is None:  # PyAV 14.1's filter drops it: times were muxed as frame counts
                        filtered.time_base = video.time_base
                    filtered.stream = copy
                    out.mux(filtered)
    return avi


def test_an_avi_with_b_frames_is_read_at_its_real_rate(tmp_path):
    """The AVI's average rate counts packets at its time base, not frames: mmnet took it as the frame rate, so
    every time and window was wrong and the file was called truncated."""
    if not hasattr(av, "BitStreamFilterContext"):
        pytest.skip("this PyAV has no bitstream filters")
    avi = _avi_with_b_frames(tmp_path)
    with av.open(str(avi)) as container:
        stream = container.streams.video[0]
        assert stream.average_rate != stream.guessed_rate  # the premise: the container's two rates disagree
    assert video_header(avi) == (30.0, 40)
    frames, notes = _read(avi)
    assert [i for i, _, _ in frames] == list(range(40)) and [d for _, _, d in frames] == list(range(40))
    np.testing.assert_allclose([t for _, t, _ in frames], np.arange(40) / 30, atol=1e-6)
    assert any(n.startswith("30 fps is used, the spacing of the first frames' times") for n in notes), notes


def test_an_avi_with_b_frames_is_read_at_its_real_rate_by_opencv_too(tmp_path, monkeypatch):
    pytest.importorskip("cv2")
    if not hasattr(av, "BitStreamFilterContext"):
        pytest.skip("this PyAV has no bitstream filters")
    avi = _avi_with_b_frames(tmp_path)
    monkeypatch.setitem(sys.modules, "av", None)  # as if PyAV were not installed
    assert video_header(avi) == (30.0, 40)
    stream = stream_video(avi)
    times = [f.time for f in stream]
    np.testing.assert_allclose(times, np.arange(40) / 30, atol=1e-6)
    assert stream.notes == ["30 fps is used, the spacing of the first frames' times: the container declares 600 fps; "
                            "frame i is taken to be at i / rate seconds", no_drops_found()]


def _late_start(path, n=45, start_ms=10_000):
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv444p"
        stream.codec_context.time_base = fractions.Fraction(1, 1000)
        for i, image in enumerate(_numbered(n)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = start_ms + round(i * 1000 / 30), fractions.Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def test_timestamps_that_start_late_are_no_truncated_file(tmp_path):
    """A Matroska file whose times start at 10 s (a camera's clock, a cut from a longer recording): its duration
    counted the 10 s, so the header promised 345 frames and the spot said the file may be truncated."""
    path = _late_start(tmp_path / "late.mkv")
    assert video_header(path) == (30.0, 45)
    frames, _ = _read(path)
    assert len(frames) == 45 and frames[0][1] == 0.0


def test_of_several_video_streams_the_default_then_largest_is_read_and_named(tmp_path):
    path = tmp_path / "two.mkv"
    with av.open(str(path), "w") as out:
        small = out.add_stream("ffv1", rate=30)
        large = out.add_stream("ffv1", rate=30)
        for stream, size in ((small, 32), (large, 64)):
            stream.width = stream.height = size
            stream.pix_fmt = "yuv444p"
            stream.disposition = av.stream.Disposition.default.value  # PyAV 14.1's setter takes only an int
        for image in _numbered(10):
            out.mux(small.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image[::2, ::2]), format="rgb24")))
            out.mux(large.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(small.encode())
        out.mux(large.encode())
    frames = list(stream_video(path))
    assert {f.image.shape for f in frames} == {(64, 64, 3)} and len(frames) == 10
    stream = stream_video(path)
    list(stream)
    assert stream.notes == ["the file holds 2 video streams; stream 1 (64x64, the default) is read"]


def test_opencv_gives_the_frames_own_times(tmp_path, monkeypatch):
    """Without PyAV, frame i was put at i / rate: a variable frame rate was never noticed."""
    pytest.importorskip("cv2")
    times = [0, 33, 67, 100, 300, 500, 700, 900]
    path = vfr_video(tmp_path / "vfr.mkv", times, list(_numbered(len(times))))
    monkeypatch.setitem(sys.modules, "av", None)  # as if PyAV were not installed
    got = [f.time for f in stream_video(path)]
    np.testing.assert_allclose(got, np.array(times) / 1000, atol=2e-3)


def test_an_mp4_cut_before_its_index_is_called_unfinished(tmp_path):
    """An MP4 writes its index last: a recording that was not finished, or a copy cut short, has none. The error
    was the decoder's 'Invalid data found' and 're-encode it', which cannot work."""
    full = _encode(tmp_path / "full.mp4", 30)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: int(full.stat().st_size * 0.7)])
    with pytest.raises(DataError, match=r"'.*cut\.mp4' is incomplete: its index \(the MP4 'moov' atom.*copy the file "
                                        r"again in full") as e:
        list(stream_video(cut))
    assert "Invalid data" not in str(e.value)


def test_the_error_says_libavs_line_once(tmp_path):
    """PyAV ends its message with libav's last error line, and that line was said again after it ('... moov atom
    not found moov atom not found')."""
    path = tmp_path / "noise.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 255, 20_000, dtype=np.uint8).tobytes())
    with pytest.raises(DataError, match="cannot be decoded") as e:
        list(stream_video(path))
    assert str(e.value).count("moov atom not found") == 1, str(e.value)


@pytest.mark.parametrize("suffix", [".mts", ".m2ts", ".ts", ".3gp", ".3g2", ".mxf", ".flv", ".ogv", ".f4v", ".MTS"])
def test_camcorder_and_phone_suffixes_are_videos(suffix):
    assert is_video(f"clip{suffix}")


def test_non_square_pixels_are_noted(tmp_path):
    def anamorphic(stream):
        stream.codec_context.sample_aspect_ratio = fractions.Fraction(4, 3)

    path = _encode(tmp_path / "sar.mp4", 10, setup=anamorphic)
    _, notes = _read(path)
    assert any(n.startswith("its pixels are not square (sample aspect ratio 1.333): the 64x64 frames are read "
                            "as stored, not as shown (85x64)") for n in notes), notes
    _, notes = _read(_encode(tmp_path / "square.mp4", 10))
    assert notes == []


def test_interlaced_frames_are_noted(tmp_path):
    path = _encode(tmp_path / "tff.mp4", 10, options={"x264-params": "interlaced=1:tff=1"})
    with av.open(str(path)) as container:
        if not next(container.decode(video=0)).interlaced_frame:
            pytest.skip("this x264 wrote no interlaced frames")
    _, notes = _read(path)
    assert any(n.startswith("the video is interlaced") for n in notes), notes


def test_videos_decoded_at_once_do_not_hide_each_others_damage(tmp_path, capfd):
    """The server decodes several videos at once. Each packet switched libav's process-wide log level (ERROR to
    read it, PANIC to decode it): while one thread decoded, another's damaged data went unseen, so its later frames
    were numbered by count; and the level could be left changed for good."""
    import threading

    damaged = _encode(tmp_path / "damaged.mkv", 60, options={"g": "10", "bf": "0", "crf": "18"})
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2:len(data) // 2 + 1500] = bytes(1500)
    damaged.write_bytes(bytes(data))
    clean = _encode(tmp_path / "clean.mkv", 300, options={"g": "1"})
    alone = _read(damaged)
    level, skipping = av.logging.get_level(), av.logging.get_skip_repeated()
    done, seen = threading.Event(), []

    def decode_clean():
        while not done.is_set():
            for _ in stream_video(clean):
                pass

    others = [threading.Thread(target=decode_clean) for _ in range(3)]
    for thread in others:
        thread.start()
    try:
        seen = [_read(damaged) for _ in range(40)]
    finally:
        done.set()
        for thread in others:
            thread.join()
    assert all(got == alone for got in seen)
    assert any("could not be decoded" in note for note in alone[1])
    assert (av.logging.get_level(), av.logging.get_skip_repeated()) == (level, skipping)
    assert "error while decoding" not in capfd.readouterr().err  # libav's own lines stay off the terminal


def test_a_clock_jump_in_a_damaged_video_is_no_run_of_lost_frames(tmp_path):
    """Joined camcorder files: the frame times jump 100 s ahead. In a video with one damaged frame before the jump,
    the frames were numbered by their times: the jump became 3000 lost frames. Frames are now counted on from the
    jump, and a note names it."""
    path = tmp_path / "joined.mkv"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30, options={"g": "10", "bf": "0", "crf": "18"})
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i, image in enumerate(_numbered(60)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i if i < 30 else i + 3000
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    raw = path.read_bytes()
    with av.open(str(path)) as container:
        payload = [bytes(p) for p in container.demux(video=0) if p.size][13]
    at = raw.find(payload)
    path.write_bytes(raw[:at] + b"\xff" * 8 + raw[at + 8:])  # frame 13 fails to decode
    frames, notes = _read(path)
    assert [i for i, _, _ in frames] == [i for i in range(60) if i != 13]
    assert all(drawn == index for index, _, drawn in frames)
    assert [f"{time:.3f}" for index, time, _ in frames if index >= 30] == [f"{i / 30:.3f}" for i in range(30, 60)]
    (jump,) = [n for n in notes if "jump" in n]
    assert "100.0 s ahead at frame 30" in jump, notes
    assert "frame 13 could not be decoded" in " ".join(notes), notes


def test_mmnet_media_gives_every_name_of_media_video():
    import mmnet.media
    import mmnet.media_video

    assert [n for n in mmnet.media_video.__all__ if getattr(mmnet.media, n, None) is None] == []


@pytest.mark.parametrize("platform, said", [
    ("win32", "its path is not all ASCII, which OpenCV may fail to open on Windows: install PyAV"),
    ("linux", "re-encode it or extract its frames to a folder"),
])
def test_a_video_opencv_cannot_open_under_a_non_ascii_path_on_windows_says_why(tmp_path, monkeypatch, platform, said):
    # OpenCV on Windows fails on such a path as on a broken file, and the message blamed the file
    pytest.importorskip("cv2")
    video = tmp_path / "Søren" / "interview.mp4"
    video.parent.mkdir()
    video.write_bytes(b"not a video" * 100)  # OpenCV cannot open it on any platform
    monkeypatch.setitem(sys.modules, "av", None)  # as if PyAV were not installed
    monkeypatch.setattr(sys, "platform", platform)
    with pytest.raises(DataError, match="cannot be opened by OpenCV") as raised:
        list(stream_video(video))
    assert said in str(raised.value)
