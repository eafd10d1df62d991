"""The CSVs mmnet writes as a spreadsheet opens them, and as mmnet reads them back: ids a spreadsheet runs as formulas
(protected with a leading ' where the layout is mmnet's, verbatim with a warning in the MEGC files), ids holding
commas or quotes (RFC 4180 quoting), leading zeros a spreadsheet drops, the web CSV's BOM, and numbers written with
6 decimals instead of 17 digits."""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from mmnet.cli import main
from mmnet.spotting.intervals import Interval, intervals_csv, spreadsheet_safe, spreadsheet_unsafe
from mmnet.spotting.megc_files import format_spotting_csv, format_str_csv, read_spotting_csv, read_str_csv

from .fakes import write_frames

FORMULA = "=2+5 Zoë"


@pytest.mark.parametrize("cell", [FORMULA, "+1", "-x", "@SUM(A1)", "\tx", "\rx", "'=quoted already", "'plain",
                                  "plain", "-0.5", "'", "", "it's"])
def test_reading_undoes_exactly_what_spreadsheet_safe_did(cell):
    assert spreadsheet_unsafe(spreadsheet_safe(cell)) == cell


def _spots(tmp_path: Path, video: str, *, bom: bool = False) -> Path:
    """intervals.csv of `mmnet spot --out` (or with a BOM, as the web page's CSV download) for ``video``."""
    records = [{"onset": 9, "apex": 11, "offset": 19, "type": "micro", "score": 0.5}]
    path = tmp_path / "intervals.csv"
    text = intervals_csv(records, [], video=video, frame_numbering="video_from_0")
    assert f"'{video}" in text  # protected for a spreadsheet
    path.write_text(("\ufeff" if bom else "") + text, encoding="utf-8")
    return path


@pytest.mark.parametrize("bom", [False, True])
def test_score_spots_reads_a_protected_video_id_of_intervals_csv_back(tmp_path, capsys, bom):
    truth = tmp_path / "spotting.csv"
    truth.write_text(format_spotting_csv({FORMULA: [Interval(10, None, 20, "micro")]}), encoding="utf-8")
    assert main(["score-spots", str(truth), str(_spots(tmp_path, FORMULA, bom=bom)), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    micro = next(r for r in scores["counts"] if r["type"] == "micro")
    assert (micro["tp"], micro["fp"], micro["fn"]) == (1, 0, 0)


def test_agree_reads_a_protected_video_id_of_intervals_csv_back(tmp_path, capsys):
    coder = tmp_path / "coder.csv"
    coder.write_text(format_spotting_csv({FORMULA: [Interval(10, None, 20, "micro")]}), encoding="utf-8")
    assert main(["agree", str(coder), str(_spots(tmp_path, FORMULA)), "--types", "micro", "--json"]) == 0
    micro = next(t for t in json.loads(capsys.readouterr().out)["pairs"][0]["types"] if t["type"] == "micro")
    assert (micro["matched"], micro["n_a"], micro["n_b"]) == (1, 1, 1)


@pytest.mark.parametrize("video", ["006/Zoë, take 2", 'say "cheese"', "two\nlines", "rec 1"])
def test_megc_csvs_quote_an_id_and_read_it_back(tmp_path, video):
    intervals = {("006", video): [Interval(5, None, 9, "micro", "happy", 0.123456789)]}
    spotting, str_csv = tmp_path / "spotting.csv", tmp_path / "str.csv"
    spotting.write_text(format_spotting_csv({video: intervals[("006", video)]}, scores=True), encoding="utf-8")
    str_csv.write_text(format_str_csv(intervals), encoding="utf-8")
    for path, width in ((spotting, 5), (str_csv, 5)):
        assert all(len(row) == width for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    (read,) = read_spotting_csv(spotting)[video]
    assert (read.onset, read.offset, read.score) == (5, 9, 0.123457)  # 6 decimals, as intervals.csv
    assert read_str_csv(str_csv)[("006", video)][0].label == "happy"


def test_megc_csvs_keep_formula_ids_verbatim_for_the_scorers(tmp_path):
    text = format_spotting_csv({FORMULA: [Interval(5, None, 9, "micro", score=0.5)]}, scores=True)
    assert text.splitlines() == ["vid,onset,offset,type,score", f"{FORMULA},5,9,me,0.500000"]


def _spot_args(**given) -> argparse.Namespace:
    return argparse.Namespace(**{"source": Path("rec.mp4"), "video_id": None, "subject": None, "checkpoint": None,
                                 **given})


def test_spot_warns_of_an_id_a_spreadsheet_runs_as_a_formula(capsys):
    from mmnet.commands.spot_ids import megc_ids

    formula = FORMULA.replace(" ", "_")  # spot refuses an id with a space (the MEGC2020 log splits at spaces)
    assert megc_ids(_spot_args(video_id=formula, subject="+s1", checkpoint=Path("m.pt"))) == (formula, "+s1")
    err = capsys.readouterr().err
    assert err.startswith("warning: ") and f"{formula!r} (spotting.csv)" in err and "'+s1' (str.csv)" in err
    assert "rename the recording" in err
    assert megc_ids(_spot_args(video_id="15_0101")) == ("15_0101", "s15")
    assert capsys.readouterr().err == ""
    # a subject named as the video: both files named
    assert megc_ids(_spot_args(video_id=formula, subject=formula, checkpoint=Path("m.pt"))) == (formula, formula)
    assert f"{formula!r} (spotting.csv, str.csv)" in capsys.readouterr().err


def test_check_data_warns_of_a_dataset_id_a_spreadsheet_runs_as_a_formula(tmp_path, capsys):
    from mmnet.data import load_dataset

    write_frames(tmp_path / FORMULA, range(1, 41), "frame_{:04d}.jpg".format)  # the video is the folder's path
    (tmp_path / "intervals.csv").write_text(f"subject,video,onset,offset,type,apex,fps\n+P01,{FORMULA},5,12,micro,,"
                                            "30\n", encoding="utf-8")
    load = load_dataset("table-long", tmp_path)
    (issue,) = [i for i in load.issues if i.check == "id_formula"]
    assert issue.severity == "warning" and f"video {FORMULA!r} and subject '+P01'" in issue.message
    assert "spotting.csv" in issue.message and "rename" in issue.message
    main(["check-data", "table-long", "--root", str(tmp_path)])
    assert "id_formula" in capsys.readouterr().out


def _str_file(path: Path, subject: str) -> Path:
    path.write_text(f"subject,video,onset,offset,emotion\n{subject},006_1,10,20,happy\n", encoding="utf-8")
    return path


def test_score_spots_strs_warns_when_a_spreadsheet_dropped_the_subjects_leading_zeros(tmp_path, capsys):
    truth, saved = _str_file(tmp_path / "truth.csv", "006"), _str_file(tmp_path / "resaved.csv", "6")
    main(["score-spots", str(truth), str(saved), "--mode", "strs"])
    err = capsys.readouterr().err
    assert "warning:" in err and "did a spreadsheet drop leading zeros?" in err and "'6' ('006')" in err
    other = _str_file(tmp_path / "other.csv", "7")  # another subject: the note as before
    main(["score-spots", str(truth), str(other), "--mode", "strs"])
    err = capsys.readouterr().err
    assert "note: Subject(s) '7'" in err and "warning:" not in err


def test_the_megc_log_of_a_report_quotes_a_sample_id_with_a_comma():
    from mmnet.report.render import megc_log

    samples = pd.DataFrame({"sample_id": ["a, b", "c"], "subject": ["s1", "s1"]})
    parts = pd.DataFrame({"fold": ["s1", "s1"], "epoch": [3, 3], "sample_id": ["a, b", "c"], "dataset": ["d", "d"],
                          "subject": ["s1", "s1"], "true": [0, 1], "pred": [1, 1]})
    report = {"classes": ["neg", "pos"], "datasets": ["d"], "run": "r"}
    log, _ = megc_log(report, {"0": {"acc": parts}}, SimpleNamespace(samples=samples))
    rows = log.splitlines()
    at = rows.index("subject,sample,true,pred")
    assert list(csv.reader(rows[at + 1:at + 3])) == [["s1", "a, b", "neg", "pos"], ["s1", "c", "pos", "pos"]]


def test_the_spotting_demo_summary_csv_writes_6_decimals():
    from mmnet.spotting.demo import _summary_csv

    counts = {"tp": 1, "fp": 2, "fn": 0, "precision": 1 / 3, "recall": 1.0, "f1": 0.5}
    text = _summary_csv({"spotter": {"micro": counts}, "baseline": {"micro": counts}})
    assert text.splitlines()[1] == "spotter,micro,1,2,0,0.333333,1.000000,0.500000"


def test_videos_csv_of_a_run_writes_the_rate_with_6_decimals(tmp_path):
    from mmnet.train.spot_recognise import write_long_files

    video = SimpleNamespace(video="v1", subject="s1", fps=30000 / 1001, frames=((1, "a"), (9, "b")), n_frames=9,
                            intervals=())
    load = SimpleNamespace(videos=[video], types=("micro",))
    write_long_files(tmp_path, load, SimpleNamespace(mapping={}), [("d/s1", None, None)])
    row = (tmp_path / "videos.csv").read_text().splitlines()[1]
    assert row.split(",")[3] == "29.970030"


def test_spots_csv_writes_scores_and_probabilities_with_the_one_6_decimal_formatter():
    import numpy as np

    from mmnet.spotting.intervals import Interval, six_decimals
    from mmnet.train.spot_recognise import _spots_rows

    assert [six_decimals(v) for v in (np.float32(0.1), 1, None)] == ["0.100000", "1.000000", ""]
    video = SimpleNamespace(video="v1", subject="s1")
    spotted = Interval(onset=3, offset=9, type="micro", apex=5, score=np.float32(2 / 3), label="pos",
                       probabilities={"pos": 0.75})
    assert _spots_rows(video, [spotted], ["neg", "pos"]) == [["v1", "s1", 3, 5, 9, "micro", "0.666667", "pos", "",
                                                             "0.750000"]]
