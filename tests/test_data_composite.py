"""MEGC2019 composite loader and protocol folds on generated fake trees (no real data needed)."""

from __future__ import annotations

import pytest

from mmnet.data import get_scheme, load_dataset, protocol_folds
from mmnet.data.folds import check_folds
from mmnet.errors import ConfigError, DatasetNotFoundError

from .fakes import CASME2_ROWS, write_casme2, write_casme2_objective, write_cde_csv, write_samm, write_smic

CDE_ROWS = [
    ("casme2", "sub01", "EP02_01f", 1),
    ("casme2", "sub01", "EP19_05f", 0),
    ("samm", "6", "006_1_2", 0),      # SAMM subject unpadded in the list
    ("samm", "7", "007_3_1", 1),
    ("smic", "s01", "s01_ne_01", 0),  # SMIC subject and clip zero-padded in the list
    ("smic", "s02", "s02_sur_05", 2),
    ("smic", "s20", "s20_ne_01", 0),
]


@pytest.fixture
def composite_root(tmp_path):
    root = tmp_path / "cde"
    write_casme2(root / "CASME2", junk=False)
    write_samm(root / "SAMM")
    write_smic(root / "SMIC")
    write_cde_csv(root / "combined_3class_gt.csv", CDE_ROWS)
    return root


def test_official_list_selects_and_labels(composite_root, tmp_path):
    load = load_dataset("composite", composite_root, cache_dir=tmp_path / "cache")
    ids = [s.sample_id for s in load.samples]
    assert ids == ["casme2/01/EP02_01f", "casme2/01/EP19_05f", "samm/006/006_1_2", "samm/007/007_3_1",
                   "smic/s1/s1_ne_01", "smic/s2/s2_sur_05", "smic/s20/s20_ne_01"]
    assert [s.label for s in load.samples] == ["positive", "negative", "negative", "positive", "negative",
                                               "surprise", "negative"]
    assert load.samples[2].extra["source_label"] == "anger" and load.samples[4].extra["cde_clip"] == "s01_ne_01"
    pairs = get_scheme("composite-3class").select(load.samples)
    assert [i for _, i in pairs] == [1, 0, 0, 1, 0, 2, 0]
    # issues of parts' samples that are not in the list are left out
    assert all(i.sample_id in set(ids) or "/" not in i.sample_id for i in load.issues)
    # a list of other than the official 442 rows is said to be one
    (other,) = [i for i in load.issues if i.check == "not_official_list"]
    assert other.severity == "warning" and "lists 7 samples, not the 442 of the official" in other.message


def test_mapping_root_blank_lines_and_missing_samples(composite_root, tmp_path):
    rows = CDE_ROWS + [("samm", "9", "009_9_9", 2), ("casme2", "sub01", "EP03_02", 2)]
    ann = write_cde_csv(tmp_path / "gt-2.csv", rows, blank_lines=True)
    roots = {"casme2": composite_root / "CASME2", "samm": composite_root / "SAMM", "smic": composite_root / "SMIC"}
    load = load_dataset("composite", roots, annotation=ann, cache_dir=False)
    assert len(load.samples) == 8
    checks = {(i.sample_id, i.check) for i in load.issues}
    assert ("samm/009/009_9_9", "not_in_source") in checks
    assert ("casme2/01/EP03_02", "label_differs") in checks  # 'others' listed as surprise: official class wins
    with pytest.raises(Exception, match="009_9_9"):
        load_dataset("composite", roots, annotation=ann, strict=True, cache_dir=False)


def test_missing_parts_and_list(tmp_path, composite_root):
    (composite_root / "combined_3class_gt.csv").unlink()
    with pytest.raises(DatasetNotFoundError, match="MEGC2019"):
        load_dataset("composite", composite_root, cache_dir=False)
    # a part the list names needs a folder
    ann = write_cde_csv(tmp_path / "gt.csv", CDE_ROWS)
    with pytest.raises(DatasetNotFoundError, match=r"lacks \['smic'\], which the list names"):
        load_dataset("composite", {"casme2": tmp_path, "samm": tmp_path, "annotation": ann}, cache_dir=False)


def test_loso_keeps_datasets_apart_and_lodo(composite_root, tmp_path):
    load = load_dataset("composite", composite_root, cache_dir=False)
    samples = load.samples
    # a CASME II subject and a fake other-dataset subject with the same text stay separate folds
    from dataclasses import replace

    samples = samples + [replace(samples[2], subject="01", clip="x")]
    folds = protocol_folds(samples, "loso")
    names = [f[0] for f in folds]
    assert names == sorted(names, key=lambda n: (n.split("/")[0],)) and "casme2/01" in names and "samm/01" in names
    for _name, train, test in folds:
        test_keys = {(samples[i].dataset, samples[i].subject) for i in test}
        assert len(test_keys) == 1 and not test_keys & {(samples[i].dataset, samples[i].subject) for i in train}
    assert sorted(i for _, _, t in folds for i in t) == list(range(len(samples)))
    lodo = protocol_folds(samples, "lodo")
    assert [f[0] for f in lodo] == ["casme2", "samm", "smic"]
    for name, train, test in lodo:
        assert {samples[i].dataset for i in test} == {name} and name not in {samples[i].dataset for i in train}
    with pytest.raises(ConfigError, match="two datasets"):
        protocol_folds(samples[:2], "lodo")
    with pytest.raises(ConfigError, match="protocol"):
        protocol_folds(samples, "kfold")


def test_leak_check_catches_a_leak(composite_root):
    samples = load_dataset("composite", composite_root, cache_dir=False).samples
    folds = protocol_folds(samples, "loso")
    name, train, test = folds[0]
    leaky = [(name, train + [test[0]], test)] + folds[1:]
    with pytest.raises(AssertionError):
        check_folds(samples, leaky, "loso")
    subject_leak = [(name, train[1:], test + [train[0]])] + folds[1:]
    with pytest.raises(AssertionError):
        check_folds(samples, subject_leak, "loso")


@pytest.mark.slow
@pytest.mark.parametrize("protocol, folds", [("loso", 6), ("lodo", 3)])
def test_train_on_the_composite(composite_root, tmp_path, protocol, folds):
    """`mmnet train` on the composite: LOSO over (dataset, subject) and leave-one-dataset-out,
    with results for the whole and each part."""
    import json

    from mmnet.config import load_config
    from mmnet.train import run_experiment

    cfg = load_config(None, [
        "data.dataset=composite", f"data.root={composite_root}", f"data.protocol={protocol}",
        f"data.cache_dir={tmp_path / 'cache'}", "data.on_bad_sample=nearest", "train.epochs=1",
        "data.image_size=32", "model.image_size=32", "train.batch_size=4",
    ])
    run_experiment(cfg, tmp_path / "run", progress=False)
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["complete"] and report["n_folds"] == {"0": folds} and report["n_samples"] == 7
    assert report["classes"] == ["negative", "positive", "surprise"]
    assert sorted(report["datasets"]) == ["casme2", "samm", "smic"]
    assert len(list((tmp_path / "run" / "seed-0").iterdir())) == folds
    # what chose the samples is in the run folder and the report, not in the log only
    run = tmp_path / "run"
    issues = (run / "issues.csv").read_text()
    assert 'composite,not_official_list,warning,"\'combined_3class_gt.csv\' lists 7 samples' in issues
    md = (run / "report.md").read_text()
    assert "- composite [not_official_list]: 'combined_3class_gt.csv' lists 7 samples" in md
    assert md.startswith(f"# MMNet {protocol.upper()} report: run\n")
    assert "Protocol: MEGC2019 composite (NOT the official list: combined_3class_gt.csv has 7 rows" in md
    # each part's frames folder and crop state (the fake SAMM's frames are in SAMM/, the raw full frames)
    assert report["protocol"]["part_frames"]["samm"] == {"folder": "SAMM/SAMM", "uncropped": True}
    assert "frames: casme2 CASME2/Cropped (face crops, layout cropped), samm SAMM/SAMM (UNCROPPED full frames), " \
           "smic SMIC/HS (face crops)" in md
    # samples.csv names each sample as the list does too; the parts' unlisted samples are in skipped.csv
    samples = (run / "samples.csv").read_text().splitlines()
    assert samples[0] == "sample_id,dataset,subject,clip,label,class_index,cde_subject,cde_clip,cde_line"
    assert "samm/006/006_1_2,samm,006,006_1_2,negative,0,6,006_1_2,3" in samples
    assert "smic/s1/s1_ne_01,smic,s1,s1_ne_01,negative,0,s01,s01_ne_01,5" in samples
    assert "casme2/01/EP03_02,not in combined_3class_gt.csv" in (run / "skipped.csv").read_text().splitlines()
    log = (run / "megc_log.txt").read_text().splitlines()
    assert "subject,sample,true,pred,cde_subject,cde_clip" in log
    assert any(line.startswith("smic/s1,s1_ne_01,negative,") and line.endswith(",s01,s01_ne_01") for line in log)



def test_skipped_csv_lists_the_data_problems_before_the_samples_the_list_leaves_out(composite_root, tmp_path,
                                                                                    monkeypatch):
    """A sample whose frames cannot be used (frame_windows, decoding) used to come after every part sample the list
    leaves out: past the rows a report shows."""
    from mmnet.config import load_config
    from mmnet.data.cache import UnusableSample
    from mmnet.train import prepare

    windows = prepare.frame_windows

    def refuse_one(sample, *args, **kwargs):  # a negative one: others remain (a class left empty stops training)
        if sample.sample_id == "casme2/01/EP19_05f":
            raise UnusableSample("its frames end before the apex")
        return windows(sample, *args, **kwargs)

    monkeypatch.setattr(prepare, "frame_windows", refuse_one)
    cfg = load_config(None, ["data.dataset=composite", f"data.root={composite_root}", "data.on_bad_sample=skip",
                             f"data.cache_dir={tmp_path / 'cache'}", "data.image_size=32", "model.image_size=32"])
    prepare.prepare_run(cfg, tmp_path / "run", progress=False)
    rows = (tmp_path / "run" / "skipped.csv").read_text().splitlines()[1:]
    assert rows[0] == "casme2/01/EP19_05f,its frames end before the apex"
    assert len(rows) > 1 and all(row.endswith(",not in combined_3class_gt.csv") for row in rows[1:])


def test_frames_unusable_for_the_only_sample_of_a_class_stop_training_under_skip(composite_root, tmp_path,
                                                                                 monkeypatch):
    # the list's one surprise sample cannot be used: it trained the 3 classes on two, with a coverage warning
    from mmnet.config import load_config
    from mmnet.data.cache import UnusableSample
    from mmnet.errors import DataError
    from mmnet.train import prepare

    windows = prepare.frame_windows

    def refuse_one(sample, *args, **kwargs):
        if sample.sample_id == "smic/s2/s2_sur_05":
            raise UnusableSample("its frames end before the apex")
        return windows(sample, *args, **kwargs)

    monkeypatch.setattr(prepare, "frame_windows", refuse_one)
    cfg = load_config(None, ["data.dataset=composite", f"data.root={composite_root}", "data.on_bad_sample=skip",
                             f"data.cache_dir={tmp_path / 'cache'}", "data.image_size=32", "model.image_size=32"])
    with pytest.raises(DataError) as caught:
        prepare.prepare_run(cfg, tmp_path / "run", progress=False)
    said, listed = str(caught.value), composite_root / "combined_3class_gt.csv"
    assert said.startswith("class(es) surprise of scheme composite-3class have no usable sample left: every one of "
                           f"their 1 annotated sample(s) of '{listed}' has a problem")
    assert "  - smic/s2/s2_sur_05: its frames end before the apex" in said
    advice = ("or train without it: a label map leaving its labels out, --scheme 'negative=negative, "
              "positive=positive, surprise=-'")
    assert advice in said
    assert not (tmp_path / "run" / "config.yaml").exists()
    # the label map to copy is one check-data takes: the two classes left
    from mmnet.cli import main

    assert main(["check-data", "composite", "--root", str(composite_root), "--scheme",
                 "negative=negative, positive=positive, surprise=-"]) == 0


@pytest.mark.parametrize("separator", [";", "\t"])
def test_a_list_re_saved_with_another_separator_is_read_the_same(composite_root, tmp_path, separator):
    # Excel in many locales saves "CSV" with ';' (or tabs): the same rule as every other table of mmnet
    official = (composite_root / "combined_3class_gt.csv").read_text()
    resaved = tmp_path / "gt-resaved.csv"
    resaved.write_text(official.replace(",", separator))
    load = load_dataset("composite", composite_root, annotation=resaved, cache_dir=False)
    expected = load_dataset("composite", composite_root, cache_dir=False)
    assert [(s.sample_id, s.label) for s in load.samples] == [(s.sample_id, s.label) for s in expected.samples]


def test_the_older_441_row_list_is_named(composite_root, tmp_path):
    # combined_3class_gt-2.csv (2018-11-30) lacks samm,32,032_3_1,0 and was read without a word
    def not_official(rows):
        write_cde_csv(composite_root / "combined_3class_gt.csv", rows)
        load = load_dataset("composite", composite_root, cache_dir=tmp_path / "cache")
        return [i for i in load.issues if i.check == "not_official_list"]

    (issue,) = not_official([("smic", "s01", "s01_ne_01", 0)] * 441)  # repeats are warnings of their own
    assert "lists 441 samples, not the 442" in issue.message
    assert "it lacks samm,32,032_3_1,0, as the older combined_3class_gt-2.csv" in issue.message
    assert not_official([("smic", "s01", "s01_ne_01", 0)] * 442) == []


def test_objective_class_issues_are_left_out(composite_root, tmp_path):
    # the 3 classes come from the list: CASME II's objective-class disagreements were forwarded (27-37 warnings)
    davison = {(subject, clip): 5 for subject, clip, *_ in CASME2_ROWS}
    write_casme2_objective(composite_root / "CASME2" / "CASME2-ObjectiveClasses.xlsx", davison)
    assert any(i.check == "objective_class_differs" for i in load_dataset("casme2", composite_root / "CASME2").issues)
    load = load_dataset("composite", composite_root, cache_dir=tmp_path / "cache")
    assert not [i for i in load.issues if i.check.startswith("objective_class")]


def test_a_repeated_list_row_keeps_its_sample_and_a_contradicting_one_names_its_line(composite_root, tmp_path):
    # an exact repeat was an error on the sample itself: training (plan_usage) dropped a valid sample
    from mmnet.data.usage import plan_usage

    scheme = get_scheme("composite-3class")
    write_cde_csv(composite_root / "combined_3class_gt.csv", [*CDE_ROWS, CDE_ROWS[3]])
    load = load_dataset("composite", composite_root, cache_dir=tmp_path / "cache")
    (repeat,) = [i for i in load.issues if i.check.startswith("duplicate")]
    assert (repeat.sample_id, repeat.check, repeat.severity) == ("samm/007/007_3_1", "duplicate_row", "warning")
    assert "combined_3class_gt.csv line 8 repeats line 4" in repeat.message
    usage = plan_usage(load, scheme, "nearest")
    assert "samm/007/007_3_1" in {s.sample_id for s, _ in usage.used} and not usage.problems

    write_cde_csv(composite_root / "combined_3class_gt.csv", [*CDE_ROWS, ("samm", "7", "007_3_1", 2)])
    load = load_dataset("composite", composite_root, cache_dir=tmp_path / "cache")
    (clash,) = [i for i in load.issues if i.check.startswith("duplicate")]
    assert (clash.sample_id, clash.severity) == ("composite/?/line8", "error")
    assert "line 8 lists samm/007/007_3_1 (samm,7,007_3_1) as 'surprise', line 4 as 'positive'" in clash.message
    usage = plan_usage(load, scheme, "nearest")
    assert ("samm/007/007_3_1", 1) in {(s.sample_id, k) for s, k in usage.used}  # line 4's class
    assert [sid for sid, _ in usage.problems] == ["composite/?/line8"]  # the line stops training, named


def test_part_samples_not_on_the_list_are_left_out_with_that_reason(composite_root, tmp_path):
    from mmnet.data.usage import plan_usage

    load = load_dataset("composite", composite_root, cache_dir=tmp_path / "cache")
    assert load.listed_rows == len(CDE_ROWS)
    unlisted = dict(load.unlisted)
    assert unlisted["casme2/01/EP03_02"] == "not in combined_3class_gt.csv"
    assert not set(unlisted) & {s.sample_id for s in load.samples}
    usage = plan_usage(load, get_scheme("composite-3class"), "nearest")
    assert set(unlisted.items()) <= set(usage.left_out) and not set(unlisted) & {sid for sid, _ in usage.problems}
