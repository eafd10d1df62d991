"""`mmnet agree`: per-video frame-wise kappa and alpha (by hand from the confusion table; the pooled figures as they
were; n/a with the reason where undefined), and the frames a file numbers from 0 (frame 0 counted)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from mmnet.cli import main
from mmnet.spotting.agreement_frames import frame_labels, overlapping_frames
from mmnet.spotting.intervals import Interval


def _agree(capsys, *argv) -> tuple[dict, str]:
    assert main(["agree", *map(str, argv), "--json"]) == 0
    printed = capsys.readouterr()
    return json.loads(printed.out), printed.err


def _kappa(table) -> float:
    """Cohen's kappa from a confusion table, written out: (p_o - p_e) / (1 - p_e)."""
    table = np.asarray(table, dtype=float)
    n = table.sum()
    p_o = sum(table[k, k] for k in range(len(table))) / n
    p_e = sum(table[k, :].sum() * table[:, k].sum() for k in range(len(table))) / n**2
    return (p_o - p_e) / (1 - p_e)


def test_frame_labels_from_frame_0():
    items = [Interval(0, None, 2, "micro"), Interval(1, None, 4, "macro")]
    assert frame_labels(items, 5, ("micro", "macro"), first=0).tolist() == [1, 1, 1, 2, 2, 0]
    assert frame_labels(items, 5, ("micro", "macro")).tolist() == [1, 1, 2, 2, 0]  # frames 1..5: no frame 0
    assert overlapping_frames(items, 5, first=0) == 2 and overlapping_frames(items, 5) == 2


@pytest.mark.parametrize("layout", ["megc", "intervals_csv"])
def test_frame_0_a_file_marks_is_counted(tmp_path, capsys, layout):
    from mmnet.spotting.intervals import FILE_NUMBER, intervals_csv

    def write(name, *spans):
        path = tmp_path / f"{name}.csv"
        if layout == "megc":  # a CSV counting its frames from 0
            path.write_text("vid,onset,offset,type\n" + "".join(f"p01,{s},{e},me\n" for s, e in spans))
        else:  # `mmnet spot --out` of a frame folder whose files are numbered from 0
            path.write_text(intervals_csv([Interval(s, None, e, "micro").to_dict() for s, e in spans], video="p01",
                                          frame_numbering=FILE_NUMBER))
        return path

    a, b = write("A", (0, 5), (20, 25)), write("B", (0, 5), (20, 24))
    data, _ = _agree(capsys, a, b, "--frames", "30")
    pair = data["pairs"][0]
    # 30 frames, 0..29: both micro in 0..5 and 20..24 (11), A alone in 25, none in both the other 18
    assert pair["frame_table"] == [[18, 0, 0], [1, 11, 0], [0, 0, 0]] and pair["kappa_frames"] == 30
    assert pair["kappa"] == pytest.approx(_kappa(pair["frame_table"])) == pytest.approx(396 / 426)
    assert data["frames"]["videos"]["p01"] == {"frames": 30, "from": "--frames", "first_frame": 0, "last_frame": 29}
    assert "0..N-1 of p01: a file marks frame 0" in data["frames"]["rule"]
    # a recording of 30 frames numbered from 0 has no frame 30
    e = write("E", (0, 5), (20, 30))
    assert main(["agree", str(a), str(e), "--frames", "30"]) == 3
    assert "ending at frame 30, past the 30 frames of --frames (0..29, as a file marks frame 0)" in \
        capsys.readouterr().err
    # a file that starts at frame 1 counts 1..N as before
    c, d = write("C", (1, 5), (20, 25)), write("D", (1, 5), (20, 24))
    data, _ = _agree(capsys, c, d, "--frames", "30")
    assert data["pairs"][0]["frame_table"] == [[19, 0, 0], [1, 10, 0], [0, 0, 0]]  # 30 frames, 1..30
    assert data["frames"]["videos"]["p01"]["first_frame"] == 1


def test_a_frame_before_0_is_an_error(tmp_path, capsys):
    a, b = tmp_path / "A.csv", tmp_path / "B.csv"
    a.write_text("vid,onset,offset,type\np01,-2,5,me\n")
    b.write_text("vid,onset,offset,type\np01,1,5,me\n")
    assert main(["agree", str(a), str(b)]) == 3
    # the reader refuses it, naming the row, as for score-spots
    assert f"'{a}' row 2: the interval -2..5 starts before frame 0" in capsys.readouterr().err


# p01: A micro 25..36 and 26..29, B micro 25..30, 27..32, 3..10 (test_agree's files); p02 marked by neither;
# p03: A macro 5..9, B macro 4..9; p04: both micro on every frame 1..20; p05: A marks nothing, B micro 1..5
A_CSV = "vid,onset,offset,type\np01,25,36,me\np01,26,29,me\np02,,,\np03,5,9,mae\np04,1,20,me\np05,,,\n"
B_CSV = ("vid,onset,offset,type\np01,25,30,me\np01,27,32,me\np01,3,10,me\np02,,,\np03,4,9,mae\np04,1,20,me\n"
         "p05,1,5,me\n")


@pytest.fixture
def coders(tmp_path):
    a, b = tmp_path / "A.csv", tmp_path / "B.csv"
    a.write_text(A_CSV)
    b.write_text(B_CSV)
    return a, b


def test_per_video_kappa_by_hand_and_the_pooled_kappa_unchanged(coders, capsys):
    data, _ = _agree(capsys, *coders, "--frames", "p01=40,p02=30,p03=20,p04=20,p05=10")
    videos = {v["video"]: v for v in data["per_video"]}
    assert list(videos) == ["p01", "p02", "p03", "p04", "p05"]
    p01, p03 = videos["p01"]["pairs"][0], videos["p03"]["pairs"][0]
    # p01, frames 1..40: micro in both 25..32 (8); A alone 33..36 (4); B alone 3..10 (8); none in both 40 - 20 = 20
    assert p01["frame_table"] == [[20, 8, 0], [4, 8, 0], [0, 0, 0]] and videos["p01"]["frames"] == 40
    assert p01["kappa"] == pytest.approx(_kappa(p01["frame_table"]))
    # p_o = 28/40, p_e = (24 * 28 + 12 * 16) / 40^2 = 864/1600: kappa = (1120 - 864) / (1600 - 864) = 256/736
    assert p01["kappa"] == pytest.approx(256 / 736)
    assert (p01["n_a"], p01["n_b"], p01["matched"], p01["f1"]) == (2, 3, 2, pytest.approx(0.8))
    # p03, frames 1..20: macro in both 5..9 (5), B alone 4 (1), none in both 14
    assert p03["frame_table"] == [[14, 0, 1], [0, 0, 0], [0, 0, 5]]
    assert p03["kappa"] == pytest.approx(_kappa(p03["frame_table"]))
    assert (p03["matched"], p03["f1"]) == (1, 1.0)
    # undefined: no frame marked (p02), one category in both files (p04); p05: chance agreement = observed, 0
    assert (videos["p02"]["pairs"][0]["kappa"], videos["p02"]["pairs"][0]["kappa_undefined"]) == (
        None, "no file marks a frame")
    assert videos["p02"]["pairs"][0]["f1"] is None
    assert (videos["p04"]["pairs"][0]["kappa"], videos["p04"]["pairs"][0]["kappa_undefined"]) == (
        None, "every frame micro in every file")
    assert videos["p05"]["pairs"][0]["kappa"] == 0 and videos["p05"]["pairs"][0]["kappa_undefined"] is None
    # pooled: one table, the sum of the videos' tables, as before
    pooled = data["pairs"][0]
    summed = np.sum([v["pairs"][0]["frame_table"] for v in data["per_video"]], axis=0)
    assert pooled["frame_table"] == summed.tolist() and pooled["kappa_frames"] == 40 + 30 + 20 + 20 + 10
    assert pooled["kappa"] == pytest.approx(_kappa(summed)) and pooled["kappa_undefined"] is None
    assert "krippendorff_alpha" not in videos["p01"]


def test_the_per_video_table_prints_n_a_with_the_reason(coders, capsys):
    assert main(["agree", *map(str, coders), "--frames", "p01=40,p02=30,p03=20,p04=20,p05=10"]) == 0
    out = capsys.readouterr().out
    table = out[out.index("per video:"):].splitlines()
    rows = {line.split()[0] if not line.startswith("all videos") else "all": line for line in table[3:]}
    assert rows["p01"].split()[1:] == ["A-B", "40", "2", "3", "2", "0.800", f"{256 / 736:.3f}"]
    assert rows["p02"].split()[1:] == ["A-B", "30", "0", "0", "0", "-", "n/a", "(no", "file", "marks", "a", "frame)"]
    assert rows["p04"].endswith("n/a (every frame micro in every file)")
    assert rows["p05"].split()[-1] == "0.000"
    assert rows["all"].split()[2:6] == ["A-B", "120", "4", "6"]  # frames, n A and n B pooled over the videos


def test_per_video_alpha_of_three_files_by_hand(tmp_path, capsys):
    files = []
    for name, text in (("A", "q,1,2,me\nr,,,\n"), ("B", "q,1,1,me\nr,,,\n"), ("C", "q,1,2,me\nr,,,\n")):
        files.append(tmp_path / f"{name}.csv")
        files[-1].write_text("vid,onset,offset,type\n" + text)
    data, _ = _agree(capsys, *files, "--frames", "q=4,r=3")
    videos = {v["video"]: v for v in data["per_video"]}
    # q: frames 1..4 coded (micro, micro, micro), (micro, none, micro), then none by all three twice. Coincidences
    # within a frame of m = 3 values, n_c (n_c - 1) / (m - 1): sum o_cc = 3 + 1 + 3 + 3 = 10; n = 12 values,
    # n_none = 7, n_micro = 5: alpha = 1 - (n - 1)(n - sum o_cc) / (n^2 - sum n_c^2) = 1 - 11 * 2 / (144 - 49 - 25)
    alpha = videos["q"]["krippendorff_alpha"]
    assert alpha["value"] == pytest.approx(1 - 22 / 70) and alpha["frames"] == 4 and alpha["undefined"] is None
    assert videos["r"]["krippendorff_alpha"] == {"value": None, "frames": 3, "undefined": "no file marks a frame",
                                                 "level": "nominal", "files": ["A", "B", "C"]}
    # pooled over q and r: r's 3 frames add 3 x 3 coincident "none" values: sum o_cc 19, n 21, n_none 16
    assert data["krippendorff_alpha"]["value"] == pytest.approx(1 - 20 * 2 / (21**2 - 16**2 - 5**2))
    assert [len(v["pairs"]) for v in data["per_video"]] == [3, 3]
    assert main(["agree", *map(str, files), "--frames", "q=4,r=3"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^r +all +3 +n/a \(no file marks a frame\)$", out, re.M)
    assert re.search(rf"^q +all +4 +{1 - 22 / 70:.3f}$", out, re.M)


def test_a_pooled_kappa_that_is_undefined_is_n_a_too(tmp_path, capsys):
    a, b = tmp_path / "A.csv", tmp_path / "B.csv"
    for path in (a, b):
        path.write_text("vid,onset,offset,type\nz,,,\n")  # a video listed, no expression marked
    data, _ = _agree(capsys, a, b, "--frames", "10")
    assert (data["pairs"][0]["kappa"], data["pairs"][0]["kappa_undefined"]) == (None, "no file marks a frame")
    assert main(["agree", str(a), str(b), "--frames", "10"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^A-B +n/a +10 +1 \(no file marks a frame\)$", out, re.M)
    assert re.search(r"^all videos A-B +10 +0 +0 +0 +- +n/a \(no file marks a frame\)$", out, re.M)
