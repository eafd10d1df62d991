"""`mmnet agree`: the frames a file numbers from 0 (frame 0 counted in the frame-wise figures)."""

from __future__ import annotations

import json

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
    # frames 0..30: both micro in 0..5 and 20..24 (11), A alone in 25, none in both the other 19
    assert pair["frame_table"] == [[19, 0, 0], [1, 11, 0], [0, 0, 0]] and pair["kappa_frames"] == 31
    assert pair["kappa"] == pytest.approx(_kappa(pair["frame_table"])) == pytest.approx(418 / 449)
    assert data["frames"]["videos"]["p01"] == {"frames": 30, "from": "--frames", "first_frame": 0}
    assert "0..N of p01: a file marks frame 0" in data["frames"]["rule"]
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
    assert f"'{a}': video 'p01' has an interval -2..5, before frame 0" in capsys.readouterr().err
