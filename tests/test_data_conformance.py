"""Conformance: rebuild each real annotation table in ../shared/annotations as an xlsx in tmp, add
generated frames, load it, and compare counts and label maps with docs/datasets.md.

The tables are never copied into the repository; these tests skip when ../shared is absent.
Frames are sparse (only the annotated onset/apex/offset frames) to keep the trees small.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from mmnet.data import class_counts, get_scheme, load_dataset, protocol_folds

from .conftest import ANNOTATIONS
from .fakes import read_csv_rows, write_frames, xlsx_from_csv

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ANNOTATIONS.is_dir(), reason="../shared/annotations is absent"),
]

CASME2_2014 = ANNOTATIONS / "casme2" / "CASME2-coding-20140508.Sheet1.csv"
CASME2_2019 = ANNOTATIONS / "casme2" / "CASME2-coding-20190701.Sheet1.csv"
CASME2_OBJ = ANNOTATIONS / "casme2" / "CASME2-ObjectiveClasses.Sheet1.csv"
SAMM_CSV = ANNOTATIONS / "samm" / "SAMM_Micro_FACS_Codes_v2.MICRO_ONLY.csv"
CASME3_CSV = ANNOTATIONS / "casme3" / "cas(me)3_part_A_ME_label_JpgIndex_v2.label.csv"
CDE_CSV = ANNOTATIONS / "megc2019" / "combined_3class_gt.csv"
CDE_OLD_CSV = ANNOTATIONS / "megc2019" / "combined_3class_gt-2.csv"
SMIC_CSV = ANNOTATIONS / "smic" / "smic_apex.third_party.csv"


def _int(v: str) -> int | None:
    return int(v) if v.strip().lstrip("-").isdigit() else None


def _sparse(folder: Path, numbers, name, apex=None) -> None:
    nums = sorted({n for n in numbers if n is not None and n >= 0})
    write_frames(folder, nums, name, apex=apex)


@pytest.fixture(scope="module")
def casme2_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("casme2")
    xlsx_from_csv(CASME2_2014, root / "CASME2-coding-20140508.xlsx", "Sheet1", text_columns={0, 1},
                  extra_sheets=("Sheet2", "Sheet3"))
    xlsx_from_csv(CASME2_2019, root / "CASME2-coding-20190701.xlsx", "Sheet1", text_columns={0, 1},
                  extra_sheets=("Sheet2", "Sheet3"))
    for r in read_csv_rows(CASME2_2014)[1:]:
        _sparse(root / "Cropped" / f"sub{r[0]}" / r[1], (_int(r[3]), _int(r[4]), _int(r[5])), "reg_img{}.jpg".format)
    return root


@pytest.fixture(scope="module")
def samm_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("samm")
    xlsx_from_csv(SAMM_CSV, root / "SAMM_Micro_FACS_Codes_v2.xlsx", "MICRO_ONLY", text_columns={0, 1},
                  formula_column=6)
    rows = read_csv_rows(SAMM_CSV)
    for r in rows[rows.index(next(x for x in rows if x and x[0] == "Subject")) + 1 :]:
        nums = (_int(r[3]), _int(r[4]), _int(r[5]))
        _sparse(root / "SAMM" / r[0] / r[1], nums, lambda n, s=r[0]: f"{s}_{n:05d}.jpg")
    return root


@pytest.fixture(scope="module")
def smic_root(tmp_path_factory) -> Path:
    """SMIC-HS tree with the 164 clip names of the third-party list (folder labels from the name)."""
    root = tmp_path_factory.mktemp("smic")
    emotion = {"ne": "negative", "po": "positive", "sur": "surprise"}
    for r in read_csv_rows(SMIC_CSV)[1:]:
        onset, apex = int(r[4]), int(r[5])
        offset = _int(r[6]) or apex + 3
        tag = re.match(r"s\d+_([a-z]+)_", r[2]).group(1)
        folder = root / "HS" / f"s{r[1]}" / "micro" / emotion[tag] / r[2]
        write_frames(folder, range(onset, offset + 1), "reg_image{:06d}.bmp".format, apex=apex, fmt="BMP")
    return root


def test_casme2_counts_2014_and_2019(casme2_root):
    five = get_scheme("casme2-5class")
    expected = {
        "CASME2-coding-20140508.xlsx": ({"others": 99, "disgust": 63, "happiness": 32, "repression": 27,
                                         "surprise": 25, "sadness": 7, "fear": 2}, 246),
        "CASME2-coding-20190701.xlsx": ({"others": 99, "disgust": 63, "happiness": 32, "repression": 27,
                                         "surprise": 28, "sadness": 4, "fear": 2}, 249),
    }
    for name, (emotions, n5) in expected.items():
        load = load_dataset("casme2", casme2_root, annotation=casme2_root / name)
        assert len(load.samples) == 255 and not load.excluded
        assert Counter(s.label for s in load.samples) == emotions
        assert len({s.subject for s in load.samples}) == 26
        assert all(re.fullmatch(r"\d\d", s.subject) for s in load.samples)
        pairs = five.select(load.samples)
        assert len(pairs) == n5
        assert class_counts(five, load.samples) == {c: emotions[c] for c in five.classes}
        assert len(get_scheme("casme2-3class-authors").select(load.samples)) == 156
        edge = {i.sample_id for i in load.issues if i.check == "apex_at_edge"}
        assert edge == {"casme2/05/EP09_05f", "casme2/05/EP16_04f", "casme2/12/EP09_06", "casme2/20/EP16_01",
                        "casme2/25/EP18_04f"}  # docs/datasets.md, Quirks handled: apex at the edge
        # only the known quirks are errors: the '/' apex
        assert {(i.sample_id, i.check) for i in load.errors} == {("casme2/04/EP12_01f", "apex_unknown")}
        # 5-class LOSO: 26 folds, every sample tested once
        assert len(protocol_folds(pairs, "loso")) == 26
    # the authors' 3-class list leaves out sub18 (only 'others')
    three = get_scheme("casme2-3class-authors").select(load.samples)
    assert "18" not in {s.subject for s, _ in three} and len(protocol_folds(three, "loso")) == 25


def test_casme2_csv_export_as_annotation(casme2_root):
    """The cell-by-cell CSV (every cell text) reads like the xlsx."""
    load = load_dataset("casme2", casme2_root, annotation=CASME2_2019)
    assert len(load.samples) == 255 and len(get_scheme("casme2-5class").select(load.samples)) == 249
    assert {s.subject for s in load.samples} == {f"{i:02d}" for i in range(1, 27)}


def test_casme2_objective_classes(casme2_root, tmp_path):
    load = load_dataset("casme2", casme2_root, annotation=casme2_root / "CASME2-coding-20190701.xlsx")
    objective = Counter(s.extra["objective_class"] for s in load.samples)
    assert sum(objective.values()) == 255 and set(objective) == set(range(1, 8))
    # 2014 coding + the separate objective-class file, joined by (subject, clip)
    import shutil

    root = tmp_path / "c"
    root.mkdir()
    shutil.copy(casme2_root / "CASME2-coding-20140508.xlsx", root)
    (root / "Cropped").symlink_to(casme2_root / "Cropped")
    xlsx_from_csv(CASME2_OBJ, root / "CASME2-ObjectiveClasses.xlsx", "Sheet1", text_columns={0, 1})
    load = load_dataset("casme2", root)
    assert Counter(s.extra["objective_class"] for s in load.samples) == {3: 99, 7: 69, 4: 26, 1: 25, 5: 20, 2: 15,
                                                                        6: 1}


@pytest.mark.skipif(not CASME2_OBJ.is_file(), reason="no CASME2-ObjectiveClasses copy in ../shared/annotations")
def test_casme2_objective_classes_file_wins_over_the_2019_column(casme2_root, tmp_path):
    """The MEGC2018 setting (185 samples in I-V) comes from the separate file; the 2019 column gives 174."""
    import shutil

    root = tmp_path / "c"
    root.mkdir()
    shutil.copy(casme2_root / "CASME2-coding-20190701.xlsx", root)
    (root / "Cropped").symlink_to(casme2_root / "Cropped")
    five = get_scheme("casme2-objective-5class")
    assert len(five.select(load_dataset("casme2", root).samples)) == 174
    xlsx_from_csv(CASME2_OBJ, root / "CASME2-ObjectiveClasses.xlsx", "Sheet1", text_columns={0, 1})
    load = load_dataset("casme2", root)
    assert Counter(s.extra["objective_class"] for s in load.samples) == {3: 99, 7: 69, 4: 26, 1: 25, 5: 20, 2: 15,
                                                                        6: 1}
    assert len(five.select(load.samples)) == 185
    differs = {i.sample_id: i.message for i in load.issues if i.check == "objective_class_differs"}
    assert len(differs) == 37 and not [i for i in load.issues if i.check == "objective_class_missing"]
    assert differs["casme2/02/EP06_01f"] == ("objective class 7 from 'CASME2-ObjectiveClasses.xlsx' used; "
                                             "'CASME2-coding-20190701.xlsx' gives 5")
    ep12 = differs["casme2/04/EP12_01f"]
    assert ep12.startswith("objective class 3 from") and ep12.endswith("gives 4")


def test_samm_counts(samm_root):
    load = load_dataset("samm", samm_root)
    assert len(load.samples) == 159 and not load.excluded
    assert Counter(s.label for s in load.samples) == {"anger": 57, "other": 26, "happiness": 26, "surprise": 15,
                                                      "contempt": 12, "disgust": 9, "fear": 8, "sadness": 6}
    assert Counter(s.extra["objective_class"] for s in load.samples) == {7: 84, 1: 24, 3: 20, 2: 13, 4: 8, 6: 7, 5: 3}
    subjects = {s.subject for s in load.samples}
    assert len(subjects) == 29 and {"006", "037"} <= subjects and not {"008", "027", "029"} & subjects
    five = get_scheme("samm-5class")
    pairs = five.select(load.samples)
    assert len(pairs) == 136 and len({s.subject for s, _ in pairs}) == 27
    assert not {"024", "036"} & {s.subject for s, _ in pairs}
    assert class_counts(five, load.samples) == {"anger": 57, "contempt": 12, "happiness": 26, "surprise": 15,
                                                "others": 26}
    fixed = {i.sample_id: i.message for i in load.issues if i.check == "correction"}
    assert set(fixed) == {"samm/028/028_4_1", "samm/032/032_3_1", "samm/032/032_3_2"}
    assert not [i for i in load.errors if i.check == "apex_outside"]
    by = {s.clip: s for s in load.samples}
    assert by["028_4_1"].apex == 1105 and by["032_3_1"].apex == 4945
    assert by["006_1_2"].subject == "006" and by["006_1_2"].frames[0][1].name == "006_05562.jpg"


def test_casme3_counts(tmp_path):
    root = tmp_path / "c3"
    xlsx_from_csv(CASME3_CSV, root / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx", "label", text_columns=set(),
                  all_text=True, extra_sheets=("Sheet1", "Sheet3"))
    for r in read_csv_rows(CASME3_CSV)[1:]:
        nums = [n for n in (_int(r[2]), _int(r[3]), _int(r[4])) if n]
        if r[0] == "spNO.216" and r[1] == "d":
            nums.append(2647)
        _sparse(root / r[0] / r[1].lower() / "color", nums or [0], "{}.jpg".format)
    load = load_dataset("casme3", root)
    every = load.samples + load.excluded
    assert len(every) == 860
    assert Counter(s.label for s in every) == {"disgust": 250, "surprise": 187, "others": 161, "fear": 86,
                                               "anger": 64, "sad": 57, "happy": 55}
    assert len({s.subject for s in every}) == 94
    assert Counter(s.extra["objective_class"] for s in every) == {7: 373, 3: 234, 2: 151, 5: 47, 4: 37, 1: 15, 6: 3}
    assert len({s.sample_id for s in every}) == 860  # repeats renamed b2, b3 ...
    checks = Counter(i.check for i in load.issues)
    assert checks["offset_zero"] >= 2 and checks["correction"] == 1
    assert "casme3/spNO.149/d" in {i.sample_id for i in load.errors if i.check == "onset_after_apex"}
    assert get_scheme("casme3-4class").unmapped(every) == {}


def test_composite_official_list(casme2_root, samm_root, smic_root, tmp_path):
    roots = {"casme2": casme2_root, "samm": samm_root, "smic": smic_root}
    # the CDE uses the 2014 CASME II labels; point the CASME II part at a root holding only that file
    c14 = tmp_path / "casme2_2014"
    c14.mkdir()
    (c14 / "CASME2-coding-20140508.xlsx").symlink_to(casme2_root / "CASME2-coding-20140508.xlsx")
    (c14 / "Cropped").symlink_to(casme2_root / "Cropped")
    roots["casme2"] = c14
    load = load_dataset("composite", {**roots, "annotation": CDE_CSV}, cache_dir=tmp_path / "cache")
    assert len(load.samples) == 442
    # the parts' annotation files gave the onsets and apexes: the run's env.json records their sha256 too
    assert load.annotation == CDE_CSV
    assert [p.name for p in load.also_read] == ["CASME2-coding-20140508.xlsx", "SAMM_Micro_FACS_Codes_v2.xlsx"]
    assert not [i for i in load.issues if i.check in ("not_in_source", "duplicate", "duplicate_row", "label_differs")]
    assert load.listed_rows == 442 and not [i for i in load.issues if i.check == "not_official_list"]
    # the parts' samples the list leaves out: a run lists them in skipped.csv (SAMM's 26 are its "Other")
    assert Counter(sid.split("/")[0] for sid, _ in load.unlisted) == {"casme2": 110, "samm": 26}
    assert Counter(s.label for s in load.samples) == {"negative": 250, "positive": 109, "surprise": 83}
    per = Counter(s.dataset for s in load.samples)
    assert per == {"smic": 164, "casme2": 145, "samm": 133}
    subjects = {(s.dataset, s.subject) for s in load.samples}
    assert len(subjects) == 68
    assert Counter(d for d, _ in subjects) == {"smic": 16, "casme2": 24, "samm": 28}
    scheme = get_scheme("composite-3class")
    pairs = scheme.select(load.samples)
    assert Counter(i for _, i in pairs) == {0: 250, 1: 109, 2: 83}
    excluded_c2 = {"casme2/04/EP12_01f", "casme2/05/EP09_05f"}
    assert not excluded_c2 & {s.sample_id for s in load.samples}
    assert len(protocol_folds(pairs, "loso")) == 68
    lodo = protocol_folds(pairs, "lodo")
    assert [(name, len(test)) for name, _, test in lodo] == [("casme2", 145), ("samm", 133), ("smic", 164)]
    # the 2018-11-30 list: ',,,' lines between rows, and no samm 032_3_1
    old = load_dataset("composite", {**roots, "annotation": CDE_OLD_CSV}, cache_dir=tmp_path / "cache")
    assert len(old.samples) == 441 and "samm/032/032_3_1" not in {s.sample_id for s in old.samples}
