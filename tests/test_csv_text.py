"""Every CSV mmnet reads names a file in another encoding by the line of its first byte that is not UTF-8, with a
likely encoding and how to save it as UTF-8; the separator is the one that splits a line into the columns read."""

from __future__ import annotations

import pytest

from mmnet.data.annotations import read_table
from mmnet.data.composite import read_cde_list
from mmnet.errors import AnnotationError, DataError
from mmnet.infer import read_clip_list


def test_a_clip_list_in_a_western_windows_code_page_is_named_by_line(tmp_path):
    path = tmp_path / "list.csv"
    path.write_bytes("source;onset\nclips/a;1\nclips/Müller;2\n".encode("cp1252"))
    # Windows-1252 alone: lone bytes over 127 are no Chinese or Japanese text
    with pytest.raises(DataError, match=r"not UTF-8 text \(line 3, byte 30; possibly Windows-1252[^)]*\)\); save it"):
        read_clip_list(path)


def test_an_annotation_byte_is_counted_from_the_start_of_the_file_bom_included(tmp_path):
    path = tmp_path / "coding.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "Subject,Filename\n01,张三\n".encode("gbk"))
    with pytest.raises(AnnotationError, match=r"not UTF-8 text \(line 2, byte 23; possibly GB18030/GBK"):
        read_table(path)


def test_a_composite_list_in_another_encoding_says_so(tmp_path):
    path = tmp_path / "combined_3class_gt.csv"
    path.write_bytes("casme2,sub01,EP02_01f,0\nsamm,006,006_1_2,1\nsmic,s1,s1_ne_01,0 ü\n".encode("cp1252"))
    with pytest.raises(AnnotationError, match=r"not UTF-8 text \(line 3, .*official combined_3class_gt.csv"):
        read_cde_list(path)


def test_a_clip_list_saved_on_windows_is_read(tmp_path):
    from mmnet.infer import ClipRequest

    (tmp_path / "sub" / "clip A").mkdir(parents=True)
    (tmp_path / "rawclip Müller").mkdir()
    lists = tmp_path / "lists"
    lists.mkdir()
    path = lists / "list.csv"
    # backslash paths, an Excel 'sep=;' line above the header, UTF-16 with its BOM (Excel's "Unicode Text")
    rows = ["source;onset", r"..\sub\clip A;3", r"..\rawclip Müller;"]
    for text, encoding in (("\n".join(["sep=;", *rows]) + "\n", "utf-8"),
                           ("\r\n".join(r.replace(";", "\t") for r in rows) + "\r\n", "utf-16")):
        path.write_text(text, encoding=encoding)
        requests = read_clip_list(path)
        assert requests == [ClipRequest(lists / "../sub/clip A", onset=3), ClipRequest(lists / "../rawclip Müller")]
        assert requests[0].list_source == r"..\sub\clip A"
    path.write_text("sep=;\nsource;onset\n..\\sub\\clip B;3\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"row 3: '.*clip B' does not exist, nor '.*/sub/clip B' \(its backslashes"):
        read_clip_list(path)


def test_a_classic_mac_csv_is_named_by_its_cr_line_and_as_mac_roman(tmp_path):
    path = tmp_path / "list.csv"
    path.write_bytes("source,onset\rclips/Müller,2\r".encode("mac_roman"))
    with pytest.raises(DataError, match=r"not UTF-8 text \(line 2, byte 20; possibly Mac OS Roman"):
        read_clip_list(path)
