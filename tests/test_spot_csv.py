"""One CSV of spotted intervals: `mmnet spot --out DIR`'s intervals.csv and the server's recording CSV
(`GET /api/jobs/{id}/result?format=csv`, after its `source` column) hold the same rows for the same recording:
onset, apex, offset, type, score, label, then one p_<class> column per class of the model."""

import csv
import io
from fractions import Fraction
from types import SimpleNamespace

import pytest

from mmnet.spotting.intervals import CSV_COLUMNS, Interval
from mmnet.spotting.spotter import SpotResult
from mmnet.version import code_digest

HEADER = "onset,apex,offset,type,score,label,onset_s,apex_s,offset_s,note,end_s"


def _result(intervals) -> SpotResult:
    # to_csv reads the intervals only
    return SpotResult("rec.mp4", 30.0, 100, intervals, [], config=None, curves=None)


def test_header_has_one_p_column_per_class_and_none_without_a_model():
    probs = {"surprise": 0.25, "negative": 0.5, "positive": 0.25}  # the model's order, not alphabetical
    micro = Interval(3, 6, 9, "micro", label="negative", score=0.123456789, probabilities=probs)
    macro = Interval(15, None, 26, "macro", score=0.5)
    classified = _result([macro, micro])
    assert classified.to_csv(["surprise", "negative", "positive"]).splitlines() == [
        HEADER + ",p_surprise,p_negative,p_positive",
        "15,,26,macro,0.500000,,0.500,,0.867,,0.900,,,",  # not classified: empty label and p_ cells
        "3,6,9,micro,0.123457,negative,0.100,0.200,0.300,,0.334,0.250000,0.500000,0.250000"]
    # without the class names: the first classified interval's classes, in their order
    assert classified.to_csv() == classified.to_csv(["surprise", "negative", "positive"])
    # no model classified them: no p_ columns
    assert _result([macro]).to_csv().splitlines() == [HEADER, "15,,26,macro,0.500000,,0.500,,0.867,,0.900"]
    assert _result([]).to_csv() == HEADER + "\n" and ",".join(CSV_COLUMNS) == HEADER
    # a model that found no micro interval still names its columns (as the server's CSV does)
    assert _result([macro]).to_csv(["negative", "positive"]).splitlines()[0] == HEADER + ",p_negative,p_positive"


def test_seconds_count_from_the_first_frame_at_the_real_rate():
    # intervals.csv and spot.json gave frame numbers only: the seconds were in the printed table alone
    from types import SimpleNamespace

    folder = SpotResult("frames/", 30000 / 1001, 400, [Interval(5, 35, 305, "macro", score=0.5)], [], config=None,
                        curves=SimpleNamespace(numbers=[5, 6, 7]))  # a folder numbered from 5, at NTSC's 29.97 fps
    record, = folder.interval_records()
    assert (record["onset_s"], record["apex_s"], record["offset_s"], record["end_s"]) == (0.0, 1.001, 10.01, 10.044)
    assert folder.to_csv().splitlines()[1] == "5,35,305,macro,0.500000,,0.000,1.001,10.010,,10.044"


@pytest.mark.slow
def test_cli_intervals_csv_is_the_servers_csv_of_the_same_recording(tmp_path, monkeypatch):
    # the CLI packed the probabilities into one cell ("negative=0.3869;..."), the server wrote p_<class> columns
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    pytest.importorskip("av")

    import mmnet.infer.recordings as recordings
    from mmnet.cli import main
    from mmnet.infer import Predictor
    from mmnet.serve import create_app
    from mmnet.spotting.config import spot_config
    from tests.serve_helpers import (
        CLASSES,
        csv_download,
        local_client,
        make_checkpoint,
        mp4_bytes,
        recording_done,
        synth_frames,
    )

    video = tmp_path / "rec.mp4"
    video.write_bytes(mp4_bytes(synth_frames(n=120, apex=50, seed=2)))  # two micro intervals, no macro
    checkpoint = make_checkpoint(tmp_path / "model")
    # face crops already: no alignment on either side (no dlib, and fast); the server's spotter alike
    assert main(["spot", str(video), "--checkpoint", str(checkpoint), "--no-align", "--no-progress",
                 "--out", str(tmp_path / "out")]) == 0
    cli = (tmp_path / "out" / "intervals.csv").read_text()

    monkeypatch.setattr(recordings, "spot_config", lambda: spot_config("casme2", ["face.mode=none"]))
    with local_client(create_app(Predictor.from_checkpoint(checkpoint)), raise_server_exceptions=False) as c:
        served = csv_download(c.get(recording_done(c, video.read_bytes())["urls"]["csv"]))

    rows = cli.splitlines()
    assert rows[0] == "video,frame_numbering," + HEADER + "".join(f",p_{c}" for c in CLASSES) + ",model_note"
    assert len(rows) >= 2 and all(r.split(",")[5] == "micro" and r.split(",")[7] in CLASSES for r in rows[1:])
    assert all(r.startswith("rec,video_from_0,") for r in rows[1:])
    # the server's CSV is the CLI's with a `source` column (the upload's name) in place of video, by the same writer
    served_rows = list(csv.reader(io.StringIO(served)))
    assert served_rows[0][0] == "source" and len({r[0] for r in served_rows[1:]}) == 1
    cli_rows = list(csv.reader(io.StringIO(cli)))
    assert [r[1:-1] for r in served_rows] == [r[1:-1] for r in cli_rows] and served_rows[0][-1] == "model_note"
    # the model's note last: this untrained checkpoint records nothing of its training, and the CLI says so; the
    # server was given no model information (create_app's default), so it has nothing to say
    assert all("not recorded" in r[-1] for r in cli_rows[1:]) and all(r[-1] == "" for r in served_rows[1:])


def test_spot_out_writes_a_megc_csv_that_score_spots_pools_over_recordings(tmp_path, monkeypatch, capsys):
    import json
    from types import SimpleNamespace

    import mmnet.infer.recordings as recordings
    import mmnet.spotting.timeline as timeline
    from mmnet.cli import main
    from mmnet.spotting.megc_files import write_spotting_csv

    def spotted(source, predictor, config, fps=None, progress=None, on_total=None,
                classify_progress=None, partial=None, **_):  # the spotter's work, faked
        curves = SimpleNamespace(notes=[], numbers=None, strides={})
        return SpotResult(str(source), 30.0, 100, [Interval(10, 14, 20, "micro", score=0.3)], [], config=config,
                          curves=curves), None

    monkeypatch.setattr(recordings, "spot_and_classify", spotted)
    monkeypatch.setattr(timeline, "timeline_png", lambda result: b"png")
    for name in ("15_0101", "15_0102"):
        (tmp_path / f"{name}.mp4").write_bytes(b"a recording")
        out = tmp_path / "spots" / name
        assert main(["spot", str(tmp_path / f"{name}.mp4"), "--no-progress", "--out", str(out)]) == 0
    assert "spotting.csv (MEGC layout, video 15_0102, frames counted from 1" in capsys.readouterr().out
    # MEGC numbers a video's frames as the datasets' frame files, from 1: the video's frames 10-20 (from 0) were
    # written as they were and scored one frame early against the annotations
    assert (tmp_path / "spots" / "15_0101" / "spotting.csv").read_text().splitlines() == [
        "vid,onset,offset,type,score", "15_0101,11,21,me,0.300000"]
    assert "\n15_0101,video_from_0,10,14,20,micro," in (tmp_path / "spots" / "15_0101" / "intervals.csv").read_text()
    frames = tmp_path / "15_0103"
    frames.mkdir()  # a frame folder: the numbers of its file names, as they are
    assert main(["spot", str(frames), "--fps", "30", "--no-progress", "--out", str(tmp_path / "folder")]) == 0
    assert "counted from 1" not in capsys.readouterr().out
    assert (tmp_path / "folder" / "spotting.csv").read_text().splitlines()[1] == "15_0103,10,20,me,0.300000"
    # intervals.csv names its recording and how its frames count (a video's from 0, a folder's by file name):
    # concatenated files lost both, which only spot.json recorded
    intervals = [(tmp_path / d / "intervals.csv").read_text().splitlines() for d in ("spots/15_0101", "folder")]
    assert [rows[1] for rows in intervals] == [
        "15_0101,video_from_0,10,14,20,micro,0.300000,,0.334,0.467,0.667,,0.700",
        "15_0103,file_number,10,14,20,micro,0.300000,,0.334,0.467,0.667,,0.700"]
    assert json.loads((tmp_path / "folder" / "spot.json").read_text())["video"] == "15_0103"
    assert main(["spot", str(frames), "--fps", "30", "--no-progress", "--out", str(tmp_path / "folder"),
                 "--video-id", "dzw_d1"]) == 0
    assert (tmp_path / "folder" / "intervals.csv").read_text().splitlines()[1].startswith("dzw_d1,file_number,")
    capsys.readouterr()
    truth = write_spotting_csv(tmp_path / "truth.csv", {"15_0101": [Interval(10, None, 20, "micro")],
                                                        "15_0102": [Interval(50, None, 60, "micro")]})
    files = [str(p) for p in sorted((tmp_path / "spots").glob("*/spotting.csv"))]
    assert main(["score-spots", str(truth), *files, "--json"]) == 0
    micro = next(r for r in json.loads(capsys.readouterr().out)["counts"] if r["type"] == "micro")
    assert (micro["tp"], micro["fp"], micro["fn"]) == (1, 1, 1)
    assert main(["score-spots", str(truth), files[0], files[0]]) == 3  # one video given twice: refused, named
    assert "'15_0101' is in both" in capsys.readouterr().err
    assert main(["spot", str(tmp_path / "15_0101.mp4"), "--no-progress", "--out", str(tmp_path / "x"),
                 "--video-id", "a,b"]) == 3
    assert "--video-id cannot name the video" in capsys.readouterr().err
    # an id with a space: MEGC's ids hold none, and the MEGC2020 log splits its columns at whitespace
    assert main(["spot", str(tmp_path / "15_0101.mp4"), "--no-progress", "--out", str(tmp_path / "x"),
                 "--video-id", "P01 session 2"]) == 3
    err = " ".join(capsys.readouterr().err.split())
    assert "--video-id 'P01 session 2' cannot name the video in spotting.csv: it holds a space or a tab" in err, err
    assert "Give another with --video-id (e.g. --video-id P01_session_2" in err and "rename the recording" in err
    spaced = tmp_path / "my recording.mp4"
    spaced.write_bytes(b"a recording")
    assert main(["spot", str(spaced), "--no-progress", "--out", str(tmp_path / "y")]) == 3  # the default id too
    err = " ".join(capsys.readouterr().err.split())
    assert "the recording's name ('my recording') cannot name the video in spotting.csv" in err, err
    assert "--video-id my_recording" in err and not (tmp_path / "y" / "spotting.csv").exists()
    assert main(["spot", str(spaced), "--no-progress", "--out", str(tmp_path / "y"), "--video-id", "rec1"]) == 0
    assert (tmp_path / "y" / "spotting.csv").read_text().splitlines()[1].startswith("rec1,")


def test_spot_json_says_which_recording_and_software_gave_its_intervals(tmp_path, monkeypatch, capsys):
    # spot.json held the source's path and the spotter's settings only: nothing tied the intervals to the
    # recording's bytes or to the versions of mmnet and OpenCV (whose optical flow they depend on)
    import hashlib
    import json
    from types import SimpleNamespace

    import mmnet
    import mmnet.infer.recordings as recordings
    import mmnet.spotting.timeline as timeline
    from mmnet.cli import main

    def spotted(source, predictor, config, **kwargs):  # the spotter's work, faked
        curves = SimpleNamespace(notes=[], numbers=None, strides={})
        return SpotResult(str(source), 30.0, 100, [Interval(10, 14, 20, "micro", score=0.3)], [], config=config,
                          curves=curves), None

    monkeypatch.setattr(recordings, "spot_and_classify", spotted)
    monkeypatch.setattr(timeline, "timeline_png", lambda result: b"png")
    video = tmp_path / "15_0101.mp4"
    video.write_bytes(b"a recording")
    assert main(["spot", str(video), "--no-progress", "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    record = json.loads((tmp_path / "out" / "spot.json").read_text())["provenance"]
    assert record["mmnet_version"] == mmnet.__version__ and record["libraries"]["opencv"]
    assert record["mmnet_code_digest"] == code_digest()  # names an installed mmnet, which has no git revision
    assert record["recording"] == {"kind": "video file", "bytes": 11,
                                   "sha256": hashlib.sha256(b"a recording").hexdigest()}
    assert "models" not in record
    folder = tmp_path / "15_0102"
    folder.mkdir()
    (folder / "img1.jpg").write_bytes(b"one")
    (folder / "notes.txt").write_text("not a frame")
    (folder / "._img1.jpg").write_bytes(b"macOS metadata")  # hidden: not a frame, as the spotter reads them
    assert main(["spot", str(folder), "--fps", "30", "--no-progress", "--json"]) == 0
    frames = json.loads(capsys.readouterr().out)["provenance"]["recording"]
    assert frames["kind"] == "frame folder" and (frames["frames"], frames["bytes"]) == (1, 3)
    (folder / "img1.jpg").write_bytes(b"two")  # the same size, other bytes
    assert main(["spot", str(folder), "--fps", "30", "--no-progress", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["provenance"]["recording"]["sha256"] != frames["sha256"]



def test_spot_provenance_is_best_effort_and_hashes_the_weights_a_model_loads(tmp_path):
    import hashlib
    import os
    from pathlib import Path

    from mmnet.spotting.provenance import spot_provenance

    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / "img1.jpg").write_bytes(b"one")
    frames = 2
    try:  # a name that is no UTF-8 (Latin-1 bytes on Linux): encoding it crashed the end of a finished spot
        (Path(os.fsdecode(os.fsencode(folder) + b"/caf\xe9_2.jpg"))).write_bytes(b"two")
    except (OSError, UnicodeError):
        frames = 1  # a file system that refuses such names
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"weights")
    (model / "a_extra.safetensors").write_bytes(b"something else")
    record = spot_provenance(folder, models={"classifier": model, "spotter": tmp_path / "gone.pt"})
    assert record["recording"]["frames"] == frames and "sha256" in record["recording"]
    assert record["models"]["classifier"]["sha256"] == hashlib.sha256(b"weights").hexdigest()
    assert record["models"]["spotter"]["error"].startswith("FileNotFoundError")  # said, not raised


@pytest.mark.parametrize("fps", [30, 60, 120, Fraction(30000, 1001)], ids=["30", "60", "120", "29.97"])
def test_each_written_time_seeks_to_its_own_frame(fps):
    # onset_s was round(frame / fps, 3): 40 / 30 s written 1.333 showed frame 39 in a player (or ELAN, BORIS), which
    # shows the last frame starting at or before the time sought, for a third of the frames at 30 fps (half at 29.97)
    from math import floor

    n = 3000
    folder = SpotResult("frames/", float(fps), n + 1, [Interval(f, f, f, "micro", score=0.5) for f in range(n)], [],
                        config=None, curves=SimpleNamespace(numbers=[0, 1]))
    for f, record in enumerate(folder.interval_records()):
        for frame, written in ((f, record["onset_s"]), (f, record["offset_s"]), (f + 1, record["end_s"])):
            # the time written (exactly, as its decimal text) lies in the frame's span: [start, next frame's start)
            assert Fraction(frame) / fps <= Fraction(f"{written:.3f}") < Fraction(frame + 1) / fps, (frame, written)
            assert floor(written * float(fps) + 1e-6) == frame  # the frame back, as docs/spotting.md says


def test_an_interval_covers_its_last_frame_to_its_end():
    # offset_s is the offset frame's start: 16 frames at 30 fps read onset_s..offset_s = 0.5 s, a micro-expression's
    # limit, though they last 0.533 s; end_s is the end of the offset frame, the exclusive end an annotation needs
    sixteen = SpotResult("rec.mp4", 30.0, 100, [Interval(30, 35, 45, "macro", score=0.5)], [(60, 62)], config=None,
                         curves=None)
    (record,) = sixteen.interval_records()
    assert (record["onset_s"], record["offset_s"], record["end_s"]) == (1.0, 1.5, 1.534)
    (gap,) = sixteen.gap_records()
    assert (gap["first_s"], gap["last_s"], gap["end_s"]) == (2.0, 2.067, 2.1)
    rows = list(csv.DictReader(io.StringIO(sixteen.to_csv())))
    assert [(r["onset_s"], r["offset_s"], r["end_s"]) for r in rows] == [("1.000", "1.500", "1.534"),
                                                                          ("2.000", "2.067", "2.100")]
