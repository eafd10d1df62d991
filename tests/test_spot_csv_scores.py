"""The spotting CSVs that runs write keep each interval's score, so `mmnet score-spots` on them gives the table the run
printed: the matching takes predictions by descending score, and without scores by onset, which can differ."""

from __future__ import annotations

import json

import pytest

from mmnet.cli import main
from mmnet.spotting.intervals import Interval
from mmnet.spotting.megc import evaluate_spotting
from mmnet.spotting.megc_files import write_spotting_csv

# by score, [104,123] (0.9) takes [100,119] and [98,117] is left an FP (IoU 0.25 with [110,129]): TP 1, FP 1, FN 1;
# by onset, [98,117] takes [100,119] and [104,123] takes [110,129]: TP 2
TRUTH = {"v1": [Interval(100, None, 119, "micro"), Interval(110, None, 129, "micro")]}
SPOTTED = {"v1": [Interval(98, None, 117, "micro", score=0.2), Interval(104, None, 123, "micro", score=0.9)]}


@pytest.fixture
def truth_csv(tmp_path):
    return write_spotting_csv(tmp_path / "truth.csv", TRUTH)


def _rescored(capsys, truth, spots) -> dict:
    assert main(["score-spots", str(truth), str(spots), "--json"]) == 0
    return {r["type"]: (r["tp"], r["fp"], r["fn"]) for r in json.loads(capsys.readouterr().out)["counts"]}


def _printed(result) -> dict:
    return {r["type"]: (r["tp"], r["fp"], r["fn"]) for r in result.table()}


def test_train_spotter_loso_csv_rescores_to_its_table(tmp_path, truth_csv, capsys):
    from mmnet.commands.train_spotter import _write_megc_files

    result = evaluate_spotting(TRUTH, SPOTTED)
    assert _printed(result)["micro"] == (1, 1, 1)
    _, spots = _write_megc_files(tmp_path / "spotter.pt", "casme-sq",
                                 {"types": ("micro", "macro"), "predictions": SPOTTED, "evaluation": result})
    assert _rescored(capsys, truth_csv, spots) == _printed(result)


def test_spotting_demo_csv_rescores_to_its_table(tmp_path, truth_csv, capsys):
    from mmnet.spotting.demo import write_megc_files

    result = evaluate_spotting(TRUTH, SPOTTED)
    files = write_megc_files(tmp_path / "megc", {"spotter": result}, {"spotter": SPOTTED})
    assert _rescored(capsys, truth_csv, files["spotter_csv"]) == _printed(result)


def test_train_report_csv_rescores_to_its_table(tmp_path, truth_csv, capsys):
    from mmnet import run_folder as rf
    from mmnet.report.str_report import str_section

    run = tmp_path / "run"
    rf.write_csv(run / rf.TRUTH, rf.TRUTH_COLUMNS, [["v1", "s1", i.onset, "", i.offset, "micro", "", ""]
                                                    for i in TRUTH["v1"]])
    rf.write_csv(run / rf.VIDEOS, rf.VIDEOS_COLUMNS, [["v1", "s1", "d/s1", 30, 1, 200, 200]])
    rf.write_csv(rf.fold_path(run, 0, "d/s1") / rf.SPOTS, rf.SPOTS_COLUMNS,
                 [["v1", "s1", i.onset, "", i.offset, "micro", i.score, ""] for i in SPOTTED["v1"]])
    config = {"data": {"dataset": "casme-sq", "classes": ["negative", "positive", "surprise"]}, "seeds": [0],
              "spotting": {"preset": None, "overrides": []}}
    section = str_section(run, {"config": config})
    printed = {t: (c["tp"], c["fp"], c["fn"]) for t, c in section.summary["per_seed"][0]["spotting"].items()}
    assert printed["micro"] == (1, 1, 1)
    spots = tmp_path / "spotting.csv"
    spots.write_text(section.texts["megc/seed-0/spotting.csv"])
    assert _rescored(capsys, truth_csv, spots) == printed


def test_numpy_scores_are_written_as_plain_numbers(tmp_path):
    import numpy as np

    from mmnet.spotting.megc_files import read_spotting_csv

    path = write_spotting_csv(tmp_path / "s.csv", {"v1": [Interval(1, None, 9, "micro", score=np.float32(0.5))]},
                              scores=True)
    assert read_spotting_csv(path)["v1"][0].score == 0.5
