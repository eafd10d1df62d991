"""Synthetic long recordings: CAS(ME)^2 layout and workbook, determinism, planted motion, mp4, CLI."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from mmnet.cli import main
from mmnet.errors import ConfigError
from mmnet.synth.face import GENERATOR_VERSION
from mmnet.synth.long import LongConfig, plan_recording, render_frames
from mmnet.synth.long_writer import CASME_SQ_CODING_FILE, write_long_dataset

SMALL = LongConfig(frame_size=(160, 128), face_size=(80, 96))


@pytest.fixture(scope="module")
def small_root(tmp_path_factory):
    return write_long_dataset(tmp_path_factory.mktemp("long") / "set", minutes=0.25, seed=3, config=SMALL,
                              subjects=2, videos_per_subject=2)


def test_layout_and_workbook_follow_casme_sq(small_root):
    from openpyxl import load_workbook

    folders = sorted(p.relative_to(small_root).as_posix() for p in (small_root / "rawpic").glob("*/*"))
    assert folders == ["rawpic/s15/15_0101disgust1", "rawpic/s15/15_0102disgust2",
                       "rawpic/s16/16_0101disgust1", "rawpic/s16/16_0102disgust2"]
    frames = sorted(int(p.stem[3:]) for p in (small_root / folders[0]).glob("img*.jpg"))
    assert frames == list(range(1, 451))  # 15 s at 30 fps, numbered from 1
    wb = load_workbook(small_root / CASME_SQ_CODING_FILE)
    assert wb.sheetnames == ["CASFEcode_final", "naming rule1", "naming rule2"]
    rows = [r for r in wb["CASFEcode_final"].iter_rows(values_only=True)]
    assert rows and all(len(r) == 9 for r in rows)
    assert isinstance(rows[0][0], int) and not isinstance(rows[0][0], bool)  # no header row
    assert {r[7] for r in rows} <= {"micro-expression", "macro-expression"}
    assert {r[6] for r in rows} <= {"negative", "positive", "surprise", "others"}
    assert all(1 <= r[2] <= r[3] <= r[4] <= 450 for r in rows)
    assert [list(r) for r in wb["naming rule2"].iter_rows(values_only=True)][0] == ["0101", "disgust1"]
    rule1 = [list(r) for r in wb["naming rule1"].iter_rows(values_only=True)]
    assert len(rule1) == len(rows) and rule1[0] == [15, "s15", 1]
    meta = json.loads((small_root / "synth.json").read_text())
    assert meta["generator_version"] == GENERATOR_VERSION  # a set drawn by another generator is not reused as this
    planted = [e for e in meta["events"]["15_0101disgust1"] if e["kind"] in ("micro", "macro")]
    assert [(e["onset"], e["apex"], e["offset"]) for e in planted] == [
        (r[2], r[3], r[4]) for r in rows if r[0] == 1 and r[1].startswith("disgust1_")]


def test_same_seed_same_frames_and_motion_only_where_planted():
    config = LongConfig(frame_size=(160, 128), face_size=(80, 96), drift_px=0.0, blinks_per_min=0.0,
                        nuisance=SMALL.nuisance.__class__(0.0, 0.0, 0.0), weights=(1.0, 0.0, 0.0))
    rec = plan_recording(1, 1, 1, 200, config)
    a = np.stack(list(render_frames(1, 1, 1, rec, config)))
    b = np.stack(list(render_frames(1, 1, 1, rec, config)))
    assert a.shape == (200, 128, 160, 3) and np.array_equal(a, b)
    e = rec.expressions[0]
    still = [i for i in range(1, 201) if not e.onset <= i <= e.offset]
    diff = np.abs(a.astype(int) - a[0].astype(int)).mean(axis=(1, 2, 3))
    assert diff[[i - 1 for i in still]].max() < 0.01  # no noise, no drift: still frames are identical
    assert diff[e.apex - 1] > 0.05


def test_plan_respects_lengths_and_no_overlap():
    config = LongConfig()
    rec = plan_recording(0, 1, 1, 30 * 300, config)
    timed = [e for e in rec.events if e.kind != "blink"]
    assert all(a.offset < b.onset for a, b in zip(timed, timed[1:]))
    for e in rec.expressions:
        length = (e.offset - e.onset + 1) / config.fps
        lo, hi = config.macro_s if e.kind == "macro" else config.micro_s
        assert lo - 0.1 <= length <= hi + 0.1
    kinds = {e.kind for e in rec.events}
    assert kinds == {"macro", "micro", "speech", "blink"}


def test_mp4_written_and_readable(tmp_path):
    from mmnet.media import stream_video

    root = write_long_dataset(tmp_path / "v", minutes=0.05, seed=0, config=SMALL, formats=("mp4",))
    video = root / "rawvideo" / "s15" / "15_0101disgust1.mp4"
    frames = list(stream_video(video))
    assert len(frames) == 90 and frames[0].image.shape == (128, 160, 3)
    assert not (root / "rawpic").exists()


def test_mp4_same_seed_same_bytes(tmp_path):
    """The same seed gives the same video, byte for byte, however much the process allocated before."""
    pytest.importorskip("av")
    from mmnet.synth.long_writer import write_video

    frames = list(render_frames(0, 1, 1, plan_recording(0, 1, 1, 90, SMALL), SMALL))
    written = []
    for i in range(4):  # x264's mbtree read uninitialised memory: the 1st-3rd encodes differed in most runs
        write_video(tmp_path / f"{i}.mp4", frames, SMALL.fps)
        written.append((tmp_path / f"{i}.mp4").read_bytes())
        _churn = [bytearray(1 << 20) for _ in range(32)]  # noqa: F841  (memory handed back and reused)
    assert all(w == written[0] for w in written[1:])


def test_cli_long_and_errors(tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["synth", str(out), "--long", "--minutes", "0.02", "--size", "160", "128", "--seed", "2"]) == 0
    assert (out / CASME_SQ_CODING_FILE).is_file() and "wrote 1 recording" in capsys.readouterr().out
    assert main(["synth", str(out), "--long", "--minutes", "0.02"]) == 3  # not empty, no --overwrite
    with pytest.raises(ConfigError, match="videos"):
        write_long_dataset(tmp_path / "x", videos_per_subject=10)


def test_the_long_cli_says_its_progress_in_plain_lines_off_a_terminal(tmp_path, capsys):
    # under nohup or in a pipe it said nothing until the end (bars were for a terminal only)
    assert main(["synth", str(tmp_path / "a"), "--long", "--minutes", "0.02", "--size", "160", "128"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("writing ")]
    assert len(lines) == 12 and re.fullmatch(r"writing \w+: 3/36 frames, .* so far, about .* left", lines[0]), lines
    assert lines[-1].startswith("writing ") and "36/36 frames" in lines[-1] and "left" not in lines[-1]
    assert main(["synth", str(tmp_path / "b"), "--long", "--minutes", "0.02", "--size", "160", "128",
                 "--no-progress"]) == 0
    assert "frames" not in capsys.readouterr().err


def test_frames_at_another_rate_than_casme_sqs_are_refused(tmp_path, capsys):
    # rawpic/ at 60 fps was read by the casme-sq loader at 30 fps: every frame count scaled by fps was off by 2x
    out = tmp_path / "fast"
    assert main(["synth", str(out), "--long", "--fps", "60", "--minutes", "0.02", "--size", "160", "128"]) == 3
    err = capsys.readouterr().err
    assert "--fps 60 with JPEG frames" in err and "30 fps" in err and "--format mp4" in err
    assert not out.exists()
    with pytest.raises(ConfigError, match="--fps 25 with JPEG frames"):
        write_long_dataset(tmp_path / "x", formats=("jpg", "mp4"), config=LongConfig(fps=25.0))
    pytest.importorskip("av")
    assert main(["synth", str(out), "--long", "--fps", "60", "--minutes", "0.02", "--size", "160", "128",
                 "--format", "mp4"]) == 0  # a video carries its own rate
    assert "a 60 fps set has videos alone" in capsys.readouterr().out


def _before(w: int, h: int) -> tuple[int, int]:
    """The face size every frame size got before wide frames kept the face's shape (0.44 W x 0.71 H)."""
    return int(round(w * 0.4375)) // 2 * 2, int(round(h * 0.7083)) // 2 * 2


@pytest.mark.parametrize("size", [(640, 480), (320, 240), (160, 120), (1024, 768), (1440, 1080), (200, 150)])
def test_a_4_3_frame_gets_the_same_face_as_before(size):
    from mmnet.synth.long import face_size_for

    assert face_size_for(size) == _before(*size)  # the default's frames (and the figures drawn from them) unchanged
    assert face_size_for((640, 480)) == LongConfig().face_size == (280, 340)


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720), (854, 480), (480, 640), (1080, 1920)])
def test_a_wide_or_tall_frame_keeps_the_faces_shape(size):
    from mmnet.synth.long import face_size_for

    (w, h), (w0, h0) = face_size_for(size), face_size_for((640, 480))
    assert w / h == pytest.approx(w0 / h0, rel=0.02)  # 16:9 gave 0.44 W x 0.71 H: 840 x 764, too wide to be a face
    assert w <= size[0] and h <= size[1]


def test_the_long_cli_draws_the_face_of_its_frame_size(tmp_path, monkeypatch):
    import mmnet.synth.long_writer as long_writer

    seen = []

    def write(out, *, config, **kwargs):
        seen.append(config)
        raise ConfigError("stop here")

    monkeypatch.setattr(long_writer, "write_long_dataset", write)
    assert main(["synth", str(tmp_path / "hd"), "--long", "--size", "1920", "1080"]) == 3
    assert seen[0].frame_size == (1920, 1080) and seen[0].face_size == (630, 764)


def test_a_size_too_small_suggests_an_even_one_that_an_mp4_takes(tmp_path, capsys):
    """`--size 128 96` suggested 148 111, and an .mp4 of 111 rows crashed in the encoder (H.264 4:2:0 needs even
    sides): the suggestion is even, and an odd size is refused for .mp4 with the size to give instead."""
    import re

    assert main(["synth", str(tmp_path / "small"), "--long", "--size", "128", "96", "--format", "mp4"]) == 3
    w, h = map(int, re.search(r"at least --size (\d+) (\d+)", capsys.readouterr().err).groups())
    assert w % 2 == 0 and h % 2 == 0
    assert main(["synth", str(tmp_path / "odd"), "--long", "--size", str(w + 1), str(h + 1), "--format", "mp4",
                 "--minutes", "0.01"]) == 3
    err = capsys.readouterr().err
    assert "even width and height" in err and f"--size {w + 2} {h + 2}" in err and "Traceback" not in err
    assert not (tmp_path / "odd" / "rawvideo").exists()


def test_the_synthetic_names_are_casme_sqs():
    # `mmnet spot` gives a recording CAS(ME)^2's id by these numbers and codes (data.casme_sq.recording_id)
    from mmnet.data.casme_sq import STIMULUS_CODES, SUBJECT_NUMBERS
    from mmnet.synth.long_writer import STIMULI, SUBJECT_FOLDERS

    assert [code for code, _ in STIMULI] == list(STIMULUS_CODES) and len(SUBJECT_NUMBERS) == 22
    assert SUBJECT_FOLDERS == tuple(f"s{n}" for n in SUBJECT_NUMBERS)



def test_the_planted_expressions_are_a_truth_csv_that_score_spots_reads(small_root, tmp_path, capsys):
    # scoring `mmnet spot` on a synthetic video against what was planted needed --dataset casme-sq, which reads
    # rawpic/ frames that a --format mp4 set has not
    import csv
    import shutil

    from openpyxl import load_workbook

    with open(small_root / "spotting-truth.csv", newline="") as f:
        truth = list(csv.DictReader(f))
    rows = list(load_workbook(small_root / CASME_SQ_CODING_FILE)["CASFEcode_final"].iter_rows(values_only=True))
    video_ids = {1: "0101", 2: "0102"}
    expected = [(f"{14 + r[0]}_{video_ids[int(r[1].split('_')[0][-1])]}", str(r[2]), str(r[4]),
                 "me" if r[7] == "micro-expression" else "mae") for r in rows]
    got = [(t["vid"], t["onset"], t["offset"], t["type"]) for t in truth if t["onset"]]
    assert sorted(got) == sorted(expected) and got
    assert {t["vid"] for t in truth} == {"15_0101", "15_0102", "16_0101", "16_0102"}  # every video listed
    # predictions equal to the planted intervals score F1 1 against it; one shifted far off is a FP and a FN
    predictions = tmp_path / "spotting.csv"
    with open(predictions, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["vid", "onset", "offset", "type"])
        w.writerows(expected[1:] + [(expected[0][0], int(expected[0][2]) + 200, int(expected[0][2]) + 210,
                                     expected[0][3])])
    assert main(["score-spots", str(small_root / "spotting-truth.csv"), str(predictions), "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)
    overall = next(c for c in counts["counts"] if c["type"] == "overall")
    assert (overall["tp"], overall["fp"], overall["fn"]) == (len(expected) - 1, 1, 1), counts
    # --dataset casme-sq on a set of videos alone (no rawpic/) names the command that scores it
    videos_only = tmp_path / "videos-only"
    shutil.copytree(small_root, videos_only, ignore=shutil.ignore_patterns("rawpic"))
    assert main(["score-spots", "--dataset", "casme-sq", "--root", str(videos_only), str(predictions)]) == 3
    assert f"mmnet score-spots {videos_only / 'spotting-truth.csv'} {predictions}" in capsys.readouterr().err


def test_the_long_cli_names_the_scoring_command(tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["synth", str(out), "--long", "--minutes", "0.02", "--size", "160", "128", "--no-progress"]) == 0
    said = capsys.readouterr().out
    assert f"mmnet score-spots {out / 'spotting-truth.csv'} S/spotting.csv" in said
    assert (out / "spotting-truth.csv").is_file()
