"""Annotation files that are not what their name says, or hold no sample."""

from __future__ import annotations

import pytest

from mmnet.data import load_dataset
from mmnet.data.annotations import read_table
from mmnet.errors import AnnotationError

from ..fakes import CASME2_ROWS, casme2_sheet, write_casme2, write_xlsx
from .helpers import assert_named_error, cli


def _csv_text(rows) -> str:
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue()


def test_a_csv_renamed_xlsx_is_called_csv_with_the_name_to_use(tmp_path, capsys):
    path = tmp_path / "coding.xlsx"
    path.write_text(_csv_text(casme2_sheet(CASME2_ROWS[:3])))
    with pytest.raises(AnnotationError, match=r"is a CSV \(text\) file.*rename it to 'coding\.csv'"):
        read_table(path)
    (tmp_path / "coding.csv").write_text(path.read_text())  # named .csv, it is read
    assert len(read_table(tmp_path / "coding.csv").rows) == 3
    root = write_casme2(tmp_path / "c2", CASME2_ROWS[:3])
    code, _, err = cli(capsys, "check-data", "casme2", "--root", root, "--annotation", path)
    assert_named_error(code, err, "CSV", "coding.csv")
    assert "re-download" not in err


def test_an_xlsx_renamed_csv_and_an_old_xls_are_named(tmp_path):
    book = write_xlsx(tmp_path / "book.xlsx", {"Sheet1": casme2_sheet(CASME2_ROWS[:2])})
    wrong = tmp_path / "book.csv"
    wrong.write_bytes(book.read_bytes())
    with pytest.raises(AnnotationError, match=r"Excel workbook named \.csv.*book\.xlsx"):
        read_table(wrong)
    xls = tmp_path / "old.xlsx"
    xls.write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 500)
    with pytest.raises(AnnotationError, match=r"old Excel \.xls"):
        read_table(xls)


@pytest.mark.parametrize("content", [b"", b"Subject,Filename\n", "Sub,é\n".encode("latin-1") * 3,
                                     b"Subject,Filename\n\x00\x00\x01"])
def test_empty_header_only_or_undecodable_csv_is_an_error(tmp_path, content):
    path = tmp_path / "coding.csv"
    path.write_bytes(content)
    with pytest.raises(AnnotationError, match="coding.csv"):
        read_table(path)


def test_a_header_only_sheet_is_an_error_not_zero_samples(tmp_path, capsys):
    root = write_casme2(tmp_path / "c2", CASME2_ROWS[:2])
    write_xlsx(root / "CASME2-coding-20190701.xlsx", {"Sheet1": casme2_sheet([])})
    with pytest.raises(AnnotationError, match="no rows below it"):
        load_dataset("casme2", root)
    code, out, err = cli(capsys, "check-data", "casme2", "--root", root)
    assert_named_error(code, err, "CASME2-coding", "no rows below it")


def test_two_columns_for_one_field_that_differ_are_named_not_the_first_taken(tmp_path):
    # a second 'Estimated Emotion' column (a relabelling pasted beside the old one) was silently ignored
    path = tmp_path / "t.csv"
    path.write_text("Subject,Filename,Estimated Emotion,Onset,estimated emotion\n1,EP01,happiness,5,happiness\n"
                    "1,EP02,disgust,7,others\n")
    table = read_table(path)
    with pytest.raises(AnnotationError, match=r"two columns for 'Estimated Emotion' .*column 3.*column 5.*row 3; "
                                              r"delete or rename"):
        table.column("Estimated Emotion")
    assert table.column("Onset") == 3
    path.write_text("Subject,Filename,Estimated Emotion,Estimated Emotion\n1,EP01,happiness,happiness\n")
    assert read_table(path).column("Estimated Emotion") == 2  # an exact copy is harmless


@pytest.mark.parametrize("given, words", [("absent.csv", "does not exist"), ("folder", "is a folder")])
def test_an_annotation_path_that_is_no_file_is_named_not_the_root(tmp_path, capsys, given, words):
    # the message said the dataset root was incomplete and (for a synthetic set) to write it again
    root = write_casme2(tmp_path / "c", CASME2_ROWS[:3], junk=False)
    (tmp_path / "folder").mkdir()
    code, _, err = cli(capsys, "check-data", "casme2", "--root", root, "--annotation", tmp_path / given)
    assert_named_error(code, err, f"--annotation '{tmp_path / given}' {words}", "leave --annotation out")
    assert "missing" not in err


@pytest.mark.parametrize("field, value", [("onset", 154.5), ("onset", "12a"), ("apex", 154.5)])
def test_a_bad_frame_number_cell_is_one_error_naming_row_column_and_value(tmp_path, field, value):
    # onset 154.5 gave two errors for one cell (bad_value and bad_row); apex 154.5 a bad_value and an
    # apex_unknown saying the apex was '/' or blank
    rows = [list(r) for r in CASME2_ROWS[:3]]
    rows[1][2 if field == "onset" else 3] = value
    root = write_casme2(tmp_path / "c2", [tuple(r) for r in CASME2_ROWS[:3]], junk=False)
    write_xlsx(root / "CASME2-coding-20190701.xlsx", {"Sheet1": casme2_sheet([tuple(r) for r in rows])})
    sid = f"casme2/{rows[1][0]}/{rows[1][1]}"
    load = load_dataset("casme2", root)
    (issue,) = [i for i in load.errors if i.sample_id == sid]
    header = "OnsetFrame" if field == "onset" else "ApexFrame"
    assert issue.check == "bad_value" and "row 3" in issue.message and f"column '{header}'" in issue.message
    assert f"{field} {value!r} is not a frame number" in issue.message and "fix the cell" in issue.message
    if field == "onset":
        assert "left out" in issue.message and sid not in {s.sample_id for s in load.samples}
    else:
        assert {s.sample_id: s.apex for s in load.samples}[sid] is None


def _edit_casme2_sheet(root, edit) -> None:
    from openpyxl import load_workbook

    path = root / "CASME2-coding-20190701.xlsx"
    wb = load_workbook(path)
    edit(wb["Sheet1"])
    wb.save(path)


def test_merged_subject_cells_are_read_for_every_row_they_cover_with_a_note(tmp_path):
    # read-only openpyxl sees only the first cell of a merged range: rows 3-4 had "no subject or clip name"
    rows = [r for r in CASME2_ROWS if r[0] in ("01", "02")]
    root = write_casme2(tmp_path / "casme2", rows)
    subject_01 = [r[1] for r in rows if r[0] == "01"]
    assert len(subject_01) == 3
    _edit_casme2_sheet(root, lambda ws: (ws.merge_cells("A2:A4"), ws.merge_cells("H5:J5")))
    load = load_dataset("casme2", root)
    assert sorted(s.clip for s in load.samples if s.subject == "01") == sorted(subject_01)
    assert not [i for i in load.issues if i.check == "bad_row"]
    notes = [i for i in load.issues if i.check == "merged_cells"]
    assert len(notes) == 1 and notes[0].severity == "warning"  # H5:J5, within one row, is left as it is
    assert "row 2" in notes[0].message and "A2:A4 are merged" in notes[0].message and "'01'" in notes[0].message


def test_a_formula_saved_without_its_value_says_so(tmp_path):
    root = write_casme2(tmp_path / "casme2", [r for r in CASME2_ROWS if r[0] == "01"])
    _edit_casme2_sheet(root, lambda ws: ws.__setitem__("E2", "=D2+13"))  # openpyxl saves no computed value
    load = load_dataset("casme2", root)
    [issue] = [i for i in load.issues if "row 2" in i.message and i.severity == "error"]
    assert "'=D2+13' (a formula with no saved value: open and save the file in Excel or LibreOffice)" in issue.message
    assert "holds nothing" not in issue.message


def test_a_root_one_level_off_its_annotation_file_is_named(tmp_path):
    from mmnet.errors import DatasetNotFoundError

    root = write_casme2(tmp_path / "data" / "casme2", CASME2_ROWS[:3])
    for given in (tmp_path / "data", root / "Cropped"):  # one level too high; pointing into the frames
        with pytest.raises(DatasetNotFoundError) as err:
            load_dataset("casme2", given)
        assert f"Did you mean --root {root}? It holds the annotation file." in str(err.value)
        assert "licence-gated" not in str(err.value)
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("casme2", tmp_path / "data" / "casme2" / "Cropped" / "sub01")  # two levels: no guess
    assert "Did you mean" not in str(err.value) and "licence-gated" in str(err.value)


def test_an_openpyxl_without_its_sheet_reader_reads_the_sheet_unchecked():
    # the merged-cell and formula checks use openpyxl's private ReadOnlyWorksheet._get_source: a release
    # without it must not stop every annotation from loading
    from mmnet.data.workbook import resolve_merged_and_formulas

    class SheetWithoutReader:
        title = "Sheet1"

    rows = [["Subject", "Filename"], ["01", None]]
    assert resolve_merged_and_formulas("coding.xlsx", SheetWithoutReader(), rows) == []
    assert rows == [["Subject", "Filename"], ["01", None]]
