"""`mmnet score-spots`: a predictions file scored against a truth file or a dataset's annotation, in every mode."""

from __future__ import annotations

import json

import pytest

from mmnet.cli import main
from mmnet.spotting.intervals import Interval
from mmnet.spotting.megc_files import write_spotting_csv, write_str_csv


def _scores(capsys, *argv) -> dict:
    assert main(["score-spots", *map(str, argv), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    return {r["type"]: (r["tp"], r["fp"], r["fn"]) for r in out["counts"]} | {"videos": out["videos_scored"]}


@pytest.fixture
def files(tmp_path):
    truth = write_spotting_csv(tmp_path / "truth.csv", {"006_1": [Interval(100, None, 170, "micro")],
                                                        "007_1": [Interval(100, None, 170, "micro")]})
    spots = write_spotting_csv(tmp_path / "spots.csv", {"006_1": [Interval(100, None, 170, "micro")],
                                                        "007_1": [Interval(5000, None, 5500, "macro")]})
    return truth, spots


def test_each_mode_is_reachable_from_the_command_line(files, capsys):
    truth, spots = files
    assert _scores(capsys, truth, spots)["micro"] == (1, 0, 1)
    assert _scores(capsys, truth, spots, "--mode", "megc")["macro"] == (0, 1, 0)
    assert _scores(capsys, truth, spots, "--mode", "softnet")["micro"] == (1, 1, 1)  # 007_1: its dummy FP
    assert _scores(capsys, truth, spots, "--mode", "megc2020")["micro"] == (1, 0, 1)
    # STRS-Metric scores only the subjects with micro-expression predictions: 006
    assert _scores(capsys, truth, spots, "--mode", "strs") == {"micro": (1, 0, 0), "overall": (1, 0, 0), "videos": 1}
    assert main(["score-spots", str(truth), str(spots)]) == 0
    table = capsys.readouterr().out
    assert "mode megc" in table and "micro" in table and "0.667" in table


def test_str_csvs_are_read_with_their_subjects(tmp_path, capsys):
    truth = write_str_csv(tmp_path / "truth.csv", {("s1", "a"): [Interval(10, None, 20, "micro", "negative")],
                                                   ("s2", "b"): [Interval(10, None, 20, "micro", "positive")]})
    spots = write_str_csv(tmp_path / "spots.csv", {("s1", "a"): [Interval(10, None, 20, "micro", "negative")]})
    assert _scores(capsys, truth, spots, "--mode", "strs")["micro"] == (1, 0, 0)  # s2 has no prediction
    assert _scores(capsys, truth, spots)["micro"] == (1, 0, 1)


def test_str_csvs_keep_apart_the_subjects_that_share_a_video_name(tmp_path, capsys):
    # CAS(ME)^3 names videos by task letter, the same for every subject: keyed by video alone, subject 01's miss and
    # false positive vanished behind subject 02's match (TP 1, FP 0, FN 0)
    truth = write_str_csv(tmp_path / "truth.csv", {("01", "EP02_01f"): [Interval(10, None, 20, "micro", "happiness")],
                                                   ("02", "EP02_01f"): [Interval(100, None, 110, "micro", "disgust")]})
    spots = write_str_csv(tmp_path / "spots.csv", {("01", "EP02_01f"): [Interval(500, None, 520, "micro", "happiness")],
                                                   ("02", "EP02_01f"): [Interval(100, None, 110, "micro", "disgust")]})
    for mode in ("megc", "strs"):
        assert _scores(capsys, truth, spots, "--mode", mode) == {"micro": (1, 1, 1), "videos": 2}  # STR: micro only
    plain = write_spotting_csv(tmp_path / "plain.csv", {"EP02_01f": [Interval(100, None, 110, "micro")]})
    for argv in ((truth, plain), (plain, spots)):  # a file naming videos alone cannot tell the subjects apart
        assert main(["score-spots", *map(str, argv)]) == 3
        assert "names video 'EP02_01f' for subjects '01' and '02'" in capsys.readouterr().err
    other = write_str_csv(tmp_path / "other.csv", {("03", "EP02_01f"): [Interval(1, None, 9, "micro", "fear")]})
    assert main(["score-spots", str(truth), str(other), "--mode", "megc"]) == 3
    assert f"'{other}' row 2: video '03/EP02_01f' is not in '{truth}'" in capsys.readouterr().err


def test_two_str_csvs_add_the_str_analysis_and_strs(tmp_path, capsys):
    from mmnet.spotting.megc import evaluate_str
    from mmnet.spotting.megc_files import read_str_csv

    truth = write_str_csv(tmp_path / "truth.csv", {("s1", "a"): [Interval(10, None, 20, "micro", "negative")],
                                                   ("s1", "b"): [Interval(10, None, 20, "micro", "positive")],
                                                   ("s2", "a"): [Interval(10, None, 20, "micro", "surprise")]})
    spots = write_str_csv(tmp_path / "spots.csv", {("s1", "a"): [Interval(10, None, 20, "micro", "negative")],
                                                   ("s1", "b"): [Interval(10, None, 20, "micro", "negative")],
                                                   ("s2", "a"): [Interval(30, None, 50, "micro", "surprise")]})
    for mode in ("megc", "strs"):
        assert main(["score-spots", str(truth), str(spots), "--mode", mode, "--json"]) == 0
        got = json.loads(capsys.readouterr().out)["analysis"]
        want = evaluate_str(read_str_csv(truth), read_str_csv(spots), mode=mode)
        assert got["strs"] == pytest.approx(want.strs) and got["f1"] == pytest.approx(want.analysis.f1)
        assert (got["classes"], got["pairs"], got["zeroed"]) == (list(want.analysis.classes), 2,
                                                                 list(want.analysis.zeroed))
        assert got["uar"] == pytest.approx(0.5) and got["accuracy"] == 0.5
    assert got["classes"] == ["negative", "positive", "surprise"] and got["zeroed"] == ["surprise"]
    assert main(["score-spots", str(truth), str(spots), "--mode", "strs"]) == 0
    out = capsys.readouterr().out
    assert "STR analysis: 2 true positive(s) with truth in negative, positive, surprise" in out
    assert f"= {want.strs:.3f}" in out and "STRS = micro spotting F1 0.667" in out
    # a spotting CSV has no emotion column: no analysis
    plain = write_spotting_csv(tmp_path / "plain.csv", {"a": [Interval(10, None, 20, "micro")]})
    one_subject = write_str_csv(tmp_path / "one.csv", {("s1", "a"): [Interval(10, None, 20, "micro", "negative")]})
    assert main(["score-spots", str(one_subject), str(plain), "--json"]) == 0
    assert "analysis" not in json.loads(capsys.readouterr().out)


def test_annotated_videos_without_prediction_rows_are_named(files, tmp_path, capsys):
    truth, _ = files
    partial = write_spotting_csv(tmp_path / "partial.csv", {"006_1": [Interval(100, None, 170, "micro")]})
    assert main(["score-spots", str(truth), str(partial)]) == 0
    assert "note: 1 of 2 annotated videos have no prediction rows (nothing spotted, or not run): 007_1" in (
        capsys.readouterr().err)


def test_errors_name_the_file_and_the_row(files, tmp_path, capsys):
    truth, _ = files
    other = tmp_path / "other.csv"
    other.write_text("vid,onset,offset,type\n006_1,100,170,me\n008_1,5,9,me\n")
    assert main(["score-spots", str(truth), str(other)]) == 3
    err = capsys.readouterr().err
    assert f"'{other}' row 3: video '008_1' is not in '{truth}'" in err and "--dataset" in err
    other.write_text("vid,onset,offset,type\n006_1,1x0,170,me\n")
    assert main(["score-spots", str(truth), str(other)]) == 3
    assert f"'{other}' row 2: onset '1x0'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as no_predictions:  # a missing argument: the usage, exit 2
        main(["score-spots", str(truth)])
    assert no_predictions.value.code == 2 and "TRUTH PREDICTIONS" in capsys.readouterr().err



@pytest.mark.parametrize("name, text", [
    ("spot.json", '{\n  "source": "15_0101.mp4"\n}\n'),
    ("intervals.csv", "onset,apex,offset,type,score,label\n10,14,20,micro,0.3,\n"),  # before it had seconds
])
def test_another_spot_output_given_for_predictions_names_the_file_to_give(files, tmp_path, capsys, name, text):
    # an older `mmnet spot --out` folder has no spotting.csv: "its header is ['{']" said nothing of what to give
    truth, _ = files
    given = tmp_path / name
    given.write_text(text)
    assert main(["score-spots", str(truth), str(given)]) == 3
    err = capsys.readouterr().err
    assert f"'{name}' is an output of `mmnet spot --out`: the spotting.csv beside it" in err
    other = tmp_path / "mine.csv"
    other.write_text("video,start,end\n")
    assert main(["score-spots", str(truth), str(other)]) == 3
    assert "mmnet spot" not in capsys.readouterr().err  # not a spot output: the expected columns only

def test_the_dataset_annotation_is_a_truth_with_every_video(tmp_path, capsys):
    from mmnet.data import load_dataset

    from .fakes_long import write_casme3_long

    root = write_casme3_long(tmp_path / "c3", long=None)
    load = load_dataset("casme3-long", root)
    quiet = next(v for v in load.videos if not v.intervals)  # in the annotation, no row in a truth CSV
    first = next(v for v in load.videos if v.intervals)
    path = write_spotting_csv(tmp_path / "spots.csv", {first.video: [first.intervals[0]],
                                                       quiet.video: [Interval(1, None, 9, "micro")]})
    assert main(["score-spots", str(path), "--dataset", "casme3-long", "--root", str(root)]) == 0
    # a partial run lowers the recall: the videos it did not spot are named
    unpredicted = [v.video for v in load.videos if v.video not in (first.video, quiet.video)]
    assert (f"note: {len(unpredicted)} of {len(load.videos)} annotated videos have no prediction rows (nothing "
            f"spotted, or not run): {unpredicted[0]}") in capsys.readouterr().err
    got = _scores(capsys, path, "--dataset", "casme3-long", "--root", root)
    truths = sum(len(v.of_type("micro")) for v in load.videos)
    assert got["micro"] == (1, 1, truths - 1) and "macro" not in got  # the label file: micro only
    assert got["videos"] == len(load.videos)


def test_a_type_neither_file_holds_reads_dash_not_zero(tmp_path, capsys):
    truth = write_spotting_csv(tmp_path / "truth.csv", {"v1": [Interval(10, None, 20, "micro")]})
    spots = write_spotting_csv(tmp_path / "spots.csv", {"v1": [Interval(11, None, 20, "micro")]})
    assert main(["score-spots", str(truth), str(spots)]) == 0
    rows = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()[2:]}
    assert rows["micro"] == ["1", "0", "0", "1.000", "1.000", "1.000"]
    assert rows["macro"] == ["0", "0", "0", "-", "-", "-"]


@pytest.fixture
def casme_sq(tmp_path):
    from .fakes_long import CASME_SQ_ROWS, write_casme_sq

    # the rows whose subject and stimulus the naming sheets know: videos 15_0101, 15_0401, 16_0101, 16_0502
    rows = [r for r in CASME_SQ_ROWS if r[0] in (1, 2) and not r[1].startswith("sad")]
    return write_casme_sq(tmp_path / "casme_sq", rows=rows)


def test_a_recording_named_by_its_casme_sq_file_is_matched_to_its_id(casme_sq, tmp_path, capsys):
    # `mmnet spot rawvideo/s16/16_0101disgustingteeth.mp4` names the video by its file; the annotation's id is
    # 16_0101, and score-spots --dataset refused every such prediction
    spots = {"16_0101": [Interval(10, None, 25, "macro")], "15_0401": [Interval(30, None, 38, "micro")]}
    ids = write_spotting_csv(tmp_path / "ids.csv", spots)
    by_id = _scores(capsys, ids, "--dataset", "casme-sq", "--root", casme_sq)
    named = write_spotting_csv(tmp_path / "named.csv", {"16_0101disgustingteeth": spots["16_0101"],
                                                        "15_0401angerfilm": spots["15_0401"]})
    assert main(["score-spots", str(named), "--dataset", "casme-sq", "--root", str(casme_sq), "--json"]) == 0
    printed = capsys.readouterr()
    out = json.loads(printed.out)
    assert {r["type"]: (r["tp"], r["fp"], r["fn"]) for r in out["counts"]} | {"videos": out["videos_scored"]} == by_id
    assert by_id["micro"][0] == 1 and by_id["macro"][0] == 1
    assert "'16_0101disgustingteeth' as '16_0101'" in printed.err and "--video-id" in printed.err


def test_a_name_that_is_no_dataset_id_lists_some_ids_and_the_video_id_option(casme_sq, tmp_path, capsys):
    # a digit after the id: another video, not 16_0101's file (the id it begins with is the one suggested)
    for video, ids in (("16_01019", "16_0101"), ("recording", "15_0101, 15_0401, 16_0101, 16_0502")):
        path = write_spotting_csv(tmp_path / "spots.csv", {video: [Interval(10, None, 25, "macro")]})
        assert main(["score-spots", str(path), "--dataset", "casme-sq", "--root", str(casme_sq)]) == 3
        err = capsys.readouterr().err
        assert f"video '{video}' is not in the dataset's annotation (1 such video(s))" in err
        assert f"The dataset's ids are like {ids} (4 in all)" in err
        assert f"`mmnet spot RECORDING --video-id {ids[:7]}`" in err
    both = write_spotting_csv(tmp_path / "both.csv", {"16_0101": [Interval(10, None, 25, "macro")],
                                                      "16_0101disgustingteeth": [Interval(30, None, 40, "macro")]})
    assert main(["score-spots", str(both), "--dataset", "casme-sq", "--root", str(casme_sq)]) == 3
    assert "give each video's predictions once" in capsys.readouterr().err


def test_str_subjects_empty_or_named_otherwise_are_handled_as_for_a_plain_csv(tmp_path, capsys):
    # an empty subject cell grouped every such video under one subject "" (shown '/17_0101') against STR predictions,
    # but under the id's prefix against a plain CSV; subjects spelled otherwise were "not in the truth" with advice to
    # take the truth from the dataset; a capitalised header gave "row 0"
    truth = tmp_path / "t.csv"
    truth.write_text("subject,video,onset,offset,emotion\n,15_0101,10,20,negative\n,17_0101,10,20,positive\n")
    (tmp_path / "p.csv").write_text("subject,video,onset,offset,emotion\n,15_0101,10,20,negative\n")
    (tmp_path / "plain.csv").write_text("vid,onset,offset,type\n15_0101,10,20,me\n")
    by_str = _scores(capsys, truth, tmp_path / "p.csv", "--mode", "strs")
    assert by_str | {"overall": by_str["micro"]} == _scores(capsys, truth, tmp_path / "plain.csv", "--mode", "strs")
    assert main(["score-spots", str(truth), str(tmp_path / "p.csv")]) == 0
    assert "/17_0101" not in capsys.readouterr().err
    spelled = tmp_path / "s.csv"
    spelled.write_text("Subject,Video,Onset,Offset,Emotion\ns1,a,10,20,negative\n")
    truth.write_text("subject,video,onset,offset,emotion\nspNO.1,a,10,20,negative\n")
    assert main(["score-spots", str(truth), str(spelled)]) == 3
    err = capsys.readouterr().err
    assert f"'{spelled}' row 2: video 's1/a'" in err
    assert "Subject(s) 's1' of the predictions are not in the truth at all (its subjects: 'spNO.1')" in err
    assert main(["score-spots", str(truth), str(spelled), "--mode", "strs"]) == 0
    assert "Subject(s) 's1' of the predictions are not in the truth" in capsys.readouterr().err


def test_classes_choose_the_str_analysis_classes(tmp_path, capsys):
    # a truth with 'others' was analysed over 4 classes, with no way to score MEAN's and BoostingVRME's 3
    truth = write_str_csv(tmp_path / "truth.csv", {("s1", "a"): [Interval(10, None, 20, "micro", "negative"),
                                                                 Interval(40, None, 50, "micro", "others")]})
    spots = write_str_csv(tmp_path / "spots.csv", {("s1", "a"): [Interval(10, None, 20, "micro", "negative"),
                                                                 Interval(40, None, 50, "micro", "negative")]})
    assert main(["score-spots", str(truth), str(spots), "--json"]) == 0
    printed = capsys.readouterr()
    assert json.loads(printed.out)["analysis"]["classes"] == ["negative", "others"]
    assert "--classes negative,positive,surprise" in printed.err
    assert main(["score-spots", str(truth), str(spots), "--json", "--classes", "Negative, positive,surprise"]) == 0
    got = json.loads(capsys.readouterr().out)["analysis"]
    assert got["classes"] == ["negative", "positive", "surprise"] and got["pairs"] == 1 and got["accuracy"] == 1.0
    with pytest.raises(SystemExit):
        main(["score-spots", str(truth), str(spots), "--classes", "negative,,surprise"])
    assert "give distinct class names separated by commas" in capsys.readouterr().err


def test_str_predictions_against_the_dataset_get_the_str_analysis_and_the_micro_row_only(casme_sq, tmp_path, capsys):
    # against --dataset, STR predictions had no analysis, and a macro row of misses and an overall row mixing them
    spots = write_str_csv(tmp_path / "str.csv", {("s15", "15_0401"): [Interval(30, None, 38, "micro", "negative")],
                                                 ("s16", "16_0502"): [Interval(5, None, 12, "micro", "negative")]})
    assert main(["score-spots", str(spots), "--dataset", "casme-sq", "--root", str(casme_sq), "--json"]) == 0
    printed = capsys.readouterr()
    out = json.loads(printed.out)
    assert [(r["type"], r["tp"], r["fp"], r["fn"]) for r in out["counts"]] == [("micro", 2, 0, 0)]
    assert out["analysis"]["classes"] == ["negative", "positive", "surprise"] and out["analysis"]["accuracy"] == 0.5
    assert "scheme casme-sq-str" in printed.err
    assert main(["score-spots", str(spots), "--dataset", "casme-sq", "--root", str(casme_sq)]) == 0
    table = capsys.readouterr().out
    assert "macro" not in table and "overall" not in table and "STRS = micro spotting F1 1.000" in table


def test_strs_mode_warns_of_emotions_that_differ_in_letter_case_only(tmp_path, capsys):
    # mmnet reads emotions in any case; STRS-Metric compares them exactly, so 'Negative' vs 'negative' scores 0 there
    truth = tmp_path / "truth.csv"
    truth.write_text("subject,video,onset,offset,emotion\ns1,a,10,20,Negative\n")
    spots = write_str_csv(tmp_path / "spots.csv", {("s1", "a"): [Interval(10, None, 20, "micro", "negative")]})
    assert main(["score-spots", str(truth), str(spots), "--mode", "strs"]) == 0
    out = capsys.readouterr().out
    assert "warning: the truth's emotion 'Negative' is written 'negative' in the predictions" in out
    assert main(["score-spots", str(truth), str(spots), "--mode", "strs", "--json"]) == 0
    assert "'Negative'" in json.loads(capsys.readouterr().out)["warnings"][0]
    assert main(["score-spots", str(truth), str(spots)]) == 0  # megc mode: case-insensitive, as before
    assert "warning:" not in capsys.readouterr().out


def test_classes_analyse_a_truth_with_unlabelled_rows_which_still_count_for_spotting(tmp_path, capsys):
    # one truth row without an emotion used to drop the whole STR analysis, --classes or not
    truth = write_str_csv(tmp_path / "truth.csv", {("s1", "a"): [Interval(10, None, 20, "micro", "negative")],
                                                   ("s1", "b"): [Interval(10, None, 20, "micro", None)],
                                                   ("s2", "a"): [Interval(10, None, 20, "micro", "positive")]})
    spots = write_str_csv(tmp_path / "spots.csv", {("s1", "a"): [Interval(10, None, 20, "micro", "negative")],
                                                   ("s1", "b"): [Interval(10, None, 20, "micro", "positive")],
                                                   ("s2", "a"): [Interval(10, None, 20, "micro", "negative")]})
    assert main(["score-spots", str(truth), str(spots), "--json"]) == 0  # no classes: none guessed from gaps
    printed = capsys.readouterr()
    assert "analysis" not in json.loads(printed.out) and "no STR analysis (give --classes" in printed.err
    for mode in ("megc", "strs"):
        assert main(["score-spots", str(truth), str(spots), "--mode", mode, "--json", "--classes",
                     "negative,positive"]) == 0
        printed = capsys.readouterr()
        out = json.loads(printed.out)
        assert [(r["type"], r["tp"], r["fp"], r["fn"]) for r in out["counts"]] == [("micro", 3, 0, 0)]
        assert (out["analysis"]["pairs"], out["analysis"]["unlabelled_truth"]) == (2, 1)
        assert out["analysis"]["accuracy"] == 0.5
        assert f"1 ground-truth interval(s) in '{truth}' have no emotion: counted for spotting, left out" in printed.err
    assert main(["score-spots", str(truth), str(spots), "--classes", "negative,positive"]) == 0
    out = capsys.readouterr().out
    assert "STR analysis: 2 true positive(s)" in out
    assert "left out: 1 true positive(s) whose ground truth has no emotion (counted in the spotting scores)" in out
