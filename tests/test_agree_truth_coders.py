"""`mmnet agree --write-truth` of three coders: --truth majority, intersection and union over all coders, the
groups of intervals every two of which are matched pairs (hand-computed spans)."""

from __future__ import annotations

import csv
import random

import pytest

from mmnet.cli import main
from mmnet.spotting.intervals import Interval

# v1: A, B, C mark one expression (pairwise IoU 0.69, 0.82, 0.67); A and B another (IoU 0.87); A and C a third
# (0.83); B and C one alone each. v2: B and C agree (0.69), A marks another.
A = "vid,onset,offset,type\nv1,10,20,me\nv1,100,130,me\nv1,300,310,me\nv2,5,15,me\n"
B = "vid,onset,offset,type\nv1,12,22,me\nv1,102,128,me\nv1,400,410,me\nv2,50,60,me\n"
C = "vid,onset,offset,type\nv1,11,19,me\nv1,200,210,me\nv1,301,311,me\nv2,52,62,me\n"


@pytest.fixture
def three(tmp_path):
    paths = [tmp_path / f"{name}.csv" for name in "ABC"]
    for path, text in zip(paths, (A, B, C)):
        path.write_text(text)
    return paths


def _spans(path) -> list[tuple]:
    return [(r["video"], int(r["onset"]), int(r["offset"])) for r in csv.DictReader(path.open())]


@pytest.mark.parametrize("how, spans, left, coders", [
    # more than half (2 of 3): a group of two or three; its frames marked by two coders at least
    ("majority", [("v1", 11, 20), ("v1", 102, 128), ("v1", 301, 310), ("v2", 52, 60)],
     "1 interval(s) of A, 1 of B, 1 of C", [3, 2, 2, 2]),
    # all three: the one group of three; v2 holds no such group, left out (no recording without an expression)
    ("intersection", [("v1", 12, 19)], "3 interval(s) of A, 3 of B, 3 of C", [3]),
    ("union", [("v1", 10, 22)], "3 interval(s) of A, 3 of B, 3 of C", [3]),
])
def test_three_coders_truth(three, tmp_path, capsys, how, spans, left, coders):
    out = tmp_path / "truth.csv"
    assert main(["agree", *map(str, three), "--fps", "25", "--write-truth", str(out), "--truth", how]) == 0
    err = capsys.readouterr().err
    assert _spans(out) == spans
    # per interval, the coders who marked it and those holding its video: the last two columns, after table-long's
    with out.open() as f:
        header, *rows = list(csv.reader(f))
    assert header == ["subject", "video", "onset", "offset", "type", "apex", "fps", "emotion", "coders",
                      "video_coders"]
    assert [(int(r[-2]), int(r[-1])) for r in rows] == [(n, 3) for n in coders]
    # still read as a coder's file and as the truth score-spots scores against
    assert main(["agree", str(out), str(three[0]), "--fps", "25", "--json"]) == 0
    capsys.readouterr()
    assert main(["score-spots", str(three[0]), str(out), "--json"]) == 0
    capsys.readouterr()
    assert f"left out, unmatched by {'more than half' if how == 'majority' else 'all'} of the coders: {left}" in err
    agreed = "agreed by 3 of 3 coders: 1, 2 of 3 coders: 3" if how == "majority" else "agreed by 3 of 3 coders: 1;"
    assert agreed in err
    assert ("1 video(s) holding only those (v2)" in err) is (how != "majority")


def test_a_chain_of_matches_is_no_group_and_the_coders_order_does_not_matter(tmp_path, capsys):
    # A-B and B-C are matched pairs (IoU 0.6 each), A-C is not (0.33): two coders agree, on the earliest pair
    texts = {"A": "vid,onset,offset,type\nv,10,29,me\n", "B": "vid,onset,offset,type\nv,15,34,me\n",
             "C": "vid,onset,offset,type\nv,20,39,me\n"}
    for name, text in texts.items():
        (tmp_path / f"{name}.csv").write_text(text)
    results = []
    for order in ("ABC", "CBA"):
        out = tmp_path / f"truth_{order}.csv"
        assert main(["agree", *(str(tmp_path / f"{n}.csv") for n in order), "--write-truth", str(out),
                     "--truth", "majority"]) == 0
        results.append(_spans(out))
        assert "agreed by 2 of 3 coders: 1" in capsys.readouterr().err
    assert results == [[("v", 15, 29)]] * 2


def test_majority_keeps_the_emotion_more_than_half_give(tmp_path, capsys):
    rows = {"a": "happy", "b": "happy", "c": "sad"}
    paths = []
    for name, label in rows.items():
        paths.append(tmp_path / f"{name}.csv")
        paths[-1].write_text(f"subject,video,onset,offset,type,emotion\nP1,v1,10,20,micro,{label}\n")
    out = tmp_path / "truth.csv"
    assert main(["agree", *map(str, paths), "--write-truth", str(out), "--truth", "majority"]) == 0
    assert [r["emotion"] for r in csv.DictReader(out.open())] == ["happy"]
    err = capsys.readouterr().err  # kept by the majority: said so, not counted as written without one
    assert "1 matched group(s) written with the emotion more than half of the coders gave" in err
    assert "without the emotion" not in err
    assert main(["agree", *map(str, paths), "--write-truth", str(out), "--overwrite"]) == 0  # intersection: all
    assert [r["emotion"] for r in csv.DictReader(out.open())] == [""]
    assert "1 matched group(s) written without the emotion a coder gave" in capsys.readouterr().err


def test_the_voted_span_is_the_frames_enough_intervals_hold():
    from mmnet.spotting.agreement_groups import voted_span

    rng = random.Random(3)
    for _ in range(200):
        common = rng.randint(20, 40)  # intervals that overlap each other share a frame
        items = [Interval(common - rng.randint(0, 15), None, common + rng.randint(0, 15), "micro")
                 for _ in range(rng.randint(1, 6))]
        for votes in range(1, len(items) + 1):
            held = [f for f in range(0, 80) if sum(x.onset <= f <= x.offset for x in items) >= votes]
            assert voted_span(items, votes) == (held[0], held[-1])


def test_four_coders_majority_needs_three(tmp_path, capsys):
    texts = {"A": "v,10,20,me\nv,100,110,me\n", "B": "v,11,21,me\nv,101,111,me\n", "C": "v,12,22,me\n",
             "D": "v,300,310,me\n"}
    for name, text in texts.items():
        (tmp_path / f"{name}.csv").write_text("vid,onset,offset,type\n" + text)
    out = tmp_path / "truth.csv"
    assert main(["agree", *(str(tmp_path / f"{n}.csv") for n in texts), "--write-truth", str(out),
                 "--truth", "majority"]) == 0
    err = capsys.readouterr().err
    # A, B and C (3 of 4) on 10..22, the frames three of them marked: 12..20; A and B alone (2 of 4) are no majority
    assert _spans(out) == [("v", 12, 20)]
    assert "agreed by 3 of 4 coders: 1" in err and "1 interval(s) of A, 1 of B, 0 of C, 1 of D" in err


def _three_coders(tmp_path, video: str, more: str = "") -> list:
    """Coders A, B and C, each one interval of ``video`` (10..20, 11..21, 12..22), then the rows ``more``."""
    paths = [tmp_path / f"{name}.csv" for name in "ABC"]
    for path, onset in zip(paths, (10, 11, 12)):
        path.write_text(f"vid,onset,offset,type\n{video},{onset},{onset + 10},me\n{more}")
    return paths


def test_a_video_no_coder_marked_has_its_coders_and_no_interval(tmp_path, capsys):
    paths = _three_coders(tmp_path, "v1", "v2,,,\n")
    out = tmp_path / "truth.csv"
    assert main(["agree", *map(str, paths), "--write-truth", str(out), "--truth", "majority"]) == 0
    capsys.readouterr()
    assert [(r["video"], r["onset"], r["coders"], r["video_coders"]) for r in csv.DictReader(out.open())] == [
        ("v1", "11", "3", "3"), ("v2", "", "", "3")]  # v1: the frames two coders marked, 11..21


def test_the_written_truth_with_its_coder_columns_loads_as_a_table_long_dataset(tmp_path, capsys):
    from mmnet.data import load_dataset

    from .fakes import write_frames

    paths = _three_coders(tmp_path, "P01/rec1")
    root = tmp_path / "lab"
    write_frames(root / "P01/rec1", range(1, 41), "frame_{:04d}.jpg".format)
    out = root / "intervals.csv"
    assert main(["agree", *map(str, paths), "--fps", "30", "--write-truth", str(out), "--truth", "majority"]) == 0
    capsys.readouterr()
    out.write_text(out.read_text().replace("\n,P01/rec1", "\nP01,P01/rec1"))  # the subject, filled in
    load = load_dataset("table-long", root)
    assert not load.issues, [i.message for i in load.issues]
    (video,) = load.videos
    assert [(i.onset, i.offset, i.type) for i in video.intervals] == [(11, 21, "micro")] and video.fps == 30.0


def test_agree_help_lists_every_column_write_truth_writes(capsys):
    with pytest.raises(SystemExit):
        main(["agree", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "subject,video,onset,offset,type,apex,fps,emotion, then coders,video_coders" in help_text
