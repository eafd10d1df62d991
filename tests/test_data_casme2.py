"""CASME II loader on generated fake trees: layouts, 9/10 columns, quirks, errors, schemes."""

from __future__ import annotations

import pytest

from mmnet.data import get_scheme, load_dataset
from mmnet.data.cache import frame_windows
from mmnet.errors import AnnotationError, DataError, DatasetNotFoundError

from .fakes import CASME2_ROWS, write_casme2, write_casme2_objective


def _checks(load, clip):
    return {i.check: i for i in load.issues if i.sample_id.endswith("/" + clip)}


@pytest.mark.parametrize("layout", ["cropped", "cropped-updated", "raw-selected"])
@pytest.mark.parametrize("columns", [9, 10])
def test_layouts_and_columns(tmp_path, layout, columns):
    root = write_casme2(tmp_path / "CASME2", columns=columns, layout=layout)
    load = load_dataset("casme2", root)
    assert len(load.samples) == len(CASME2_ROWS)
    first = load.samples[0]
    assert (first.subject, first.clip, first.onset, first.apex, first.offset) == ("01", "EP02_01f", 40, 52, 75)
    assert first.label == "happiness" and first.aus == ("12",)
    assert first.frame_numbers == list(range(40, 76))
    assert first.frames[0][1].parent.name == "EP02_01f"
    assert ("objective_class" in first.extra) == (columns == 10)
    if columns == 10:
        assert first.extra["objective_class"] == 1


def test_quirks_reported_not_dropped(tmp_path):
    load = load_dataset("casme2", write_casme2(tmp_path / "r"))
    by_clip = {s.clip: s for s in load.samples}
    # odd clip names are kept as written
    assert {"EP01_2", "EP06_02_01", "EP09f"} <= set(by_clip)
    # '/' apex -> None + error issue; training refuses it by name (or skips it with on_bad_sample=skip)
    assert by_clip["EP12_01f"].apex is None
    assert _checks(load, "EP12_01f")["apex_unknown"].severity == "error"
    with pytest.raises(DataError, match="EP12_01f.*no apex"):
        frame_windows(by_clip["EP12_01f"], 0.15, clamp=True)
    # frames missing on disk (docs/datasets.md, Quirks handled: annotated frames missing on disk)
    c = _checks(load, "EP06_01")
    assert {"onset_not_on_disk", "apex_not_on_disk"} <= set(c)
    # data.on_bad_sample=nearest: onset 17 and apex 47 both become frame 52, an empty motion image with a real
    # label (it was used so, with a note): nearest cannot fix it
    with pytest.raises(DataError, match="EP06_01.*both become frame 52: no motion.*on_bad_sample=skip"):
        frame_windows(by_clip["EP06_01"], 0.15, clamp=True)
    w = frame_windows(by_clip["EP09_06"], 0.15, clamp=True)  # only the apex clamped: 104 -> 99, motion left
    assert (w.onset, w.apex) == (62, 99) and len(w.notes) == 1
    with pytest.raises(DataError, match="EP06_01.*not on disk"):
        frame_windows(by_clip["EP06_01"], 0.15, clamp=False)
    c = _checks(load, "EP09_06")
    assert c["apex_not_on_disk"].severity == "error" and c["offset_not_on_disk"].severity == "warning"
    assert set(_checks(load, "EP01_08")) == {"offset_not_on_disk"}
    assert {"onset_not_on_disk", "apex_not_on_disk", "offset_not_on_disk"} == set(_checks(load, "EP09_02"))
    with pytest.raises(DataError, match="EP09_02.*onset 18 and apex 55 both become frame 158"):
        frame_windows(by_clip["EP09_02"], 0.15, clamp=True)
    assert {"apex_at_edge", "apex_not_on_disk", "offset_not_on_disk"} == set(_checks(load, "EP16_01"))
    # junk files ignored and reported, never taken as frames: a desktop's Thumbs.db in the dataset's one note
    assert [i.message.split(" (")[0] for i in load.issues if i.check == "desktop_files"] == \
        ["1 hidden or macOS/Windows metadata file(s) ignored"]
    assert all(p.suffix == ".jpg" for s in load.samples for _, p in s.frames)
    # free-text AUs parsed, '?' gives none
    assert by_clip["EP19_05f"].aus == ("4", "7", "L10")
    assert by_clip["EP06_02_01"].aus == ()
    assert _checks(load, "EP09_05f")["apex_at_edge"].severity == "warning"
    # sample without problems has no issues
    assert _checks(load, "EP03_02") == {}


def test_strict_raises_naming_the_sample(tmp_path):
    root = write_casme2(tmp_path / "r")
    with pytest.raises(AnnotationError, match="casme2/04/EP12_01f"):
        load_dataset("casme2", root, strict=True)
    clean = [r for r in CASME2_ROWS if r[1] == "EP02_01f"]
    ok = load_dataset("casme2", write_casme2(tmp_path / "ok", clean, junk=False), strict=True)
    assert len(ok.samples) == 1 and ok.issues == []


def test_missing_clip_folder_is_reported_and_excluded(tmp_path):
    root = write_casme2(tmp_path / "r")
    import shutil

    shutil.rmtree(root / "Cropped" / "sub01" / "EP03_02")
    load = load_dataset("casme2", root)
    assert "EP03_02" not in {s.clip for s in load.samples}
    assert [s.clip for s in load.excluded] == ["EP03_02"]
    assert _checks(load, "EP03_02")["clip_missing"].severity == "error"


def test_missing_root_and_annotation_messages(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="request it from"):
        load_dataset("casme2", tmp_path / "nowhere")
    root = write_casme2(tmp_path / "r")
    (root / "CASME2-coding-20190701.xlsx").unlink()
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("casme2", root)
    msg = str(err.value)
    assert "CASME2-coding-20140508.xlsx" in msg and "Cropped/sub01/EP02_01f/reg_img46.jpg" in msg
    assert "licence-gated" in msg
    with pytest.raises(FileNotFoundError, match=r"--annotation .*nope\.xlsx. does not exist"):  # a FileNotFoundError
        load_dataset("casme2", root, annotation=root / "nope.xlsx")
    empty = tmp_path / "empty"
    empty.mkdir()
    write_casme2(empty, frames=False, junk=False)
    with pytest.raises(DatasetNotFoundError, match="frames folder"):
        load_dataset("casme2", empty)


def test_annotation_argument_and_frames_root(tmp_path):
    root = write_casme2(tmp_path / "r", coding="CASME2-coding-20140508.xlsx", columns=9)
    # root given as the frames folder itself, coding file passed explicitly
    load = load_dataset("casme2", root / "Cropped", annotation=root / "CASME2-coding-20140508.xlsx")
    assert len(load.samples) == len(CASME2_ROWS)


def test_text_subject_survives_numeric_cells(tmp_path):
    """A re-saved sheet with subject 1 as a number still maps to folder sub01."""
    rows = [(1, "EP02_01f", 40, 52, 75, 12, "happiness", 1)]
    root = write_casme2(tmp_path / "r", [("01",) + rows[0][1:]], junk=False)
    from .fakes import write_casme2_xlsx

    write_casme2_xlsx(root / "CASME2-coding-20190701.xlsx", rows)
    load = load_dataset("casme2", root)
    assert load.samples[0].subject == "01" and load.samples[0].frames


def test_objective_classes_file_wins_over_the_coding_files_column_and_each_difference_is_listed(tmp_path):
    # the file was ignored whenever the coding file had its own column (the 2019 file), without a word
    root = write_casme2(tmp_path / "r")
    davison = {(subject, clip): objective for subject, clip, *_, objective in CASME2_ROWS}
    davison.update({("01", "EP02_01f"): 5, ("04", "EP12_01f"): 4, ("04", "EP07_01"): 3})  # coding file: 1, 3, 6
    del davison[("02", "EP09f")]
    write_casme2_objective(root / "CASME2-ObjectiveClasses.xlsx", davison)
    load = load_dataset("casme2", root)
    objective = {s.clip: s.extra["objective_class"] for s in load.samples}
    assert (objective["EP02_01f"], objective["EP12_01f"], objective["EP07_01"]) == (5, 4, 3)
    assert objective["EP09f"] == 2  # no row in the file: the coding file's class is kept
    differs = {i.sample_id: i for i in load.issues if i.check == "objective_class_differs"}
    assert set(differs) == {"casme2/01/EP02_01f", "casme2/04/EP12_01f", "casme2/04/EP07_01"}
    assert all(i.severity == "warning" for i in differs.values())
    assert differs["casme2/01/EP02_01f"].message == ("objective class 5 from 'CASME2-ObjectiveClasses.xlsx' used; "
                                                     "'CASME2-coding-20190701.xlsx' gives 1")
    (missing,) = [i for i in load.issues if i.check == "objective_class_missing"]
    assert missing.sample_id == "casme2/02/EP09f" and missing.severity == "warning"
    assert "'CASME2-ObjectiveClasses.xlsx' has no row" in missing.message and "kept class 2" in missing.message
    five = {s.clip for s, _ in get_scheme("casme2-objective-5class").select(load.samples)}
    assert "EP07_01" in five  # class VI in the coding file, III in the objective-class file


def test_objective_classes_file_without_a_row_leaves_a_9_column_sample_without_class_and_says_so(tmp_path):
    root = write_casme2(tmp_path / "r", coding="CASME2-coding-20140508.xlsx", columns=9)
    davison = {(subject, clip): objective for subject, clip, *_, objective in CASME2_ROWS if clip != "EP09f"}
    davison[("01", "EP02_01f")] = None  # a blank class cell
    write_casme2_objective(root / "CASME2-ObjectiveClasses.xlsx", davison)
    load = load_dataset("casme2", root)
    objective = {s.clip: s.extra["objective_class"] for s in load.samples}
    assert objective["EP09f"] is None and objective["EP02_01f"] is None and objective["EP03_02"] == 7
    missing = {i.sample_id: i.message for i in load.issues if i.check == "objective_class_missing"}
    assert missing == {
        "casme2/02/EP09f": "'CASME2-ObjectiveClasses.xlsx' has no row for this sample: no objective class",
        "casme2/01/EP02_01f": "'CASME2-ObjectiveClasses.xlsx' has no class in its row for this sample: "
                              "no objective class"}
    assert not [i for i in load.issues if i.check == "objective_class_differs"]


def test_five_class_scheme_ids(tmp_path):
    load = load_dataset("casme2", write_casme2(tmp_path / "r"))
    pairs = get_scheme("casme2-5class").select(load.samples)
    ids = {s.clip: i for s, i in pairs}
    assert ids["EP02_01f"] == 0 and ids["EP06_02_01"] == 1 and ids["EP19_05f"] == 2
    assert ids["EP09f"] == 3 and ids["EP03_02"] == 4
    assert "EP07_01" not in ids and "EP01_08" not in ids  # sadness, fear excluded
    three = {s.clip: i for s, i in get_scheme("casme2-3class-authors").select(load.samples)}
    assert three["EP07_01"] == three["EP01_08"] == three["EP19_05f"] == 0  # sadness, fear -> negative
    megc = {s.clip for s, _ in get_scheme("casme2-3class-megc").select(load.samples)}
    assert "EP07_01" not in megc and "EP03_02" not in megc


def test_registry_and_default_schemes():
    from mmnet.data import DATASETS, DEFAULT_SCHEME, LONG_VIDEO_DATASETS, SCHEMES
    from mmnet.errors import ConfigError

    assert {"casme2", "samm", "mmew", "smic", "smic-hs", "smic-vis", "smic-nir", "casme3", "composite"} <= set(DATASETS)
    assert set(DEFAULT_SCHEME) == set(DATASETS) | set(LONG_VIDEO_DATASETS)  # long videos: spot then recognise
    # the table datasets' scheme (clips, and long recordings) is built from the config (data.classes), not listed
    own = ("table", "table-long")
    assert all(v in SCHEMES for k, v in DEFAULT_SCHEME.items() if k not in own)
    assert all(DEFAULT_SCHEME[k] == "table" for k in own)
    with pytest.raises(ConfigError, match="Valid values are"):
        load_dataset("casme", "/nowhere")
    with pytest.raises(ConfigError, match="label scheme"):
        get_scheme("casme2-6class")


def test_a_clip_folder_without_a_row_is_listed_not_passed_over(tmp_path):
    # a table saved before its last rows were pasted trained on fewer clips without a word
    root = write_casme2(tmp_path / "r", CASME2_ROWS[:3], junk=False)
    write_casme2(tmp_path / "cut", CASME2_ROWS[:2], junk=False)  # the same folders, one row fewer
    (root / "CASME2-coding-20190701.xlsx").replace(root / "full.xlsx")
    (tmp_path / "cut" / "CASME2-coding-20190701.xlsx").replace(root / "CASME2-coding-20190701.xlsx")
    (root / "Cropped" / "sub01" / "empty").mkdir()  # no frames: not a clip
    notes = {i.sample_id: i for i in load_dataset("casme2", root).issues if i.check == "not_annotated"}
    assert list(notes) == ["casme2/01/EP03_02"] and notes["casme2/01/EP03_02"].severity == "warning"
    assert "has frames but no row in 'CASME2-coding-20190701.xlsx'" in notes["casme2/01/EP03_02"].message
    assert not [i for i in load_dataset("casme2", root, annotation=root / "full.xlsx").issues]


def test_a_subject_written_with_its_folder_prefix_is_accepted_and_others_say_what_to_write(tmp_path):
    # 'sub1' was looked up as folder subsub1, with no hint
    from .fakes import write_casme2_xlsx

    rows = CASME2_ROWS[:3]
    root = write_casme2(tmp_path / "r", rows, junk=False)
    written = [("sub1", *rows[0][1:]), ("Sub01", *rows[1][1:]), ("s1", *rows[2][1:])]
    write_casme2_xlsx(root / "CASME2-coding-20190701.xlsx", written)
    load = load_dataset("casme2", root)
    assert [(s.subject, s.clip, len(s.frames) > 0) for s in load.samples] == [
        ("01", rows[0][1], True), ("01", rows[1][1], True)]
    (missing,) = load.errors
    assert missing.sample_id == f"casme2/s1/{rows[2][1]}" and missing.check == "clip_missing"
    assert "no subject folder 'subs1'" in missing.message and "write 01 for sub01" in missing.message


def test_a_clip_prepare_failed_on_is_named_as_such_not_as_a_subject_cell_problem(tmp_path):
    # the hint "the Subject cell is the number of the folder" misled when `mmnet prepare` had failed on the clip
    import json
    import shutil

    from mmnet.data.casme2 import PREPARE_SUMMARY
    from mmnet.preprocess.pipeline import SUMMARY_NAME

    assert PREPARE_SUMMARY == SUMMARY_NAME
    rows = CASME2_ROWS[:4]
    root = write_casme2(tmp_path / "r", rows, junk=False)
    shutil.rmtree(root / "Cropped" / "sub02")  # prepare made no crops for sub02's only clip
    summary = {"layout": "casme2", "source": str(root), "out_root": str(root), "counts": {"ok": 3, "failed": 1},
               "clips": [{"clip_id": "sub02/EP01_2", "status": "failed", "out_dir": str(root / "Cropped/sub02/EP01_2"),
                          "reason": "no_face", "message": "no face found in the onset frame"}]}
    (root / PREPARE_SUMMARY).write_text(json.dumps(summary))
    (missing,) = load_dataset("casme2", root).errors
    assert missing.check == "clip_missing" and "`mmnet prepare` failed on this clip, [no_face] no face found" in \
        missing.message and PREPARE_SUMMARY in missing.message and "Subject cell" not in missing.message
    (root / PREPARE_SUMMARY).write_text("{damaged")  # an unreadable summary: the usual hint
    (missing,) = load_dataset("casme2", root).errors
    assert "no subject folder 'sub02'" in missing.message


def test_a_partial_copy_names_the_subject_folders_found_not_the_subject_cell(tmp_path):
    # a copy with some subject folders and the full table said "write 01 for sub01" of a cell that was already 05
    import shutil

    root = write_casme2(tmp_path / "r", junk=False)
    shutil.rmtree(root / "Cropped" / "sub05")
    missing = [i for i in load_dataset("casme2", root).errors if i.sample_id.startswith("casme2/05/")]
    assert missing and all(i.check == "clip_missing" for i in missing)
    assert "no subject folder 'sub05'" in missing[0].message and "write 01" not in missing[0].message
    assert "which holds sub01, sub02, sub04, sub07, sub12, sub16, sub20: a partial copy?" in missing[0].message


def test_an_unknown_apex_names_its_row_and_value(tmp_path):
    # an apex of -1 was reported as "apex frame is not given ('/' or blank)", with neither row nor value
    from .fakes import write_casme2_xlsx

    rows = [r for r in CASME2_ROWS if r[1] in ("EP02_01f", "EP12_01f")]
    root = write_casme2(tmp_path / "r", rows, junk=False)
    write_casme2_xlsx(root / "CASME2-coding-20190701.xlsx", [rows[0][:3] + (-1,) + rows[0][4:], rows[1]])
    messages = {i.sample_id: i.message for i in load_dataset("casme2", root).errors if i.check == "apex_unknown"}
    assert "row 2, column 'ApexFrame' holds -1: apex frame is not given" in messages[f"casme2/01/{rows[0][1]}"]
    assert "row 3, column 'ApexFrame' holds '/': apex frame is not given" in messages["casme2/04/EP12_01f"]
