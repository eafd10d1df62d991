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
