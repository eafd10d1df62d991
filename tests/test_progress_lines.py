"""Lines a library caller silenced (progress=False) are not lost: they become INFO records."""

import logging

import pytest

from mmnet.progress import lines_silenced, write_line


def test_silenced_lines_go_to_the_progress_logger_not_stderr(capsys, caplog):
    with caplog.at_level(logging.INFO, logger="mmnet.progress"), lines_silenced():
        write_line("SLURM: 3 fold job(s) submitted (123); logs in /x")
    assert capsys.readouterr().err == ""
    assert [r.getMessage() for r in caplog.records if r.name == "mmnet.progress"] == [
        "SLURM: 3 fold job(s) submitted (123); logs in /x"]


def test_lines_are_written_to_stderr_when_not_silenced(capsys, caplog):
    with caplog.at_level(logging.INFO, logger="mmnet.progress"):
        write_line("[fold 1/2] done")
    assert capsys.readouterr().err == "[fold 1/2] done\n"
    assert not [r for r in caplog.records if r.name == "mmnet.progress"]


def test_frame_lines_without_a_terminal_say_the_time_spent_and_left(capsys, monkeypatch):
    # a long recording spotted under nohup: "spotting a.mp4: 2700/5400 frames" said nothing of when it would end
    import mmnet.progress as progress
    from mmnet.progress import FrameProgress

    clock = iter(range(0, 1000, 10))  # 10 s between readings of the clock
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    frames = FrameProgress("a.mp4")
    frames.start(100)
    for _ in range(5):
        frames(10)
    assert capsys.readouterr().err.splitlines() == [
        "spotting a.mp4: 10/100 frames, 10 s so far, about 1m30s left",
        "spotting a.mp4: 20/100 frames, 20 s so far, about 1m20s left",
        "spotting a.mp4: 30/100 frames, 30 s so far, about 1m10s left",
        "spotting a.mp4: 40/100 frames, 40 s so far, about 1m00s left",
        "spotting a.mp4: 50/100 frames, 50 s so far, about 50 s left"]


def test_the_second_pass_of_spot_checkpoint_has_its_own_lines(capsys, monkeypatch):
    # the intervals' frames decoded again to classify them: over a minute without a line after "5400/5400 frames"
    import mmnet.progress as progress
    from mmnet.progress import FrameProgress

    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    reading = FrameProgress("a.mp4", doing="classifying")
    for read in range(1, 41):  # counted from the pass's start, frame after frame
        reading.reached(read, 40)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 10 and lines[0] == "classifying a.mp4: 4/40 frames, 10 s so far, about 1m30s left"
    assert lines[-1] == "classifying a.mp4: 40/40 frames, 1m40s so far"


def test_spot_checkpoint_reports_the_classifying_pass(tmp_path, capsys):
    pytest.importorskip("av")
    from mmnet.cli import main
    from tests.serve_helpers import make_checkpoint, mp4_bytes, synth_frames

    video = tmp_path / "rec.mp4"
    video.write_bytes(mp4_bytes(synth_frames(n=120, apex=50, seed=2)))  # two micro intervals
    checkpoint = make_checkpoint(tmp_path / "model")
    assert main(["spot", str(video), "--checkpoint", str(checkpoint), "--no-align"]) == 0
    err = capsys.readouterr().err
    assert "spotting rec.mp4: 120/120 frames" in err and "classifying rec.mp4: " in err, err


def _resumed(monkeypatch, *, bars: bool):
    """A spotting resumed after 50 of 100 frames: the 50 are passed in 5 s (decoded, not measured), then this run
    measures a frame a second, up to frame 60."""
    import tqdm.std

    import mmnet.progress as progress
    from mmnet.progress import FrameProgress

    now = [0.0]
    monkeypatch.setattr(progress.time, "perf_counter", lambda: now[0])
    monkeypatch.setattr(tqdm.std, "time", lambda: now[0])
    monkeypatch.setattr(progress, "bars_wanted", lambda wanted: bars and wanted)
    frames = FrameProgress("a.mp4")
    frames.start(100, before=50)
    for _ in range(50):
        now[0] += 0.1
        frames(1)
    for _ in range(10):
        now[0] += 1.0
        frames(1)
    return frames


def test_a_resumed_spotting_tells_the_time_left_from_this_runs_pace(capsys, monkeypatch):
    # the frames measured before were counted as done at this run's pace: 60 frames in 15 s promised 25 s left
    _resumed(monkeypatch, bars=False)
    assert capsys.readouterr().err.splitlines() == ["spotting a.mp4: 60/100 frames, 15 s so far, about 40 s left"]


def test_a_resumed_spotting_bar_starts_at_the_frames_measured_before_with_this_runs_rate(capsys, monkeypatch):
    frames = _resumed(monkeypatch, bars=True)
    bar = frames.bar
    assert (bar.n, bar.initial, bar.total) == (60, 50, 100) and bar.desc == "spotting a.mp4"
    assert bar.format_dict["rate"] == pytest.approx(1.0) and "<00:40" in str(bar)
    frames.close()
    assert "resuming a.mp4: passing the frames measured before" in capsys.readouterr().err
