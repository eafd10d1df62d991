"""Fold folders and LOSO fold records of subjects whose names differ only in non-ASCII letters stay apart."""

from __future__ import annotations

import hashlib

import pytest

from mmnet import run_folder as rf
from mmnet.errors import ConfigError
from mmnet.spotting.loso_records import FoldRecords


@pytest.mark.parametrize("a, b", [("casme2/张三", "casme2/李四"), ("casme2/Jürgen", "casme2/Jörgen")])
def test_names_differing_only_in_non_ascii_letters_get_their_own_fold_folders(a, b):
    assert rf.fold_folder(a) != rf.fold_folder(b)
    assert rf.fold_folder(a).isascii() and rf.fold_folder(a).startswith("fold-casme2_")
    rf.check_fold_folders([a, b])  # no error


def test_names_that_need_no_replacement_keep_their_folder_names():
    # runs started before keep resuming in the same folders
    assert rf.fold_folder("casme2/01") == "fold-casme2_01" and rf.fold_folder("samm/006") == "fold-samm_006"
    assert rf.fold_folder("casme2_sub01") == "fold-casme2_sub01"
    assert rf.fold_folder("samm_006.a-b") == "fold-samm_006.a-b"


def test_a_name_with_replaced_characters_keeps_a_readable_part_and_a_stable_hash():
    assert rf.fold_folder("s 01") == rf.fold_folder("s 01")
    assert rf.fold_folder("s 01").startswith("fold-s_01-")
    assert rf.fold_folder("s 01") != rf.fold_folder("s/01")


def test_a_slash_and_an_underscore_would_share_a_folder_and_are_refused():
    with pytest.raises(ConfigError, match="'casme2/01' and 'casme2_01' would share the folder 'fold-casme2_01'"):
        rf.check_fold_folders(["casme2/01", "casme2_01"])


def test_two_folds_sharing_a_folder_are_refused_before_training_naming_both():
    # an ASCII name equal to another's replaced name and hash: the only way left for two names to share a folder
    other = "_-" + hashlib.sha1("张三".encode()).hexdigest()[:8]
    assert rf.fold_folder("张三") == rf.fold_folder(other)
    with pytest.raises(ConfigError) as err:
        rf.check_fold_folders(["s01", "张三", other])
    assert "'张三'" in str(err.value) and repr(other) in str(err.value) and "rename" in str(err.value)


def test_loso_records_of_non_ascii_subjects_do_not_overwrite_each_other(tmp_path):
    settings = {"format": 1}
    records = FoldRecords(tmp_path, settings)
    for subject in ("张三", "李四", "s15"):
        records.put({"subject": subject, "videos": [subject + "_v"], "fit": {}}, {}, {"total": 1.0})
    assert (tmp_path / "s15.json").is_file()  # unchanged name: records of earlier runs are reused
    again = FoldRecords(tmp_path, settings)
    assert sorted(again.reusable) == sorted(["张三", "李四", "s15"]) and not again.stale
    assert again.get("李四")["videos"] == ["李四_v"]


@pytest.mark.slow
def test_a_loso_over_two_subjects_named_in_chinese_runs_both_folds(tmp_path):
    pytest.importorskip("torch")
    openpyxl = pytest.importorskip("openpyxl")
    from mmnet import synth
    from mmnet.config import load_config
    from mmnet.train import run_experiment

    root = synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=3, seed=1)
    names = {1: "张三", 2: "李四"}
    xlsx = next(root.glob("*.xlsx"))
    book = openpyxl.load_workbook(xlsx)
    for row in book.worksheets[0].iter_rows(min_row=2):
        row[0].value = names[int(row[0].value)]
    book.save(xlsx)
    for number, name in names.items():
        (root / "Cropped" / f"sub{number:02d}").rename(root / "Cropped" / f"sub{name}")
    cfg = load_config(None, [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", "train.epochs=1",
                             "data.image_size=32", "model.image_size=32", "train.batch_size=4"])
    run_experiment(cfg, tmp_path / "run", progress=False)
    assert sorted(p.name for p in (tmp_path / "run" / "seed-0").iterdir()) == sorted(
        rf.fold_folder(f"casme2/{name}") for name in names.values())
    assert "**Status: complete**" in (tmp_path / "run" / "report.md").read_text(encoding="utf-8")


def test_folds_differing_only_in_case_are_refused_as_one_folder_on_macos_and_windows():
    with pytest.raises(ConfigError, match="'Q' and 'q' would share"):
        rf.check_fold_folders(["Q", "q"])
