"""Cell converters and the header search shared by every loader."""

from __future__ import annotations

import pytest

from mmnet.data.annotations import frame_number, parse_aus, read_table, subject_text
from mmnet.errors import AnnotationError

from .fakes import write_xlsx


@pytest.mark.parametrize("cell, expected", [
    (12, (("12",), ())),
    (12.0, (("12",), ())),
    ("4+L10", (("4", "L10"), ())),
    ("12+15 ", (("12", "15"), ())),
    ("L12 + 61", (("L12", "61"), ())),
    ("(R6 or R12)+R15", (("R6|R12", "R15"), ())),
    ("R14A or 17A or 24A", (("R14A|17A|24A",), ())),
    ("L12 or L14", (("L12|L14",), ())),
    ("10A/B", (("10A|10B",), ())),
    ("4A/B", (("4A|4B",), ())),
    ("A/L12", (("A12|L12",), ())),
    ("7B+ ref(43)", (("7B", "ref(43)"), ())),
    ("ref(L10)+A12B", (("ref(L10)", "A12B"), ())),
    ("R14+17+soft focus", (("R14", "17"), ("soft focus",))),
    ("T18+39", (("T18", "39"), ())),
    ("?", ((), ())),
    (None, ((), ())),
    ("４＋７", (("4", "7"), ())),  # full-width, as a Chinese or Japanese input method types them
    ("（Ｒ６ or R12）＋L１０", (("R6|R12", "L10"), ())),
    ("？", ((), ())),
])
def test_parse_aus(cell, expected):
    assert parse_aus(cell) == expected


def test_a_subject_written_as_a_whole_float_in_a_csv_is_the_subject():
    # a CSV saved from a float column gives '1.0': it was subject '1.0' (folder sub1.0, clip missing)
    assert subject_text("1.0", 2) == "01" == subject_text(1.0, 2) and subject_text("006.00") == "006"
    assert subject_text("1.5") == "1.5"


def test_frame_number_and_subject_text():
    assert [frame_number(v) for v in (46, 46.0, "46", " 46 ", "/", "", None, "?", 4.5, "abc")] == [
        46, 46, 46, 46, None, None, None, None, None, None]
    assert subject_text("01") == "01" and subject_text(1, 2) == "01" and subject_text(6, 3) == "006"
    assert subject_text("spNO.1") == "spNO.1" and subject_text(None) is None and subject_text(6.0, 3) == "006"


def test_header_search_blank_columns_and_errors(tmp_path):
    path = write_xlsx(tmp_path / "a.xlsx", {"S": [["title"], [], ["Subject", "Filename", None, "Onset Frame"],
                                                  ["01", "EP1", None, 5], [], ["02", "EP2", None, 6]]},
                      text_columns={"S": {0}})
    t = read_table(path)
    assert t.header_row == 3 and t.header == ["Subject", "Filename", "", "Onset Frame"]
    assert [r for r, _ in t.rows] == [4, 6]  # blank row skipped, file row numbers kept
    assert t.rows[0][1][0] == "01"  # text cell keeps its zero
    assert t.column("OnsetFrame") == 3  # spaces/case ignored
    with pytest.raises(AnnotationError, match="no column named 'Apex'"):
        t.column("Apex")
    with pytest.raises(AnnotationError, match="no sheet"):
        read_table(path, sheet="Sheet1")
    (tmp_path / "b.pdf").write_text("x")
    with pytest.raises(AnnotationError, match=r"neither an Excel workbook .* nor a text table \(.csv, .tsv, .txt\)"):
        read_table(tmp_path / "b.pdf")


@pytest.mark.parametrize("name", ["labels.tsv", "labels.txt"])
def test_a_tab_separated_label_file_is_read_as_a_csv(tmp_path, name):
    # it was refused with "save it as .xlsx", though the CSV reader reads tab-separated text
    path = tmp_path / name
    path.write_text("Subject\tFilename\tEstimated Emotion\n01\tEP02_01f\thappiness, left eye\n")
    table = read_table(path)
    assert table.header == ["Subject", "Filename", "Estimated Emotion"]
    assert [cells for _, cells in table.rows] == [["01", "EP02_01f", "happiness, left eye"]]


def test_header_after_an_index_column_and_unknown_apex_as_minus_one(tmp_path):
    from mmnet.data.common import samples_from_table

    path = write_xlsx(tmp_path / "m.xlsx", {"Sheet1": [
        [None, "Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion"],
        [0, "S01", "S01-01-001", 1, -1, 9, "12", "Happiness"],
    ]})
    table = read_table(path)
    cols = {"subject": ("Subject",), "clip": ("Filename",), "onset": ("OnsetFrame",), "apex": ("ApexFrame",),
            "offset": ("OffsetFrame",), "aus": ("Action Units",), "label": ("Estimated Emotion",)}
    (s,), issues = samples_from_table(table, dataset="x", columns=cols)
    assert (s.subject, s.clip, s.onset, s.apex, s.offset, s.label) == ("S01", "S01-01-001", 1, None, 9, "happiness")
    assert issues == []


def test_a_utf16_csv_is_read_with_its_bom_and_named_so_without(tmp_path):
    # Excel's "Unicode Text" (tab-separated UTF-16 with its byte order mark) was refused; it is unmistakable
    path = tmp_path / "table.csv"
    path.write_text("Subject\tFilename\r\n01\tMüller_01\r\n", encoding="utf-16")
    table = read_table(path)
    assert table.header == ["Subject", "Filename"] and table.rows == [(2, ["01", "Müller_01"])]
    path.write_text("Subject,Filename\n01,EP02_01f\n", encoding="utf-16-le")  # no BOM: it cannot be told
    with pytest.raises(AnnotationError, match="UTF-16 text without a byte order mark.*save it as 'CSV UTF-8'"):
        read_table(path)
    path.write_bytes(bytes(range(256)))
    with pytest.raises(AnnotationError, match="binary data.*save it as 'CSV UTF-8'"):
        read_table(path)


def test_a_table_whose_header_names_the_subject_otherwise_is_read_with_its_own_mark(tmp_path):
    # a new dataset's table says 'sub_ID': read_table looked for a 'Subject' cell alone
    path = write_xlsx(tmp_path / "new.xlsx", {"S": [["notes"], ["sub_ID", "clip", "onset"], ["1", "c1", 5]]})
    table = read_table(path, header="sub_ID")
    assert table.header_row == 2 and table.header == ["sub_ID", "clip", "onset"] and len(table.rows) == 1
    with pytest.raises(AnnotationError, match="no header row with a 'Subject' cell"):
        read_table(path)  # the default is unchanged
    with pytest.raises(AnnotationError, match="no header row with a 'sub' cell"):
        read_table(path, header="sub")  # the message names the cell looked for


def test_a_repeated_clip_is_not_renamed_onto_a_clip_the_table_names(tmp_path):
    # CAS(ME)^3 names repeats a2, a3...: a real clip 'a2' in the same table got the same id, without a word
    from mmnet.data import casme3
    from mmnet.data.common import samples_from_table

    path = write_xlsx(tmp_path / "c3.xlsx", {"Sheet1": [
        ["Subject", "Filename", "Onset", "Apex", "Offset", "emotion", "AU"],
        ["spNO.1", "a", 1, 5, 9, "happy", ""], ["spNO.1", "a", 11, 15, 19, "happy", ""],
        ["spNO.1", "a2", 21, 25, 29, "sad", ""], ["spNO.1", "a", 31, 35, 39, "sad", ""]]})
    samples, _ = samples_from_table(read_table(path), dataset="casme3", columns=casme3.COLUMNS, duplicates="suffix")
    assert [(s.clip, s.onset) for s in samples] == [("a", 1), ("a3", 11), ("a2", 21), ("a4", 31)]


def test_a_frame_number_too_long_for_a_float_is_not_a_number():
    from mmnet.data.long_video import frame_value

    assert frame_value("9" * 400) is None  # float() made it inf, and round(inf) crashed the SAMM long reader
    assert frame_value("566.4") == 566.4
