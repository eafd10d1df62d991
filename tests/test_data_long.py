"""Long-video spotting loaders: fixtures in the owners' layouts, then the real annotation tables when present."""

import csv
import re
from pathlib import Path

import pytest

from mmnet.data import LONG_VIDEO_DATASETS, load_dataset
from mmnet.data.long_video import not_annotated, refused_row
from mmnet.data.sample import Issue
from mmnet.errors import AnnotationError, DatasetNotFoundError
from mmnet.spotting.intervals import Interval

from .fakes import write_frames, write_xlsx
from .fakes_long import SAMM_LV_ROWS, write_casme3_long, write_casme_sq, write_samm_long

SHARED = Path(__file__).resolve().parents[2] / "shared" / "annotations" / "spotting"  # ../shared, beside the checkout


def _checks(load):
    return {(i.sample_id, i.check) for i in load.issues}


def test_casme_sq_fixture(tmp_path):
    load = load_dataset("casme-sq", write_casme_sq(tmp_path))
    assert load_dataset("casme2-long", tmp_path).truth() == load.truth()
    videos = {v.video: v for v in load.videos}
    assert sorted(videos) == ["15_0101", "15_0401", "16_0101", "16_0502"]
    v = videos["15_0401"]
    assert (v.subject, v.fps, v.n_frames, v.path.name) == ("s15", 30.0, 60, "15_0401angerfilm")
    assert v.intervals[1] == Interval(30, 33, 38, "micro", "negative")
    assert v.intervals[1].extra["self_report"] == "anger" and v.intervals[1].extra["expression"] == "anger1_2"
    assert v.intervals[2] == Interval(40, 45, 45, "macro", "negative")  # offset 0 -> apex
    assert v.frame_path(7).name == "img7.jpg"
    assert videos["16_0101"].frame_path(7).name == "img007.jpg"
    assert videos["16_0101"].intervals[0].apex is None  # apex 0
    assert videos["16_0502"].intervals[1].offset == 40  # clipped to the last frame
    assert videos["15_0101"].intervals == ()  # on disk, not annotated: kept
    assert load.interval_counts() == {"macro": 5, "micro": 2}
    checks = _checks(load)
    for check in [("casme-sq/s15/15_0401", "offset_zero"), ("casme-sq/s16/16_0101", "apex_unknown"),
                  ("casme-sq/s16/16_0101", "apex_outside"), ("casme-sq/s16/16_0502", "beyond_video"),
                  ("casme-sq/s16/16_0502", "frame_gaps"), ("casme-sq/s15/15_0101", "not_annotated"),
                  ("casme-sq/?/row8", "bad_row"), ("casme-sq/?/row9", "bad_row")]:
        assert check in checks
    with pytest.raises(AnnotationError, match="row8|row 8"):
        load_dataset("casme-sq", tmp_path, strict=True)


def test_casme_sq_missing_parts_name_the_layout(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="code_final"):
        load_dataset("casme-sq", tmp_path)
    write_casme_sq(tmp_path, frames={})
    with pytest.raises(DatasetNotFoundError, match="rawpic"):
        load_dataset("casme-sq", tmp_path)


def test_samm_long_fixture(tmp_path):
    load = load_dataset("samm-long", write_samm_long(tmp_path))
    videos = {v.video: v for v in load.videos}
    assert sorted(videos) == ["006_1", "007_2", "009_1"]
    assert [v.video for v in load.excluded] == ["008_1"]
    v = videos["006_1"]
    assert (v.subject, v.fps, v.n_frames) == ("006", 200.0, 80)
    assert Interval(10, 21, 30, "macro") in v.intervals  # 10.4 / 20.6 / 30.2 rounded
    assert Interval(1, 30, 70, "macro") in v.intervals  # onset 0 -> the first frame
    assert Interval(40, 45, 50, "micro", "anger") in v.intervals  # emotion joined from the micro coding file
    assert videos["007_2"].frame_path(60).name == "007_2_00060.jpg"
    assert Interval(5, None, 15, "micro") in videos["007_2"].intervals  # apex -1, no emotion row
    assert Interval(50, 60, 60, "macro") in videos["007_2"].intervals  # clipped to the last frame
    assert load.interval_counts() == {"macro": 4, "micro": 2}
    checks = {c for _, c in _checks(load)}
    assert {"fractional_frame", "onset_zero", "apex_unknown", "duplicate_name", "duration_mismatch", "beyond_video",
            "video_missing", "not_annotated", "emotion_missing"} <= checks
    no_emotions = load_dataset("samm-long", write_samm_long(tmp_path / "b", emotions=False))
    assert all(i.label is None for v in no_emotions.videos for i in v.intervals)


def _xlsx_from_csvs(path: Path, sheets: dict[str, Path], text: dict[str, set[int]]) -> Path:
    """The shared CSV copies back into one workbook, numbers as numbers (codes like '0101' stay text)."""
    out = {}
    for sheet, csv_path in sheets.items():
        rows = []
        for row in csv.reader(open(csv_path, newline="", encoding="utf-8-sig")):
            cells = []
            for k, c in enumerate(row):
                if k in text.get(sheet, ()) or c == "":
                    cells.append(c or None)
                    continue
                if re.fullmatch(r"-?\d+", c):
                    cells.append(int(c))
                elif re.fullmatch(r"-?\d*\.\d+", c):
                    cells.append(float(c))
                else:
                    cells.append(c)
            rows.append(cells)
        out[sheet] = rows
    return write_xlsx(path, out, text_columns=text)


@pytest.mark.skipif(not (SHARED / "CASME_sq_gt.CASFEcode_final.csv").exists(), reason="real annotation not present")
def test_real_casme_sq_table(tmp_path):
    """The MEGC2021 copy of the CAS(ME)^2 workbook: 357 rows, 57 micro, 300 macro, 95 videos, 22 subjects."""
    xlsx = _xlsx_from_csvs(tmp_path / "CAS(ME)^2code_final.xlsx", {
        "CASFEcode_final": SHARED / "CASME_sq_gt.CASFEcode_final.csv",
        "naming rule1": SHARED / "CASME_sq_gt.naming_rule1.csv",
        "naming rule2": SHARED / "CASME_sq_gt.naming_rule2.csv"}, {"naming rule2": {0}})
    rows = list(csv.reader(open(SHARED / "CASME_sq_gt.naming_rule2.csv")))
    codes = [r[0] for r in rows]
    rule1 = {r[2]: (r[0], r[1]) for r in csv.reader(open(SHARED / "CASME_sq_gt.naming_rule1.csv"))}
    last = 4400  # longer than the longest video, so no interval is clipped
    for number, folder in rule1.values():
        for code in codes:
            write_frames(tmp_path / "rawpic" / folder / f"{number}_{code}x", [1, last], "img{}.jpg".format)
    load = load_dataset("casme-sq", tmp_path, annotation=xlsx)
    annotated = [v for v in load.videos if v.intervals]
    assert load.interval_counts() == {"micro": 57, "macro": 300}
    assert len(annotated) == 95 and len({v.subject for v in annotated}) == 22
    assert len({v.video for v in annotated if v.of_type("micro")}) == 33
    checks = [i.check for i in load.issues]
    assert checks.count("offset_zero") == 44 and checks.count("apex_unknown") == 1
    assert checks.count("apex_outside") == 3
    assert not [i for i in load.errors if i.check != "frame_gaps"]
    micro = [i for v in load.videos for i in v.of_type("micro")]
    assert {i.label for i in micro} == {"negative", "positive", "surprise", "others"}
    assert min(i.length for i in micro) == 9 and max(i.length for i in micro) == 17


@pytest.mark.skipif(not (SHARED / "SAMMLV_gt.FACS_Movement_Only.csv").exists(), reason="real annotation not present")
def test_real_samm_long_table(tmp_path):
    """The MEGC2021 copy of the SAMM-LV sheet: 502 rows (159 micro, 343 macro), 147 videos, 30 subjects."""
    xlsx = _xlsx_from_csvs(tmp_path / "SAMM_LongVideos_V2_Release.xlsx",
                           {"FACS_Movement_Only": SHARED / "SAMMLV_gt.FACS_Movement_Only.csv"},
                           {"FACS_Movement_Only": {0}})
    rows = list(csv.reader(open(SHARED / "SAMMLV_gt.FACS_Movement_Only.csv")))[10:]
    for video in {"_".join(r[1].split("_")[:2]) for r in rows}:
        write_frames(tmp_path / "SAMM_longvideos" / video, [1, 16000], f"{video}_{{:05d}}.jpg".format)
    load = load_dataset("samm-long", tmp_path, annotation=xlsx)
    assert load.interval_counts() == {"micro": 159, "macro": 343}
    assert len(load.videos) == 147 and len({v.subject for v in load.videos}) == 30
    assert len([v for v in load.videos if v.of_type("micro")]) == 79
    checks = [i.check for i in load.issues]
    # 178 rows hold non-integral numbers; one of them only 114.99999999999999 (float noise for 115)
    assert checks.count("fractional_frame") == 177 and checks.count("apex_unknown") == 6
    assert checks.count("onset_zero") == 10 and checks.count("duplicate_name") == 1
    assert "duration_mismatch" not in checks
    v = next(v for v in load.videos if v.video == "006_1")
    # fractional frames are rounded to the nearest frame
    (first,) = [r for r in rows if r[1] == "006_1_1"]
    assert Interval(*(round(float(x)) for x in first[3:6]), "macro") in v.intervals


def test_registry_names():
    assert {"casme-sq", "casme2-long", "samm-long"} <= set(LONG_VIDEO_DATASETS)


def test_refused_rows_are_counted_by_their_mark_not_by_their_text(tmp_path):
    # a video's refused rows were counted by finding "row left out" in the text of its errors
    video = "samm-long/009/009_1"
    refused = refused_row(video, "bad_value", "row 9 (009_1_1): type 'Blink' unreadable")
    assert (refused.message, refused.severity) == ("row 9 (009_1_1): type 'Blink' unreadable; row left out", "error")
    worded_alike = Issue(video, "bad_value", "not a refused row, though its text says row left out", "error")
    another_video = refused_row("samm-long/006/006_1", "bad_value", "row 2: onset 'x' unreadable")
    assert not_annotated(video, [refused, worded_alike, another_video]).message.startswith(
        "its 1 annotation row(s) were all left out")
    assert not_annotated(video, [worded_alike]).message.startswith("no annotation row for this video")
    # every row the loaders refuse carries the mark, and only those
    blink = ("009", "009_1_1", 1, 5, 10, 20, None, "Blink", "4", None)
    loads = [load_dataset("casme-sq", write_casme_sq(tmp_path / "sq")),
             load_dataset("casme3-long", write_casme3_long(tmp_path / "c3")),
             load_dataset("samm-long", write_samm_long(tmp_path / "lv", [*SAMM_LV_ROWS, blink]))]
    for load in loads:
        assert any(i.row_refused for i in load.issues), load.issues
        assert all(i.row_refused == i.message.endswith("; row left out") for i in load.issues)
