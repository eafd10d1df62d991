"""`mmnet check-data` on a long-video dataset: a JSON form with the clip form's keys (``--json`` printed the text
report), and `mmnet train`'s refusals on stderr with exit 1 as the clip form's (one class was a stdout line, exit 0),
while what stops `mmnet train-spotter` is said apart: spotting needs no emotion."""

from __future__ import annotations

import json

from mmnet.cli import main

from .fakes import write_frames
from .fakes_long import CASME_SQ_ROWS, write_casme_sq, write_samm_long

# the fake's rows without its two bad rows (no error), the positive micro-expression made negative: one class
ONE_CLASS = [r if r[1] != "happy1_1" else (*r[:6], "negative", *r[7:]) for r in CASME_SQ_ROWS[:7]]


def test_json_mirrors_the_clip_form(tmp_path, capsys):
    root = write_casme_sq(tmp_path / "c")
    assert main(["check-data", "casme-sq", "--root", str(root), "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)  # was the text report
    assert err == ""
    assert result["dataset"] == "casme-sq" and result["frames"] == str(root / "rawpic")
    assert result["errors"] == 2 and {i["check"] for i in result["issues"]} >= {"bad_row", "offset_zero"}
    assert [v["video_id"].rsplit("/", 1)[1] for v in result["videos"]] == ["15_0101", "15_0401", "16_0101", "16_0502"]
    by_id = {v["video_id"]: v for v in result["videos"]}
    assert by_id["casme-sq/s15/15_0401"]["n_frames"] == 60 and by_id["casme-sq/s15/15_0401"]["duration_s"] == 2.0
    assert [i["type"] for i in by_id["casme-sq/s15/15_0401"]["intervals"]] == ["macro", "micro", "macro"]
    assert result["fps"] == [{"fps": 30.0, "videos": 4}] and result["frames_on_disk"] == 179
    assert result["total_duration_s"] == round(179 / 30, 3)
    assert result["intervals"] == {"micro": 2, "macro": 5} and result["subjects"] == {"s15": 2, "s16": 2}
    assert result["scheme"] == "casme-sq-str" and result["annotated"] == 4
    assert sorted(u["class"] for u in result["used"]) == ["negative", "positive"]
    # the bad rows stop `mmnet train` under data.on_bad_sample=error (skip leaves them out), and train-spotter
    assert result["training_stops"] is True and result["refused"] is None
    assert len(result["spotting_stops"]) == 1 and "reads the data strictly" in result["spotting_stops"][0]
    assert main(["check-data", "casme-sq", "--root", str(root), "--json", "--on-bad-sample", "skip"]) == 0
    assert json.loads(capsys.readouterr().out)["training_stops"] is False


def test_one_class_stops_mmnet_train_on_stderr_with_exit_1_not_the_spotter(tmp_path, capsys):
    root = write_casme_sq(tmp_path / "c", ONE_CLASS)
    assert main(["check-data", "casme-sq", "--root", str(root)]) == 1  # was 0
    out, err = capsys.readouterr()
    assert "recognise   2 micro-expressions usable by scheme casme-sq-str: negative 2, positive 0, surprise 0" in out
    assert "only negative has usable samples left: MMNet needs two classes or more" not in out  # the report alone
    # the error on one line, unwrapped (was wrapped mid-sentence), what still works on a note line of its own
    assert err.splitlines()[0].startswith(
        "error: `mmnet train` (spot then recognise) stops: scheme casme-sq-str of dataset casme-sq: only negative has "
        "usable samples left: MMNet needs two classes or more. Check the labels")
    assert err.splitlines()[-1] == "note: `mmnet train-spotter` needs no emotion"
    assert "spotting    " not in out  # nothing stops the spotter: no error, both types annotated, two subjects
    assert main(["check-data", "casme-sq", "--root", str(root), "--json"]) == 1
    out, err2 = capsys.readouterr()
    result = json.loads(out)
    assert "only negative has usable samples left" in result["refused"] and result["training_stops"] is True
    assert "\n" not in result["refused"] and "train-spotter" not in result["refused"]  # why train stops, alone
    assert result["spotting_stops"] == [] and err2.startswith("error: `mmnet train` (spot then recognise) stops")


def test_a_spotting_set_without_emotions_is_not_refused(tmp_path, capsys):
    # SAMM Long Videos without its micro coding file: MMNet has nothing to train on, the spotter does
    root = write_samm_long(tmp_path / "s", emotions=False)
    assert main(["check-data", "samm-long", "--root", str(root), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["refused"] is None and "no micro-expression has an emotion" in result["not_trainable"]
    assert result["training_stops"] is True and result["used"] == []
    assert [x["reason"] for x in result["excluded"]] == ["folder missing"]
    assert result["excluded_by_reason"] == {"folder missing": 1}


def test_no_recording_is_refused_in_json_too(tmp_path, capsys):
    root = tmp_path / "lab"  # frames on disk, but no frame rate anywhere
    for video in ("P01/rec1", "P02/rec1"):
        write_frames(root / video, range(1, 41), "frame_{:04d}.jpg".format)
    (root / "intervals.csv").write_text("subject,video,onset,offset,type\nP01,P01/rec1,5,12,micro\n"
                                        "P02,P02/rec1,3,8,micro\n", encoding="utf-8")
    assert main(["check-data", "table-long", "--root", str(root), "--json"]) == 1
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["videos"] == [] and result["frames"] is None and result["refused"].startswith(
        "no recording can be used (2 no frame rate)")
    assert [x["reason"] for x in result["excluded"]] == ["no frame rate"] * 2
    assert err.startswith("error: no recording can be used") and result["training_stops"] is True


def test_a_loso_fold_without_a_type_is_said(tmp_path, capsys):
    # the synthetic long set: 2 subjects, one short video each; one subject's video alone holds a macro interval, so
    # the fold holding it out trains on no macro interval and `train-spotter --loso` stops there
    root = tmp_path / "L"
    assert main(["synth", str(root), "--long", "--minutes", "0.25", "--subjects", "2", "--videos", "1",
                 "--size", "152", "114"]) == 0
    capsys.readouterr()
    assert main(["check-data", "casme-sq", "--root", str(root), "--json"]) in (0, 1)
    stops = json.loads(capsys.readouterr().out)["spotting_stops"]
    assert len(stops) == 1 and stops[0].startswith("`--loso`: learned spotter, fold ")  # was []
    assert "its training videos hold no macro interval" in stops[0]


def test_no_micro_expression_annotated_is_refused_as_train_refuses_it(tmp_path, capsys):
    # one subject whose one video holds a macro-expression alone: `mmnet train` finds no class with a sample
    root = tmp_path / "L"
    assert main(["synth", str(root), "--long", "--minutes", "0.3", "--subjects", "1", "--videos", "1", "--seed", "2",
                 "--size", "152", "114"]) == 0
    capsys.readouterr()
    assert main(["check-data", "casme-sq", "--root", str(root), "--json"]) == 1  # was 0, as a spotting set
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["intervals"]["micro"] == 0 and result["intervals"]["macro"] >= 1  # the case, as synthesised
    assert result["refused"] == ("`mmnet train` (spot then recognise) stops: no micro-expression is annotated, MMNet "
                                 "has nothing to classify") and result["not_trainable"] is None
    assert err.startswith("error: " + result["refused"])


def test_train_names_the_configured_dataset_when_no_sample_is_left():
    from mmnet.data import get_scheme
    from mmnet.data.dataset_load import DatasetLoad
    from mmnet.data.usage import classes_left

    why = classes_left(DatasetLoad(samples=[], issues=[]), get_scheme("casme-sq-str"), [], [], dataset="casme-sq")
    assert why.startswith(  # was "of dataset :"
        "scheme casme-sq-str of dataset casme-sq: no class has a usable sample left")
