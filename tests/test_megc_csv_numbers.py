"""The numbers of MEGC CSVs (score-spots, agree) read by the data loaders' rule: exponents in scores, decimal commas,
no thousands separator, and a table's decimal commas making '1.000' ambiguous."""

from __future__ import annotations

import pytest

from mmnet.cli import main
from mmnet.data.decimal_comma import number_text
from mmnet.errors import AnnotationError
from mmnet.spotting.megc_csv import read_spotting_csv

COMMANDS = [["score-spots"], ["agree", "--fps", "30"]]


def _truth(tmp_path):
    truth = tmp_path / "truth.csv"
    truth.write_text("vid,onset,offset,type\nv1,10,20,me\n", encoding="utf-8")
    return truth


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("text, sep, scores", [("1e-05", ",", [1e-05, 0.5]), ("2,5E-03", ";", [0.0025, 0.5])])
def test_scores_written_with_an_exponent_are_read(tmp_path, capsys, command, text, sep, scores):
    # a spotter's low scores in exponent form, a decimal-comma Excel's scientific format among them
    spots = tmp_path / "spots.csv"
    half = "0,5" if sep == ";" else "0.5"
    spots.write_text(f"vid{sep}onset{sep}offset{sep}type{sep}score\nv1{sep}10{sep}20{sep}me{sep}{text}\n"
                     f"v1{sep}40{sep}50{sep}me{sep}{half}\n", encoding="utf-8")
    assert [i.score for i in read_spotting_csv(spots)["v1"]] == pytest.approx(scores)
    assert main([command[0], str(_truth(tmp_path)), str(spots), *command[1:]]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("cell", ["1_0", "inf", "0x10"])
def test_a_score_float_alone_would_read_is_refused(tmp_path, cell):
    # float() reads '1_0' as 10 and 'inf' as infinity: neither is a score a spreadsheet writes
    spots = tmp_path / "spots.csv"
    spots.write_text(f"vid,onset,offset,type,score\nv1,10,20,me,{cell}\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match=rf"'{spots}' row 2: score '{cell}' is not a finite number; leave"):
        read_spotting_csv(spots)


def test_a_frame_number_with_an_exponent_is_refused(tmp_path):
    # a spreadsheet writes '1.23457E+05' for a frame number only once it has rounded it
    spots = tmp_path / "spots.csv"
    spots.write_text("vid,onset,offset,type\nv1,1.23457E+05,123500,me\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"row 2: onset '1.23457E\+05' is not a frame number: frame numbers"):
        read_spotting_csv(spots)


def test_both_readers_refuse_a_possible_thousands_separator_alike(tmp_path):
    # the dataset loaders' number_text and the MEGC CSVs' reader: one rule
    spots = tmp_path / "spots.csv"
    spots.write_text('vid,onset,offset,type,score\nv1,10,20,me,"1,000"\n', encoding="utf-8")
    with pytest.raises(AnnotationError, match=r"row 2: score '1,000' \(a thousands separator or a decimal comma\?"):
        read_spotting_csv(spots)
    assert number_text("1,000") is None and number_text("1,000", exponent=True) is None
    # before an exponent a comma is only ever a decimal comma (a scientific format's mantissa)
    assert number_text("1,000E-03", exponent=True) == pytest.approx(0.001)
    assert number_text("1e-05") is None and number_text("2,5e-03", exponent=True) == pytest.approx(0.0025)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_point_thousands_separator_in_a_decimal_comma_table_is_refused(tmp_path, capsys, command):
    # '1.000' is 1000 where the table writes '0,5': refused wherever the first decimal comma stands
    spots = tmp_path / "spots.csv"
    spots.write_text("vid;onset;offset;type;score\nv1;1.000;1200;me;\nv1;10;20;me;0,5\n", encoding="utf-8")
    assert main([command[0], str(spots), str(_truth(tmp_path)), *command[1:]]) == 3
    err = capsys.readouterr().err
    assert (f"'{spots}' row 2: '1.000' may be 1000 written with a thousands separator, as this table writes decimal "
            "commas ('0,5' in row 3)") in err
    # without a decimal comma in the table, '12.000' is frame 12 as before
    spots.write_text("vid,onset,offset,type\nv1,12.000,20,me\n", encoding="utf-8")
    assert [i.onset for i in read_spotting_csv(spots)["v1"]] == [12]


def test_a_workbooks_number_cells_are_numbers_beside_a_decimal_comma_text_cell(tmp_path):
    # a number cell 1.234 is no text a locale wrote: only text tables' cells are read by the table-wide rule
    import openpyxl

    book = openpyxl.Workbook()
    for row in (["vid", "onset", "offset", "type", "score"], ["v1", 10, 20, "me", 1.234], ["v1", 30, 40, "me", "0,5"]):
        book.active.append(row)
    book.save(tmp_path / "spots.xlsx")
    assert [i.score for i in read_spotting_csv(tmp_path / "spots.xlsx")["v1"]] == [1.234, 0.5]


@pytest.mark.parametrize("command", COMMANDS)
def test_an_intervals_csv_with_a_point_thousands_separator_beside_decimal_commas_is_refused(tmp_path, capsys,
                                                                                             command):
    # spot --out's intervals.csv resaved by a decimal-comma spreadsheet: '2.000' is 2000 there, not frame 2
    spots = tmp_path / "intervals.csv"
    spots.write_text("video;onset;offset;type;score;frame_numbering\nv1;2.000;3.000;micro;0,9;video_from_0\n",
                     encoding="utf-8")
    assert main([command[0], str(_truth(tmp_path)), str(spots), *command[1:]]) == 3
    assert (f"'{spots}' row 2: '2.000' may be 2000 written with a thousands separator, as this table writes decimal "
            "commas ('0,9' in row 2)") in capsys.readouterr().err
    # a seconds cell counts too; without a decimal comma, '12.000' is frame 12 as before
    spots.write_text("video;onset;offset;type;onset_s;offset_s;frame_numbering\n"
                     "v1;30;60;micro;1,5;2.000;video_from_0\n", encoding="utf-8")
    assert main([command[0], str(_truth(tmp_path)), str(spots), *command[1:]]) == 3
    assert "'2.000' may be 2000" in capsys.readouterr().err
    from mmnet.spotting.spot_output_csv import read_spot_output

    spots.write_text("video,onset,offset,type,frame_numbering\nv1,12.000,20,micro,video_from_0\n", encoding="utf-8")
    fields = ["video", "onset", "offset", "type", "frame_numbering"]
    assert [i.onset for i in read_spot_output(spots, fields, None, None).intervals["v1"]] == [13]
