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


def _edit(path, line: int, column: str, value: str) -> None:
    rows = [r.split(",") for r in path.read_text().splitlines()]
    rows[line - 1][rows[0].index(column)] = value
    path.write_text("\n".join(",".join(c) for c in rows) + "\n")


def test_seconds_within_a_frame_are_read_and_older_files_without_end_s_too(truth, tmp_path, capsys):
    # a row's seconds all a little late (a video whose first frame is shown at 0.03 s) and rounded down, not up:
    # within a frame of its frames, no edit
    path = _intervals_csv(tmp_path)
    rows = [r.split(",") for r in path.read_text().splitlines()]
    for cells in rows[1:]:
        for i, name in enumerate(rows[0]):
            if name.endswith("_s") and cells[i] and cells[5] in ("micro", "macro"):
                cells[i] = f"{int((float(cells[i]) + 0.9 / FPS) * 1000) / 1000:.3f}"
    path.write_text("\n".join(",".join(c) for c in rows) + "\n")
    counts, _ = _counts(capsys, truth, path)
    assert counts["overall"] == (2, 0, 0)
    _edit(path, 2, "onset_s", f"{float(rows[1][rows[0].index('onset_s')]) + 1.2 / FPS:.3f}")  # more than a frame
    assert main(["score-spots", str(truth), str(path)]) == 3
    assert "line 2: the seconds were edited: onset_s" in capsys.readouterr().err
    # a file written before end_s was (its last column): read, its onset_s and offset_s checked
    path = _intervals_csv(tmp_path)
    path.write_text("\n".join(r.rsplit(",", 1)[0] for r in path.read_text().splitlines()) + "\n")
    assert "end_s" not in path.read_text()
    counts, _ = _counts(capsys, truth, path)
    assert counts["overall"] == (2, 0, 0)
    _edit(path, 2, "onset_s", "14.000")  # the micro's 390 (13.000 s, its apex_s too) edited a second later
    assert main(["score-spots", str(truth), str(path)]) == 3
    err = capsys.readouterr().err  # the rate from one frame's 13.000 to 13.034 s: about frame 420
    assert "line 2: the seconds were edited: onset_s 14.000 is frame 4" in err and "but onset is 390" in err


@pytest.mark.parametrize(("line", "column", "frames", "said"), [
    (2, "onset_s", -3, "onset_s 12.900 is frame 387"), (2, "end_s", 3, "end_s 13.167 is the end of frame 394"),
    (3, "offset_s", 3, "offset_s 62.567 is frame 1877"), (3, "end_s", -3, "end_s 62.400 is the end of frame 1871"),
    (3, "end_s", 3, "end_s 62.600 is the end of frame 1877")])
def test_a_time_edited_by_three_frames_is_refused_naming_its_line(truth, tmp_path, capsys, line, column, frames,
                                                                   said):
    path = _intervals_csv(tmp_path)
    rows = [r.split(",") for r in path.read_text().splitlines()]
    _edit(path, line, column, f"{float(rows[line - 1][rows[0].index(column)]) + frames / FPS:.3f}")
    assert main(["score-spots", str(truth), str(path)]) == 3
    err = capsys.readouterr().err
    assert f"'{path}' line {line}: the seconds were edited: {said}" in err
    assert f"correct {'offset' if column == 'end_s' else column[:-2]} to the frame" in err


def _spots(tmp_path, at, *intervals: Interval, name="intervals.csv"):
    """intervals.csv of a video whose frame n starts at at(n) s, as `mmnet spot` writes it."""
    path = tmp_path / name
    path.write_text(intervals_csv([with_seconds(i.to_dict(), FPS, 0, at) for i in intervals], video="clip",
                                  frame_numbering=VIDEO_FROM_0))
    return path


def test_a_variable_frame_rate_video_s_own_times_are_read(truth, tmp_path, capsys):
    # 30 fps up to frame 3000 (100 s), 24 fps after: the times drift from any one rate by hundreds of frames
    def at(n):
        return n / 30 if n <= 3000 else 100 + (n - 3000) / 24

    items = [Interval(390, 390, 391, "micro"), Interval(1800, 1830, 1874, "macro"),
             Interval(2950, 2960, 2990, "macro"), Interval(3010, 3012, 3015, "micro"),
             Interval(6000, 6040, 6074, "macro"), Interval(9000, None, 9007, "micro")]
    path = _spots(tmp_path, at, *items)
    counts, _ = _counts(capsys, truth, path)
    assert counts["overall"] == (2, 4, 0)  # the first two are the truth's; read, not refused
    _edit(path, 6, "offset_s", f"{at(6074) + 3 / 24:.3f}")  # 3 frames late, at the rate there
    assert main(["score-spots", str(truth), str(path)]) == 3
    assert "line 6: the seconds were edited: offset_s 228.208 is frame 6077 at 24" in capsys.readouterr().err
    # a time moved past another row's is refused, naming both lines, even on a row that tells no rate of its own
    path = _spots(tmp_path, at, *items)
    _edit(path, 7, "offset_s", "224.000")
    assert main(["score-spots", str(truth), str(path)]) == 3
    assert "line 7: the seconds were edited: offset_s 224.000" in capsys.readouterr().err


def test_a_phone_video_s_jittered_times_with_dropped_frames_are_read(truth, tmp_path, capsys):
    import random

    rng = random.Random(3)  # frame times 10% either way of 1/30 s, one frame in 30 shown twice as long (dropped)
    starts = [0.0]
    for _ in range(12000):
        starts.append(starts[-1] + rng.uniform(0.9, 1.1) * (2 if rng.random() < 1 / 30 else 1) / FPS)
    items = [Interval(a, a + rng.randint(0, n), a + n, "micro" if n < 15 else "macro")
             for a, n in ((rng.randint(100 * k, 100 * k + 50), rng.randint(0, 80)) for k in range(1, 110))]
    path = _spots(tmp_path, lambda n: starts[n], *items)
    counts, _ = _counts(capsys, truth, path)
    assert sum(counts["overall"][:2]) == len(items)  # all read, none refused


def test_a_29_97_fps_video_s_file_is_read_with_fps_30(truth, tmp_path, capsys):
    # --fps 30 for an NTSC video: its times drift from n / 30 by more than a frame after half a minute
    path = _spots(tmp_path, lambda n: n * 1001 / 30000, Interval(390, 390, 391, "micro"),
                  Interval(1800, 1830, 1874, "macro"), Interval(30000, 30010, 30040, "macro"))
    counts, _ = _counts(capsys, truth, path, "--fps", "30")
    assert counts["overall"] == (2, 1, 0)


def test_an_intervals_csv_frame_written_with_an_exponent_is_refused(truth, tmp_path, capsys):
    # a spreadsheet writes '3.9E+02' only once it has rounded the frame: refused as in MEGC CSVs, not read as 390
    path = _intervals_csv(tmp_path)
    path.write_text(path.read_text().replace(",390,", ",3.9E+02,", 1))
    assert main(["score-spots", str(truth), str(path)]) != 0
    assert "3.9E+02" in capsys.readouterr().err
