"""MEGC spotting and STR evaluation on hand-made interval sets with known answers."""

import pytest

from mmnet.errors import AnnotationError, ConfigError, DataError
from mmnet.spotting.intervals import Interval, iou, parse_type
from mmnet.spotting.megc import Counts, evaluate_analysis, evaluate_spotting, evaluate_str, match_video
from mmnet.spotting.megc_files import (
    format_megc2020_log,
    read_megc2020_log,
    read_spotting_csv,
    read_str_csv,
    write_megc2020_log,
    write_spotting_csv,
    write_str_csv,
)


def me(on, off, label=None, score=None):
    return Interval(on, None, off, "micro", label, score)


def mae(on, off, score=None):
    return Interval(on, None, off, "macro", None, score)


def test_interval_iou_is_inclusive_and_symmetric():
    assert iou(me(1, 10), me(6, 15)) == pytest.approx(5 / 15)
    assert iou(me(1, 10), me(1, 10)) == 1.0
    assert iou(me(1, 5), me(6, 10)) == 0.0  # adjacent, no shared frame
    assert iou(me(5, 5), me(5, 5)) == 1.0
    assert iou(me(1, 10), me(3, 4)) == iou(me(3, 4), me(1, 10)) == pytest.approx(2 / 10)
    with pytest.raises(DataError, match="before the onset"):
        me(5, 4)
    with pytest.raises(DataError, match="type"):
        Interval(1, None, 2, "me")
    assert parse_type("Micro - 1/2") == "micro" and parse_type("macro-expression") == "macro"
    assert parse_type("mae") == "macro" and parse_type("blink") is None


def test_iou_exactly_half_is_a_true_positive():
    truth = {"v": [me(1, 10)]}
    assert iou(me(1, 10), me(6, 10)) == 0.5
    assert evaluate_spotting(truth, {"v": [me(6, 10)]}).counts["micro"] == Counts(1, 0, 0)
    # just below 0.5: 5 shared frames of 11
    assert evaluate_spotting(truth, {"v": [me(6, 11)]}).counts["micro"] == Counts(0, 1, 1)


def test_empty_predictions_and_empty_truth():
    r = evaluate_spotting({"v": [me(1, 10), mae(20, 60)]}, {})
    assert r.counts["overall"] == Counts(0, 0, 2)
    assert (r.counts["overall"].precision, r.counts["overall"].recall, r.counts["overall"].f1) == (0, 0, 0)
    r = evaluate_spotting({"v": []}, {"v": [me(1, 10)]})  # a video without expressions: every prediction is an FP
    assert r.counts["micro"] == Counts(0, 1, 0) and r.counts["macro"] == Counts()
    assert evaluate_spotting({}, {}).counts["overall"] == Counts()


def test_one_prediction_overlapping_two_truths_matches_one():
    truth = {"v": [me(1, 10), me(3, 12)]}
    r = evaluate_spotting(truth, {"v": [me(2, 11)]})
    assert r.counts["micro"] == Counts(1, 0, 1)
    tp = [p for p in r.pairs if p.outcome == "TP"][0]
    assert tp.truth == me(1, 10)  # equal IoU 9/11: the earlier truth onset wins
    # STRS-Metric counts both pairs
    assert evaluate_spotting(truth, {"v": [me(2, 11)]}, mode="strs").counts["micro"] == Counts(2, 0, 0)


def test_two_predictions_on_one_truth_greedy_by_score():
    truth = {"v": [me(10, 20)]}
    preds = {"v": [me(10, 19, score=0.2), me(12, 20, score=0.9)]}
    r = evaluate_spotting(truth, preds)
    assert r.counts["micro"] == Counts(1, 1, 0)
    assert [p for p in r.pairs if p.outcome == "TP"][0].prediction.score == 0.9  # higher score first
    # without scores: the earlier onset goes first
    r = evaluate_spotting(truth, {"v": [me(12, 20), me(10, 19)]})
    assert [p for p in r.pairs if p.outcome == "TP"][0].prediction == me(10, 19)


def test_greedy_falls_back_to_second_best_truth_but_softnet_does_not():
    truth = [me(1, 10), me(4, 14)]
    preds = [me(1, 10, score=0.9), me(2, 11, score=0.5)]  # the second's best truth (1..10) is taken first
    pairs, c = match_video(truth, preds)
    assert c == Counts(2, 0, 0)
    pairs, c = match_video(truth, preds, mode="softnet")
    assert c == Counts(1, 1, 1)


def test_type_mismatch_counts_against_both_types():
    r = evaluate_spotting({"v": [mae(100, 200)]}, {"v": [me(100, 200)]})
    assert r.counts["micro"] == Counts(0, 1, 0)
    assert r.counts["macro"] == Counts(0, 0, 1)
    assert r.counts["overall"] == Counts(0, 1, 1)


def test_pooling_sums_counts_before_ratios():
    truth = {"a": [me(1, 10)], "b": [me(1, 10), me(50, 60), mae(100, 300)]}
    preds = {"a": [me(1, 10), me(30, 40)], "b": [me(50, 60), mae(100, 290), mae(400, 500)]}
    r = evaluate_spotting(truth, preds)
    assert r.counts["micro"] == Counts(2, 1, 1)
    assert r.counts["macro"] == Counts(1, 1, 0)
    overall = r.counts["overall"]
    assert overall == Counts(3, 2, 1)
    assert overall.precision == pytest.approx(3 / 5) and overall.recall == pytest.approx(3 / 4)
    assert overall.f1 == pytest.approx(6 / 9)  # pooled, not the mean of the per-video F1
    assert r.per_video["a"]["micro"] == Counts(1, 1, 0)


def test_predictions_for_unknown_videos_are_an_error():
    with pytest.raises(DataError, match="not in the ground truth"):
        evaluate_spotting({"a": []}, {"b": [me(1, 2)]})
    with pytest.raises(ConfigError):
        evaluate_spotting({}, {}, mode="magic")
    with pytest.raises(ConfigError):
        evaluate_spotting({}, {}, threshold=0)


def test_megc2020_mode_reproduces_its_quirks():
    # one-frame intervals score 0 in MDMD's IoU
    assert match_video([me(5, 5)], [me(5, 5)])[1] == Counts(1, 0, 0)
    assert match_video([me(5, 5)], [me(5, 5)], mode="megc2020")[1] == Counts(0, 1, 1)
    # disjoint intervals share "1 frame": 1..2 vs 3..4 -> 1/3, still below 0.5
    assert match_video([me(1, 2)], [me(3, 4)], mode="megc2020")[1] == Counts(0, 1, 1)
    # TP = truths hit by any prediction; one prediction can hit two truths
    truth = [me(1, 10), me(2, 11)]
    assert match_video(truth, [me(1, 11)], mode="megc2020")[1] == Counts(2, 0, 0)  # the pool gives the FP back
    assert match_video(truth, [me(1, 11)])[1] == Counts(1, 0, 1)
    # FP = predictions - TP: a second prediction on a found truth is an FP
    assert match_video([me(1, 4)], [me(2, 4), me(1, 4)], mode="megc2020")[1] == Counts(1, 1, 0)


def test_megc2020_mode_pools_fp_as_mdmd():
    # MDMD: precision = truths found / predictions over all videos, i.e. FP = predictions - TP pooled; a video
    # where one prediction found two truths gives one back to the pool (4 predictions, 2 found: FP 2, F1 2/3)
    truth = {"v1": [me(1, 10), me(11, 20)], "v2": []}
    preds = {"v1": [me(1, 20)], "v2": [me(100, 110), me(200, 210), me(300, 310)]}
    counts = evaluate_spotting(truth, preds, mode="megc2020", types=("micro",)).counts["micro"]
    assert counts == Counts(2, 2, 0) and counts.f1 == pytest.approx(2 / 3)
    alone = evaluate_spotting({"v1": truth["v1"]}, {"v1": preds["v1"]}, mode="megc2020")
    assert alone.counts["micro"] == Counts(2, 0, 0)  # the pool is never below 0


def test_megc2020_per_video_counts_and_log_agree_with_the_totals():
    # two predictions on one truth: the pairs (and the log) said TP twice while the totals counted TP 1, FP 1; one
    # prediction on two truths gave the video FP -1
    one_truth = evaluate_spotting({"v": [me(1, 4)]}, {"v": [me(2, 4), me(1, 4)]}, mode="megc2020", types=("micro",))
    assert one_truth.counts["micro"] == one_truth.per_video["v"]["micro"] == Counts(1, 1, 0)
    assert sorted(p.outcome for p in one_truth.pairs) == ["FP", "TP"]
    log = format_megc2020_log([(1, one_truth.pairs)])
    assert sum(line.endswith("TP") for line in log.splitlines()) == 1
    assert sum(line.endswith("FP") for line in log.splitlines()) == 1
    two_truths = evaluate_spotting({"v": [me(1, 10), me(2, 11)]}, {"v": [me(1, 11)]}, mode="megc2020")
    assert two_truths.per_video["v"]["micro"] == two_truths.counts["micro"] == Counts(2, 0, 0)


def test_softnet_mode_scores_only_videos_with_the_type_and_adds_a_dummy():
    truth = {"a": [me(1, 10)], "b": [], "c": [mae(1, 100)]}
    preds = {"b": [me(1, 10)]}
    r = evaluate_spotting(truth, preds, mode="softnet", types=("micro",))
    assert r.counts["micro"] == Counts(0, 1, 1)  # a: FN + the dummy FP; b (no micro truth) not scored
    assert evaluate_spotting(truth, preds, types=("micro",)).counts["micro"] == Counts(0, 1, 1)


def test_strs_mode_scores_only_subjects_with_predictions_and_videos_with_truth():
    truth = {"006_1": [me(1, 10)], "007_1": [me(1, 10)], "006_2": []}
    r = evaluate_spotting(truth, {"006_2": [me(50, 60)]}, mode="strs")
    # 007 has no prediction: its FN is not counted; 006_2 has no truth: its prediction is not scored (counted apart)
    assert r.counts["micro"] == Counts(0, 0, 1) and r.unscored == 1
    assert evaluate_spotting(truth, {"006_2": [me(50, 60)]}).counts["micro"] == Counts(0, 1, 2)
    # a video missing from the truth (an STR ground-truth CSV lists only videos with expressions): not scored
    r = evaluate_spotting({"006_1": [me(1, 10)]}, {"006_1": [me(1, 10)], "006_9": [me(5, 20)]}, mode="strs")
    assert r.counts["micro"] == Counts(1, 0, 0) and r.unscored == 1
    with pytest.raises(DataError, match="not in the ground truth"):
        evaluate_spotting({"006_1": [me(1, 10)]}, {"006_9": [me(5, 20)]})


def test_strs_mode_takes_subjects_from_predictions_of_the_scored_types_only():
    # STRS-Metric's prediction CSV holds micro-expressions only: a subject with just a macro prediction is not scored
    truth = {"006_1": [me(100, 170, "negative")], "007_1": [me(100, 170, "positive")]}
    preds = {"006_1": [me(100, 170, "negative")], "007_1": [mae(5000, 5500)]}
    r = evaluate_spotting(truth, preds, mode="strs", types=("micro",))
    assert r.counts["micro"] == Counts(1, 0, 0) and r.counts["micro"].f1 == 1.0
    assert evaluate_str(truth, preds, mode="strs").spotting.counts["micro"] == Counts(1, 0, 0)


def test_strs_mode_claims_a_truth_once():
    # STRS-Metric: a second prediction on a claimed truth is an FP (one prediction may still claim two truths)
    truth = {("s1", "v1"): [me(100, 120, "negative")]}
    preds = {("s1", "v1"): [me(100, 120, "negative"), me(101, 120, "positive")]}
    r = evaluate_str(truth, preds, mode="strs", classes=("negative", "positive"))
    assert r.spotting.counts["micro"] == Counts(1, 1, 0)
    # its analysis: the one pair is "negative" on both sides, so both classes' tables collapse: P = R = 0
    assert r.analysis.zeroed == ("negative", "positive") and r.analysis.f1 == 0.0
    assert evaluate_str(truth, preds, classes=("negative", "positive")).analysis.f1 == 1.0  # the default rule


def test_strs_analysis_counts_collapsed_classes_as_zero_and_takes_every_truth_emotion():
    truth = {"v": [me(100, 120, "negative"), me(200, 220, "positive"), me(300, 320, "surprise")]}
    preds = {"v": [me(100, 120, "negative"), me(200, 220, "negative")]}
    a = evaluate_str(truth, preds, mode="strs").analysis
    # classes: every truth emotion; negative P 1/2 R 1, positive P 0 R 0, surprise (no pair) P = R = 0
    assert a.classes == ("negative", "positive", "surprise") and a.zeroed == ("surprise",)
    p, r = (0.5 + 0 + 0) / 3, (1 + 0 + 0) / 3
    assert (a.precision, a.recall) == pytest.approx((p, r)) and a.f1 == pytest.approx(2 * p * r / (p + r))
    default = evaluate_str(truth, preds).analysis  # MEAN's rule: surprise has no pair and is left out
    assert default.classes == ("negative", "positive") and default.f1 == pytest.approx(2 * 0.25 * 0.5 / 0.75)


def test_analysis_f1_is_from_mean_precision_and_recall_not_uf1():
    truth = {"v": [me(1, 10, "negative"), me(20, 30, "positive"), me(40, 50, "positive"), me(60, 70, "surprise")]}
    preds = {"v": [me(1, 10, "negative"), me(20, 30, "negative"), me(40, 50, "positive"), me(60, 70, "surprise"),
                   me(100, 110, "positive")]}
    r = evaluate_str(truth, preds, classes=("negative", "positive", "surprise"))
    assert r.spotting.counts["micro"] == Counts(4, 1, 0)
    a = r.analysis
    # negative P 1/2 R 1; positive P 1 R 1/2; surprise P 1 R 1
    assert a.per_class["negative"].precision == 0.5 and a.per_class["positive"].recall == 0.5
    p, rc = (0.5 + 1 + 1) / 3, (1 + 0.5 + 1) / 3
    assert a.f1 == pytest.approx(2 * p * rc / (p + rc))
    assert a.uf1 == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert a.accuracy == pytest.approx(3 / 4)
    assert r.strs == pytest.approx(r.spotting.counts["micro"].f1 * a.f1)
    assert r.spotting.counts["micro"].f1 == pytest.approx(8 / 9)


def test_uar_averages_recall_over_the_classes_with_a_truth_pair():
    # surprise is only predicted: it has no recall, and counting it as 0 gave UAR 1/3 (balanced accuracy: 1/2)
    truth = {"v": [me(1, 10, "negative"), me(20, 30, "positive")]}
    preds = {"v": [me(1, 10, "negative"), me(20, 30, "surprise")]}
    for mode in ("megc", "strs"):
        a = evaluate_str(truth, preds, classes=("negative", "positive", "surprise"), mode=mode).analysis
        assert a.uar == pytest.approx(0.5) and a.accuracy == 0.5
    assert evaluate_str(truth, preds, classes=("negative", "positive", "surprise")).analysis.uf1 == pytest.approx(1 / 3)


def test_analysis_leaves_out_classes_without_pairs_and_labels_outside_the_set():
    truth = {"v": [me(1, 10, "negative"), me(20, 30, "others")]}
    preds = {"v": [me(1, 10, "negative"), me(20, 30, "others")]}
    a = evaluate_str(truth, preds, classes=("negative", "positive", "surprise")).analysis
    assert a.n_pairs == 1 and a.left_out == ("positive", "surprise") and a.f1 == 1.0
    with pytest.raises(DataError, match="no emotion label"):
        evaluate_analysis(evaluate_spotting({"v": [me(1, 10)]}, {"v": [me(1, 10, "x")]}).pairs)


def test_an_unlabelled_matched_truth_is_left_out_and_counted_when_classes_are_given():
    # it raised "no emotion label" even with classes given, though the docstring leaves such pairs out
    truth = {"v": [me(1, 10, "negative"), me(20, 30)]}
    preds = {"v": [me(1, 10, "negative"), me(20, 30, "positive")]}
    classes = ("negative", "positive", "surprise")
    for a in (evaluate_str(truth, preds, classes=classes).analysis,
              evaluate_analysis(evaluate_spotting(truth, preds, types=("micro",)).pairs, classes)):
        assert a.unlabelled_truth == 1 and a.n_pairs == 1 and a.accuracy == 1.0
        assert a.left_out == ("positive", "surprise")
    with pytest.raises(DataError, match="no emotion label"):
        evaluate_str(truth, preds)
    with pytest.raises(DataError, match="no emotion label"):
        evaluate_str(truth, preds, mode="strs")  # its classes come from the truth, not from the caller


def test_megc2020_log_layout_and_round_trip(tmp_path):
    truth = {"019_7": [mae(398, 532), me(975, 1140)], "15_0102": []}
    preds = {"019_7": [mae(277, 347), mae(400, 530), me(1127, 1201)], "15_0102": [me(5, 9)]}
    r = evaluate_spotting(truth, preds)
    text = format_megc2020_log([(1, [p for p in r.pairs if p.video == "019_7"]),
                                (2, [p for p in r.pairs if p.video == "15_0102"])])
    lines = text.splitlines()
    assert lines[0] == "1"
    assert lines[1] == "019_7   -         -       277     347     FP"
    assert lines[2] == "019_7   398       532     400     530     TP"
    assert lines[3] == "019_7   975       1140    -       -       FN"
    assert lines[4] == "019_7   -         -       1127    1201    FP"
    assert lines[5:] == ["2", "15_0102   -       -       5       9       FP"]
    back = read_megc2020_log(write_megc2020_log(tmp_path / "log.txt", [(1, r.pairs)]))
    assert [(x.outcome, x.truth_onset, x.pred_onset) for x in back[:2]] == [("FP", None, 277), ("TP", 398, 400)]
    assert sum(x.outcome == "FN" for x in back) == r.counts["overall"].fn


def test_a_video_id_with_whitespace_is_one_column_of_the_megc2020_log(tmp_path):
    # its columns are split at whitespace: 'P01/rec 1' was two columns, a line neither scorer could read
    r = evaluate_spotting({"P01/rec 1": [me(10, 20)], " P02\trec ": []}, {"P01/rec 1": [me(10, 20)],
                                                                          " P02\trec ": [me(5, 9)]})
    text = format_megc2020_log([(0, r.pairs)])
    assert [line.split()[0] for line in text.splitlines()[1:]] == ["P01/rec_1", "P02_rec"]
    back = read_megc2020_log(write_megc2020_log(tmp_path / "log.txt", [(0, r.pairs)]))
    assert [(x.video, x.outcome) for x in back] == [("P01/rec_1", "TP"), ("P02_rec", "FP")]


def test_two_ids_that_the_megc2020_log_writes_alike_are_refused_naming_both(tmp_path):
    # "my clip" and "my_clip" were both written my_clip: two videos read back as one
    r = evaluate_spotting({"my clip": [me(10, 20)], "my_clip": [me(30, 40)]},
                          {"my clip": [me(10, 20)], "my_clip": [me(50, 60)]})
    with pytest.raises(AnnotationError, match=r"video ids 'my clip' and 'my_clip' would both be written 'my_clip' in "
                                              r"the MEGC2020 log .* rename one of them"):
        write_megc2020_log(tmp_path / "log.txt", [(0, r.pairs)])
    assert not (tmp_path / "log.txt").exists()
    # each section is a dataset of its own: one id in two of them is no merge
    a, b = (evaluate_spotting({v: [me(10, 20)]}, {v: [me(10, 20)]}) for v in ("my clip", "my_clip"))
    assert format_megc2020_log([(1, a.pairs), (2, b.pairs)]).split() == ["1", "my_clip", "10", "20", "10", "20", "TP",
                                                                        "2", "my_clip", "10", "20", "10", "20", "TP"]


def test_spotting_and_str_csv_round_trip(tmp_path):
    preds = {"006_1": [me(30, 100, "negative", 0.75), mae(1, 900)], "15_0101": []}
    back = read_spotting_csv(write_spotting_csv(tmp_path / "s.csv", preds, scores=True))
    assert back == {"006_1": [mae(1, 900), me(30, 100, score=0.75)]}
    assert (tmp_path / "s.csv").read_text().splitlines()[:2] == ["vid,onset,offset,type,score", "006_1,1,900,mae,"]
    back = read_str_csv(write_str_csv(tmp_path / "str.csv", preds))
    assert back == {("006", "006_1"): [me(30, 100, "negative")]}
    (tmp_path / "bad.csv").write_text("vid,onset,offset,type\nv,3,x,me\n")
    with pytest.raises(Exception, match="row 2"):
        read_spotting_csv(tmp_path / "bad.csv")


def test_an_unclassified_true_positive_is_a_false_negative_of_its_truth_class():
    # a spotted interval with no label (its onset is its apex) matched to a negative truth: negative has TP 0,
    # FN 1 (P 0, R 0); positive TP 1 (P 1, R 1). Means P = R = 0.5, analysis F1 = 0.5.
    truth = {"v": [me(1, 10, "negative"), me(20, 30, "positive")]}
    preds = {"v": [me(1, 10, None, 0.9), me(20, 30, "positive", 0.8)]}
    r = evaluate_str(truth, preds, classes=("negative", "positive"))
    assert r.spotting.counts["micro"] == Counts(2, 0, 0)
    a = r.analysis
    assert (a.per_class["negative"].tp, a.per_class["negative"].fp, a.per_class["negative"].fn) == (0, 0, 1)
    assert (a.per_class["positive"].tp, a.per_class["positive"].fp, a.per_class["positive"].fn) == (1, 0, 0)
    assert (a.precision, a.recall, a.f1, a.accuracy) == (0.5, 0.5, 0.5, 0.5)
    assert r.strs == 0.5


def test_megc2020_iou_counts_one_shared_frame_for_disjoint_intervals():
    # MDMD: intersection = max(0, min end - max start) + 1, so 1..2 and 10..11 "share" 1 frame of 2 + 2 - 1:
    # IoU 1/3, a TP at threshold 0.3 (an honest IoU of 0 would not be)
    assert match_video([me(1, 2)], [me(10, 11)], mode="megc2020", threshold=0.3)[1] == Counts(1, 0, 0)
    assert match_video([me(1, 2)], [me(10, 11)], threshold=0.3)[1] == Counts(0, 1, 1)


def test_scored_predictions_are_matched_before_unscored_ones():
    # the unscored prediction fits the truth best and comes first by onset, but a scored one (even at 0) goes first
    truth = {"v": [me(1, 10)]}
    pairs = evaluate_spotting(truth, {"v": [me(1, 10), me(2, 10, score=0.0)]}, types=("micro",)).pairs
    assert [(p.outcome, p.prediction.onset) for p in pairs] == [("FP", 1), ("TP", 2)]


def test_threshold_one_is_accepted_and_needs_an_exact_match():
    truth = {"v": [me(1, 10), me(20, 30)]}
    r = evaluate_spotting(truth, {"v": [me(1, 10), me(20, 29)]}, threshold=1, types=("micro",))
    assert r.counts["micro"] == Counts(1, 1, 1)
    with pytest.raises(ConfigError, match=r"\(0, 1\]"):
        evaluate_spotting(truth, {}, threshold=1.01)


def test_megc2020_log_lines_of_a_video_are_ordered_by_predicted_onset():
    # TP truth 100..150 found by 125..150 (IoU 26/51); FP at 120; FN truth 122..123; a macro FP at 121: by predicted
    # onset (the truth onset for an FN) the order is 120, 121, 122, 125, whatever the truth onsets or the types
    truth = {"v": [me(100, 150), me(122, 123), mae(300, 400)]}
    preds = {"v": [me(125, 150, score=0.9), me(120, 121, score=0.1), mae(121, 126)]}
    r = evaluate_spotting(truth, preds)
    lines = format_megc2020_log([(1, r.pairs)]).splitlines()[1:]
    assert [line.split()[1:] for line in lines] == [
        ["-", "-", "120", "121", "FP"], ["-", "-", "121", "126", "FP"], ["122", "123", "-", "-", "FN"],
        ["100", "150", "125", "150", "TP"], ["300", "400", "-", "-", "FN"]]


def test_str_csv_emotions_are_read_in_lower_case(tmp_path):
    (tmp_path / "str.csv").write_text("subject,video,onset,offset,emotion\n006,006_1,30,100,Negative\n"
                                      "006,006_1,200,240,\n")
    assert read_str_csv(tmp_path / "str.csv") == {("006", "006_1"): [me(30, 100, "negative"), me(200, 240)]}


def test_nan_scores_rank_like_missing_ones_so_the_row_order_does_not_decide():
    # NaN compares with nothing: sorted by -nan, the onset tie-break was never reached and the input order decided
    truth = {"v": [me(0, 0), me(0, 2)]}
    preds = [me(0, 1, score=float("nan")), me(1, 2, score=float("nan"))]
    forward = evaluate_spotting(truth, {"v": preds}).counts["micro"]
    backward = evaluate_spotting(truth, {"v": preds[::-1]}).counts["micro"]
    unscored = evaluate_spotting(truth, {"v": [me(0, 1), me(1, 2)]}).counts["micro"]
    assert forward == backward == unscored


def test_a_type_named_twice_is_counted_once():
    truth = {"v": [me(1, 5)]}
    preds = {"v": [me(1, 5), me(20, 25)]}
    assert evaluate_spotting(truth, preds, types=["micro", "micro"]).counts == evaluate_spotting(
        truth, preds, types=["micro"]).counts


def test_a_csv_naming_a_column_twice_or_holding_a_nan_score_is_refused_naming_it(tmp_path):
    twice = tmp_path / "twice.csv"
    twice.write_text("vid,onset,offset,type,Onset\nv,10,14,me,1\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"\['onset'\] twice"):
        read_spotting_csv(twice)  # the last 'Onset' won: the prediction became 1..14
    nan = tmp_path / "nan.csv"
    nan.write_text("vid,onset,offset,type,score\nv,10,11,me,0.5\nv,11,12,me,nan\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"nan.csv. row 3") as err:
        read_spotting_csv(nan)
    assert "'nan' is not a finite number" in str(err.value)
