"""`mmnet score-spots` refuses a frame cell it cannot score, in the truth and the predictions alike: an interval that
starts before frame 0, an offset before its onset, a cell that is no whole frame number; each error names the file,
the row (as a spreadsheet numbers it, the header row 1) and what to do. Frame 0 itself is a frame (a folder
numbered from 0)."""

from __future__ import annotations

import json

import pytest

from mmnet.cli import main
from mmnet.errors import AnnotationError
from mmnet.spotting.megc_files import read_spotting_csv, read_str_csv

GOOD = "vid,onset,offset,type\np01,10,20,me\np02,30,40,mae\n"
FIX = "frame numbers are whole numbers counted from 1 (MEGC's) or from 0 (a frame folder's file numbers); correct " \
      "the row"


def _write(path, text: str):
    path.write_text(text)
    return path


@pytest.mark.parametrize("bad", ["truth", "spots"])
def test_an_interval_before_frame_0_is_refused_in_either_file(tmp_path, capsys, bad):
    files = {name: _write(tmp_path / f"{name}.csv", GOOD) for name in ("truth", "spots")}
    _write(files[bad], GOOD + "p01,-2,5,me\n")
    assert main(["score-spots", str(files["truth"]), str(files["spots"])]) == 3
    err = capsys.readouterr().err
    assert f"'{files[bad]}' row 4: the interval -2..5 starts before frame 0: {FIX}." in err


def test_an_str_csv_interval_before_frame_0_is_refused(tmp_path):
    path = _write(tmp_path / "str.csv", "subject,video,onset,offset,emotion\ns1,a,-1,0,negative\n")
    with pytest.raises(AnnotationError, match=r"row 2: the interval -1\.\.0 starts before frame 0"):
        read_str_csv(path)


def test_frame_0_is_scored(tmp_path, capsys):
    truth = _write(tmp_path / "truth.csv", "vid,onset,offset,type\np01,0,5,me\n")
    spots = _write(tmp_path / "spots.csv", "vid,onset,offset,type\np01,0,4,me\n")
    assert read_spotting_csv(truth)["p01"][0].onset == 0
    assert main(["score-spots", str(truth), str(spots), "--json"]) == 0
    counts = {r["type"]: (r["tp"], r["fp"], r["fn"]) for r in json.loads(capsys.readouterr().out)["counts"]}
    assert counts["micro"] == (1, 0, 0)


@pytest.mark.parametrize("row, said", [
    ("p01,9,5,me", "offset 5 is before onset 9: swap them if the columns are exchanged, else "),
    ("p01,x,5,me", "onset 'x' is not a frame number: "),
    ("p01,3,5.5,me", "offset '5.5' is not a whole frame number: "),
])
def test_every_refused_frame_cell_names_the_row_and_what_to_do(tmp_path, capsys, row, said):
    truth = _write(tmp_path / "truth.csv", GOOD)
    spots = _write(tmp_path / "spots.csv", GOOD + row + "\n")
    assert main(["score-spots", str(truth), str(spots)]) == 3
    assert f"'{spots}' row 4: {said}{FIX}." in capsys.readouterr().err


@pytest.mark.parametrize("numbering", ["video_from_0", "file_number"])
def test_an_intervals_csv_interval_before_frame_0_is_refused(tmp_path, capsys, numbering):
    truth = _write(tmp_path / "truth.csv", "vid,onset,offset,type\nclip,1,5,me\n")
    spots = _write(tmp_path / "intervals.csv", f"video,frame_numbering,onset,offset,type\nclip,{numbering},0,4,micro\n"
                                               f"clip,{numbering},-1,4,micro\n")
    assert main(["score-spots", str(truth), str(spots)]) == 3
    assert (f"'{spots}' line 3: the interval -1..4 starts before frame 0 (frame_numbering {numbering} counts from 0): "
            "correct the row." in capsys.readouterr().err)
