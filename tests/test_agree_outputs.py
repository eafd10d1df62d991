"""`mmnet agree`'s outputs and coder folders: --pairs and --write-truth never replace a coder's file (nor an existing
file without --overwrite); a coder's folder is read with its subfolders, an Excel lock file and an empty file of it
handled; the annotators warning names the selection to give."""

from __future__ import annotations

import pytest

from mmnet.cli import main
from mmnet.spotting.coder_tiers import annotators_note

A = "vid,onset,offset,type\nv1,10,20,me\nv2,30,40,me\n"
B = "vid,onset,offset,type\nv2,31,41,me\nv3,50,60,me\n"


@pytest.fixture
def pair(tmp_path):
    (tmp_path / "A.csv").write_text(A)
    (tmp_path / "B.csv").write_text(B)
    return tmp_path / "A.csv", tmp_path / "B.csv"


@pytest.mark.parametrize("option", ["--write-truth", "--pairs"])
def test_an_output_is_never_a_coders_file(pair, capsys, option):
    a, b = pair
    for target in (a, b):
        assert main(["agree", str(a), str(b), option, str(target), "--overwrite"]) == 3
        assert "coder's file" in capsys.readouterr().err
    assert a.read_text() == A and b.read_text() == B


def test_an_output_inside_a_coders_folder_is_refused(tmp_path, capsys):
    for name, text in (("A", A), ("B", B)):
        (tmp_path / name / "p01").mkdir(parents=True)
        (tmp_path / name / "p01" / "all.csv").write_text(text)
    target = tmp_path / "A" / "truth.csv"
    assert main(["agree", str(tmp_path / "A"), str(tmp_path / "B"), "--write-truth", str(target)]) == 3
    assert "in a coder's folder" in capsys.readouterr().err and not target.exists()


def test_an_existing_output_needs_overwrite(pair, tmp_path, capsys):
    a, b = pair
    truth = tmp_path / "intervals.csv"
    truth.write_text("subject,video,onset,offset,type,apex,fps,emotion\nP01,v2,31,40,micro,35,30,\n")
    kept = truth.read_text()
    assert main(["agree", str(a), str(b), "--write-truth", str(truth)]) == 3
    assert "pass --overwrite" in capsys.readouterr().err and truth.read_text() == kept
    assert main(["agree", str(a), str(b), "--write-truth", str(truth), "--pairs", str(truth), "--overwrite"]) == 3
    assert "give each its own file" in capsys.readouterr().err
    assert main(["agree", str(a), str(b), "--write-truth", str(truth), "--overwrite"]) == 0
    assert truth.read_text() != kept


def test_a_coders_subfolders_are_read_and_lock_files_skipped(tmp_path, capsys):
    for name, text in (("A", A), ("B", B)):
        (tmp_path / name / "p01").mkdir(parents=True)
        (tmp_path / name / "p01" / "all.csv").write_text(text)
        (tmp_path / name / ".git").mkdir()
        (tmp_path / name / ".git" / "x.csv").write_text("not read")
    (tmp_path / "A" / "p01" / "~$all.xlsx").write_bytes(b"\xff\xfe lock")
    assert main(["agree", str(tmp_path / "A"), str(tmp_path / "B"), "--json"]) == 0
    err = capsys.readouterr().err
    assert "lock file(s) of an open workbook not read: p01/~$all.xlsx" in err


def _eaf(media_url: str, annotations: str = "") -> str:
    header = f'<MEDIA_DESCRIPTOR MEDIA_URL="{media_url}"/>' if media_url else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<ANNOTATION_DOCUMENT FORMAT="3.0" VERSION="3.0">'
            f'<HEADER TIME_UNITS="milliseconds">{header}</HEADER><TIME_ORDER>'
            '<TIME_SLOT TIME_SLOT_ID="t1" TIME_VALUE="1000"/><TIME_SLOT TIME_SLOT_ID="t2" TIME_VALUE="1400"/>'
            '</TIME_ORDER><TIER LINGUISTIC_TYPE_REF="default" TIER_ID="ME">' + annotations
            + "</TIER></ANNOTATION_DOCUMENT>\n")


ANNOTATION = ('<ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a1" TIME_SLOT_REF1="t1" TIME_SLOT_REF2="t2">'
              "<ANNOTATION_VALUE>micro</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>")


def test_an_empty_file_of_a_coders_folder_is_its_file_names_video(tmp_path, capsys):
    for name in ("A", "B"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "s01.eaf").write_text(_eaf("file:///lab/s01.mp4", ANNOTATION))
    (tmp_path / "A" / "s02.eaf").write_text(_eaf("", ANNOTATION))
    (tmp_path / "B" / "s02.eaf").write_text(_eaf(""))  # nothing marked, no media named
    assert main(["agree", str(tmp_path / "A"), str(tmp_path / "B"), "--fps", "25", "--json"]) == 0
    err = capsys.readouterr().err
    assert "read as video 's02' (its file name)" in err and "alone holds" not in err


def test_the_annotators_warning_names_the_selection():
    note = annotators_note("both.eaf", {"ME_1": ("Alice", ""), "ME_2": ("Bob", "")}, ["ME_1", "ME_2"])
    assert "{path}" not in note and "(mmnet agree: 'both.eaf#Alice')" in note


def test_a_tier_without_a_type_is_named_in_the_example(tmp_path, capsys):
    both = tmp_path / "both.eaf"
    both.write_text(_eaf("file:///lab/s01.mp4", ANNOTATION.replace(">micro<", ">happiness<")).replace(
        'TIER_ID="ME"', 'TIER_ID="ME_coder1"'))
    assert main(["agree", f"{both}#ME_coder1", "--write-truth", str(tmp_path / "t.csv"), "--truth", "first",
                 "--fps", "25"]) == 3
    err = capsys.readouterr().err
    assert "--tier-type ME_coder1=micro" in err and "ME=micro,MaE=macro" not in err
    assert main(["agree", f"{both}#ME_coder1", "--write-truth", str(tmp_path / "t.csv"), "--truth", "first",
                 "--fps", "25", "--tier-type", "ME_coder1=micro"]) == 0


def test_two_subfolders_naming_one_video_say_so(tmp_path, capsys):
    for name in ("A", "B"):
        for participant in ("P01", "P02"):
            (tmp_path / name / participant).mkdir(parents=True)
            (tmp_path / name / participant / "s1.eaf").write_text(_eaf("", ANNOTATION))
    assert main(["agree", str(tmp_path / "A"), str(tmp_path / "B"), "--fps", "25"]) == 3
    assert "give each recording a name of its own" in capsys.readouterr().err
