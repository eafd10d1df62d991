"""`mmnet agree --write-truth`: coders' intervals as table-long's intervals.csv (matched pairs' intersection or union,
or the first coder's), read back by the table-long loader once its subject column is filled in."""

from __future__ import annotations

import csv

import pytest

from mmnet.cli import main

A = "vid,onset,offset,type\ns01,10,20,me\ns01,100,160,mae\ns02,5,9,me\ns03,40,50,me\n"
B = "vid,onset,offset,type\ns01,12,22,me\ns02,50,60,me\ns03,41,52,me\ns04,1,2,me\n"


@pytest.fixture
def coders(tmp_path):
    a, b = tmp_path / "A.csv", tmp_path / "B.csv"
    a.write_text(A)
    b.write_text(B)
    return a, b


def _rows(path) -> list[tuple]:
    return [tuple(r.values()) for r in csv.DictReader(path.open())]


@pytest.mark.parametrize("how, spans", [("intersection", [("12", "20"), ("41", "50")]),
                                        ("union", [("10", "22"), ("40", "52")])])
def test_matched_pairs_become_the_truth(coders, tmp_path, capsys, how, spans):
    out = tmp_path / "intervals.csv"
    assert main(["agree", *map(str, coders), "--fps", "30000/1001", "--write-truth", str(out),
                 *(["--truth", how] if how == "union" else [])]) == 0
    err = capsys.readouterr().err
    # s02's intervals are unmatched: a disagreement, not truth, and s02 is no recording without an expression
    rate = "29.97002997"
    # the last two columns: the coders who marked each interval, and those who hold its video
    assert _rows(out) == [("", "s01", *spans[0], "micro", "", rate, "", "2", "2"),
                          ("", "s03", *spans[1], "micro", "", rate, "", "2", "2")]
    assert "left out, unmatched: 2 interval(s) of A, 1 of B" in err and "1 video(s) holding only those (s02)" in err
    assert "fill in its subject column" in err


def test_str_csvs_give_the_subject_and_types_limit_the_first_coders(tmp_path, capsys):
    a, b, out = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "intervals.csv"
    a.write_text("subject,video,onset,offset,type,emotion\nP01,s01,10,20,micro,happy\nP01,s01,30,90,macro,\n")
    b.write_text("subject,video,onset,offset,type,emotion\nP01,s01,11,20,micro,happy\n")
    assert main(["agree", str(a), str(b), "--write-truth", str(out), "--truth", "first", "--types", "micro"]) == 0
    assert _rows(out) == [("P01", "s01", "10", "20", "micro", "", "", "happy", "", "")]  # the emotion kept
    assert "fill in its subject column" not in capsys.readouterr().err
    assert main(["agree", str(a), str(b), "--write-truth", str(out), "--types", "micro", "--overwrite"]) == 0
    assert _rows(out) == [("P01", "s01", "11", "20", "micro", "", "", "happy", "2", "2")]  # both coders' emotion
    b.write_text(b.read_text().replace("happy", "surprise"))
    assert main(["agree", str(a), str(b), "--write-truth", str(out), "--types", "micro", "--overwrite"]) == 0
    assert _rows(out)[0][7] == ""  # two emotions: none is the truth's


def test_the_first_coders_intervals_alone(coders, tmp_path, capsys):
    out = tmp_path / "intervals.csv"
    assert main(["agree", str(coders[0]), "--write-truth", str(out), "--truth", "first", "--fps", "25"]) == 0
    assert capsys.readouterr().out == ""  # converted, nothing compared
    assert [r[1:5] for r in _rows(out)] == [("s01", "10", "20", "micro"), ("s01", "100", "160", "macro"),
                                            ("s02", "5", "9", "micro"), ("s03", "40", "50", "micro")]
    # read by the table-long dataset once the subject is filled in
    from mmnet.data.table_long import load_table_long

    root = tmp_path / "lab"
    for video, frames in (("s01", 170), ("s02", 20), ("s03", 60)):
        (root / video).mkdir(parents=True)
        for i in range(1, frames + 1):
            (root / video / f"frame_{i:06d}.jpg").touch()
    (root / "intervals.csv").write_text(out.read_text().replace("\n,", "\nP01,"))
    load = load_table_long(root)
    assert not load.issues and {v.video: len(v.intervals) for v in load.videos} == {"s01": 2, "s02": 1, "s03": 1}
    assert {v.fps for v in load.videos} == {25}


def test_the_truth_options_are_checked(coders, tmp_path, capsys):
    out = tmp_path / "intervals.csv"
    assert main(["agree", str(coders[0]), "--write-truth", str(out)]) == 3  # intersection needs two coders
    assert "matches the intervals of two or more coders" in capsys.readouterr().err
    assert main(["agree", *map(str, coders), "--truth", "union"]) == 3
    assert "give --write-truth FILE" in capsys.readouterr().err
    assert not out.exists()


def test_apex_and_the_tables_frame_rate_are_kept(tmp_path, capsys):
    lab, out = tmp_path / "lab.csv", tmp_path / "truth.csv"
    lab.write_text("subject,video,onset,offset,type,apex,fps,emotion\nP01,P01/s1,412,425,micro,418,30,happiness\n"
                   "P01,P01/s2,10,20,micro,-1,30,\n")  # -1: an unknown apex, as some tables mark it
    assert main(["agree", str(lab), "--write-truth", str(out), "--truth", "first"]) == 0
    assert _rows(out) == [("P01", "P01/s1", "412", "425", "micro", "418", "30", "happiness", "", ""),
                          ("P01", "P01/s2", "10", "20", "micro", "", "30", "", "", "")]
    assert "no frame rate" not in capsys.readouterr().err
    # a matched pair: the apex both coders gave (within the span written); two different apexes give none
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("vid,onset,apex,offset,type\nv1,10,15,20,me\nv1,40,45,50,me\n")
    b.write_text("vid,onset,apex,offset,type\nv1,11,15,21,me\nv1,40,46,50,me\n")
    assert main(["agree", str(a), str(b), "--write-truth", str(out), "--overwrite", "--pairs",
                 str(tmp_path / "pairs.csv")]) == 0
    assert [r[2:6] for r in _rows(out)] == [("11", "20", "micro", "15"), ("40", "50", "micro", "")]
    assert "1 matched pair(s) written without the apex a coder gave" in capsys.readouterr().err
    assert [r[-4:] for r in _rows(tmp_path / "pairs.csv")] == [("15", "15", "", ""), ("45", "46", "", "")]


def test_a_decimal_comma_rate_is_written_with_a_point(tmp_path, capsys):
    # a European Excel's ';' tables: the rate written as mmnet's CSVs write numbers, not '29,97' quoted
    a, b, out = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "truth.csv"
    a.write_text("subject;video;onset;offset;type;fps\nP1;v1;10;20;micro;29,97\n")
    b.write_text("subject;video;onset;offset;type;fps\nP1;v1;11;20;micro;29,97\n")
    assert main(["agree", str(a), str(b), "--write-truth", str(out)]) == 0
    assert [r["fps"] for r in csv.DictReader(out.open())] == ["29.97"]


def test_a_megc_layouts_emotion_column_is_read(tmp_path, capsys):
    a, b, out, pairs = (tmp_path / n for n in ("a.csv", "b.csv", "truth.csv", "pairs.csv"))
    a.write_text("vid,onset,offset,type,apex,emotion\nv1,10,20,me,15,Happy\n")
    b.write_text("vid,onset,offset,type,apex,emotion\nv1,11,20,me,15,happy\n")
    assert main(["agree", str(a), str(b), "--fps", "30", "--write-truth", str(out), "--pairs", str(pairs)]) == 0
    assert [r["emotion"] for r in csv.DictReader(out.open())] == ["happy"]
    assert [(r["a_emotion"], r["b_emotion"]) for r in csv.DictReader(pairs.open())] == [("happy", "happy")]


def test_union_merges_overlapping_intervals_and_emotions_disputed_are_counted(tmp_path, capsys):
    a, b, out = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "truth.csv"
    a.write_text("subject,video,onset,offset,type,emotion\nP1,v1,10,20,micro,happy\nP1,v1,21,30,micro,sad\n")
    b.write_text("subject,video,onset,offset,type,emotion\nP1,v1,10,19,micro,happy\nP1,v1,15,30,micro,fear\n")
    assert main(["agree", str(a), str(b), "--write-truth", str(out), "--truth", "union"]) == 0
    # one interval, not two overlapping
    assert [r[2:5] + r[7:] for r in _rows(out)] == [("10", "30", "micro", "", "2", "2")]
    err = capsys.readouterr().err
    assert "1 overlapping union interval(s) of one type merged" in err
    assert "1 matched pair(s) written without the emotion" in err


def test_intersection_keeps_two_overlapping_agreed_intervals_and_says_so(tmp_path, capsys):
    # each coder marked two expressions that overlap: two agreed events, written as two, and said (check-data warns)
    a, b, out = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "truth.csv"
    a.write_text("vid,onset,offset,type\np01,10,30,me\np01,28,50,me\n")
    b.write_text("vid,onset,offset,type\np01,12,32,me\np01,26,48,me\n")
    assert main(["agree", str(a), str(b), "--fps", "30", "--write-truth", str(out)]) == 0
    assert [r[2:4] for r in _rows(out)] == [("12", "30"), ("28", "48")]
    err = capsys.readouterr().err
    assert "1 written interval(s) overlap an earlier one of their type (p01 micro 12..30 and 28..48)" in err
    assert main(["agree", str(a), str(b), "--fps", "30", "--write-truth", str(out), "--overwrite", "--truth",
                 "union"]) == 0
    assert "written interval(s) overlap" not in capsys.readouterr().err  # union's are merged, with its own note


def test_spots_intervals_csv_keeps_its_apex(tmp_path, capsys):
    from mmnet.spotting.intervals import VIDEO_FROM_0, Interval, intervals_csv, with_seconds

    path, out = tmp_path / "intervals.csv", tmp_path / "truth.csv"
    records = [with_seconds(Interval(390, 395, 400, "micro", score=0.8).to_dict(), 30, 0)]
    path.write_text(intervals_csv(records, video="clip", frame_numbering=VIDEO_FROM_0))
    assert main(["agree", str(path), "--write-truth", str(out), "--truth", "first"]) == 0
    assert [r[2:6] for r in _rows(out)] == [("391", "401", "micro", "396")]  # MEGC's numbers, apex too
