"""`mmnet score-spots` on `mmnet spot --out`'s intervals.csv and the web page's CSV download: their frame_numbering
turns their frames into MEGC's, their rows without an interval are left out, edited seconds are refused."""

from __future__ import annotations

import json

import pytest

from mmnet.cli import main
from mmnet.spotting.intervals import FILE_NUMBER, VIDEO_FROM_0, Interval, intervals_csv, with_seconds
from mmnet.spotting.megc_files import write_spotting_csv

FPS = 30.0
GAPS = [{"first": 500, "last": 520, "first_s": 500 / FPS, "last_s": 520 / FPS}]


def _counts(capsys, *argv) -> tuple[dict, str]:
    assert main(["score-spots", *map(str, argv), "--json"]) == 0
    printed = capsys.readouterr()
    return {r["type"]: (r["tp"], r["fp"], r["fn"]) for r in json.loads(printed.out)["counts"]}, printed.err


def _records(*intervals: Interval) -> list[dict]:
    return [with_seconds(i.to_dict(), FPS, 0) for i in intervals]


@pytest.fixture
def truth(tmp_path):
    # MEGC's numbers: a video's frames 390..449 (from 0) are 391..450; a one-frame shift fails IoU 0.5 on none
    # of these, so the truth is a 2-frame interval, where it does
    return write_spotting_csv(tmp_path / "truth.csv", {"clip": [Interval(391, None, 392, "micro"),
                                                                Interval(1801, None, 1875, "macro")]})


def _intervals_csv(tmp_path, numbering=VIDEO_FROM_0, shift=0):
    text = intervals_csv(_records(Interval(390 + shift, 390 + shift, 391 + shift, "micro", score=0.8),
                                  Interval(1800 + shift, 1830 + shift, 1874 + shift, "macro", score=0.5)),
                         video="clip", frame_numbering=numbering, gaps=GAPS, notes=["a note on the recording"])
    path = tmp_path / "intervals.csv"
    path.write_text(text)
    return path


def test_intervals_csv_is_read_with_its_frame_numbering(truth, tmp_path, capsys):
    counts, err = _counts(capsys, truth, _intervals_csv(tmp_path))  # a video's frames from 0: MEGC's + 1
    assert counts == {"micro": (1, 0, 0), "macro": (1, 0, 0), "overall": (2, 0, 0)}
    assert "2 row(s) that are no interval left out (1 no_face, 1 note)" in err
    assert "no score column" not in err
    # a frame folder's file numbers are MEGC's as they are
    counts, _ = _counts(capsys, truth, _intervals_csv(tmp_path, FILE_NUMBER, shift=1))
    assert counts["overall"] == (2, 0, 0)
    counts, _ = _counts(capsys, truth, _intervals_csv(tmp_path, FILE_NUMBER))  # one frame off: the micro is missed
    assert counts["micro"] == (0, 1, 1)


def test_the_web_page_s_csv_is_read_with_its_source_as_the_video(truth, tmp_path, capsys):
    from mmnet.serve.analysis import recording_csv

    result = {"source": "clip.mp4", "intervals": _records(Interval(390, 390, 391, "micro"),
                                                          Interval(1800, 1830, 1874, "macro")), "gaps": GAPS}
    page = tmp_path / "clip_intervals.csv"
    page.write_text(recording_csv(result, [], "video"))
    assert page.read_text().startswith("source,frame_numbering,onset")
    counts, err = _counts(capsys, truth, page)
    assert counts["overall"] == (2, 0, 0)
    assert "video ids from the source column's file names (clip)" in err
    counts, _ = _counts(capsys, page, truth)  # as truth too
    assert counts["overall"] == (2, 0, 0)


def test_intervals_csv_without_its_frame_numbering_is_refused(truth, tmp_path, capsys):
    path = _intervals_csv(tmp_path)
    lines = [line.split(",", 2) for line in path.read_text().splitlines()]
    path.write_text("".join(f"{a},{rest}\n" for a, _, rest in lines))  # the column deleted in a spreadsheet
    assert main(["score-spots", str(truth), str(path)]) == 3
    err = capsys.readouterr().err
    assert "but no frame_numbering column" in err and "differ by one frame" in err and "video_from_0" in err


def test_edited_seconds_are_refused_naming_the_line(truth, tmp_path, capsys):
    path = _intervals_csv(tmp_path)
    rows = path.read_text().splitlines()
    assert rows[1].split(",")[8] == "13.000"  # onset_s of the micro interval
    cells = rows[1].split(",")
    cells[8] = "14.000"  # corrected in a spreadsheet; onset left as it was
    path.write_text("\n".join([rows[0], ",".join(cells), *rows[2:]]) + "\n")
    assert main(["score-spots", str(truth), str(path)]) == 3
    err = capsys.readouterr().err
    assert f"'{path}' line 2: the seconds were edited: onset_s 14.000 is frame 420" in err
    assert "but onset is 390" in err and "reads the frame columns (onset, offset)" in err


def test_seconds_within_a_frame_and_an_end_column_are_read(truth, tmp_path, capsys):
    # seconds rounded otherwise (up to the ms, or from presentation times) stay within a frame of the frames: no edit;
    # an end_s column (the end of the offset frame) is not needed, nor in the way
    path = _intervals_csv(tmp_path)
    rows = [r.split(",") for r in path.read_text().splitlines()]
    body = []
    for cells in rows[1:]:
        if cells[5] in ("micro", "macro"):
            cells[8] = f"{(int(cells[2]) + 0.9) / FPS:.3f}"  # onset_s: nine tenths of a frame late
            cells[10] = f"{(int(cells[4]) - 0.9) / FPS:.3f}"  # offset_s: as much early
        body.append([*cells, f"{(int(cells[4]) + 1) / FPS:.3f}" if cells[4] else ""])
    path.write_text("\n".join(",".join(c) for c in [rows[0] + ["end_s"], *body]) + "\n")
    counts, _ = _counts(capsys, truth, path)
    assert counts["overall"] == (2, 0, 0)
    cells = body[0]
    cells[8] = f"{(int(cells[2]) + 1.2) / FPS:.3f}"  # more than a frame: edited
    path.write_text("\n".join(",".join(c) for c in [rows[0] + ["end_s"], *body]) + "\n")
    assert main(["score-spots", str(truth), str(path)]) == 3
    assert "line 2: the seconds were edited" in capsys.readouterr().err
