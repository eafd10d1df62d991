"""`mmnet score-spots` and `mmnet agree` read each file from disk once per command: the layout, the header, the rows,
the decimal-times warning, the hints of an error and the STR case warnings all parse the one text read."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from mmnet.cli import main


@pytest.fixture
def reads(monkeypatch) -> Counter:
    """File name -> times its bytes were read (every CSV reader reads through ``Path.read_bytes``)."""
    counted: Counter = Counter()
    read_bytes = Path.read_bytes

    def counting(self):
        counted[self.name] += 1
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    return counted


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_spotting_csv_with_decimal_frames_is_read_once(tmp_path, capsys, reads):
    # decimals: the times warning looks at the cells too, besides the sniffing, the header and the rows
    truth = _write(tmp_path / "truth.csv", "vid,onset,offset,type\nv,10.000,20.000,me\n")
    spots = _write(tmp_path / "spots.csv", "vid,onset,offset,type,score\nv,10,20,me,\"0,9\"\n")
    assert main(["score-spots", str(truth), str(spots), "--json"]) == 0
    assert "written with decimals" in capsys.readouterr().err
    assert reads["truth.csv"] == 1 and reads["spots.csv"] == 1


def test_str_csvs_in_strs_mode_are_read_once_with_the_case_warnings(tmp_path, capsys, reads):
    truth = _write(tmp_path / "truth.csv", "subject,video,onset,offset,emotion\ns1,a,10,20,Negative\n")
    spots = _write(tmp_path / "spots.csv", "subject,video,onset,offset,emotion\ns1,a,10,20,negative\n")
    assert main(["score-spots", str(truth), str(spots), "--mode", "strs", "--json"]) == 0
    assert "compares the text exactly" in json.dumps(json.loads(capsys.readouterr().out))
    assert reads["truth.csv"] == 1 and reads["spots.csv"] == 1


def test_the_row_named_by_an_unknown_video_error_is_found_in_the_text_read(tmp_path, capsys, reads):
    truth = _write(tmp_path / "truth.csv", "vid,onset,offset,type\nv,10,20,me\n")
    spots = _write(tmp_path / "spots.csv", "vid;onset;offset;type\nv;10;20;me\n\nw;30;40;me\n")
    assert main(["score-spots", str(truth), str(spots)]) != 0
    assert "spots.csv' row 4: video 'w' is not in" in capsys.readouterr().err
    assert reads["truth.csv"] == 1 and reads["spots.csv"] == 1


def test_intervals_csv_is_read_once(tmp_path, capsys, reads):
    truth = _write(tmp_path / "truth.csv", "vid,onset,offset,type\nclip,11,21,me\n")
    out = _write(tmp_path / "intervals.csv", "video;onset;apex;offset;type;score;onset_s;offset_s;frame_numbering\n"
                                             "clip;10;15;20;micro;0,87;0,334;0,7;video_from_0\n")
    assert main(["score-spots", str(truth), str(out), "--json"]) == 0
    counts = {r["type"]: (r["tp"], r["fp"], r["fn"]) for r in json.loads(capsys.readouterr().out)["counts"]}
    assert counts["micro"] == (1, 0, 0)
    assert reads["intervals.csv"] == 1


def test_agree_reads_each_file_once(tmp_path, capsys, reads):
    a = _write(tmp_path / "a.csv", "vid,onset,offset,type\nv,10,20,me\n")
    b = _write(tmp_path / "b.csv", "vid,onset,offset,type\nv,11,20,me\n")
    assert main(["agree", str(a), str(b), "--json"]) == 0
    capsys.readouterr()
    assert reads["a.csv"] == 1 and reads["b.csv"] == 1
