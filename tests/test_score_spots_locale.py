"""`mmnet score-spots` on CSVs as a localized Excel saves them: another encoding, ';' separators, decimal commas."""

from __future__ import annotations

import json

import pytest

from mmnet.cli import main
from mmnet.errors import AnnotationError
from mmnet.spotting.intervals import Interval
from mmnet.spotting.megc_files import read_megc2020_log, write_str_csv


def _str_truth(tmp_path):
    return write_str_csv(tmp_path / "truth.csv", {("张三", "a"): [Interval(10, None, 20, "micro", "negative")],
                                                  ("李四", "b"): [Interval(10, None, 20, "micro", "positive")]})


@pytest.mark.parametrize("encoding, subject", [("gbk", "张三"), ("shift_jis", "被験者")])
def test_a_csv_in_a_legacy_encoding_is_named_with_how_to_save_it(tmp_path, capsys, encoding, subject):
    truth = _str_truth(tmp_path)
    spots = tmp_path / "spots.csv"
    spots.write_bytes(f"subject,video,onset,offset,emotion\n{subject},a,10,20,negative\n".encode(encoding))
    for argv in ((truth, spots), (spots, truth)):
        assert main(["score-spots", *map(str, argv)]) == 3
        err = capsys.readouterr().err
        assert f"'{spots}' is not UTF-8 text" in err and "'CSV UTF-8'" in err and "Traceback" not in err


def _micro_counts(capsys) -> tuple[int, int, int]:
    """(TP, FP, FN) of micro-expressions in the `score-spots --json` output just printed."""
    counts = {r["type"]: (r["tp"], r["fp"], r["fn"]) for r in json.loads(capsys.readouterr().out)["counts"]}
    return counts["micro"]


def test_a_semicolon_separated_csv_with_decimal_commas_is_read(tmp_path, capsys):
    truth = _str_truth(tmp_path)
    spots = tmp_path / "spots.csv"
    spots.write_text("\ufeffsubject;video;onset;offset;emotion\n张三;a;10,0;20;negative\n", encoding="utf-8")
    assert main(["score-spots", str(truth), str(spots), "--json"]) == 0
    assert _micro_counts(capsys) == (1, 0, 1)


def test_a_semicolon_spotting_csv_with_decimal_comma_scores_is_read(tmp_path, capsys):
    truth = tmp_path / "truth.csv"
    truth.write_text("vid;onset;offset;type\n006_1;100;170;me\n", encoding="utf-8")
    spots = tmp_path / "spots.csv"
    spots.write_text("vid;onset;offset;type;score\n006_1;100;170;me;0,87\n006_1;900;950;me;0,1\n", encoding="utf-8")
    assert main(["score-spots", str(truth), str(spots), "--json"]) == 0
    assert _micro_counts(capsys) == (1, 1, 0)


def test_an_unknown_video_of_a_semicolon_csv_is_named_by_its_row(tmp_path, capsys):
    # a video the truth lacks: the error's row number is looked up in the file as it is separated
    truth = _str_truth(tmp_path)
    spots = tmp_path / "spots.csv"
    spots.write_text("subject;video;onset;offset;emotion\n张三;a;10;20;negative\n王五;c;1;9;fear\n", encoding="utf-8")
    assert main(["score-spots", str(truth), str(spots), "--mode", "megc"]) == 3
    assert f"'{spots}' row 3: video '王五/c' is not in '{truth}'" in capsys.readouterr().err


def test_a_megc2020_log_in_a_legacy_encoding_is_a_named_error(tmp_path):
    log = tmp_path / "log.txt"
    log.write_bytes("1\n张三_1  10  20  10  20  TP\n".encode("gbk"))
    with pytest.raises(AnnotationError, match="not UTF-8 text.*'CSV UTF-8'"):
        read_megc2020_log(log)


def test_a_semicolon_annotation_whose_notes_hold_many_commas_is_read(tmp_path, capsys):
    # the separator was the character written most often in the first lines: the commas of free-text notes
    # outnumbered the ';' and the file was read as one column, "no header row with a 'Subject' cell"
    from .fakes_long import SAMM_LV_HEADER, write_samm_long

    root = write_samm_long(tmp_path / "samm")
    rows = [["SAMM Long Videos Dataset - FACS Codes"], ["Symbol Key: L = left, R = right, A = asymmetric, B, C, D, E"],
            SAMM_LV_HEADER,
            ["006", "006_1_2", "1", "40", "45", "50", "11", "Micro - 1/2", "4+7",
             "blinks, head turn, eyes closed, talks, looks down, smiles, frowns, yawns, laughs, nods, sighs, coughs"],
            ["007", "007_2_2", "2", "50", "60", "90", "41", "Macro", "6+12",
             "coughs, sneezes, nods, shrugs, sighs, blinks, talks, smiles, laughs, frowns, yawns, looks away"]]
    annotation = tmp_path / "samm.csv"
    annotation.write_text("\n".join(";".join(r) for r in rows) + "\n", encoding="utf-8")
    spots = tmp_path / "spots.csv"
    spots.write_text("vid,onset,offset,type\n006_1,40,50,me\n007_2,50,90,mae\n", encoding="utf-8")
    assert main(["score-spots", str(spots), "--dataset", "samm-long", "--root", str(root),
                 "--annotation", str(annotation), "--json"]) == 0
    assert _micro_counts(capsys) == (1, 0, 0)


def test_a_semicolon_str_csv_whose_header_names_hold_commas_is_read(tmp_path, capsys):
    # the header line alone decided, by count: a notes column titled with commas made it ','-separated
    truth = _str_truth(tmp_path)
    spots = tmp_path / "spots.csv"
    spots.write_text("subject;video;onset;offset;emotion;notes (e.g. blink, head turn, talks, yawns, laughs, nods)\n"
                     "张三;a;10;20;negative;blink, head turn\n", encoding="utf-8")
    assert main(["score-spots", str(truth), str(spots), "--json"]) == 0
    assert _micro_counts(capsys) == (1, 0, 1)


@pytest.mark.parametrize("text, encoding, guess", [
    ("subject,video,onset,offset,emotion\n张三,a,10,20,negative\n", "gbk", "possibly GB18030/GBK"),
    ("subject,video,onset,offset,emotion\nすずき,a,10,20,negative\n", "cp932", "Shift-JIS"),
    ("subject,video,onset,offset,emotion\nMüller,a,10,20,négative\n", "cp1252", "possibly Windows-1252"),
])
def test_a_csv_in_a_legacy_encoding_is_named_with_its_line_and_a_likely_encoding(tmp_path, capsys, text, encoding,
                                                                                 guess):
    truth = _str_truth(tmp_path)
    spots = tmp_path / "spots.csv"
    spots.write_bytes(text.encode(encoding))
    assert main(["score-spots", str(truth), str(spots)]) == 3
    err = capsys.readouterr().err
    byte = text.index(next(c for c in text if not c.isascii()))  # all ASCII before it: one byte a character
    assert f"'{spots}' is not UTF-8 text (line 2, byte {byte}; " in err and guess in err and "'CSV UTF-8" in err


def test_an_excel_sep_line_and_utf16_text_are_read_as_excel_means_them(tmp_path, capsys):
    # Excel's 'sep=;' first line was read as the header ("its header is ['sep=', '']"); Excel's "Unicode Text"
    # (UTF-16 with its BOM, tab-separated) was "not UTF-8"
    truth = _str_truth(tmp_path)
    sep = tmp_path / "spots-sep.csv"
    sep.write_text("sep=;\nsubject;video;onset;offset;emotion\n张三;a;10;20;negative\n", encoding="utf-8")
    utf16 = tmp_path / "spots-utf16.txt"
    utf16.write_text("subject\tvideo\tonset\toffset\temotion\r\n张三\ta\t10\t20\tnegative\r\n", encoding="utf-16")
    for spots in (sep, utf16):
        assert main(["score-spots", str(truth), str(spots), "--json"]) == 0
        assert _micro_counts(capsys) == (1, 0, 1)
    # a row is still named by its line in the file, the sep= line counted
    sep.write_text('"sep=;"\nsubject;video;onset;offset;emotion\n张三;a;x;20;negative\n', encoding="utf-8")
    assert main(["score-spots", str(truth), str(sep)]) == 3
    assert f"'{sep}' row 3: onset 'x'" in capsys.readouterr().err
    # UTF-16 without its BOM cannot be told from other bytes: named, with what to do
    utf16.write_bytes("vid,onset,offset,type\ns1,10,20,me\n".encode("utf-16-le"))
    assert main(["agree", str(utf16), str(truth)]) == 3
    err = capsys.readouterr().err
    assert "UTF-16 text without a byte order mark" in err and "'CSV UTF-8" in err


@pytest.mark.parametrize("command", [["score-spots"], ["agree", "--fps", "30"]])
def test_a_frame_cell_with_a_possible_thousands_separator_is_refused(tmp_path, capsys, command):
    # '1,000' is 1000 in an English table and 1.0 in a decimal-comma one: refused as the data loaders refuse it
    first = tmp_path / "first.csv"
    first.write_text('vid,onset,offset,type\nv1,"1,000","3,000",me\n', encoding="utf-8")
    second = tmp_path / "second.csv"
    second.write_text("vid,onset,offset,type\nv1,1,3,me\n", encoding="utf-8")
    assert main([command[0], str(first), str(second), *command[1:]]) == 3
    err = capsys.readouterr().err
    assert f"'{first}' row 2: onset '1,000' (a thousands separator or a decimal comma?" in err
    assert "Traceback" not in err
