"""A CSV with an unclosed quote: past csv's cell size limit the csv module raises its own error, which was a
traceback from the MEGC and STR readers; every reader names the file, the line and the likely cause."""

from __future__ import annotations

import pytest

from mmnet.data.annotations import read_table
from mmnet.data.composite import read_cde_list
from mmnet.errors import AnnotationError, DataError
from mmnet.infer.clip_list import read_clip_list
from mmnet.spotting.megc_files import read_spotting_csv, read_str_csv

# a quote never closed: the rest of the file (over 128 KB) becomes one cell
TAIL = "".join(f"{n},{n + 5},{n + 9},me\n" for n in range(20_000))


def unclosed(name: str, after: int) -> str:
    """The error's text: the file, the last row read whole before the quote, and the cause."""
    return rf"{name}' is not a readable CSV file \(a cell runs past .*a quote .* after line {after} is never closed"


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("reader, header, row", [
    (read_spotting_csv, "vid,onset,offset,type", '15_0101,10,20,me\n15_0102,"30,40,me\n'),
    (read_str_csv, "subject,video,onset,offset,emotion", 's1,15_0101,10,20,happy\ns1,15_0102,30,40,"sad\n'),
])
def test_a_megc_csv_with_an_unclosed_quote_is_a_named_error(tmp_path, reader, header, row):
    path = _write(tmp_path, "pred.csv", f"{header}\n{row}{TAIL}")
    with pytest.raises(AnnotationError, match=unclosed("pred.csv", 2)):  # the quote is on line 3
        reader(path)


def test_an_annotation_csv_with_an_unclosed_quote_names_the_line_and_the_cause(tmp_path):
    path = _write(tmp_path, "labels.csv", f'Subject,Filename,Emotion\n1,EP01,"happiness\n{TAIL}')
    with pytest.raises(AnnotationError, match=unclosed("labels.csv", 1)):
        read_table(path)


def test_a_composite_list_with_an_unclosed_quote_names_the_line_and_the_cause(tmp_path):
    path = _write(tmp_path, "combined_3class_gt.csv", f'casme2,01,"EP02_01f,0\n{TAIL}')
    with pytest.raises(AnnotationError, match=unclosed("combined_3class_gt.csv", 0)):
        read_cde_list(path)


def test_a_clip_list_with_an_unclosed_quote_is_a_named_error(tmp_path):
    path = _write(tmp_path, "clips.csv", f'source\n"clip1\n{TAIL}')
    with pytest.raises(DataError, match=unclosed("clips.csv", 1)):
        read_clip_list(path)
