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


def _mp4(path, kept):
    """An H.264 MP4 at 30 fps (time base 1/1000) of the frames ``kept`` of a recording, each at its own time."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = fractions.Fraction(1, 1000)
        for i in kept:
            frame = av.VideoFrame.from_ndarray(_images(i + 1)[i], format="rgb24")
            frame.pts, frame.time_base = round(i * 1000 / RATE), fractions.Fraction(1, 1000)
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
    assert not any("dropped" in n for n in stream.notes)


def test_frames_dropped_after_the_first_frame_are_found_too(tmp_path):
    # a camera drops frames in its first second too: the first step has a single step on one side only
    kept = [i for i in range(FRAMES) if i not in range(1, 11)]
    stream = stream_video(_mp4(tmp_path / "edge.mp4", kept))
    assert [f.index for f in stream] == kept
    (note,) = stream.notes
    assert "frames 1-10 are not in the file" in note and "the camera dropped" in note
