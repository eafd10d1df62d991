"""Names, numbers and headers as localized spreadsheets and file systems write them."""

from __future__ import annotations

import pytest

from mmnet.data.annotations import frame_number, label_text, read_table, subject_text
from mmnet.data.common import find_folder, natural_key
from mmnet.data.composite import _source_key
from mmnet.errors import AnnotationError
from mmnet.spotting.megc_files import read_megc2020_log


def test_natural_key_orders_names_holding_digit_like_signs_that_are_no_numbers():
    # '①' and '²' are digits to str.isdigit() but not numbers int() reads: they stay text
    names = ["被験者10", "被験者1①", "被験者2", "s²", "s1"]
    assert sorted(names, key=natural_key) == ["s1", "s²", "被験者1①", "被験者2", "被験者10"]


def test_natural_key_reads_full_width_and_other_script_digits_as_numbers():
    assert sorted(["sub１０", "sub２", "sub٣"], key=natural_key) == ["sub２", "sub٣", "sub１０"]


def test_a_full_width_subject_number_is_the_folders_number():
    assert subject_text("１", 2) == "01" and subject_text("０６", 3) == "006"
    assert subject_text("sub１", 2, "sub") == "01"
    assert subject_text("１.0", 2) == "01"
    # not numbers: kept as written (no '0²')
    assert subject_text("²", 2) == "²" and subject_text("被験者1①", 2) == "被験者1①"


def test_a_smic_subject_with_a_superscript_is_kept_as_written():
    assert _source_key("smic", "s²", "s²_ne_01") == ("s²", "s²_ne_01")
    assert _source_key("smic", "s03", "s03_ne_01") == ("s3", "s3_ne_01")


def test_a_megc_log_line_of_a_superscript_is_a_named_error_not_a_crash(tmp_path):
    path = tmp_path / "log.txt"
    path.write_text("²\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match="line 1"):
        read_megc2020_log(path)


def test_a_decimal_comma_frame_number_is_the_frame_as_a_decimal_point_one_is():
    assert [frame_number(v) for v in ("46,0", "46,", " 46,00 ", "46.0", "+46,0")] == [46, 46, 46, 46, 46]
    assert [frame_number(v) for v in ("46,5", "4,600", "46,0,0", ",0")] == [None, None, None, None]


def test_headers_and_labels_upper_cased_by_a_turkish_excel_are_recognised(tmp_path):
    path = tmp_path / "coding.csv"
    path.write_text("SUBJECT,FİLENAME,ONSETFRAME,EMOTİON\n01,EP01,5,SURPRİSE\n02,EP02,6,dısgust\n", encoding="utf-8")
    table = read_table(path, header="Filename")
    assert table.column("Filename") == 1 and table.column("Emotion") == 3
    assert [label_text(row[3]) for _, row in table.rows] == ["surprise", "disgust"]
    # other letters with a dot above are letters of their own, not the Turkish capital's dot
    assert label_text("ŻAL") == "żal" and label_text("Happiness ") == "happiness"


def test_a_clip_folder_is_found_whatever_case_a_turkish_excel_wrote_its_name_in(tmp_path):
    (tmp_path / "EP02_01f").mkdir()
    assert find_folder(tmp_path, "EP02_01F") == (tmp_path / "EP02_01f", False)
    (tmp_path / "disgust_clip").mkdir()
    assert find_folder(tmp_path, "DİSGUST_CLİP") == (tmp_path / "disgust_clip", False)
    assert find_folder(tmp_path, "EP02_02f") == (None, False)
