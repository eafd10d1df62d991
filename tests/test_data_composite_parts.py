"""The composite's parts: names matched however a copy pads them, a part that matches nothing, a list naming only
some parts (cross-dataset experiments), the crop state of each part's frames and the parts' log lines."""

from __future__ import annotations

import logging
import shutil

import pytest

from mmnet.data import load_dataset, load_samm, load_smic, protocol_folds
from mmnet.data.casme2 import load_casme2
from mmnet.data.composite import part_counts
from mmnet.errors import DataError

from .fakes import CASME2_ROWS, SMIC_CLIPS, write_casme2, write_cde_csv, write_samm, write_smic

ROWS = [
    ("casme2", "sub01", "EP02_01f", 1),
    ("casme2", "sub01", "EP19_05f", 0),
    ("samm", "6", "006_1_2", 0),
    ("samm", "7", "007_3_1", 1),
    ("smic", "s01", "s01_ne_01", 0),
    ("smic", "s02", "s02_sur_05", 2),
]


def _root(tmp_path, *, samm_frames="SAMM_cropped"):
    root = tmp_path / "cde"
    write_casme2(root / "casme2", junk=False)
    write_samm(root / "samm", frames_dir=samm_frames)
    write_smic(root / "smic")
    return root


def _pad_smic(hs):
    """Rename s1/s1_ne_01 ... to s01/s01_ne_01 ..., as some copies name them (the list's form)."""
    for sdir in sorted(p for p in hs.iterdir() if p.name[1:].isdecimal()):
        n = int(sdir.name[1:])
        for clip in sdir.glob(f"micro/*/s{n}_*"):
            clip.rename(clip.with_name(f"s{n:02d}_" + clip.name.split("_", 1)[1]))
        sdir.rename(sdir.with_name(f"s{n:02d}"))


def test_zero_padded_smic_folders_match_the_list(tmp_path):
    root = _root(tmp_path)
    _pad_smic(root / "smic" / "HS")
    write_cde_csv(root / "combined_3class_gt.csv", ROWS)
    load = load_dataset("composite", root, cache_dir=False)
    assert [s.sample_id for s in load.samples if s.dataset == "smic"] == ["smic/s01/s01_ne_01", "smic/s02/s02_sur_05"]
    assert not [i for i in load.issues if i.check == "not_in_source"]
    # the listed clips are not also counted as left out by the list
    assert {sid for sid, _ in load.unlisted} & {s.sample_id for s in load.samples} == set()


def test_a_part_whose_rows_match_nothing_stops_the_load(tmp_path):
    root = _root(tmp_path)
    write_cde_csv(root / "combined_3class_gt.csv", ROWS[:4] + [("smic", "s07", "s07_ne_01", 0),
                                                               ("smic", "s08", "s08_po_02", 1)])
    with pytest.raises(DataError, match=r"None of the 2 rows of the list for smic \(e.g. line 5: s07,s07_ne_01\)"
                                        r".* in .*smic \(4 samples read there, e.g. smic/s1/s1_ne_01"):
        load_dataset("composite", root, cache_dir=False)
    # one row of the part matching is enough: the other is a not_in_source error, as before
    write_cde_csv(root / "combined_3class_gt.csv", ROWS[:5] + [("smic", "s08", "s08_po_02", 1)])
    load = load_dataset("composite", root, cache_dir=False)
    assert [(i.sample_id, i.check) for i in load.errors] == [("smic/s8/s8_po_02", "not_in_source")]


def test_a_list_of_two_parts_needs_no_third(tmp_path):
    root = _root(tmp_path)
    ann = write_cde_csv(tmp_path / "cs.csv", ROWS[:4])
    roots = {"casme2": root / "casme2", "samm": root / "samm", "annotation": ann}
    load = load_dataset("composite", roots, cache_dir=False)
    assert {s.dataset for s in load.samples} == {"casme2", "samm"} and not load.errors
    assert all(not sid.startswith("smic/") for sid, _ in load.unlisted)  # SMIC is not read at all
    assert not [i for i in load.issues if i.check == "part_not_listed"]  # no SMIC folder was given
    with_smic = load_dataset("composite", {**roots, "smic": root / "smic"}, cache_dir=False)
    (unread,) = [i for i in with_smic.issues if i.check == "part_not_listed"]
    assert unread.message == "'cs.csv' names no smic sample: smic not read; this composite is casme2 + samm"
    pairs = [(s, ["negative", "positive", "surprise"].index(s.label)) for s in load.samples]
    assert list(part_counts(pairs, {"casme2", "samm"})) == ["casme2", "samm"]
    # leave-one-dataset-out over two parts: train on one, test on the other, both ways
    folds = protocol_folds(load.samples, "lodo")
    assert [(name, {load.samples[i].dataset for i in train}) for name, train, _ in folds] == [
        ("casme2", {"samm"}), ("samm", {"casme2"})]
    # a folder root without smic/ is fine too
    shutil.rmtree(root / "smic")
    assert len(load_dataset("composite", root, annotation=ann, cache_dir=False).samples) == 4


def test_uncropped_frames_are_said(tmp_path):
    raw_samm = load_samm(write_samm(tmp_path / "samm"))  # SAMM/: the raw full frames
    (issue,) = [i for i in raw_samm.issues if i.check == "uncropped_frames"]
    assert issue.sample_id == "samm" and issue.severity == "warning"
    assert "SAMM" in issue.message and "mmnet prepare" in issue.message and "SAMM_cropped/" in issue.message
    cropped = load_samm(write_samm(tmp_path / "samm2", frames_dir="SAMM_cropped"))
    assert not [i for i in cropped.issues if i.check == "uncropped_frames"]

    raw_casme2 = load_casme2(write_casme2(tmp_path / "c_raw", layout="raw-selected", junk=False))
    assert [i.sample_id for i in raw_casme2.issues if i.check == "uncropped_frames"] == ["casme2"]
    cropped = load_casme2(write_casme2(tmp_path / "c_crop", junk=False))
    assert not [i for i in cropped.issues if i.check == "uncropped_frames"]

    raw_smic = load_smic(write_smic(tmp_path / "smic", clips=SMIC_CLIPS[:1], cropped=False), cache_dir=False)
    (issue,) = [i for i in raw_smic.issues if i.check == "uncropped_frames"]
    assert "SMIC_all_cropped/HS/" in issue.message
    cropped = load_smic(write_smic(tmp_path / "smic2", clips=SMIC_CLIPS[:1]), cache_dir=False)
    assert not [i for i in cropped.issues if i.check == "uncropped_frames"]


def test_composite_parts_of_another_crop_state_are_said(tmp_path):
    root = _root(tmp_path, samm_frames="SAMM")
    write_cde_csv(root / "combined_3class_gt.csv", ROWS)
    load = load_dataset("composite", root, cache_dir=False)
    (mixed,) = [i for i in load.issues if i.check == "mixed_crops"]
    assert "samm uncropped" in mixed.message and "casme2, smic face crops" in mixed.message
    assert [i.sample_id for i in load.issues if i.check == "uncropped_frames"] == ["samm"]
    cropped = _root(tmp_path / "b")
    write_cde_csv(cropped / "combined_3class_gt.csv", ROWS)
    assert not [i for i in load_dataset("composite", cropped, cache_dir=False).issues if i.check == "mixed_crops"]


def test_only_the_composite_logs_a_summary_and_others_is_named(tmp_path, caplog):
    root = _root(tmp_path)
    # a CASME II row the list does not name has an unknown apex: its part's summary would count an error
    rows = [*CASME2_ROWS, ("01", "EP99_01", 10, "/", 20, 4, "others", 7)]
    shutil.rmtree(root / "casme2")
    write_casme2(root / "casme2", rows, junk=False)
    write_cde_csv(root / "combined_3class_gt.csv", ROWS + [("casme2", "sub01", "EP03_02", 2)])
    with caplog.at_level(logging.WARNING, logger="mmnet.data"):
        load = load_dataset("composite", root, cache_dir=False)
    summaries = [r.getMessage() for r in caplog.records if "while loading" in r.getMessage()]
    assert len(summaries) == 1 and "(0 errors)" in summaries[0] and f"loading {len(load.samples)} samples" in \
        summaries[0]
    (differs,) = [i for i in load.issues if i.check == "label_differs"]
    assert "maps to no class, which the MEGC2019 mapping (casme2-3class-megc) leaves out" in differs.message


def test_skipping_a_whole_part_stops_training(tmp_path):
    from mmnet.data import get_scheme
    from mmnet.data.usage import classes_left, plan_usage

    root = _root(tmp_path)
    write_cde_csv(root / "combined_3class_gt.csv", ROWS)
    for frame in (root / "smic" / "HS").glob("s*/micro/*/*/*.bmp"):
        frame.unlink()  # every listed SMIC clip without frames: a problem each
    load = load_dataset("composite", root, cache_dir=False)
    scheme = get_scheme("composite-3class")
    usage = plan_usage(load, scheme, "skip")
    why = classes_left(load, scheme, [k for _, k in usage.used], usage.left_out)
    assert why.startswith("dataset(s) smic of the composite have no usable sample left: every one of their 2 listed")
    assert "smic/s1/s1_ne_01" in why and "remove the list's rows of the part" in why
    # without the SMIC rows, the two other parts train
    write_cde_csv(root / "combined_3class_gt.csv", ROWS[:4])
    load = load_dataset("composite", root, cache_dir=False)
    usage = plan_usage(load, scheme, "skip")
    assert classes_left(load, scheme, [k for _, k in usage.used], usage.left_out) is None


def test_the_run_records_each_parts_frames_folder(tmp_path):
    from mmnet.report.protocol_text import protocol_line
    from mmnet.train.protocol_record import part_frames

    root = _root(tmp_path, samm_frames="SAMM")
    write_cde_csv(root / "combined_3class_gt.csv", ROWS)
    load = load_dataset("composite", root, cache_dir=False)
    record = part_frames(load, [root])["part_frames"]
    assert record == {"casme2": {"folder": "casme2/Cropped", "uncropped": False, "layout": "cropped"},
                      "samm": {"folder": "samm/SAMM", "uncropped": True},
                      "smic": {"folder": "smic/HS", "uncropped": False}}
    roots = {p: root / p for p in ("casme2", "samm", "smic")}
    assert part_frames(load, list(roots.values()))["part_frames"]["samm"]["folder"] == "SAMM"
    line = protocol_line({"protocol": {"dataset": "composite", "protocol": "loso", "folds_per_seed": 6,
                                       "part_frames": record, "list": None}, "n_samples": 6})
    assert line.endswith("; frames: casme2 casme2/Cropped (face crops, layout cropped), samm samm/SAMM (UNCROPPED "
                         "full frames), "
                         "smic smic/HS (face crops)")
    one = part_frames(load_samm(write_samm(tmp_path / "one")), [tmp_path / "one"])  # one dataset: recorded too
    assert list(one["part_frames"]) == ["samm"] and "layout" not in one["part_frames"]["samm"]


def test_check_data_cites_the_parts_the_list_names(tmp_path, capsys):
    # a list of CASME II and SAMM rows: SMIC's paper is not one to cite (nor with all three listed, left out)
    import json

    from mmnet.cli import main

    root = _root(tmp_path)
    ann = write_cde_csv(tmp_path / "cs.csv", ROWS[:4])
    args = ["check-data", "composite", "--root", f"casme2={root / 'casme2'}", "--root", f"samm={root / 'samm'}",
            "--annotation", str(ann)]
    main([*args, "--json"])
    cite = json.loads(capsys.readouterr().out)["cite"]
    assert cite[0].startswith("See et al., 2019") and len(cite) == 3
    assert not any(paper.startswith("Li et al., 2013") for paper in cite)  # SMIC's
    write_cde_csv(root / "combined_3class_gt.csv", ROWS)
    main(["check-data", "composite", "--root", str(root), "--json"])
    assert len(json.loads(capsys.readouterr().out)["cite"]) == 4
