"""`mmnet train --folds`: one direction of a leave-one-dataset-out run alone (CASME II -> SAMM), said PARTIAL in the
report; the same command without --folds trains the other direction into the same folder."""

from __future__ import annotations

import argparse
import json
import re

import pytest

from mmnet.cli import main
from mmnet.data.folds import protocol_folds
from mmnet.errors import ConfigError
from mmnet.train.fold_choice import choose_folds

from .test_first_week import TINY

FOLDS = [("casme2/01", [1], [0]), ("casme2/02", [0], [1]), ("samm/006", [0], [1])]


def test_fold_names_in_any_case_and_loso_subjects_alone():
    assert choose_folds([("casme2", [], []), ("samm", [], [])], ["SAMM"], "lodo") == ("samm",)
    assert choose_folds(FOLDS, ["006", "casme2/02"]) == ("casme2/02", "samm/006")  # the run's order
    assert choose_folds(FOLDS, ["casme2/01,006"]) == ("casme2/01", "samm/006")



def test_the_loso_fold_names_the_docs_and_help_show_are_accepted():
    # docs/cli.md and train --help gave `sub01`, which names no CASME II fold (they are casme2/01, ...)
    from pathlib import Path

    from mmnet.commands import train

    row = next(line for line in (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text().splitlines()
               if line.startswith("| `--folds FOLD"))
    shown = re.findall(r"`([\w/]+)`", row[row.index("the subject alone"):].split(")")[0])
    assert len(shown) == 5
    for name in shown:
        assert choose_folds(FOLDS, [name]) in {("casme2/01",), ("samm/006",)}
    parser = argparse.ArgumentParser()
    train.add_arguments(parser)
    folds_help = next(a.help for a in parser._actions if "--folds" in a.option_strings)
    assert "casme2/01 or 01" in folds_help
    for name in ("casme2/01", "01", "samm/006"):
        assert name in folds_help
    # a continued example line ends with a backslash (a lone \ in the docstring joined the two lines)
    assert [line for line in train.__doc__.splitlines() if re.search(r"\S {2,}--", line.split("#")[0])] == []


def test_a_dataset_named_under_loso_lists_its_subjects_folds():
    # it said "Did you mean samm/006?", as if the user had mistyped one subject
    with pytest.raises(ConfigError) as err:
        choose_folds(FOLDS, ["SAMM"])
    said = str(err.value)
    assert "--folds 'SAMM' is a dataset: under LOSO its folds are its subjects: samm/006" in said
    assert "--protocol lodo" in said and "Did you mean" not in said


@pytest.mark.parametrize(("asked", "said"), [(["sam"], "'sam' names no fold of this LODO run; its folds are named "
                                                       "after the dataset each one tests (train on the others): "
                                                       "casme2, samm. Did you mean samm?"),
                                             ([","], "--folds names no fold")])
def test_a_fold_that_is_not_there_is_named_with_the_runs_folds(asked, said):
    with pytest.raises(ConfigError) as err:
        choose_folds([("casme2", [], []), ("samm", [], [])], asked, "lodo")
    assert said in str(err.value)


@pytest.mark.parametrize(("folds", "asked", "chosen"), [
    (FOLDS, "sub01", "casme2/01"), (FOLDS, "casme2/Sub1", "casme2/01"), (FOLDS, "SUB02", "casme2/02"),
    (FOLDS, "6", "samm/006"), (FOLDS, "samm/6", "samm/006"),
    ([("smic/s1", [], []), ("smic/s2", [], [])], "s01", "smic/s1"),
    ([("smic/s01", [], []), ("smic/s02", [], [])], "smic/s2", "smic/s02")])
def test_a_loso_subject_is_named_as_its_folder_is_too(folds, asked, chosen):
    # CASME II's subject '01' is the folder sub01/; a number padded or not is the same subject
    assert choose_folds(folds, [asked]) == (chosen,)


def test_a_subject_folder_prefix_is_only_its_datasets():
    with pytest.raises(ConfigError, match="'samm/sub006' names no fold"):
        choose_folds(FOLDS, ["samm/sub006"])


def test_a_fold_that_is_not_there_is_refused_before_a_file_is_written_in_out(tmp_path, capsys):
    from .fakes import write_casme2

    run = tmp_path / "run"
    args = ["train", "--dataset", "casme2", "--root", str(write_casme2(tmp_path / "CASME2", junk=False)), "--out",
            str(run), "--no-progress", "--set", f"data.cache_dir={tmp_path / 'cache'}", "--set",
            "data.on_bad_sample=skip", *[x for s in TINY for x in ("--set", s)]]
    assert main([*args, "--folds", "sub09"]) == 3
    assert "'sub09' names no fold of this LOSO run" in capsys.readouterr().err
    assert not [p.name for p in run.glob("*") if p.name not in {"mmnet.log", "status.json"}]
    assert not list((tmp_path / "cache").glob("**/*.npy"))  # refused before the frames were decoded


def test_train_folds_makes_the_protocols_folds_once(tmp_path, monkeypatch):
    # the folds that refuse a mistyped --folds before decoding are the run's folds: not made again after it
    from mmnet.config import load_config
    from mmnet.train import prepare

    from .fakes import write_casme2

    made = []
    monkeypatch.setattr(prepare, "protocol_folds", lambda *a: made.append(a) or protocol_folds(*a))
    cfg = load_config(None, [f"data.root={write_casme2(tmp_path / 'CASME2', junk=False)}", "data.dataset=casme2",
                             f"data.cache_dir={tmp_path / 'cache'}", "data.on_bad_sample=skip", *TINY])
    run = prepare.prepare_run(cfg, tmp_path / "run", progress=False, measure=False, folds=["02"])
    assert run.only == ("casme2/02",) and "casme2/01" in [name for name, _, _ in run.folds]
    assert len(made) == 1


def test_a_subject_of_two_datasets_asks_for_the_dataset():
    with pytest.raises(ConfigError) as err:
        choose_folds([("casme2/01", [], []), ("samm/01", [], [])], ["01"])
    assert "names 2 folds (casme2/01, samm/01): give dataset/subject" in str(err.value)


def test_a_lodo_report_with_a_dataset_no_fold_tested_yet(tmp_path):
    import shutil

    from mmnet.report import build_report

    from .test_compare_protocols import _composite_run, _lodo

    run = _composite_run(tmp_path / "lodo", _lodo, "lodo")
    for fold in run.glob("seed-*/fold-samm_*"):  # the fold testing SAMM has not run
        shutil.rmtree(fold)
    report = build_report(run)
    assert not report["complete"] and list(report["headline"]["per_dataset"]) == ["smic", "casme2"]
    assert "- seed 0: fold samm not run: 16 sample(s) not tested yet" in (run / "report.md").read_text()


@pytest.mark.slow
def test_one_direction_of_a_lodo_run_then_the_other(tmp_path, capsys):
    from .fakes import write_casme2, write_cde_csv, write_samm
    from .test_data_composite import CDE_ROWS

    roots = [x for k, v in (("casme2", write_casme2(tmp_path / "CASME2", junk=False)),
                            ("samm", write_samm(tmp_path / "SAMM"))) for x in ("--root", f"{k}={v}")]
    ann = write_cde_csv(tmp_path / "cs.csv", [r for r in CDE_ROWS if r[0] != "smic"])
    run = tmp_path / "run"
    args = ["train", "--dataset", "composite", "--protocol", "lodo", "--annotation", str(ann), *roots, "--out",
            str(run), "--no-progress", "--set", f"data.cache_dir={tmp_path / 'cache'}", "--set",
            "data.on_bad_sample=nearest", *[x for s in TINY for x in ("--set", s)]]
    assert main(args + ["--folds", "nope"]) == 3
    assert "'nope' names no fold of this LODO run" in capsys.readouterr().err
    # train on CASME II, test on SAMM: what was asked finished (exit 0), the report is PARTIAL and says why
    assert main(args + ["--folds", "samm"]) == 0, capsys.readouterr().err
    assert "--folds samm: the other folds are not trained, so the report is PARTIAL" in capsys.readouterr().err
    assert (run / "seed-0" / "fold-samm" / "done.json").is_file() and not (run / "seed-0" / "fold-casme2").exists()
    report = json.loads((run / "report.json").read_text())
    assert not report["complete"] and list(report["headline"]["per_dataset"]) == ["samm"]
    md = (run / "report.md").read_text()
    assert "**Status: PARTIAL" in md and "- seed 0: fold casme2 not run: 2 sample(s) not tested yet" in md
    # the same command without --folds trains the other direction and completes the run
    assert main(args) == 0
    assert "1/2 folds already finished; running the other 1" in capsys.readouterr().err
    report = json.loads((run / "report.json").read_text())
    assert report["complete"] and list(report["headline"]["per_dataset"]) == ["casme2", "samm"]


def test_the_exit_code_table_says_train_folds_exits_0_when_its_folds_finished():
    # the row of code 1 said every partial train report exits 1; test_one_direction_... exits 0 with one fold left
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| 1 |"))
    assert "except `train --folds`, which exits 0 when the folds asked for finished" in row
