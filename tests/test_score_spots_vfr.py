"""`mmnet score-spots --recording` on a variable-frame-rate video: a coder's times (ELAN, BORIS, `mmnet spot`'s
spots.eaf) are converted with the frames' own presentation times, the times a player shows them at and `mmnet spot`
writes, not at the header's constant rate."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

from mmnet.cli import main
from mmnet.spotting.coder_times import begin_frame, end_frame
from mmnet.spotting.frame_times import FrameTimes, recording_times
from mmnet.spotting.intervals import Interval, seek_time
from mmnet.spotting.megc_files import write_spotting_csv

from .video_helpers import vfr_video

pytest.importorskip("av")

# a phone in dim light: 30 fps, then 15 fps, then 30 fps again (ms timestamps); its header declares 30 fps
PHONE_MS = [round(i * 1000 / 30) for i in range(30)]
PHONE_MS += [PHONE_MS[-1] + round((i + 1) * 1000 / 15) for i in range(30)]
PHONE_MS += [PHONE_MS[-1] + round((i + 1) * 1000 / 30) for i in range(30)]


def _images(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (48, 64, 3), dtype=np.uint8) for _ in range(n)]


@pytest.fixture
def phone(tmp_path):
    return vfr_video(tmp_path / "phone.mkv", PHONE_MS, _images(len(PHONE_MS)))


def _counts(capsys, *argv) -> tuple[dict, str]:
    assert main(["score-spots", *map(str, argv), "--json"]) == 0
    printed = capsys.readouterr()
    return {r["type"]: (r["tp"], r["fp"], r["fn"]) for r in json.loads(printed.out)["counts"]}, printed.err


def test_the_frame_shown_at_each_time_is_the_one_whose_display_interval_holds_it():
    # ticks of 1/90000 s (MPEG-TS): frame times that are no whole millisecond, a frame of 50 ms between two of 33 ms
    ticks = (0, 3003, 6006, 10506, 13509)
    times = FrameTimes(ticks, Fraction(1, 90000), Fraction(30000, 1001))
    for f in range(len(ticks)):  # a frame's start to the nearest ms (ELAN, BORIS) and rounded up (mmnet's own)
        start = Fraction(ticks[f], 90000)
        for written in (Fraction(round(start * 1000), 1000), Fraction(seek_time(float(start))).limit_denominator(1000)):
            assert times.begin_frame(written) == f
            assert times.end_frame(written) == f - 1  # an interval ending there ends with the frame before
    assert times.begin_frame(Fraction("0.095")) == 2  # within frame 2's 50 ms: frame 2, not 3 as at 29.97 fps
    assert begin_frame(Fraction("0.095"), times.fps) == 2 and begin_frame(Fraction("0.105"), times.fps) == 3
    assert times.begin_frame(Fraction("0.105")) == 2
    # past the last frame, and before the first, frames go on at the header's rate: as the constant rule there
    last = Fraction(ticks[-1], 90000)
    for seconds in (last + Fraction(1, 30), last + Fraction(5, 3), Fraction(-1, 10)):
        shift = len(ticks) - 1 if seconds > 0 else 0
        origin = last if seconds > 0 else 0
        assert times.begin_frame(seconds) == shift + begin_frame(seconds - origin, times.fps)
        assert times.end_frame(seconds) == shift + end_frame(seconds - origin, times.fps)
    assert times.end_frame(last + Fraction(1001, 30000)) == len(ticks) - 1  # the last frame ends a frame later


def test_the_frame_times_are_read_for_a_variable_rate_and_left_for_a_constant_one(tmp_path, phone):
    from mmnet.media import stream_video

    times = recording_times(phone)[2]
    assert times is not None and times.frames == len(PHONE_MS)
    assert [float(times.pts(f)) for f in range(times.frames)] == [f.time for f in stream_video(phone)]
    # timestamps of whole ms (33 or 34 ms a frame at 30 fps) are a constant rate: the header's, as before
    steady = vfr_video(tmp_path / "steady.mkv", [round(i * 1000 / 30) for i in range(40)], _images(40))
    assert recording_times(steady)[2] is None


def test_a_b_frame_mp4_gives_its_times_in_presentation_order(tmp_path):
    from mmnet.media import stream_video

    av = pytest.importorskip("av")
    if "libx264" not in av.codecs_available:
        pytest.skip("this PyAV has no H.264 encoder")
    path = tmp_path / "phone.mp4"
    with av.open(str(path), "w") as out:  # H.264 with B-frames: packets come in decode order, not shown order
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for ms, image in zip(PHONE_MS, _images(len(PHONE_MS))):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = ms, Fraction(1, 1000)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    times = recording_times(path)[2]
    decoded = [f.time for f in stream_video(path)]
    assert times is not None and [float(times.pts(f)) for f in range(times.frames)] == pytest.approx(decoded)


def test_a_coder_s_times_on_a_variable_rate_recording_are_the_frames_shown_then(tmp_path, capsys, phone):
    # frames 40..70 are shown from 1.700 s to 3.367 s; at the header's 30 fps those times are frames 51..100
    coded = tmp_path / "phone.txt"
    coded.write_text(f"micro\t\t{PHONE_MS[40] / 1000:.3f}\t{PHONE_MS[71] / 1000:.3f}\t\n")
    spots = write_spotting_csv(tmp_path / "spots.csv", {"phone": [Interval(41, None, 71, "micro")]})
    counts, err = _counts(capsys, coded, spots, "--recording", phone, "--show-frames")
    assert counts["micro"] == (1, 0, 0)
    assert (f"note: --recording '{phone}': its frame times vary (frame 61 is shown at 3.034 s, not at 2.033 s as at "
            "a constant 30 fps), 90 frames: the times are converted with the frames' own times") in err
    assert "1 interval(s) converted at the recording's own frame times" in err
    assert "-> phone onset 41 offset 71 micro" in err
    assert "past the last frame" not in err
    # --fps alone converts at that constant rate, as before
    counts, err = _counts(capsys, coded, spots, "--fps", "30", "--show-frames")
    assert counts["micro"] == (0, 1, 1) and "-> phone onset 52 offset 101 micro" in err


def test_mmnet_spot_s_own_files_of_a_variable_rate_video_read_back_as_its_frames(tmp_path, capsys, monkeypatch,
                                                                               phone):
    import mmnet.infer.recordings as recordings

    spotted = [Interval(a, b, c, kind, score=0.5) for a, b, c, kind in [
        (3, 5, 9, "micro"), (35, 40, 50, "micro"), (55, 58, 64, "micro"), (80, 85, 89, "micro"), (10, 20, 45, "macro")]]
    spot = recordings.spot_and_classify

    def with_intervals(*args, **kwargs):  # the spotter's work on the video, its intervals set here
        result, pairs = spot(*args, **kwargs)
        result.intervals, result.gaps = list(spotted), []
        return result, pairs

    monkeypatch.setattr(recordings, "spot_and_classify", with_intervals)
    out = tmp_path / "spots"
    assert main(["spot", str(phone), "--no-align", "--no-progress", "--out", str(out)]) == 0
    capsys.readouterr()
    eaf = (out / "spots.eaf").read_text()
    assert f'TIME_VALUE="{PHONE_MS[35]}"' in eaf  # the frames' own times, 1.367 s, not 35 / 30 s
    counts, err = _counts(capsys, out / "spotting.csv", out / "spots.eaf", "--recording", phone)
    assert counts == {"micro": (4, 0, 0), "macro": (1, 0, 0), "overall": (5, 0, 0)}, err  # F1 1.0
    counts, _ = _counts(capsys, out / "intervals.csv", out / "spots.eaf", "--recording", phone)
    assert counts == {"micro": (4, 0, 0), "macro": (1, 0, 0), "overall": (5, 0, 0)}


def test_agree_gives_milliseconds_between_the_frames_own_times_on_a_variable_rate_recording(tmp_path, capsys,
                                                                                              phone):
    # A and B disagree by 2 frames at each boundary: onsets 41 and 43 are shown 134 ms apart (15 fps there),
    # offsets 69 and 71 67 ms apart (30 fps again); at the header's 30 fps both would be 67 ms
    a = write_spotting_csv(tmp_path / "A.csv", {"phone": [Interval(41, None, 69, "micro")]})
    b = write_spotting_csv(tmp_path / "B.csv", {"phone": [Interval(43, None, 71, "micro")]})

    def shown_at(frame: int) -> float:  # MEGC's frame f is the video's f - 1
        return PHONE_MS[frame - 1]

    assert main(["agree", str(a), str(b), "--recording", str(phone), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    micro = data["pairs"][0]["types"][0]
    assert micro["onset_ms"]["mean"] == pytest.approx(shown_at(43) - shown_at(41))
    assert micro["offset_ms"]["mean"] == pytest.approx(shown_at(71) - shown_at(69))
    assert micro["onset_ms"]["mean"] != pytest.approx(2 * 1000 / 30)  # not at the header's 30 fps
    assert "own presentation times" in data["ms_from"]
    assert main(["agree", str(a), str(b), "--recording", str(phone)]) == 0
    table = capsys.readouterr().out
    assert "in ms, between the two frames' own presentation times in --recording (its frame rate varies)" in table
    assert f"{shown_at(43) - shown_at(41):+8.1f}" in table
    # a constant-rate recording: at its rate, as before, without a word on frame times
    steady = vfr_video(tmp_path / "steady.mkv", [round(i * 1000 / 30) for i in range(90)], _images(90))
    assert main(["agree", str(a), str(b), "--recording", str(steady), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["pairs"][0]["types"][0]["onset_ms"]["mean"] == pytest.approx(2 * 1000 / 30)
    assert "ms_from" not in data
    assert main(["agree", str(a), str(b), "--recording", str(steady)]) == 0
    assert "in ms at 30 fps" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["score-spots", "agree"])
def test_the_recording_is_opened_once_for_its_rate_count_and_frame_times(tmp_path, capsys, monkeypatch, phone,
                                                                          command):
    av = pytest.importorskip("av")
    opened = []
    real_open = av.open

    def counting(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(av, "open", counting)
    coded = tmp_path / "phone.txt"
    coded.write_text(f"micro\t\t{PHONE_MS[40] / 1000:.3f}\t{PHONE_MS[71] / 1000:.3f}\t\n")
    spots = write_spotting_csv(tmp_path / "spots.csv", {"phone": [Interval(41, None, 71, "micro")]})
    assert main([command, str(coded), str(spots), "--recording", str(phone), "--json"]) == 0
    assert "its frame times vary" in capsys.readouterr().err  # the times were read, from that one opening
    # one opening for the rate, count and frame times, and one for the packets' times alone (no decoding), which the
    # rate the times step at and the search for dropped frames share
    assert opened == [str(phone)] * 2
