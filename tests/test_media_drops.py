"""Frames a camera dropped while recording at a constant rate: numbered by their times, named, and no flow pair
spans them; a variable frame rate is still read as before."""

import fractions

import numpy as np
import pytest

from mmnet.media import stream_video, video_header

from .video_helpers import vfr_video

av = pytest.importorskip("av")

RATE, FRAMES, DROPPED = 30, 120, range(40, 45)  # frames 40-44 left out: a 5-frame (1/6 s) jump of the times


def _images(n):
    return [np.full((48, 64, 3), (i * 7) % 250, np.uint8) for i in range(n)]


def _mp4(path, kept, times_ms=None):
    """An H.264 MP4 at 30 fps (time base 1/1000) of the frames ``kept`` of a recording, each at its own time (or at
    ``times_ms``)."""
    times_ms = times_ms or [round(i * 1000 / RATE) for i in kept]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = fractions.Fraction(1, 1000)
        for i, ms in zip(kept, times_ms):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), (i * 7) % 250, np.uint8), format="rgb24")
            frame.pts, frame.time_base = ms, fractions.Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def _kept():
    return [i for i in range(FRAMES) if i not in DROPPED]


@pytest.mark.parametrize("make", ["mp4", "mkv"])
def test_frames_a_camera_dropped_keep_the_later_frames_numbers_and_are_named(tmp_path, make):
    kept = _kept()
    if make == "mp4":  # the container's average rate counts the frames kept: 115 / 4 s, not 30 fps
        path = _mp4(tmp_path / "drop.mp4", kept)
        with av.open(str(path)) as container:
            assert float(container.streams.video[0].average_rate) < RATE - 0.5
    else:  # Matroska declares 30 fps: only the frame times show the drop
        images = _images(FRAMES)
        path = vfr_video(tmp_path / "drop.mkv", [round(i * 1000 / RATE) for i in kept], [images[i] for i in kept])
    assert video_header(path)[0] == RATE
    stream = stream_video(path)
    assert [f.index for f in stream] == kept
    (note,) = stream.notes
    assert "frames 40-44 are not in the file" in note and "5 frames the camera dropped" in note


def test_no_flow_pair_spans_the_frames_a_camera_dropped(tmp_path):
    from mmnet.spotting.config import spot_config
    from mmnet.spotting.flow_spotter import extract_motion, open_recording

    frames, fps, _ = open_recording(_mp4(tmp_path / "drop.mp4", _kept()))
    curves = extract_motion(frames, fps, spot_config("casme2", ["face.mode=none"]), source="drop.mp4")
    assert fps == RATE and list(curves.numbers) == list(range(FRAMES))
    assert curves.missing == [(40, 44)]
    said = " ".join(curves.notes)
    assert "camera dropped" in said and "frame rate varies" not in said and "re-extract" not in said
    for scale, k in curves.strides.items():  # a pair (i - k, i) is scored at its centre, i - k // 2
        scores = curves.scores[scale][:, 0]
        for end in range(k, FRAMES):
            if end - k <= 44 and end >= 40:  # the pair touches a dropped frame
                assert np.isnan(scores[end - k // 2]), (scale, end)
    assert np.allclose(curves.times[[39, 45]], [39 / RATE, 45 / RATE], atol=1e-3)


@pytest.mark.parametrize("times_ms", [
    [round((i if i < 60 else 2 * i - 60) * 1000 / RATE) for i in range(FRAMES)],  # 15 fps from 2 s on
    [round(i * 33.5) + (7 if i == 60 else 0) for i in range(FRAMES)],  # a phone's 29.85 fps, its times jittered
    [round(i * 1000 / RATE) + (100 if i == FRAMES - 1 else 0) for i in range(FRAMES)],  # a cut's late final frame
], ids=["15 fps stretch", "jittered", "late final frame"])
def test_a_variable_frame_rate_is_no_dropped_frames(tmp_path, times_ms):
    """Steps of whole frames in a row, times off the grid, or a late final frame (as `ffmpeg -t 20 -c copy` stamps
    it) are no frames a camera dropped: read in decode order, as before."""
    path = vfr_video(tmp_path / "vfr.mkv", times_ms, _images(FRAMES))
    stream = stream_video(path)
    assert [f.index for f in stream] == list(range(FRAMES))
    assert not any("dropped" in n for n in stream.notes)  # nor a note on drops not looked for: the rate varies


def test_frames_dropped_after_the_first_frame_are_found_too(tmp_path):
    # a camera drops frames in its first second too: the first step has a single step on one side only
    kept = [i for i in range(FRAMES) if i not in range(1, 11)]
    stream = stream_video(_mp4(tmp_path / "edge.mp4", kept))
    assert [f.index for f in stream] == kept
    (note,) = stream.notes
    assert "frames 1-10 are not in the file" in note and "the camera dropped" in note


@pytest.mark.parametrize("times_ms, said", [
    # frames 40-44 dropped, then frames 80 and 82: two steps of whole frames in a row
    ([round(i * 1000 / RATE) for i in _kept() if i not in (80, 82)],
     "frame 75 (at 2.70 s) comes 2 frames after the one before it, and frame 76 2 frames after it (steps of whole "
     "frames in a row"),
    # frames 40-44 dropped, and frame 90's time 13 ms late (0.39 of a frame)
    ([round(i * 1000 / RATE) + 13 * (i == 90) for i in _kept()],
     "frame 85 (at 3.01 s) is 0.39 of a frame off the grid of whole frames from the first"),
], ids=["two steps in a row", "a time off the grid"])
def test_a_file_in_which_dropped_frames_are_not_looked_for_says_so(tmp_path, times_ms, said):
    """One frame time anywhere that a constant-rate recording with frames dropped does not give turns the search for
    dropped frames off for the whole file: its frames are numbered as read, as before, and a note now says so, naming
    that frame, what the numbers mean and how to re-encode."""
    path = vfr_video(tmp_path / "off.mkv", times_ms, _images(len(times_ms)))
    stream = stream_video(path)
    assert [f.index for f in stream] == list(range(len(times_ms)))
    (note,) = stream.notes
    assert note.startswith("dropped frames were not looked for in this file, though its frame times skip a frame")
    assert said in note and "unlike a recording at a constant 30 fps from which the camera dropped frames" in note
    assert "frames are numbered as read" in note and "ffmpeg -i in.mp4 -vf fps=30 out.mp4" in note


def test_the_note_on_dropped_frames_not_looked_for_reaches_the_spotters_notes(tmp_path):
    from mmnet.spotting.config import spot_config
    from mmnet.spotting.flow_spotter import extract_motion, open_recording

    # an MP4: its average rate (113 frames / 4 s) is below the 30 fps recorded, which the note names all the same
    kept = [i for i in _kept() if i not in (80, 82)]
    frames, fps, _ = open_recording(_mp4(tmp_path / "off.mp4", kept))
    curves = extract_motion(frames, fps, spot_config("casme2", ["face.mode=none"]), source="off.mp4")
    assert list(curves.numbers) == list(range(len(kept))) and curves.missing == []
    said = " ".join(curves.notes)
    assert "off.mp4: dropped frames were not looked for in this file" in said and "frame 75 (at 2.70 s)" in said
    assert "constant 30 fps" in said and "fps=30 out.mp4" in said


def test_opencv_says_it_cannot_find_dropped_frames(tmp_path, monkeypatch):
    """Without PyAV, OpenCV numbers frames as they come: frames a camera dropped go unfound, and a note says so."""
    import sys

    pytest.importorskip("cv2")
    kept = _kept()
    path = vfr_video(tmp_path / "drop.mkv", [round(i * 1000 / RATE) for i in kept], _images(len(kept)))
    monkeypatch.setitem(sys.modules, "av", None)  # as if PyAV were not installed
    stream = stream_video(path)
    assert [f.index for f in stream] == list(range(len(kept)))
    (note,) = stream.notes
    assert note.startswith("the video is read with OpenCV (PyAV is not installed), which cannot tell frames a camera "
                           "dropped while recording: its frames are numbered as read")
    assert "install PyAV with pip install" in note and '.[video]"' in note


LONG, DROP = 300, range(150, 165)  # 10 s at 30 fps, from which the camera dropped frames 150-164 (half a second)


def _late_from(frame, by, n=LONG):
    """The times (ms) of a recording's frames but those dropped, each ``by`` of a frame late from frame ``frame`` on:
    one step early on (frame 10's) spans 1 + ``by`` frames."""
    kept = [i for i in range(n) if i not in DROP]
    return kept, [round((i + by * (i >= frame)) * 1000 / RATE) for i in kept]


def test_one_early_step_off_the_grid_leaves_a_later_drop_found(tmp_path):
    """Frame 10 comes 1.1 frames after frame 9 (every later one 0.1 of a frame late, on the grid still): libav guesses
    29.97 fps from the first frames of this MP4, on whose grid the later times drift off, so the drop went unfound and
    its frames were numbered as read. The rate the times step at is 30 fps: the drop is found and named."""
    kept, times_ms = _late_from(10, 0.1)
    path = _mp4(tmp_path / "early.mp4", kept, times_ms)
    with av.open(str(path)) as container:  # the premise: libav's guess is off
        assert float(container.streams.video[0].guessed_rate) != RATE
    assert video_header(path)[0] == RATE
    stream = stream_video(path)
    assert [f.index for f in stream] == kept
    (note,) = stream.notes
    assert "frames 150-164 are not in the file (15 frames the camera dropped while recording at 30 fps" in note


@pytest.mark.parametrize("make", ["mp4", "mkv"])
def test_a_half_frame_pause_early_on_says_that_a_later_drop_was_not_looked_for(tmp_path, make):
    """A step of 1.5 frames early on that the later times keep (a half-frame pause) puts them all off the grid from the
    first, so drops are not looked for: that was said nowhere (the MP4's guessed rate, 60 fps, put its times on no
    grid; the later steps, all single frames, were not counted as steady off the grid), now the note names frame 10."""
    kept, times_ms = _late_from(10, 0.5)
    path = _mp4(tmp_path / "pause.mp4", kept, times_ms) if make == "mp4" else vfr_video(
        tmp_path / "pause.mkv", times_ms, _images(len(kept)))
    stream = stream_video(path)
    assert [f.index for f in stream] == list(range(len(kept)))
    (note,) = stream.notes
    assert note.startswith("dropped frames were not looked for in this file, though its frame times skip a frame")
    assert "frame 10 (at 0.35 s) is 0.50 of a frame off the grid" in note and "constant 30 fps" in note


@pytest.mark.parametrize("late", [0.5, 0.0], ids=["a half-frame pause", "one time late"])
def test_an_early_step_of_one_and_a_half_frames_says_nothing_of_the_rate(tmp_path, late):
    """Frame 10 of an MP4 without drops 1.5 frames after frame 9: libav guessed 60 fps from it, twice the average, and
    the note on such rates ("29.9 fps is used, the spacing of the first frames' times: the container declares both
    ...") described a spacing the file does not have, its frames then numbered i / rate. The times are those of 30 fps:
    no note, and the frames keep their own times."""
    times_ms = [round((i + 0.5 * (i == 10 or (i > 10 and late))) * 1000 / RATE) for i in range(FRAMES)]
    path = _mp4(tmp_path / "step.mp4", range(FRAMES), times_ms)
    with av.open(str(path)) as container:  # the premise: the container's two rates differ by a whole factor
        stream = container.streams.video[0]
        assert float(stream.guessed_rate) / float(stream.average_rate) > 1.9
    assert round(video_header(path)[0]) == RATE
    stream = stream_video(path)
    frames = list(stream)
    assert [f.index for f in frames] == list(range(FRAMES)) and stream.notes == []
    np.testing.assert_allclose([f.time for f in frames], np.array(times_ms) / 1000, atol=1e-3)


def test_the_recorded_rate_is_the_one_the_times_step_at(tmp_path):
    """``recorded_rate``: 29.97 fps exact where the time base (1/30000) keeps it, one early time off the grid and frames
    a camera dropped notwithstanding; None for a phone's jittered rate, which lies on no grid."""
    from mmnet.media_drops import recorded_rate

    base, ntsc = fractions.Fraction(1, 30000), fractions.Fraction(30000, 1001)
    path = tmp_path / "ntsc.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=ntsc)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = base
        for i in [i for i in range(FRAMES) if i not in DROPPED]:
            frame = av.VideoFrame.from_ndarray(_images(1)[0], format="rgb24")
            frame.pts, frame.time_base = 1001 * i + 300 * (i == 5), base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    jittered = vfr_video(tmp_path / "phone.mkv", [round(i * 33.5) + 7 * (i % 3) for i in range(FRAMES)],
                         _images(FRAMES))
    for video, rate in ((path, float(ntsc)), (jittered, None)):
        with av.open(str(video)) as container:
            assert recorded_rate(av, video, container.streams.video[0]) == rate


def test_a_drop_is_found_where_libav_guesses_the_average_rate(tmp_path):
    """Frame 1 at 1.1 frames in an MP4 of time base 1/30000, frames 150-164 dropped: libav takes the average rate
    (28.3 fps, lowered by the drop) for its guess too, so the two agreed and the drop went unfound, every later frame
    numbered 15 low. The rate the times step at is 30 fps: the drop is found and named."""
    kept = [i for i in range(270) if i not in range(150, 165)]
    path = tmp_path / "guess-is-average.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = fractions.Fraction(1, 30000)
        for i in kept:
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), (i * 7) % 250, np.uint8), format="rgb24")
            frame.pts, frame.time_base = (1100 if i == 1 else i * 1000), fractions.Fraction(1, 30000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with av.open(str(path)) as container:  # the premise: libav's guess is the average, not 30 fps
        video = container.streams.video[0]
        assert float(video.guessed_rate) == pytest.approx(float(video.average_rate)) != RATE
    assert video_header(path)[0] == RATE
    stream = stream_video(path)
    assert [f.index for f in stream] == kept
    assert any("frames 150-164 are not in the file (15 frames the camera dropped" in n for n in stream.notes)


@pytest.mark.parametrize("times_ms", [
    # 44 steps of 33 ms, one of 100 ms, 43 of 67 ms: the median step (50 ms) leaves only the 100 ms one on a grid
    [round(i * 1000 / 30) for i in range(45)] + [round(1500 + (i + 1) * 1000 / 15) for i in range(45)],
    # 30 fps, then more steps at 15 fps: the 15 fps grid holds none of the 33 ms steps
    [round(i * 1000 / 30) for i in range(40)] + [round(1300 + (i + 1) * 1000 / 15) for i in range(60)],
], ids=["30-gap-15", "30-then-15"])
def test_a_rate_that_changes_partway_is_no_recorded_rate(tmp_path, times_ms):
    from mmnet.media_drops import recorded_rate

    video = _mp4(tmp_path / "vfr.mp4", range(len(times_ms)), times_ms)
    with av.open(str(video)) as container:
        assert recorded_rate(av, video, container.streams.video[0]) is None
