"""The training-free optical-flow spotter: curves -> intervals, planted expressions found, gaps, config, CLI."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from mmnet.cli import main
from mmnet.commands.spot_out import check_out_folder
from mmnet.errors import ConfigError, DataError, PreprocessError
from mmnet.spotting.config import PRESETS, spot_config
from mmnet.spotting.flow_spotter import centre_pairs, extract_motion
from mmnet.spotting.intervals import seek_time
from mmnet.spotting.peaks import find_peaks, smooth, spot_intervals
from mmnet.synth.long import LongConfig, plan_recording, recording_face, render_frames
from mmnet.synth.long_writer import write_long_dataset

pytest.importorskip("cv2")
face_extra = pytest.mark.skipif(
    __import__("importlib").util.find_spec("dlib") is None, reason="needs the face extra (dlib)")

# A face large enough for dlib's HOG (>= 80 px), small frames so the test stays fast.
SMALL = LongConfig(frame_size=(320, 240), face_size=(140, 170))


def _iou(a, b) -> float:
    inter = min(a[1], b[1]) - max(a[0], b[0]) + 1
    return max(inter, 0) / (max(a[1], b[1]) - min(a[0], b[0]) + 1)


def _recall(truth, predicted) -> float:
    return sum(max([_iou(t, p) for p in predicted] or [0]) >= 0.5 for t in truth) / len(truth)


def test_peaks_smoothing_and_config_basics():
    x = np.array([0, 1, 0, 0, 5, 0, 0, 4, 0, 3, 0], float)
    assert find_peaks(x, 2.0, 3) == [4, 7]  # 9 is within 3 of the higher 7
    y = np.array([1.0, np.nan, 3.0, 3.0])
    s = smooth(y, 3)
    assert np.isnan(s[1]) and s[0] == 1.0 and s[2] == 3.0  # NaN frames stay NaN, are left out of means
    c = spot_config("samm", ["macro.p=0.3", "face.mode=none", "flow=farneback"])
    assert (c.macro.k, c.macro.p, c.face.mode, c.flow, c.fps_reference) == (174, 0.3, "none", "farneback", 200.0)
    assert c.frames_at(c.micro.k, 100.0) == 18  # 37 frames at 200 fps = 18.5 at 100 fps
    with pytest.raises(ConfigError, match="macro.q"):
        spot_config("casme2", ["macro.q=1"])
    with pytest.raises(ConfigError, match="must be of type int"):
        spot_config("casme2", ["micro.k=fast"])
    from mmnet.commands import spot

    assert spot.PRESETS == tuple(PRESETS)


def _spot_planted(seconds: float, seed: int, config: LongConfig, overrides=()):
    frames = round(seconds * config.fps)
    rec = plan_recording(seed, 1, 1, frames, config)
    stream = ((i, f) for i, f in enumerate(render_frames(seed, 1, 1, rec, config), 1))
    cfg = spot_config("casme2", list(overrides))
    curves = extract_motion(stream, config.fps, cfg)
    intervals, _ = spot_intervals(curves, cfg)
    return rec, curves, intervals


@face_extra
@pytest.mark.slow
def test_finds_planted_macro_expressions_far_above_evenly_spaced_intervals():
    config = LongConfig(frame_size=(320, 240), face_size=(140, 170), weights=(0.6, 0.3, 0.1))
    rec, curves, intervals = _spot_planted(60, 11, config)
    truth = [(e.onset, e.offset) for e in rec.expressions if e.kind == "macro"]
    found = [(i.onset, i.offset) for i in intervals if i.type == "macro"]
    assert len(truth) >= 5 and not curves.gaps
    recall = _recall(truth, found)
    # Baseline: as many intervals as the spotter gave, of the planted mean length, evenly spaced.
    n, length = max(len(found), 1), int(np.mean([b - a + 1 for a, b in truth]))
    starts = np.linspace(1, rec.frames - length, n).astype(int)
    baseline = _recall(truth, [(s, s + length - 1) for s in starts])
    # Some planted macro-expressions are faint (e.g. AU24 at 2 px); the spotter must find most of the rest.
    assert recall >= 0.5, (recall, truth, found)
    assert recall >= baseline + 0.3, (recall, baseline)
    precision = sum(max(_iou(p, t) for t in truth) >= 0.5 for p in found) / len(found)
    assert precision >= 0.4, (precision, truth, found)


@face_extra
def test_one_macro_expression_found_and_still_face_gives_nothing():
    config = LongConfig(frame_size=(320, 240), face_size=(140, 170), weights=(1.0, 0.0, 0.0), blinks_per_min=0.0,
                        macro_s=(1.0, 1.5), gap_s=(3.0, 3.0))
    rec, curves, intervals = _spot_planted(7, 0, config)
    (macro,) = [e for e in rec.expressions]
    found = [(i.onset, i.offset) for i in intervals if i.type == "macro"]
    assert _recall([(macro.onset, macro.offset)], found) == 1.0, (macro, found)
    assert all(_iou((macro.onset, macro.offset), f) > 0 for f in found)  # nothing spotted where the face is still


@face_extra
@pytest.mark.slow
def test_face_lost_mid_video_is_a_gap_and_no_face_is_an_error():
    config = LongConfig(frame_size=(320, 240), face_size=(140, 170), blinks_per_min=0.0, weights=(1.0, 0.0, 0.0))
    rec = plan_recording(0, 1, 1, 240, config)
    _, background = recording_face(0, 1, config)
    empty = np.full((240, 320, 3), np.uint8(np.median(background[:8, :8])), np.uint8)

    def stream():
        for i, f in enumerate(render_frames(0, 1, 1, rec, config), 1):
            yield i, (empty if 100 <= i <= 140 else f)

    cfg = spot_config("casme2")
    curves = extract_motion(stream(), 30.0, cfg)
    assert len(curves.gaps) == 1
    first, last = curves.gaps[0]
    assert 70 <= first <= 100 and 140 <= last <= 170  # the frames between the checks around the loss
    inside = (curves.numbers >= first) & (curves.numbers <= last)
    assert np.isnan(curves.scores["micro"][inside]).all()
    intervals, _ = spot_intervals(curves, cfg)
    assert all(i.offset < first or i.onset > last for i in intervals)
    with pytest.raises(PreprocessError, match="no face found"):
        extract_motion(((i, empty) for i in range(1, 40)), 30.0, cfg, source="empty.mp4")


def test_no_align_mode_runs_on_face_crops():
    config = LongConfig(frame_size=(140, 170), face_size=(140, 170), weights=(1.0, 0.0, 0.0), blinks_per_min=0.0,
                        macro_s=(1.0, 1.5), gap_s=(3.0, 3.0))
    rec, curves, intervals = _spot_planted(7, 0, config, ["face.mode=none"])
    (macro,) = rec.expressions
    assert _recall([(macro.onset, macro.offset)], [(i.onset, i.offset) for i in intervals]) == 1.0


def test_video_frames_are_counted_from_zero(tmp_path, capsys):
    """`mmnet spot VIDEO --json` numbers a video's frames from 0: the same pixels as a folder named img1..imgN
    give the same intervals, one lower, and the planted macro-expression (synth frame n = video frame n - 1)."""
    av = pytest.importorskip("av")
    from PIL import Image

    from mmnet.media import stream_video

    config = LongConfig(frame_size=(140, 170), face_size=(140, 170), weights=(1.0, 0.0, 0.0), blinks_per_min=0.0,
                        macro_s=(1.0, 1.5), gap_s=(3.0, 3.0))
    rec = plan_recording(0, 1, 1, 210, config)
    (macro,) = rec.expressions  # frames counted from 1, as the synthetic dataset names them (img1.jpg)
    video = tmp_path / "recording.mkv"
    with av.open(str(video), "w") as container:
        stream = container.add_stream("ffv1", rate=30)
        stream.width, stream.height, stream.pix_fmt = 140, 170, "yuv444p"
        for f in render_frames(0, 1, 1, rec, config):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        container.mux(stream.encode(None))
    folder = tmp_path / "frames"
    folder.mkdir()
    for frame in stream_video(video):  # the decoded pixels, named as a dataset names its frames (from 1)
        Image.fromarray(frame.image).save(folder / f"img{frame.index + 1}.png")
    assert main(["spot", str(video), "--json", "--no-progress", "--no-align"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["frames"] == 210 and "counted from 0" in data["frame_numbering"]
    assert main(["spot", str(folder), "--fps", "30", "--json", "--no-progress", "--no-align"]) == 0
    named = json.loads(capsys.readouterr().out)
    spans = [(i["onset"], i["apex"], i["offset"]) for i in data["intervals"]]
    assert spans and spans == [(i["onset"] - 1, i["apex"] - 1, i["offset"] - 1) for i in named["intervals"]]
    assert all(0 <= a <= b <= c <= 209 for a, b, c in spans)
    truth = (macro.onset - 1, macro.offset - 1)
    assert max(_iou(truth, (a, c)) for a, _, c in spans) >= 0.5, (truth, spans)
    # the table's legend says which numbering its frames follow
    assert main(["spot", str(video), "--no-progress", "--no-align"]) == 0
    assert "frame numbers (a video's first frame is 0)" in capsys.readouterr().out
    assert main(["spot", str(folder), "--fps", "30", "--no-progress", "--no-align"]) == 0
    assert "frame numbers (the numbers in the frames' file names)" in capsys.readouterr().out
    # --fps 0 is refused for a video as for a folder (it was read as "not given" and the video's rate used)
    for fps in ("0", "-30", "nan"):
        assert main(["spot", str(video), "--fps", fps, "--no-progress", "--no-align"]) == 3
        assert "fps must be a frame rate in (0, 10000]" in capsys.readouterr().err


@face_extra
@pytest.mark.slow
def test_cli_json_csv_figure_and_errors(tmp_path, capsys):
    root = write_long_dataset(tmp_path / "set", minutes=0.1, seed=2, config=SMALL, formats=("jpg", "mp4"))
    video = root / "rawvideo" / "s15" / "15_0101disgust1.mp4"
    assert main(["spot", str(video), "--json", "--no-progress", "--out", str(tmp_path / "out")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["fps"] == 30.0 and data["frames"] == 180 and "counted from 0" in data["frame_numbering"]
    assert data["gaps"] == [] and set(data["thresholds"]) == {"micro", "macro"}
    # the flow spotter's config as it ran: the learned spotter's training settings (lr, epochs) are not its own
    assert data["config"]["method"] == "flow" and "learned" not in data["config"] and "micro" in data["config"]
    for i in data["intervals"]:
        assert set(i) == {"onset", "apex", "offset", "type", "score", "label", "probabilities", "onset_s", "apex_s",
                          "offset_s", "end_s"}
        assert 0 <= i["onset"] <= i["apex"] <= i["offset"] <= 179 and i["type"] in ("micro", "macro")
        assert i["onset_s"] == seek_time(i["onset"] / 30) and i["offset_s"] == seek_time(i["offset"] / 30)
        assert i["end_s"] == seek_time((i["offset"] + 1) / 30)
    # no --checkpoint: no model classified the intervals, so no p_<class> columns
    assert (tmp_path / "out" / "intervals.csv").read_text().splitlines()[0] == \
        "video,frame_numbering,onset,apex,offset,type,score,label,onset_s,apex_s,offset_s,note,end_s"
    assert (tmp_path / "out" / "timeline.png").stat().st_size > 10_000
    from tests.test_spot_elan import check_eaf

    tiers = check_eaf((tmp_path / "out" / "spots.eaf").read_bytes())  # ELAN's, with the JSON's spans
    assert sorted(begin for spans in tiers.values() for begin, _, _ in spans) == sorted(
        round(i["onset_s"] * 1000) for i in data["intervals"])
    folder = root / "rawpic" / "s15" / "15_0101disgust1"
    assert main(["spot", str(folder), "--no-progress"]) == 3
    assert "--fps" in capsys.readouterr().err
    # another recording into the same --out: refused before it is read, the first one's results kept
    first = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    assert main(["spot", str(folder), "--fps", "30", "--json", "--no-progress", "--out", str(tmp_path / "out")]) == 3
    err = capsys.readouterr().err
    assert f"holds the results of {video}" in err and f"--out {tmp_path / 'out' / '15_0101'}/" in err
    assert "--overwrite" in err
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == first
    # the same recording by another path (a link) is rerun in place, as ever
    (tmp_path / "link.mp4").symlink_to(video)
    check = argparse.Namespace(out=tmp_path / "out", source=tmp_path / "link.mp4", overwrite=False)
    check_out_folder(check, "link")
    assert main(["spot", str(folder), "--fps", "30", "--json", "--no-progress", "--out", str(tmp_path / "out"),
                 "--overwrite"]) == 0
    out, err = capsys.readouterr()
    from_folder = json.loads(out)
    assert from_folder["frames"] == 180
    # seconds from the folder's first frame, img1.jpg, as the table counts them
    assert all(i["apex_s"] == seek_time((i["apex"] - 1) / 30) for i in from_folder["intervals"])
    # --overwrite: replaced, and said
    assert f"held the results of {video}; they are replaced" in err
    assert json.loads((tmp_path / "out" / "spot.json").read_text())["source"] == str(folder)
    assert main(["spot", str(folder), "--fps", "30", "--json", "--no-progress", "--out", str(tmp_path / "out")]) == 0
    assert "replaced" not in capsys.readouterr().err  # the same recording again: nothing to say
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    assert main(["spot", str(bad), "--no-progress"]) == 3
    assert "broken.mp4" in capsys.readouterr().err


def test_checkpoint_labels_micro_intervals_only(tmp_path):
    from types import SimpleNamespace

    from mmnet.infer import Predictor
    from mmnet.infer.recordings import classify_micro
    from mmnet.spotting.intervals import Interval
    from tests.test_inference import CLASSES, make_checkpoint

    root = write_long_dataset(tmp_path / "set", minutes=0.02, seed=0, config=LongConfig(frame_size=(96, 96),
                              face_size=(80, 90)), formats=("jpg", "mp4"))
    make_checkpoint(tmp_path / "ckpt")
    predictor = Predictor.from_checkpoint(tmp_path / "ckpt")
    for source in (root / "rawvideo" / "s15" / "15_0101disgust1.mp4", root / "rawpic" / "s15" / "15_0101disgust1"):
        result = SimpleNamespace(source=str(source), intervals=[Interval(3, 8, 12, "micro", score=1.0),
                                                                Interval(14, 20, 30, "macro", score=1.0)])
        calls = []
        pairs = classify_micro(result, predictor, None, draw=2, progress=lambda *read, calls=calls: calls.append(read))
        micro, macro = result.intervals  # recognised intervals are new records (Interval is immutable)
        assert micro.label in CLASSES and abs(sum(micro.probabilities.values()) - 1) < 1e-4
        assert macro.label is None and macro.probabilities is None
        assert sorted(pairs) == [0, 1] and pairs[0][0].shape == (96, 96, 3)  # the images classified, then drawn
        # the second pass is reported frame by frame: a video decodes every frame up to the last apex (20), a
        # folder reads the four frames needed (it was minutes of silence on a long recording)
        read = [(k, 21) for k in range(1, 22)] if source.suffix == ".mp4" else [(k, 4) for k in range(1, 5)]
        assert calls == read


def test_read_pairs_crops_each_pair_at_its_onset_and_names_a_faceless_onset(tmp_path):
    from PIL import Image

    from mmnet.errors import DataError
    from mmnet.infer.recordings import read_pairs

    for n in range(1, 7):  # frame n is filled with the value n
        Image.fromarray(np.full((4, 4, 3), n, np.uint8)).save(tmp_path / f"img{n}.png")

    class Aligner:  # frame 3 shows no face; a crop remembers the onset it was estimated on
        def estimate(self, image):
            onset = int(image[0, 0, 0])
            if onset == 3:
                raise PreprocessError("no face found")
            return type("Alignment", (), {"apply": lambda self, im: np.full((2, 2, 3), 10 * onset + im[0, 0, 0])})()

    (on, ap), faceless = read_pairs(tmp_path, [(1, 4), (3, 5)], Aligner(), optional=[1])
    assert on[0, 0, 0] == 11 and ap[0, 0, 0] == 14 and on.shape == (2, 2, 3) and faceless is None
    with pytest.raises(PreprocessError, match="onset frame 3: no face found"):
        read_pairs(tmp_path, [(3, 5)], Aligner())
    with pytest.raises(DataError, match=r"Apex frame 9 is not in recording .*numbered 1\.\.6, 6 frames"):
        read_pairs(tmp_path, [(2, 9)])


@pytest.mark.parametrize("fps", [None, "30"])
def test_a_file_that_is_no_video_says_it_cannot_be_decoded(tmp_path, capsys, fps):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    args = ["spot", str(bad), "--no-progress", "--no-align"] + (["--fps", fps] if fps else [])
    assert main(args) == 3
    err = capsys.readouterr().err
    assert "bad.mp4" in err and ("cannot be decoded" in err or "cannot be opened" in err), err
    assert "frame rate" not in err  # the decoding problem, not the missing rate, whether or not --fps is given


def _strict_json(text: str):
    """JSON as a strict parser reads it: Infinity and NaN (Python's json extensions) are errors."""
    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_a_recording_shorter_than_the_macro_window_says_so_in_valid_json(tmp_path, capsys):
    # a 14-frame clip (one micro-expression) spotted as a recording printed "macro": Infinity, which no JSON
    # reader takes (the server answered 500 on it)
    pytest.importorskip("av")
    from tests.serve_helpers import mp4_bytes, synth_frames

    clip = tmp_path / "clip.mp4"
    clip.write_bytes(mp4_bytes(synth_frames(n=14, apex=7)))
    args = ["spot", str(clip), "--no-progress", "--no-align"]
    assert main([*args, "--json", "--out", str(tmp_path / "out")]) == 0
    for data in (_strict_json(capsys.readouterr().out), _strict_json((tmp_path / "out" / "spot.json").read_text())):
        assert data["thresholds"]["macro"] is None and data["thresholds"]["micro"] > 0
        assert not [i for i in data["intervals"] if i["type"] == "macro"]
        (note,) = data["notes"]
        assert note.startswith("the recording (14 frames) is shorter than the macro-expression window (19 frames")
        assert "mmnet predict" in note
    assert main(args) == 0
    assert f"note: {clip}: the recording (14 frames) is shorter than the macro" in capsys.readouterr().out


def test_an_interval_whose_onset_is_its_apex_is_listed_not_classified(tmp_path, capsys):
    # after a face gap the onset can be shrunk onto the apex: the pair is one frame twice, zero motion, and it was
    # given a class and a probability as if it showed an expression
    from types import SimpleNamespace

    from PIL import Image

    from mmnet.commands.spot import format_text
    from mmnet.infer import Predictor
    from mmnet.infer.recordings import SAME_FRAME, classify_micro
    from mmnet.spotting.intervals import Interval, intervals_csv, with_seconds
    from tests.serve_helpers import CLASSES, make_checkpoint, synth_frames

    for n, image in enumerate(synth_frames(n=20, apex=10), start=1):
        Image.fromarray(image).save(tmp_path / f"img{n}.png")
    predictor = Predictor.from_checkpoint(make_checkpoint(tmp_path / "model"))
    intervals = [Interval(2, 8, 12, "micro", score=1.0), Interval(14, 14, 19, "micro", score=1.0)]
    result = SimpleNamespace(source=str(tmp_path), fps=30.0, frames=20, gaps=[], curves=None, intervals=intervals)
    classify_micro(result, predictor, None)
    moving, still = result.intervals
    assert moving.label in CLASSES and moving.note is None
    assert still.label is None and still.probabilities is None and still.note == SAME_FRAME
    # short, and no gap blamed where there is none
    assert "gap" not in SAME_FRAME and "face" not in SAME_FRAME and len(SAME_FRAME) <= 120
    assert "first frame" in SAME_FRAME and "zero" in SAME_FRAME and "not classified" in SAME_FRAME
    # a gap without a face that ends within the flow stride before the onset is named
    for gaps, named in (([(10, 12)], True), ([(2, 5)], False), ([(16, 17)], False)):
        near = SimpleNamespace(source=str(tmp_path), fps=30.0, frames=20, gaps=gaps, intervals=intervals[1:],
                               curves=SimpleNamespace(strides={"micro": 1, "macro": 2}))
        classify_micro(near, predictor, None)
        note = near.intervals[0].note
        assert note.startswith("the motion peaks at the interval's first frame") and "not classified" in note
        assert (f"just after frames {gaps[0][0]}-{gaps[0][1]} without a face" in note) == named, (gaps, note)
    records = [with_seconds(i.to_dict(), 30.0, 1) for i in result.intervals]  # the folder's first frame: img1
    assert "note" not in records[0] and records[1]["note"] == SAME_FRAME
    # the note says why in the CSV too, in its own column
    row = f'14,14,19,micro,1.000000,,0.434,0.434,0.600,"{SAME_FRAME}",0.634,,,'  # seconds rounded up: end_s
    assert intervals_csv(records, CLASSES).splitlines()[2] == row
    assert f"note: the micro interval 14-19 is not classified: {SAME_FRAME}" in format_text(result)


def test_spotted_intervals_are_classified_by_one_rule_from_images_or_a_frame_reader():
    """``mmnet spot --checkpoint`` (the server too) hands classify_intervals the images it read, spot then recognise
    a reader of a dataset's frames: the same classes, the same zero-motion note, macro-expressions untouched, and the
    reader called only for the micro intervals it classifies, a batch at a time."""
    import numpy as np

    from mmnet.infer.recordings import SAME_FRAME, classify_intervals
    from mmnet.spotting.intervals import Interval

    class Predictor:
        class_names = ("negative", "positive")
        batches: list[int] = []

        def predict_frames(self, onsets, apexes):
            Predictor.batches.append(len(onsets))
            return np.array([[0.25, 0.75] if a.mean() > o.mean() else [0.6, 0.4] for o, a in zip(onsets, apexes)])

    intervals = [Interval(k, k + 2, k + 4, "micro", score=1.0) for k in range(20)]
    intervals += [Interval(30, 30, 34, "micro", score=1.0), Interval(40, 45, 50, "macro", score=1.0)]
    images = {k: (np.zeros((4, 4, 3), np.uint8), np.full((4, 4, 3), k % 2, np.uint8)) for k in range(20)}
    read: list[int] = []
    by_images = classify_intervals(intervals, images, Predictor())
    by_reader = classify_intervals(intervals, lambda k: read.append(k) or images[k], Predictor())
    assert by_images == by_reader and sorted(read) == list(range(20)) and Predictor.batches == [16, 4, 16, 4]
    assert [i.label for i in by_images[:2]] == ["negative", "positive"]
    assert by_images[1].probabilities == {"negative": 0.25, "positive": 0.75}
    assert (by_images[20].label, by_images[20].note) == (None, SAME_FRAME) and by_images[21] == intervals[21]


def test_a_truncated_video_is_spotted_with_a_note_naming_both_counts(tmp_path, capsys):
    # an MJPG avi cut to half its bytes keeps its header (60 frames) while only about 30 decode: it was spotted as
    # if complete, with no note
    import cv2

    config = LongConfig(frame_size=(140, 170), face_size=(140, 170), weights=(1.0, 0.0, 0.0), blinks_per_min=0.0)
    rec = plan_recording(0, 1, 1, 60, config)
    full = tmp_path / "full.avi"
    writer = cv2.VideoWriter(str(full), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (140, 170))
    for frame in render_frames(0, 1, 1, rec, config):
        writer.write(np.ascontiguousarray(frame[:, :, ::-1]))
    writer.release()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    args = ["spot", "--no-progress", "--no-align"]
    assert main([*args, str(full), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["notes"] == []  # a complete file: nothing to say
    assert main([*args, str(cut), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert 20 <= data["frames"] <= 40
    # the macro-expression window's smoothing spans the whole second decoded: its score is flat, said after the cut
    note, flat = data["notes"]
    assert flat.startswith("the macro-expression score is the same") and data["intervals"] == []
    assert note == (f"{cut}: decoded {data['frames']} of 60 frames: the file may be truncated; re-encode or copy it "
                    "again")
    assert main([*args, str(cut)]) == 0
    assert f"note: {note}\n" in capsys.readouterr().out + "\n"


def test_frames_missing_from_a_folder_are_measured_as_gaps_and_noted(tmp_path, capsys):
    # img30, img31 and img45 missing: the pairs were formed by list position, so a k-frame pair spanned the hole
    from PIL import Image

    from mmnet.spotting.flow_spotter import open_recording

    config = LongConfig(frame_size=(140, 170), face_size=(140, 170), weights=(1.0, 0.0, 0.0), blinks_per_min=0.0)
    rec = plan_recording(0, 1, 1, 60, config)
    for n, frame in enumerate(render_frames(0, 1, 1, rec, config), start=1):
        if n not in (30, 31, 45):
            Image.fromarray(frame).save(tmp_path / f"img{n}.png")
    spot = spot_config("casme2", ["face.mode=none"])
    frames, fps, total = open_recording(tmp_path, 30)
    curves = extract_motion(frames, fps, spot, source=str(tmp_path))
    assert total == 60 and list(curves.numbers) == list(range(1, 61)) and curves.frames_read == 57
    assert curves.missing == [(30, 31), (45, 45)] and curves.gaps == []
    k = curves.strides["micro"]
    half = k // 2
    measured = ~np.isnan(curves.scores["micro"]).all(axis=1)
    for pos, number in enumerate(curves.numbers):  # a score sits at its pair's middle: the pair ends at number + half
        first, last = number + half - k, number + half
        touches = any(first <= m <= last for m in (30, 31, 45))
        if touches:
            assert not measured[pos], number
    assert measured.any()
    (note,) = curves.notes
    assert note.startswith(f"{tmp_path}: 3 frame(s) missing from the numbering (frames 30-31, 45)")
    assert main(["spot", str(tmp_path), "--fps", "30", "--json", "--no-progress", "--no-align"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["frames"] == 57 and data["notes"][0] == note
    # two seconds: the macro-expression window's smoothing spans all its scores, one value, no interval
    (flat,) = data["notes"][1:]
    assert flat.startswith("the macro-expression score is the same (") and flat.endswith(
        ") on all 11 frame(s) scored: no frame stands out, so no macro-expression is spotted")


def test_a_score_is_moved_to_its_pairs_middle_for_every_recording_length():
    # a recording shorter than half a stride sliced [: n - half] from the end: 2 and 5-8 frames at 30 fps crashed
    for half in range(6):
        for n in range(2 * half + 3):
            end = np.arange(2.0 * n).reshape(n, 2)
            centre = centre_pairs(end, half)
            assert centre.shape == end.shape
            if n > half:
                np.testing.assert_array_equal(centre[: n - half], end[half:])
            assert np.isnan(centre[max(n - half, 0):]).all()


@pytest.mark.parametrize("fps", [12.0, 30.0, 50.0])
def test_every_short_recording_is_spotted_or_says_why_not(fps):
    cfg = spot_config("casme2", ["face.mode=none"])
    longest = cfg.frames_at(cfg.macro.k, fps)
    frames = np.random.default_rng(0).integers(0, 256, (2 * (longest // 2) + 2, 34, 28), dtype=np.uint8)
    with pytest.raises(DataError, match="at least 2 frames"):
        extract_motion(enumerate(frames[:1]), fps, cfg)
    for n in range(2, len(frames) + 1):
        curves = extract_motion(enumerate(frames[:n]), fps, cfg)
        _, details = spot_intervals(curves, cfg)
        for scale, k in curves.strides.items():
            assert curves.scores[scale].shape[0] == n
            note = details[scale]["note"]
            if n <= k:
                assert note.startswith(f"the recording ({n} frames) is shorter than the {scale}-expression"), (n, note)
            else:
                assert not np.isnan(curves.scores[scale]).all(), (n, scale)


def test_a_folder_of_two_frames_is_spotted_with_a_note(tmp_path, capsys):
    from PIL import Image

    rng = np.random.default_rng(0)
    for number in (1, 2):
        Image.fromarray(rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)).save(tmp_path / f"img{number}.png")
    assert main(["spot", str(tmp_path), "--fps", "30", "--json", "--no-progress", "--no-align"]) == 0
    data = _strict_json(capsys.readouterr().out)
    assert data["frames"] == 2 and data["intervals"] == []
    assert [note.split(":")[0] for note in data["notes"]] == [
        "the recording (2 frames) is shorter than the macro-expression window (19 frames at 30 fps)",
        "the recording (2 frames) is shorter than the micro-expression window (7 frames at 30 fps)"]
