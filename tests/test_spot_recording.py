"""A recording's clock (mmnet.spotting.recording): frame numbers that are no frame indices, frames missing from
the numbering, and videos whose frame rate varies."""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest
from PIL import Image

from mmnet.cli import main
from mmnet.errors import DataError
from mmnet.spotting.flow_spotter import open_recording

from .video_helpers import vfr_video


def _frames(n: int, size=(48, 64)) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (*size, 3), dtype=np.uint8) for _ in range(n)]


def _folder(path, numbers, name="img{}.png"):
    path.mkdir()
    for number, image in zip(numbers, _frames(len(numbers), (8, 8))):
        Image.fromarray(image).save(path / name.format(number))
    return path


@pytest.mark.parametrize(("numbers", "name", "shown"), [
    ([1, 2, 99999999999999999999], "img{}.png", "1, 2, 99999999999999999999"),  # hung, then ran out of memory
    ([1, 2, 1000000], "img{}.png", "1, 2, 1000000"),  # 6.8 s and 483 MB for three frames
    ([1700000000000 + 33 * i for i in range(12)], "frame_{}.png",  # named by a timestamp in ms
     "1700000000000, 1700000000033, 1700000000066, ..., 1700000000363"),
])
def test_a_folder_whose_numbers_are_no_frame_indices_is_refused_before_any_frame_is_made(tmp_path, numbers, name,
                                                                                         shown):
    """Each number between two files became a missing frame, without bound: a huge jump in the numbers hung
    `mmnet spot`. More missing numbers than files is refused at once, naming the folder and its numbers."""
    folder = _folder(tmp_path / "frames", numbers, name)
    started = time.monotonic()
    with pytest.raises(DataError) as e:
        open_recording(folder, 30)
    assert time.monotonic() - started < 5
    message = str(e.value)
    assert f"Frame folder '{folder}'" in message and f"numbered {shown}," in message
    assert "must be frame indices" in message and "rename the files" in message


def test_a_folder_with_some_numbers_missing_is_still_read_and_predict_reads_any_numbers(tmp_path):
    """Dropped frames (fewer missing numbers than files) are spotted as before, as gaps; `mmnet predict` reads a
    clip's frames in the order of their numbers, whatever they count, so it takes timestamp names as they are."""
    from mmnet.infer import load_clip

    frames, fps, total = open_recording(_folder(tmp_path / "gap", [1, 2, 3, 5, 6, 9]), 30)
    assert total == 9 and [n for n, image in frames if image is None] == [4, 7, 8]
    stamps = [1700000000000 + 33 * i for i in range(4)]
    assert load_clip(_folder(tmp_path / "ts", stamps, "frame_{}.png")).numbers == stamps


def test_every_other_number_missing_is_said_so_not_blamed_on_the_face(tmp_path, capsys):
    """img2, img4, ..., img40 with --no-align: the note said the face was not found on 19 consecutive frames and
    suggested --no-align, which was given and ran no face detection. It now names the missing numbers."""
    folder = _folder(tmp_path / "gap2", list(range(2, 41, 2)))
    assert main(["spot", str(folder), "--fps", "30", "--no-align", "--no-progress", "--json"]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    unmeasured = [n for n in notes if "motion could be measured" in n]
    assert len(unmeasured) == 2, notes  # macro and micro
    for note in unmeasured:
        assert "19 of the 39 frame numbers 2..40 have no frame (every other number is missing)" in note
        assert "face" not in note and "--no-align" not in note


def _vfr_video(path, times_ms):
    return vfr_video(path, times_ms, _frames(len(times_ms)))


def test_a_variable_frame_rate_video_is_noted_and_a_constant_one_is_not(tmp_path, capsys):
    """60 fps for 40 frames, then 15 fps: every time and window used the average rate, silently. The spot's notes
    now say that the rate varies and to re-encode at a constant rate; a constant rate (ms timestamps rounding
    1/30 s to 33 or 34 ms) says nothing."""
    fast = [round(i * 1000 / 60) for i in range(40)]
    varying = _vfr_video(tmp_path / "vfr.mkv", fast + [fast[-1] + round((i + 1) * 1000 / 15) for i in range(40)])
    steady = _vfr_video(tmp_path / "cfr.mkv", [round(i * 1000 / 30) for i in range(80)])
    args = ["spot", "--no-align", "--no-progress", "--json"]
    assert main([*args, str(varying)]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    (note,) = [n for n in notes if "frame rate varies" in n]
    assert re.match(rf"{re.escape(str(varying))}: the video's frame rate varies \(frame \d+ is shown at [\d.]+ s, "
                    r"not at [\d.]+ s as at a constant 30 fps\)", note), note
    assert "the seconds reported are the frames' own presentation times" in note
    assert "ffmpeg" not in note  # advice that needs no program mmnet does not ship
    assert main([*args, str(steady)]) == 0
    assert not [n for n in json.loads(capsys.readouterr().out)["notes"] if "frame rate" in n]


def test_a_cut_whose_final_frame_alone_is_late_is_not_said_to_vary_but_two_late_frames_are(tmp_path):
    """`ffmpeg -i one.mp4 -t 20 -c copy` ends on one frame stamped 20.13 s instead of 20.03 s, every other frame on
    time: the note said the frame rate varies and the times are off. One frame's time moves no window."""
    on_time = [round(i * 1000 / 30) for i in range(40)]

    def note(times):
        frames, _, _ = open_recording(_vfr_video(tmp_path / f"cut{len(list(tmp_path.iterdir()))}.mkv", times))
        list(frames)
        return frames.note("cut.mkv") or ""

    assert "frame rate varies" not in note(on_time[:-1] + [on_time[-1] + 100])
    assert "frame 38 is shown at 1.37 s, not at 1.27 s" in note(on_time[:-2] + [t + 100 for t in on_time[-2:]])


def test_the_seconds_of_a_variable_frame_rate_video_are_its_frames_presentation_times(tmp_path, capsys):
    """30 fps, then 15 fps, then 30 fps (a phone in dim light): onset_s was frame / 30, 8.76 s for a frame shown at
    9.60 s. The seconds are now the frames' own times, in the JSON, the gaps, intervals.csv and the text table; a
    rate given with --fps replaces the video's clock, and the seconds follow it."""
    from mmnet.commands.spot import format_text
    from mmnet.spotting.config import spot_config
    from mmnet.spotting.intervals import Interval, seek_time
    from mmnet.spotting.spotter import spot_recording

    times = [round(i * 1000 / 30) for i in range(30)]
    times += [times[-1] + round((i + 1) * 1000 / 15) for i in range(30)]
    times += [times[-1] + round((i + 1) * 1000 / 30) for i in range(30)]
    path = _vfr_video(tmp_path / "phone.mkv", times)
    result = spot_recording(path, spot_config("casme2", ["face.mode=none"]))
    result.intervals = [Interval(40, 45, 70, "micro", score=1.0)]
    result.gaps = [(80, 89)]
    data = result.to_dict()
    (interval,) = data["intervals"]
    assert (interval["onset_s"], interval["apex_s"], interval["offset_s"]) == (
        times[40] / 1000, times[45] / 1000, times[70] / 1000)  # 1.633 s, not 40 / 30 = 1.333 s
    assert data["time_base"] == "presentation_time"
    assert interval["end_s"] == times[71] / 1000  # the end of frame 70: frame 71's start
    # frame 89 is the video's last: it ends a frame at the video's rate after its start
    gap_end = seek_time(times[89] / 1000 + 1 / result.fps)
    assert (data["gaps"][0]["first_s"], data["gaps"][0]["last_s"], data["gaps"][0]["end_s"]) == (
        times[80] / 1000, times[89] / 1000, gap_end)
    rows = result.to_csv(video="phone").splitlines()
    assert rows[1].split(",")[8:11] == [f"{times[n] / 1000:.3f}" for n in (40, 45, 70)]
    assert rows[2].split(",")[2:13] == ["80", "", "89", "no_face", "", "", f"{times[80] / 1000:.3f}", "",
                                        f"{times[89] / 1000:.3f}", "no face: not analysed", f"{gap_end:.3f}"]
    assert any(",note," in row and "frame rate varies" in row for row in rows[3:])
    table = format_text(result)
    assert f"{times[40] / 1000:.3f}-{times[71] / 1000:.3f}" in table
    assert f"gap    frames 80-89 ({times[80] / 1000:.3f}-{gap_end:.3f} s): no face, not analysed" in table

    assert main(["spot", "--no-align", "--no-progress", "--fps", "20", "--json", str(path)]) == 0
    given = json.loads(capsys.readouterr().out)
    assert given["time_base"] == "frame_number_over_fps"


def test_a_cut_mp4_is_spotted_up_to_its_cut_with_the_note_of_any_cut_video(tmp_path, capsys):
    """A .mp4 cut short (an interrupted copy) failed the whole spot after its analysis, while a cut .webm or .avi
    ended with the note 'decoded N of M frames': the .mp4 now ends there too, with the decoder's words last."""
    av = pytest.importorskip("av")
    if "libx264" not in av.codecs_available:  # mpeg4's decoder ends quietly on a cut file (the other note)
        pytest.skip("this PyAV has no H.264 encoder")
    full = tmp_path / "full.mp4"
    with av.open(str(full), "w", options={"movflags": "faststart"}) as out:  # the index first, as streamed files
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for image in _frames(90):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: int(full.stat().st_size * 0.5)])
    assert main(["spot", "--no-align", "--no-progress", "--json", str(cut)]) == 0
    data = json.loads(capsys.readouterr().out)
    (note,) = [n for n in data["notes"] if "truncated" in n]  # one note, not the decoder's and the spot's
    assert note.startswith(f"{cut}: decoded {data['frames']} of 90 frames: the file may be truncated; re-encode or "
                           "copy it again (the decoder said: "), note


def test_a_frame_without_a_time_gets_one_between_its_neighbours():
    """A frame that could not be decoded has no time of its own: between its neighbours', and past the last frame
    with a time, on at the rate; without times (a frame folder), number / fps from the first frame."""
    from mmnet.spotting.flow_spotter import MotionCurves

    curves = MotionCurves(30.0, np.arange(5), {}, (), {}, times=np.array([0.0, np.nan, 0.2, 0.3, np.nan]))
    assert [round(curves.seconds(n), 3) for n in range(5)] == [0.0, 0.1, 0.2, 0.3, 0.333]
    assert curves.time_base == "presentation_time"
    folder = MotionCurves(30.0, np.arange(5, 10), {}, (), {})
    assert (folder.seconds(8), folder.time_base) == (0.1, "frame_number_over_fps")
