"""Datasets prepared on Windows and copied to Linux: Excel's lock files, decimal commas, names in another case,
Windows paths in a config."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmnet.data import load_dataset
from mmnet.data.annotations import frame_number
from mmnet.data.long_video import frame_value
from mmnet.errors import AnnotationError, ConfigError

from .fakes import write_frames


def _checks(load) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for i in load.issues:
        out.setdefault(i.check, []).append(i.message)
    return out


@pytest.mark.parametrize(("text", "value"), [("29,97", 29.97), ("566,4", 566.4), ("52,0", 52.0), ("12.000", 12.0),
                                             ("1234,000", 1234.0), ("0,334", 0.334), ("1,000", None), ("12,345", None),
                                             ("1,2,3", None)])
def test_a_decimal_comma_is_read_but_not_one_that_may_separate_thousands(text, value):
    assert frame_value(text) == value


def test_a_whole_frame_with_a_comma_that_may_separate_thousands_is_refused_not_read_as_one():
    assert frame_number("12.000") == 12 and frame_number("46,0") == 46 and frame_number("46,00") == 46
    assert frame_number("1,000") is None and frame_number("46,000") is None


def _long_root(root: Path, rows: list[str]) -> Path:
    write_frames(root / "P01" / "rec1", range(1, 61), "frame_{:04d}.jpg".format)
    (root / "intervals.csv").write_text("\n".join(["subject;video;onset;offset;type;fps", *rows]) + "\n",
                                        encoding="utf-8")
    return root


def test_a_european_semicolon_table_long_with_decimal_commas_loads(tmp_path):
    load = load_dataset("table-long", _long_root(tmp_path, ["P01;P01/rec1;5,0;12;micro;29,97"]))
    assert not load.errors, _checks(load)
    (video,) = load.videos
    assert video.fps == pytest.approx(29.97)
    assert [(i.onset, i.offset) for i in video.intervals] == [(5, 12)]



def test_a_fractional_frame_is_refused_outside_samm_long_as_docs_datasets_says(tmp_path):
    # the page once said any frame number may be written 566,4: only SAMM Long Videos' table is read that way
    load = load_dataset("table-long", _long_root(tmp_path, ["P01;P01/rec1;5,4;12;micro;30"]))
    assert "bad_value" in _checks(load) and frame_number("566,4") is None and frame_value("566,4") == 566.4
    text = " ".join((Path(__file__).resolve().parents[1] / "docs" / "datasets.md").read_text().split())
    assert "Fractional frames (`566,4`) are read only from SAMM Long Videos' table" in text


def test_a_comma_that_may_separate_thousands_is_named_in_the_error(tmp_path):
    load = load_dataset("table-long", _long_root(tmp_path, ["P01;P01/rec1;1,000;1200;micro;30"]))
    (message,) = _checks(load)["bad_value"]
    assert "'1,000'" in message and "thousands separator or a decimal comma" in message
    from mmnet.data.table_long import check_fps

    with pytest.raises(ConfigError, match="thousands separator or a decimal comma"):
        check_fps("29,970", "--fps")
    assert check_fps("29,97", "--fps") == pytest.approx(29.97)


def _lock_file(path: Path) -> None:
    """Excel's owner file beside an open workbook: '~$' + its name, 165 bytes that are no workbook."""
    (path.parent / f"~${path.name}").write_bytes(b"\x0bmmnet user" + b" " * 154)


def test_excels_lock_file_beside_the_workbook_is_not_read_as_the_annotation(tmp_path):
    from .fakes import write_casme3
    from .fakes_long import write_casme_sq

    root = write_casme3(tmp_path / "c3")
    _lock_file(root / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx")
    load = load_dataset("casme3", root)
    assert load.annotation.name == "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx" and load.samples
    sq = write_casme_sq(tmp_path / "sq")
    _lock_file(sq / "CAS(ME)^2code_final.xlsx")
    assert "annotation_choice" not in _checks(load_dataset("casme-sq", sq))


def _casme2_samples(load) -> list[tuple[str, int]]:
    return sorted((s.sample_id, len(s.frames)) for s in load.samples)


def test_casme2_copied_from_windows_with_its_names_in_another_case_loads_as_the_release(tmp_path):
    from .fakes import write_casme2

    release = load_dataset("casme2", write_casme2(tmp_path / "release"))
    root = write_casme2(tmp_path / "copy", coding="casme2-coding-20190701.XLSX")
    (root / "Cropped").rename(root / "cropped")
    (root / "cropped" / "sub02").rename(root / "cropped" / "Sub02")
    load = load_dataset("casme2", root)
    assert load.annotation.name == "casme2-coding-20190701.XLSX"
    assert _casme2_samples(load) == _casme2_samples(release)
    assert sorted(_checks(load)) == sorted(_checks(release))


def test_a_casme2_coding_file_saved_as_csv_is_found(tmp_path):
    import csv

    from .fakes import CASME2_ROWS, casme2_sheet, write_casme2

    root = write_casme2(tmp_path / "r")
    with open(root / "CASME2-coding-20190701.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(casme2_sheet(CASME2_ROWS))
    (root / "CASME2-coding-20190701.xlsx").unlink()
    load = load_dataset("casme2", root)
    assert load.annotation.name == "CASME2-coding-20190701.csv" and load.samples


def test_samm_frames_folder_in_another_case_is_found(tmp_path):
    from .fakes import write_samm

    release = load_dataset("samm", write_samm(tmp_path / "release", frames_dir="SAMM_CROP"))
    load = load_dataset("samm", write_samm(tmp_path / "copy", frames_dir="samm_crop"))
    assert load.frames_dirs["samm"].name == "samm_crop"
    assert sorted((s.sample_id, len(s.frames)) for s in load.samples) == \
        sorted((s.sample_id, len(s.frames)) for s in release.samples)


def test_the_table_files_are_found_in_another_case_and_a_missing_root_is_named(tmp_path):
    from mmnet.errors import DatasetNotFoundError

    root = _long_root(tmp_path / "long", ["P01;P01/rec1;5;12;micro;30"])
    (root / "intervals.csv").rename(root / "Intervals.CSV")
    assert load_dataset("table-long", root).annotation.name == "Intervals.CSV"
    clips = tmp_path / "clips"
    write_frames(clips / "P01" / "c1", range(1, 11), "frame_{:04d}.jpg".format)
    (clips / "Annotations.CSV").write_text("subject,clip,onset,apex,offset,emotion\nP01,P01/c1,1,5,10,happy\n",
                                           encoding="utf-8")
    assert load_dataset("table", clips).annotation.name == "Annotations.CSV"
    for name in ("table", "table-long"):
        with pytest.raises(DatasetNotFoundError, match="the folder itself"):
            load_dataset(name, tmp_path / "nowhere")
        from mmnet.data.table import table_labels
        from mmnet.data.table_long import table_long_labels

        with pytest.raises(DatasetNotFoundError, match="the folder itself"):
            (table_labels if name == "table" else table_long_labels)(tmp_path / "nowhere")


def test_a_table_long_video_cell_in_another_case_names_the_folder(tmp_path):
    root = _long_root(tmp_path, ["P01;p01/REC1;5;12;micro;30"])
    (message,) = _checks(load_dataset("table-long", root))["video_missing"]
    assert "there as 'P01/rec1'" in message and "another case" in message


@pytest.mark.parametrize(("line", "said"), [
    ('  root: "D:\\new\\tab"', "data.root reads as 'D:\\new\\tab', which holds a control character"),
    ('  root: "D:\\data\\mylab"', "unknown escape character"),
    ("\troot: data", "indent with spaces"),
])
def test_a_windows_path_or_a_tab_in_a_config_says_what_to_write(tmp_path, line, said):
    from mmnet.config import load_config

    path = tmp_path / "lab.yaml"
    path.write_text(f"data:\n{line}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert said in str(info.value)
    assert ("single quotes" in str(info.value)) == line.startswith("  ")


def test_a_windows_path_in_single_quotes_is_read_as_written(tmp_path):
    from mmnet.recipes import read_yaml

    path = tmp_path / "lab.yaml"
    path.write_text("data:\n  root: 'D:\\new\\tab'\n  note: |\n    two\n    lines\n", encoding="utf-8")
    assert read_yaml(path) == {"data": {"root": "D:\\new\\tab", "note": "two\nlines\n"}}


def test_a_missing_annotation_names_the_spreadsheets_the_root_holds_and_a_lock_file_as_such(tmp_path):
    from mmnet.errors import DatasetNotFoundError

    from .fakes import write_casme3

    root = write_casme3(tmp_path / "c3")
    workbook = root / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
    _lock_file(workbook)
    workbook.unlink()
    with pytest.raises(DatasetNotFoundError, match=r"'~\$cas\(me\)3_part_A_ME_label_JpgIndex_v2.xlsx' is Office's "
                       "lock file of a workbook open in Excel, not the workbook"):
        load_dataset("casme3", root)
    long = _long_root(tmp_path / "long", ["P01;P01/rec1;5;12;micro;30"])
    (long / "intervals.csv").rename(long / "intervals (2).csv")
    with pytest.raises(DatasetNotFoundError, match=r"holds 'intervals \(2\).csv': if one is the annotation"):
        load_dataset("table-long", long)


def test_smic_release_and_variant_folders_in_another_case_are_found(tmp_path):
    from .fakes import write_smic

    release = load_dataset("smic", write_smic(tmp_path / "release", release="SMIC_all_cropped"))
    load = load_dataset("smic", write_smic(tmp_path / "copy", release="smic_all_cropped", variant="Hs"))
    assert sorted((s.sample_id, len(s.frames)) for s in load.samples) == \
        sorted((s.sample_id, len(s.frames)) for s in release.samples)


def test_the_composite_list_is_found_in_another_case(tmp_path):
    from .fakes import write_casme2, write_cde_csv, write_samm, write_smic

    root = tmp_path / "cde"
    write_casme2(root / "CASME2", junk=False)
    write_samm(root / "SAMM")
    write_smic(root / "SMIC")
    write_cde_csv(root / "Combined_3class_GT.CSV", [("casme2", "sub01", "EP02_01f", 1), ("samm", "6", "006_1_2", 0)])
    load = load_dataset("composite", root, cache_dir=tmp_path / "cache")
    assert load.annotation.name == "Combined_3class_GT.CSV"
    assert [s.sample_id for s in load.samples] == ["casme2/01/EP02_01f", "samm/006/006_1_2"]


def test_a_point_that_may_separate_thousands_in_a_decimal_comma_table_is_refused(tmp_path):
    # '29,97' says the table is of a decimal-comma locale, where '1.000' is 1000: not read as frame 1
    with pytest.raises(AnnotationError) as err:
        load_dataset("table-long", _long_root(tmp_path / "a", ["P01;P01/rec1;1.000;1200;micro;29,97"]))
    assert "row 2: '1.000' may be 1000 written with a thousands separator" in str(err.value)
    assert "('29,97' in row 2)" in str(err.value)
    # without a decimal comma in the table, '12.000' is 12 (a float export)
    load = load_dataset("table-long", _long_root(tmp_path / "b", ["P01;P01/rec1;5.000;12.000;micro;30"]))
    assert [(i.onset, i.offset) for v in load.videos for i in v.intervals] == [(5, 12)]
