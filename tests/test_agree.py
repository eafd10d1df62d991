"""`mmnet agree`: the agreement between coders' interval files, the same whichever file comes first; the frame-wise
kappa and the boundary differences by hand; coders' ELAN files through score-spots' reader; bad input."""

from __future__ import annotations

import csv
import itertools
import json
import random
import re

import numpy as np
import pytest

from mmnet.cli import main
from mmnet.spotting.agreement import match_intervals
from mmnet.spotting.agreement_frames import cohen_kappa, confusion, frame_labels, krippendorff_alpha
from mmnet.spotting.intervals import Interval, iou

A_CSV = "vid,onset,offset,type\np01,25,36,me\np01,26,29,me\n"
B_CSV = "vid,onset,offset,type\np01,25,30,me\np01,27,32,me\np01,3,10,me\n"


@pytest.fixture
def coders(tmp_path):
    a, b = tmp_path / "A.csv", tmp_path / "B.csv"
    a.write_text(A_CSV)
    b.write_text(B_CSV)
    return a, b


def _agree(capsys, *argv) -> tuple[dict, str]:
    assert main(["agree", *map(str, argv), "--json"]) == 0
    printed = capsys.readouterr()
    return json.loads(printed.out), printed.err


def _micro(data: dict, pair: int = 0) -> dict:
    return next(t for t in data["pairs"][pair]["types"] if t["type"] == "micro")


def test_the_figures_do_not_depend_on_which_file_comes_first(coders, capsys):
    a, b = coders
    # score-spots' greedy MEGC matching (onset order without scores) gives TP 2 one way and 1 the other here
    ab, _ = _agree(capsys, a, b, "--types", "micro")
    ba, _ = _agree(capsys, b, a, "--types", "micro")
    one, other = _micro(ab), _micro(ba)
    assert (one["matched"], one["f1"]) == (other["matched"], other["f1"]) == (2, pytest.approx(0.8))
    assert (one["n_a"], one["n_b"]) == (other["n_b"], other["n_a"]) == (2, 3)
    assert one["iou_mean"] == pytest.approx(other["iou_mean"]) and one["iou_median"] == other["iou_median"]
    for side in ("onset_frames", "offset_frames"):  # B - A: swapping the files flips the sign only
        assert one[side]["mean"] == -other[side]["mean"] and one[side]["mean_abs"] == other[side]["mean_abs"]
    assert ab["pairs"][0]["kappa"] == pytest.approx(ba["pairs"][0]["kappa"])


def test_kappa_and_boundaries_by_hand(coders, capsys):
    data, _ = _agree(capsys, *coders, "--fps", "30")
    micro = _micro(data)
    # pairs: A 25..36 with B 27..32 (IoU 6/12) and A 26..29 with B 25..30 (4/6); B 3..10 is unmatched
    assert micro["iou_mean"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert micro["onset_frames"] == {"mean": 0.5, "median": 0.5, "mean_abs": 1.5}  # B - A: +2, -1
    assert micro["offset_frames"] == {"mean": -1.5, "median": -1.5, "mean_abs": 2.5}  # -4, +1
    assert micro["onset_ms"]["mean"] == pytest.approx(0.5 * 1000 / 30)
    # frames 1..36 (the last annotated frame): micro in both 25..32 (8), none in both 36 - 20 = 16;
    # p_o = 24/36, p_e = (12 * 16 + 24 * 20) / 36^2 = 14/27: kappa = (18/27 - 14/27) / (13/27) = 4/13
    assert data["pairs"][0]["kappa"] == pytest.approx(4 / 13)
    assert data["pairs"][0]["kappa_frames"] == 36
    assert data["frames"]["videos"]["p01"] == {"frames": 36, "from": "the last annotated frame", "first_frame": 1,
                                               "last_frame": 36}
    # the recording's length changes it (both none in 80 of 100 frames): the output says where N came from
    data, _ = _agree(capsys, *coders, "--frames", "100")
    pe = 0.12 * 0.16 + 0.88 * 0.84
    assert data["pairs"][0]["kappa"] == pytest.approx((0.88 - pe) / (1 - pe))
    assert data["frames"]["videos"]["p01"] == {"frames": 100, "from": "--frames", "first_frame": 1, "last_frame": 100}
    assert "onset_ms" not in _micro(data)  # no rate, no milliseconds


def test_the_table_says_which_frames_kappa_counts(coders, capsys):
    assert main(["agree", *map(str, coders)]) == 0
    out = capsys.readouterr().out
    assert "F1 = 2 x matched / (n A + n B)" in out and "N: the last annotated frame" in out
    assert "kappa depends on N: give --frames N or --recording VIDEO" in out
    assert main(["agree", *map(str, coders), "--frames", "p01=100"]) == 0
    out = capsys.readouterr().out
    assert "N: --frames" in out and "kappa depends on N" not in out


def test_the_frames_help_names_every_default_in_order(capsys):
    with pytest.raises(SystemExit):
        main(["agree", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert ("default: --recording's frame count, else a BORIS file's Media duration (s), else each video's last "
            "annotated frame in any file") in help_text


def _best(a, b, threshold):
    """Brute force: the most pairs with IoU >= threshold, then the largest total IoU."""
    best = (0, 0.0)
    for k in range(min(len(a), len(b)), 0, -1):
        for rows in itertools.combinations(range(len(a)), k):
            for cols in itertools.permutations(range(len(b)), k):
                ious = [iou(a[i], b[j]) for i, j in zip(rows, cols)]
                if min(ious) >= threshold:
                    best = max(best, (k, sum(ious)))
        if best[0]:
            return best
    return best


def test_the_matching_is_maximum_and_symmetric():
    rng = random.Random(3)
    for _ in range(150):
        def draw(n):
            return [Interval(s, None, s + rng.randint(0, 8), "micro") for s in (rng.randint(1, 25) for _ in range(n))]
        a, b = draw(rng.randint(0, 5)), draw(rng.randint(0, 5))
        found = match_intervals(a, b, 0.4)
        assert len({i for i, _, _ in found}) == len({j for _, j, _ in found}) == len(found)  # one to one
        assert all(q >= 0.4 and q == iou(a[i], b[j]) for i, j, q in found)
        k, total = _best(a, b, 0.4)
        assert len(found) == k and sum(q for _, _, q in found) == pytest.approx(total)
        swapped = match_intervals(b, a, 0.4)  # the same pairs of intervals, ties included
        def spans(pairs):
            return sorted((x.onset, x.offset, y.onset, y.offset) for x, y in pairs)
        assert spans((a[i], b[j]) for i, j, _ in found) == spans((a[i], b[j]) for j, i, _ in swapped)


def test_a_frame_in_both_types_counts_as_micro_and_alpha_matches_krippendorff():
    items = [Interval(2, None, 8, "macro"), Interval(4, None, 5, "micro")]
    assert frame_labels(items, 10, ("micro", "macro")).tolist() == [0, 2, 2, 1, 1, 2, 2, 2, 0, 0]
    assert frame_labels(items, 10, ("micro",)).tolist() == [0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
    assert cohen_kappa(confusion(np.zeros(5, dtype=np.int64), np.zeros(5, dtype=np.int64))) is None  # all "none"
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", nominal example: 4 coders, 12 units, missing
    # values: alpha = 0.743
    n = None
    coded = [[1, 2, 3, 3, 2, 1, 4, 1, 2, n, n, n], [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, n, 3],
             [n, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, n], [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, n]]
    units = {u: [np.array([c[u]]) for c in coded if c[u] is not None] for u in range(12)}
    assert krippendorff_alpha(units) == pytest.approx(0.743, abs=5e-4)


def test_three_files_add_krippendorffs_alpha_and_pairs_file(coders, tmp_path, capsys):
    c = tmp_path / "C.csv"
    c.write_text("vid,onset,offset,type\np01,24,37,me\np01,30,40,mae\n")
    data, err = _agree(capsys, *coders, c, "--pairs", tmp_path / "pairs.csv")
    assert [(p["a"], p["b"]) for p in data["pairs"]] == [("A", "B"), ("A", "C"), ("B", "C")]
    assert data["krippendorff_alpha"]["frames"] == 40 and -1 <= data["krippendorff_alpha"]["value"] <= 1
    assert f"'{c}': 8 frame(s) lie in both a micro- and a macro-expression interval: counted as micro" in err
    rows = list(csv.DictReader((tmp_path / "pairs.csv").open()))
    ab = [r for r in rows if (r["file_a"], r["file_b"]) == (str(coders[0]), str(coders[1]))]
    assert sorted((r["a_onset"], r["b_onset"], r["iou"], r["onset_diff"]) for r in ab) == [
        ("", "3", "", ""), ("25", "27", "0.5000", "2"), ("26", "25", "0.6667", "-1")]
    two, _ = _agree(capsys, *coders)
    assert "krippendorff_alpha" not in two


ELAN = "ME\t\t00:00:13.000\t13.000\t00:00:{end:06.3f}\t{end:.3f}\t00:00:{took:06.3f}\t{took:.3f}\t\n"


def test_elan_files_are_read_as_score_spots_reads_them(tmp_path, capsys):
    one, two = tmp_path / "coder1.txt", tmp_path / "coder2.txt"
    one.write_text(ELAN.format(end=15, took=2))
    two.write_text(ELAN.format(end=14.5, took=1.5))
    # each ELAN text export is named by its file: two coders' files of one recording need --video-id
    assert main(["agree", str(one), str(two), "--fps", "30", "--tier-type", "ME=micro"]) == 3
    assert "give --video-id ID to name the video of an ELAN or BORIS file" in capsys.readouterr().err
    data, err = _agree(capsys, one, two, "--fps", "30", "--tier-type", "ME=micro", "--video-id", "clip")
    assert "read as an ELAN tab-delimited text export: 1 interval(s) converted at 30 fps" in err
    micro = _micro(data)  # 13.000-15.000 s: MEGC frames 391..450; to 14.500 s: 391..435
    assert (micro["matched"], micro["f1"], micro["iou_mean"]) == (1, 1.0, pytest.approx(45 / 60))
    assert micro["offset_frames"]["mean"] == -15 and micro["offset_ms"]["mean"] == pytest.approx(-500)
    assert main(["agree", str(one), str(two), "--tier-type", "ME=micro", "--video-id", "clip"]) == 3  # no --fps
    assert "--fps" in capsys.readouterr().err


def test_bad_input_is_a_clear_error(coders, tmp_path, capsys):
    a, b = coders
    with pytest.raises(SystemExit) as one_file:  # a missing argument: the usage, exit 2
        main(["agree", str(a)])
    err = capsys.readouterr().err
    assert one_file.value.code == 2 and "usage: mmnet agree" in err and "give two or more files to compare" in err
    other = tmp_path / "other.csv"
    other.write_text("vid,onset,offset,type\nq07,1,5,me\n")
    assert main(["agree", str(a), str(other)]) == 3
    err = capsys.readouterr().err
    assert f"'{a}' and '{other}' hold no video in common" in err and "'p01'" in err and "'q07'" in err
    assert main(["agree", str(a), str(b), "--frames", "30"]) == 3  # A's 25..36 ends past frame 30
    assert "interval ending at frame 36, past the 30 frames of --frames" in capsys.readouterr().err
    assert main(["agree", str(a), str(b), "--iou", "0"]) == 3
    assert main(["agree", str(a), str(tmp_path / "missing.csv")]) == 3
    # a video in one file only is left out, with a note
    b.write_text(B_CSV + "p02,1,4,me\n")
    data, err = _agree(capsys, a, b)
    assert "'B.csv' alone holds 1 video(s), not compared: p02" in err.replace(str(b.parent) + "/", "")
    assert data["pairs"][0]["videos"] == ["p01"]


def test_milliseconds_at_the_rate_of_intervals_csv_seconds(coders, tmp_path, capsys):
    from mmnet.spotting.intervals import VIDEO_FROM_0, intervals_csv, with_seconds

    def spot_output(fps, *items):
        path = tmp_path / f"intervals_{fps}.csv"
        path.write_text(intervals_csv([with_seconds(i.to_dict(), fps, 0) for i in items], video="p01",
                                      frame_numbering=VIDEO_FROM_0))
        return path

    # a video's frames from 0: 24..35 is MEGC's 25..36, A's first interval; 400..409 tells the rate
    spots = spot_output(25.0, Interval(24, None, 35, "micro"), Interval(400, None, 409, "micro"))
    data, err = _agree(capsys, coders[0], spots)
    micro = _micro(data)
    assert micro["matched"] == 1 and micro["onset_frames"]["mean"] == 0
    assert data["fps"] == pytest.approx(25, rel=1e-3) and "milliseconds at 25 fps, the rate the seconds" in err
    data, err = _agree(capsys, coders[0], spots, "--fps", "25")  # given, no note
    assert data["fps"] == 25 and "milliseconds at" not in err
    other = spot_output(30.0, Interval(24, None, 35, "micro"), Interval(400, None, 409, "micro"))
    data, err = _agree(capsys, spots, other)
    assert data["fps"] is None and "the files' seconds give different frame rates" in err


def test_intervals_csv_of_a_variable_frame_rate_video_is_compared(coders, tmp_path, capsys):
    from mmnet.spotting.intervals import VIDEO_FROM_0, intervals_csv, with_seconds

    def at(n):  # 25 fps up to frame 300 (12 s), 20 fps after: `mmnet spot` writes these times
        return n / 25 if n <= 300 else 12 + (n - 300) / 20

    path = tmp_path / "intervals.csv"
    path.write_text(intervals_csv([with_seconds(i.to_dict(), 25.0, 0, at) for i in (
        Interval(24, None, 35, "micro"), Interval(400, 405, 409, "micro"), Interval(2000, 2010, 2020, "micro"))],
        video="p01", frame_numbering=VIDEO_FROM_0))
    data, err = _agree(capsys, coders[0], path)
    assert _micro(data)["matched"] == 1
    assert data["fps"] == pytest.approx((2021 - 24) / (at(2021) - at(24)), rel=1e-3)  # the mean, first time to last


def test_two_coders_eaf_files_of_one_recording(tmp_path, capsys):
    from .test_score_spots_coder_files import EAF

    one, two = tmp_path / "coder1.eaf", tmp_path / "coder2.eaf"
    one.write_text(EAF)
    two.write_text(EAF.replace('TIME_VALUE="62500"', 'TIME_VALUE="61000"'))  # the macro ends 1.5 s earlier
    data, err = _agree(capsys, one, two, "--fps", "30", "--tier-type", "Emotion=ignore")
    assert "video id from its media file" in err and data["pairs"][0]["videos"] == ["clip"]  # no --video-id
    by_type = {t["type"]: t for t in data["pairs"][0]["types"]}
    # macro: MEGC frames 1801..1875 and 1801..1830: IoU 30/75 < 0.5, unmatched; micro: the same 391..450
    assert (by_type["micro"]["matched"], by_type["macro"]["matched"], by_type["overall"]["f1"]) == (1, 0, 0.5)
    assert data["frames"]["videos"]["clip"] == {"frames": 1875, "from": "the last annotated frame",
                                                "first_frame": 1, "last_frame": 1875}


def test_only_score_spots_help_speaks_of_its_dataset_option(capsys, monkeypatch):
    # agree has no --dataset: its --fps help must not send a reader to one
    monkeypatch.setenv("COLUMNS", "1000")  # argparse wraps its help at hyphens too: one line per option
    for command, has_dataset in (("agree", False), ("score-spots", True)):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "frames numbered from 1 as spotting.csv" in text
        assert ("with --dataset table-long" in text) is has_dataset, command


@pytest.mark.parametrize("fps, shown", [(30.0, "30"), (30000 / 1001, "29.97"), (25.0, "25"), (27.3, None)])
def test_the_rate_of_intervals_csv_seconds_is_one_rate_in_the_note_and_the_table(tmp_path, capsys, fps, shown):
    from mmnet.spotting.intervals import VIDEO_FROM_0, intervals_csv, with_seconds

    # seconds rounded up to the millisecond (1/3 s -> 0.334) estimate a rate a little off (29.9993): it is the
    # common rate that gives every row's seconds back
    items = [Interval(10, None, 20, "micro"), Interval(41, None, 55, "micro"), Interval(103, None, 131, "micro")]
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for path, shift in ((a, 0), (b, 1)):
        path.write_text(intervals_csv([with_seconds(i.to_dict(), fps, 0) for i in items[:2]]
                                      + [with_seconds(Interval(103 + shift, None, 131, "micro").to_dict(), fps, 0)],
                                      video="p01", frame_numbering=VIDEO_FROM_0))
    assert main(["agree", str(a), str(b)]) == 0
    printed = capsys.readouterr()
    noted = re.search(r"milliseconds at (\S+) fps, the rate the seconds", printed.err).group(1)
    assert re.search(r"in ms at (\S+) fps", printed.out).group(1) == noted
    data, _ = _agree(capsys, a, b)
    if shown is None:  # no common rate near: the estimate, the same figure in both
        assert data["fps"] == pytest.approx(fps, rel=5e-3)
    else:
        assert noted == shown and data["fps"] == pytest.approx(fps, rel=1e-9)


@pytest.mark.parametrize("fps, spans, rate", [
    (30, [(10, 13)], 30.0),  # one short interval: the times to the millisecond estimate 30.075
    (30, [(0, 3)], 30.0),  # 29.85, and 29.97 gives its times back too: a lab's whole rate
    (60000 / 1001, [(0, 3), (40, 50)], 60000 / 1001),  # 59.78 over 50 frames, which tell 59.94 from 60
    (24000 / 1001, [(100, 1000)], 24000 / 1001),
    (27.3, [(100, 1000)], 27.301),  # no common rate: the estimate to 3 decimals, not 27.30107...
    (27.3, [(10, 13)], 27.397),
])
def test_the_rate_of_intervals_csv_seconds_is_a_common_rate_or_3_decimals(tmp_path, fps, spans, rate):
    from mmnet.commands.score_spots_read import read_intervals
    from mmnet.spotting.intervals import VIDEO_FROM_0, intervals_csv, with_seconds

    path, rates = tmp_path / "a.csv", {}
    path.write_text(intervals_csv([with_seconds(Interval(a, None, b, "micro").to_dict(), fps, 0) for a, b in spans],
                                  video="p01", frame_numbering=VIDEO_FROM_0))
    read_intervals(path, rates=rates)
    assert rates[path] == rate


def test_the_truths_rate_from_the_seconds_is_the_videos_rate(tmp_path, capsys):
    from mmnet.spotting.intervals import VIDEO_FROM_0, intervals_csv, with_seconds

    paths = [tmp_path / "a.csv", tmp_path / "b.csv"]
    for path, end in zip(paths, (13, 14)):  # one short interval each, at 30 fps
        path.write_text(intervals_csv([with_seconds(Interval(10, None, end, "micro").to_dict(), 30, 0)], video="p01",
                                      frame_numbering=VIDEO_FROM_0))
    out = tmp_path / "truth.csv"
    assert main(["agree", *map(str, paths), "--write-truth", str(out)]) == 0
    assert "milliseconds at 30 fps" in capsys.readouterr().err
    assert out.read_text().splitlines()[1].split(",")[6] == "30"
