"""The run folder's and the demo's tables as an analyst reads them: plain numbers, '\n' line endings."""

from __future__ import annotations

import csv

import pandas as pd

from mmnet import run_folder as rf


def test_fold_tables_write_fixed_decimals_that_read_back_as_recorded(tmp_path):
    # str(round(x, 6)) wrote 2e-06 and 1e-05: scientific notation, which some readers take for text
    from mmnet.train.fold import _PredictionsFile, _Progress, _write_history

    history = [{"epoch": 1, "train_loss": 1.2e-05, "train_acc": 0.5, "lr": 1.234567891e-07, "test_loss": None,
                "test_acc": None, "seconds": 0.5}]
    probs = [2e-06, 0.999998, 0.0]
    done = _Progress(epoch=1, history=history, predictions=[[1, "casme2/01/EP01", "01", "casme2", 1, 1, *probs]])
    _write_history(tmp_path, done)
    _PredictionsFile(tmp_path / rf.PREDICTIONS, rf.prediction_columns(3), []).append(done.predictions, done.predictions)
    hist_text = (tmp_path / rf.HISTORY).read_text()
    pred_text = (tmp_path / rf.PREDICTIONS).read_text()
    # a resume writes the file whole from its state: the same bytes as the epoch's rows appended
    _PredictionsFile(tmp_path / rf.PREDICTIONS, rf.prediction_columns(3), done.predictions)
    assert (tmp_path / rf.PREDICTIONS).read_text() == pred_text
    assert "e-" not in hist_text and "e-" not in pred_text
    assert hist_text.splitlines()[1] == "1,0.000012,0.500000,0.0000001234567891,,,0.500"  # final/: empty test_*
    assert pred_text.splitlines()[1] == "1,casme2/01/EP01,01,casme2,1,1,0.000002,0.999998,0.000000"
    # read back, the numbers are those recorded (the report and the learning curves get the same values)
    h = pd.read_csv(tmp_path / rf.HISTORY)
    assert h.loc[0, ["train_loss", "train_acc", "lr", "seconds"]].tolist() == [1.2e-05, 0.5, 1.234567891e-07, 0.5]
    assert h[["test_loss", "test_acc"]].isna().all().all()
    p = pd.read_csv(tmp_path / rf.PREDICTIONS, dtype={"subject": str})
    assert p.loc[0, ["prob_0", "prob_1", "prob_2"]].tolist() == probs and p.loc[0, "subject"] == "01"


def test_demo_summary_csv_has_unix_line_endings(tmp_path):
    # csv.DictWriter ends rows with '\r\n' unless told otherwise; every other mmnet CSV ends them with '\n'
    from mmnet.commands.demo_summary import write_summary

    row = {"seed": 0, "uf1": 0.58, "uar": 0.61, "acc": 0.6, "control_uf1": 0.2, "seconds": 1, "control_seconds": 2,
           "machine": "m"}
    write_summary([row], tmp_path, with_control=True)
    data = (tmp_path / "summary.csv").read_bytes()
    assert b"\r" not in data
    assert data.decode().splitlines() == ["seed,uf1,uar,acc,control_uf1,seconds,control_seconds,machine",
                                          "0,0.5800,0.6100,0.6000,0.2000,1,2,m"]
    with open(tmp_path / "summary.csv", newline="") as f:
        assert next(csv.DictReader(f))["control_uf1"] == "0.2000"


def test_every_column_of_the_run_folder_and_the_demo_summary_is_documented():
    # docs/reports.md listed only the report's files: samples.csv, history.csv, predictions.csv ... were documented
    # nowhere, though run_folder.py said docs/reports.md describes each file
    from pathlib import Path

    from mmnet.commands.demo_summary import SUMMARY_COLUMNS

    docs = (Path(__file__).parents[1] / "docs" / "reports.md").read_text(encoding="utf-8")
    tables = {rf.SAMPLES: rf.SAMPLES_COLUMNS + rf.CDE_COLUMNS, rf.SKIPPED: rf.SKIPPED_COLUMNS,
              rf.ISSUES: rf.ISSUES_COLUMNS, rf.FRAME_NOTES: rf.FRAME_NOTES_COLUMNS, rf.HISTORY: rf.HISTORY_COLUMNS,
              rf.PREDICTIONS: rf.PREDICTION_ID_COLUMNS, rf.TRUTH: rf.TRUTH_COLUMNS, rf.VIDEOS: rf.VIDEOS_COLUMNS,
              "summary.csv": SUMMARY_COLUMNS}
    for name, columns in tables.items():
        assert f"`{name}`" in docs or f"/{name}`" in docs, name
        assert not [c for c in columns if f"`{c}`" not in docs], name
    for name in (rf.DONE, rf.ENV, "pooled_predictions.csv"):
        assert name in docs
    for selection in ("last", "paper_acc_optimistic", "paper_f1_optimistic"):
        assert f"`{selection}`" in docs
