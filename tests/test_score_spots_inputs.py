"""`mmnet score-spots` on one's own files: a type column in an STR CSV, videos listed without an expression, column
aliases (video, confidence), --types, --per-video and --log."""

from __future__ import annotations

import json

import pytest

from mmnet.cli import main
from mmnet.errors import AnnotationError
from mmnet.spotting.megc_files import read_megc2020_log, read_spotting_csv, read_str_csv


def _json(capsys, *argv) -> tuple[dict, str]:
    assert main(["score-spots", *map(str, argv), "--json"]) == 0
    printed = capsys.readouterr()
    return json.loads(printed.out), printed.err


def _counts(out: dict) -> dict:
    return {r["type"]: (r["tp"], r["fp"], r["fn"]) for r in out["counts"]}


def _write(path, text: str):
    path.write_text(text)
    return path


@pytest.fixture
def typed_truth(tmp_path):
    # the STR columns plus apex and type: was read as an STR CSV of micro-expressions, the macro row among them
    return _write(tmp_path / "truth.csv", "subject,video,onset,apex,offset,type,emotion\n"
                                          "s1,a,10,15,20,micro,negative\n"
                                          "s1,a,100,150,200,macro,\n")


def test_the_type_column_of_an_str_csv_keeps_macro_rows_macro(typed_truth):
    got = read_str_csv(typed_truth)[("s1", "a")]
    assert [(i.onset, i.type, i.label) for i in got] == [(10, "micro", "negative"), (100, "macro", None)]


def test_a_macro_prediction_in_a_typed_str_csv_is_no_micro_true_positive(typed_truth, tmp_path, capsys):
    spots = _write(tmp_path / "spots.csv", "subject,video,onset,offset,type,emotion\n"
                                           "s1,a,10,20,mae,negative\n"   # on the micro truth, but macro
                                           "s1,a,100,200,mae,\n")
    out, _ = _json(capsys, typed_truth, spots)
    assert _counts(out) == {"micro": (0, 0, 1), "macro": (1, 1, 0), "overall": (1, 1, 1)}
    plain = _write(tmp_path / "plain.csv", "vid,onset,offset,type\na,100,200,mae\na,10,20,me\n")
    out, _ = _json(capsys, typed_truth, plain)  # against a file naming videos alone
    assert _counts(out) == {"micro": (1, 0, 0), "macro": (1, 0, 0), "overall": (2, 0, 0)}


def test_typed_str_csvs_get_the_str_analysis_of_their_micro_expressions_only(typed_truth, tmp_path, capsys):
    spots = _write(tmp_path / "spots.csv", "subject,video,onset,offset,type,emotion\n"
                                           "s1,a,10,20,me,negative\ns1,a,100,200,mae,\n")
    # the macro truth has no emotion: it must neither block the analysis nor enter it
    out, err = _json(capsys, typed_truth, spots)
    assert _counts(out) == {"micro": (1, 0, 0), "macro": (1, 0, 0), "overall": (2, 0, 0)}
    assert out["analysis"]["pairs"] == 1 and out["analysis"]["classes"] == ["negative"]
    assert "no emotion" not in err and "the truth's 1 macro-expression(s) count in the macro and overall rows" in err
    out, err = _json(capsys, typed_truth, spots, "--mode", "strs")  # STRS-Metric: micro-expressions only
    assert _counts(out) == {"micro": (1, 0, 0)} and "1 macro prediction(s) not scored (--mode strs" in err


def test_a_typed_str_row_without_a_type_is_refused_naming_the_row(tmp_path):
    bad = _write(tmp_path / "t.csv", "subject,video,onset,offset,type,emotion\ns1,a,10,20,,negative\n")
    with pytest.raises(AnnotationError, match=r"row 2: type '' is not me/mae"):
        read_str_csv(bad)


def test_a_truth_row_without_an_interval_lists_a_video_without_expression(tmp_path, capsys):
    truth = _write(tmp_path / "truth.csv", "vid,onset,offset,type\n006_1,100,170,me\n008_1,,,\n,,,\n")
    assert read_spotting_csv(truth) == {"006_1": read_spotting_csv(truth)["006_1"], "008_1": []}
    spots = _write(tmp_path / "spots.csv", "vid,onset,offset,type\n006_1,100,170,me\n008_1,5,9,me\n")
    out, _ = _json(capsys, truth, spots)
    assert _counts(out)["micro"] == (1, 1, 0) and out["videos_scored"] == 2  # its false positive counts
    str_truth = _write(tmp_path / "str.csv", "subject,video,onset,offset,emotion\ns1,a,10,20,negative\ns1,b,,,\n")
    str_spots = _write(tmp_path / "strp.csv", "subject,video,onset,offset,emotion\ns1,b,10,20,negative\n")
    out, _ = _json(capsys, str_truth, str_spots)
    assert _counts(out) == {"micro": (0, 1, 1)}


@pytest.mark.parametrize("row, said", [("008_1,,,me", "has type 'me'"), (",,,me", "has type 'me'"),
                                       ("008_1,5,,me", "offset '' is not a frame number")])
def test_a_half_written_interval_is_no_video_without_expression(tmp_path, row, said):
    truth = _write(tmp_path / "truth.csv", f"vid,onset,offset,type\n{row}\n")
    with pytest.raises(AnnotationError, match=f"row 2: .*{said}"):
        read_spotting_csv(truth)


def test_a_video_the_truth_csv_lacks_gets_how_to_list_it(tmp_path, capsys):
    truth = _write(tmp_path / "truth.csv", "vid,onset,offset,type\n15_0101,100,170,me\n")
    spots = _write(tmp_path / "spots.csv", "vid,onset,offset,type\n15_0101,100,170,me\n16_0102,5,9,me\n")
    assert main(["score-spots", str(truth), str(spots)]) == 3
    err = capsys.readouterr().err
    assert f"'{spots}' row 3: video '16_0102' is not in '{truth}'" in err
    assert "a video without any expression is a row with its id and onset, offset, type" in err
    assert "`16_0102,,,` under vid,onset,offset,type" in err
    assert "--video-id ID` (the truth's ids: 15_0101)" in err  # a recording named otherwise than its truth's id
    empty = _write(tmp_path / "empty.csv", "vid,onset,offset,type\n")
    assert main(["score-spots", str(empty), str(spots)]) == 3
    assert "--video-id ID` (the truth lists no video)" in capsys.readouterr().err
    named = _write(tmp_path / "named.csv", "vid,onset,offset,type\n15_0101disgustingteeth,100,170,me\n")
    assert main(["score-spots", str(truth), str(named)]) == 3
    assert "begins with the truth's id '15_0101'" in capsys.readouterr().err


def test_video_is_read_as_vid_and_a_subject_column_must_not_pool_videos(tmp_path, capsys):
    # mmnet's run truth.csv: video,subject,onset,apex,offset,type,label,class
    truth = _write(tmp_path / "truth.csv", "video,subject,onset,apex,offset,type,label,class\n"
                                           "006_1,006,100,130,170,micro,happiness,positive\n")
    spots = _write(tmp_path / "spots.csv", "vid,onset,offset,type\n006_1,100,170,me\n")
    out, _ = _json(capsys, truth, spots)
    assert _counts(out)["micro"] == (1, 0, 0)
    pooled = _write(tmp_path / "p.csv", "subject,video,onset,apex,offset,type\n01,a,1,2,9,micro\n02,a,1,2,9,micro\n")
    with pytest.raises(AnnotationError, match=r"row 3: video 'a' is named for subject '02' here and '01' in row 2"):
        read_spotting_csv(pooled)


def test_the_spot_output_hint_needs_a_spot_output(tmp_path, capsys):
    truth = _write(tmp_path / "truth.csv", "vid,onset,offset,type\n006_1,100,170,me\n")
    # onset,apex,offset,type after two columns was taken for intervals.csv (video,frame_numbering first)
    mine = _write(tmp_path / "mine.csv", "subject,clip,onset,apex,offset,type\n01,006_1,100,130,170,micro\n")
    assert main(["score-spots", str(truth), str(mine)]) == 3
    err = capsys.readouterr().err
    assert "no column(s) ['vid'] (nor 'video', which is read as vid)" in err and "mmnet spot" not in err


def test_a_confidence_column_orders_the_matching_and_its_absence_is_noted(tmp_path, capsys):
    # P1 ties between T1 and T2 and takes T1 when it goes first; P2 fits only T1: the order changes the counts
    truth = _write(tmp_path / "truth.csv", "vid,onset,offset,type\nv,0,10,me\nv,6,16,me\n")
    rows = "v,3,13,me,0.9\nv,0,10,me,0.1\n"
    for name in ("confidence", "conf", "prob", "probability", "score"):
        out, err = _json(capsys, truth, _write(tmp_path / "s.csv", f"vid,onset,offset,type,{name}\n{rows}"))
        assert _counts(out)["micro"] == (1, 1, 1), name
        assert "onset order" not in err
    out, err = _json(capsys, truth, _write(tmp_path / "s.csv", f"vid,onset,offset,type,certainty\n{rows}"))
    assert _counts(out)["micro"] == (2, 0, 0)
    assert f"note: no score column (score, confidence, conf, prob, probability) in '{tmp_path / 's.csv'}': " \
           "predictions matched in onset order" in err


def test_types_chooses_the_scored_types_and_a_type_missing_from_the_truth_is_noted(tmp_path, capsys):
    truth = _write(tmp_path / "truth.csv", "vid,onset,offset,type\nv,10,20,me\n")
    spots = _write(tmp_path / "spots.csv", "vid,onset,offset,type,score\nv,10,20,me,1\nv,100,200,mae,1\n")
    out, err = _json(capsys, truth, spots)
    assert _counts(out) == {"micro": (1, 0, 0), "macro": (0, 1, 0), "overall": (1, 1, 0)}
    assert (f"note: '{truth}' holds no macro-expression interval: the 1 macro prediction(s) are all false positives "
            "(in 'macro' and 'overall'); give --types micro") in err
    out, err = _json(capsys, truth, spots, "--types", "micro")
    assert _counts(out) == {"micro": (1, 0, 0), "overall": (1, 0, 0)}
    assert "1 macro prediction(s) not scored (--types micro)" in err
    str_truth = _write(tmp_path / "str.csv", "subject,video,onset,offset,emotion\ns,v,10,20,negative\n")
    out, err = _json(capsys, str_truth, spots)  # an STR CSV without a type column: micro-expressions only
    assert _counts(out) == {"micro": (1, 0, 0), "overall": (1, 0, 0)}
    assert f"1 macro prediction(s) not scored ('{str_truth}' covers micro only: an STR CSV without a type" in err
    assert main(["score-spots", str(str_truth), str(spots), "--types", "macro"]) == 3
    assert "--types macro: nothing to score" in capsys.readouterr().err


def test_per_video_counts_and_the_megc2020_log(tmp_path, capsys):
    truth = _write(tmp_path / "truth.csv", "vid,onset,offset,type\nv1,10,20,me\nv2,,,\n")
    spots = _write(tmp_path / "spots.csv", "vid,onset,offset,type,score\nv1,10,20,me,1\nv2,5,9,me,1\n")
    log = tmp_path / "out.log"
    out, err = _json(capsys, truth, spots, "--per-video", "--log", log)
    rows = {(r["video"], r["type"]): (r["tp"], r["fp"], r["fn"]) for r in out["per_video"]}
    assert rows[("v1", "micro")] == (1, 0, 0) and rows[("v2", "micro")] == (0, 1, 0)
    lines = read_megc2020_log(log)
    assert [(x.dataset, x.video, x.pred_onset, x.outcome) for x in lines] == [(0, "v1", 10, "TP"), (0, "v2", 5, "FP")]
    assert f"wrote {log}" in err
    assert main(["score-spots", str(truth), str(spots), "--per-video"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[table.index("") + 1].split() == ["video", "type", "TP", "FP", "FN"]
    assert ["v2", "micro", "0", "1", "0"] in [line.split() for line in table]


def test_a_video_id_with_a_space_is_written_in_the_megc2020_log_as_one_column_and_said(tmp_path, capsys):
    # the log's columns are split at whitespace (MEGC2020's scorers, read_megc2020_log): 'P01 rec 1' was three
    truth = _write(tmp_path / "truth.csv", "vid,onset,offset,type\nP01 rec 1,10,20,me\nP02\trec,,,\n")
    spots = _write(tmp_path / "spots.csv", "vid,onset,offset,type,score\nP01 rec 1,10,20,me,1\nP02\trec,5,9,me,1\n")
    log = tmp_path / "out.log"
    _, err = _json(capsys, truth, spots, "--log", log)
    lines = read_megc2020_log(log)
    assert [(x.video, x.pred_onset, x.outcome) for x in lines] == [("P01_rec_1", 10, "TP"), ("P02_rec", 5, "FP")]
    assert ("note: the MEGC2020 log separates its columns by spaces: 2 video id(s) with a space or a tab are written "
            "there with '_' in place of each run of them ('P01 rec 1', 'P02\\trec')") in " ".join(err.split()), err


def test_two_ids_that_the_megc2020_log_would_merge_are_refused_before_it_is_written(tmp_path, capsys):
    # "my clip" and "my_clip": every row was written my_clip, and the note named the space alone
    truth = _write(tmp_path / "t.csv", "vid,onset,offset,type\nmy clip,10,20,me\nmy_clip,30,40,me\n")
    spots = _write(tmp_path / "p.csv", "vid,onset,offset,type,score\nmy clip,10,20,me,1\nmy_clip,50,60,me,1\n")
    log = tmp_path / "x.log"
    assert main(["score-spots", str(truth), str(spots), "--log", str(log)]) == 3
    out, err = capsys.readouterr()
    assert ("error: video ids 'my clip' and 'my_clip' would both be written 'my_clip' in the MEGC2020 log") in err
    assert "rename one of them in the truth and prediction files, or score without --log" in " ".join(err.split())
    assert not log.exists() and out == ""
    assert main(["score-spots", str(truth), str(spots)]) == 0  # without --log nothing is merged


def test_help_says_which_frame_numbers_the_truth_uses(capsys):
    with pytest.raises(SystemExit):
        main(["score-spots", "--help"])
    text = capsys.readouterr().out
    assert "frame i (counted from 0) as i + 1" in text and "vid,onset,offset,type\n  15_0101,557,584,me" in text


def test_rows_after_blank_lines_are_named_by_their_line_in_the_file(tmp_path, capsys):
    # csv.DictReader skips blank lines: counting rows from 2 named line 5 "row 3", a line the user could not find
    bad = _write(tmp_path / "t.csv", "subject,video,onset,offset,type,emotion\ns1,a,10,20,me,negative\n\n\n"
                                     "s1,b,10,20,,negative\n")
    with pytest.raises(AnnotationError, match=r"row 5: type '' is not me/mae"):
        read_str_csv(bad)
    truth = _write(tmp_path / "truth.csv", "vid,onset,offset,type\n15_0101,100,170,me\n")
    spots = _write(tmp_path / "spots.csv", "vid,onset,offset,type\n\n15_0101,100,170,me\n\n16_0102,5,9,me\n")
    assert main(["score-spots", str(truth), str(spots)]) == 3
    assert f"'{spots}' row 5: video '16_0102' is not in '{truth}'" in capsys.readouterr().err
