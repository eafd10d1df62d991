"""CAS(ME)^3 Part A long videos (casme3-long): fixtures in the owners' layout, then the real label table if present."""

import csv
import statistics
import sys
from collections import Counter
from pathlib import Path

import pytest

from mmnet.cli import main
from mmnet.data import LONG_VIDEO_DATASETS, load_dataset
from mmnet.errors import AnnotationError, DatasetNotFoundError
from mmnet.spotting.intervals import Interval

from .fakes import write_frames
from .fakes_long import write_casme3_long

# ../shared, beside the checkout
LABELS = (Path(__file__).resolve().parents[2] / "shared" / "annotations" / "casme3"
          / "cas(me)3_part_A_ME_label_JpgIndex_v2.label.csv")


def _checks(load) -> Counter:
    return Counter(i.check for i in load.issues)


def _issue(load, check):
    return [i for i in load.issues if i.check == check]


def test_casme3_long_fixture(tmp_path):
    load = load_dataset("casme3-long", write_casme3_long(tmp_path))
    assert "casme3-long" in LONG_VIDEO_DATASETS and load.types == ("micro", "macro")
    assert load.annotation.name == "CAS(ME)3_part_A_v2.xlsx"
    videos = {v.video: v for v in load.videos}
    assert sorted(videos) == ["spNO.1_a", "spNO.1_b", "spNO.1_c", "spNO.1_j", "spNO.216_d"]
    a = videos["spNO.1_a"]
    assert (a.subject, a.fps, a.n_frames, a.path.parts[-3:]) == ("spNO.1", 30.0, 60, ("spNO.1", "a", "color"))
    assert a.frame_path(7).name == "7.jpg"
    assert a.intervals == (Interval(1, 20, 45, "macro"), Interval(5, 10, 20, "macro"),  # onset 0 -> first frame
                           Interval(30, 33, 38, "micro", "happy"))
    assert a.intervals[2].extra["objective_class"] == "I" and a.intervals[2].extra["au_text"] == "12"
    assert a.blinks == ((12, 14), (22, 24))
    b = videos["spNO.1_b"]
    assert Interval(10, 25, 18, "micro", "disgust") in b.intervals  # apex outside, emotion by the near join
    assert Interval(40, 45, 60, "macro") in b.intervals  # clipped to the last frame
    assert 25 not in b.frame_numbers and b.frame_numbers[:3] == [1, 2, 3] and b.n_frames == 58  # drops stay gaps
    assert videos["spNO.1_j"].intervals == (Interval(3, 6, 12, "micro", "others"),)  # 'J', 'Others'
    assert videos["spNO.1_c"].intervals == () and videos["spNO.1_c"].blinks == ((3, 5),)
    d = videos["spNO.216_d"]
    assert d.intervals == (Interval(2000, 2010, 2400, "micro", "surprise"),
                           Interval(2647, 2668, 2691, "micro", "others"))
    assert load.interval_counts() == {"micro": 5, "macro": 3}
    checks = _checks(load)
    for check in ("onset_zero", "beyond_video", "apex_outside", "label_join", "label_unmatched", "correction",
                  "long_micro", "clip_name_case", "not_annotated", "no_color_frames", "video_missing", "bad_value",
                  "bad_row"):
        assert checks[check] == (2 if check == "beyond_video" else 1), check
    assert checks["frame_gaps"] == 2 and checks["dropped_frame"] == 2
    assert {(i.sample_id, i.message.split(":")[1].strip()) for i in _issue(load, "dropped_frame")} == {
        ("casme3-long/spNO.1/spNO.1_b", "apex 25 not on disk (a dropped frame); kept in the native numbering"),
        ("casme3-long/spNO.216/spNO.216_d", "offset 2691 not on disk (a dropped frame); kept in the native "
                                            "numbering")}
    assert "25-26" in _issue(load, "frame_gaps")[0].message
    assert "label' row 5: onset corrected 3647 -> 2647" in _issue(load, "correction")[0].message
    assert "differs in apex 8 (here 25)" in _issue(load, "label_join")[0].message
    assert "401 frames long (13.4 s" in _issue(load, "long_micro")[0].message
    assert [i.sample_id for i in load.errors] == ["casme3-long/spNO.1/spNO.1_a", "casme3-long/?/row11"]
    with pytest.raises(AnnotationError, match="row 10|row11"):
        load_dataset("casme3-long", tmp_path, strict=True)
    off = load_dataset("casme3-long", tmp_path, corrections=False)
    assert "not applied (corrections disabled)" in _issue(off, "correction")[0].message
    # the label row keeps onset 3647: it joins by the other two frame numbers, and says so
    assert Interval(2647, 2668, 2691, "micro", "others") in {v.video: v for v in off.videos}["spNO.216_d"].intervals
    assert any("differs in onset 3647 (here 2647)" in i.message for i in _issue(off, "label_join"))


@pytest.mark.parametrize("kind", ["xls", "csv"])
def test_casme3_long_xls_and_csv_read_as_the_xlsx(tmp_path, kind):
    if kind == "xls":
        pytest.importorskip("xlrd")
        pytest.importorskip("xlwt")
    reference = load_dataset("casme3-long", write_casme3_long(tmp_path / "x"))
    load = load_dataset("casme3-long", write_casme3_long(tmp_path / kind, long=kind, frames_under=""))
    assert load.annotation.suffix == f".{kind}"
    assert load.truth() == reference.truth()
    assert [v.blinks for v in load.videos] == [v.blinks for v in reference.videos]
    assert _checks(load) == _checks(reference)


def test_an_xls_without_xlrd_says_what_to_do(tmp_path, monkeypatch):
    root = write_casme3_long(tmp_path, long=None)
    (root / "CAS(ME)3_part_A_v2.xls").write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 500)
    with pytest.raises(AnnotationError, match=r"old Excel \.xls.*(re-download|save it as \.xlsx)"):
        load_dataset("casme3-long", root)  # not a readable workbook
    monkeypatch.setitem(sys.modules, "xlrd", None)  # as if not installed
    with pytest.raises(AnnotationError, match=r"needs the xlrd package \(pip install \"xlrd>=2\.0\" \(from a source "
                                              r"checkout: pip install -e \"\.\[xls\]\"\).*\.xlsx"):
        load_dataset("casme3-long", root)


def test_casme3_long_micro_only_from_the_label_file(tmp_path):
    load = load_dataset("casme3-long", write_casme3_long(tmp_path, long=None))
    assert load.types == ("micro",) and load.annotation.name.startswith("cas(me)3_part_A_ME_label")
    assert load.interval_counts() == {"micro": 6}
    videos = {v.video: v for v in load.videos}
    assert Interval(50, 52, 52, "micro", "fear") in videos["spNO.1_a"].intervals  # offset 0 -> the apex
    assert Interval(10, 8, 18, "micro", "disgust") in videos["spNO.1_b"].intervals  # apex 8 < onset, kept
    assert Interval(2647, 2668, 2691, "micro", "others") in videos["spNO.216_d"].intervals  # corrected
    assert all(not v.blinks for v in load.videos) and not load.errors
    checks = _checks(load)
    assert checks["macro_missing"] == 1 and checks["offset_zero"] == 1 and checks["apex_outside"] == 1
    assert "macro spotting cannot be evaluated" in _issue(load, "macro_missing")[0].message
    # the label file given as --annotation reads micro-expressions only, even beside the long-video table
    both = write_casme3_long(tmp_path / "both")
    given = load_dataset("casme3-long", both, annotation=both / "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx")
    assert given.types == ("micro",) and given.truth() == load.truth()


def test_casme3_long_missing_parts_name_the_layout(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"CAS\(ME\)3_part_A_v2\.xls.*cas\(me\)3_part_A_ME_label"):
        load_dataset("casme3-long", tmp_path)
    write_casme3_long(tmp_path / "r")
    root = tmp_path / "r"
    import shutil

    shutil.rmtree(root / "part_A")
    with pytest.raises(DatasetNotFoundError, match="spNO"):
        load_dataset("casme3-long", root)


def test_check_data_casme3_long(tmp_path, capsys):
    root = write_casme3_long(tmp_path / "full")
    assert main(["check-data", "casme3-long", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "videos      5 with frames on disk, 0 excluded (no frames), 1 without annotation" in out
    assert "fps         30 (5 videos)" in out
    assert "micro      5 in 4 videos of 2 subjects; 9-401 frames long; labels: disgust 1, happy 1, others 2, " \
           "surprise 1" in out
    assert "macro      3 in 2 videos of 1 subjects" in out and "blinks      3 in 2 videos" in out
    assert "subjects    2 (LOSO folds): spNO.1 4, spNO.216 1" in out
    for check in ("label_join", "dropped_frame", "long_micro", "correction", "bad_row"):
        assert check in out
    assert main(["check-data", "casme3-long", "--root", str(root), "--strict"]) == 1
    capsys.readouterr()
    micro = write_casme3_long(tmp_path / "micro", long=None)
    assert main(["check-data", "casme3-long", "--root", str(micro), "--strict"]) == 0
    out = capsys.readouterr().out
    assert "  macro  no macro-expression annotation: macro spotting cannot be evaluated" in out
    assert "micro      6 in 4 videos of 2 subjects" in out and "blinks " not in out


@pytest.mark.skipif(not LABELS.exists(), reason="real annotation not present")
def test_real_casme3_label_table_micro_only(tmp_path):
    """The label file alone (the copy in a PR of the authors' MMNet repository): 860 MEs, 94 subjects, 463 videos."""
    rows = list(csv.reader(open(LABELS, newline="", encoding="utf-8-sig")))[1:]
    for subject, task in {(r[0], r[1].lower()) for r in rows}:
        write_frames(tmp_path / subject / task / "color", [1, 5000], "{}.jpg".format)
    load = load_dataset("casme3-long", tmp_path, annotation=LABELS)
    assert load.types == ("micro",) and load.interval_counts() == {"micro": 860}
    with_me = [v for v in load.videos if v.of_type("micro")]
    assert len(with_me) == 463 and len({v.subject for v in with_me}) == 94
    lengths = [i.length for v in with_me for i in v.intervals]
    assert statistics.median(lengths) == 22 and max(lengths) == 3456
    assert Counter(i.label for v in with_me for i in v.intervals) == {
        "disgust": 250, "surprise": 187, "others": 161, "fear": 86, "anger": 64, "sad": 57, "happy": 55}
    checks = _checks(load)
    assert (checks["correction"], checks["offset_zero"], checks["onset_zero"], checks["apex_unknown"]) == (
        1, 2, 1, 1)
    assert (checks["apex_outside"], checks["long_micro"], checks["clip_name_case"], checks["macro_missing"]) == (
        1, 4, 1, 1)
    assert "spNO.149" in _issue(load, "apex_outside")[0].sample_id  # its apex before its onset
    assert any("3456 frames long" in i.message for i in _issue(load, "long_micro"))
    assert not load.errors
    v = next(v for v in load.videos if v.video == "spNO.216_d")
    # the onset typo (after the apex) takes mmnet.data.corrections' onset; apex and offset stay as the table has them
    (typo,) = [r for r in rows if r[:2] == ["spNO.216", "d"] and int(r[2]) > int(r[3])]
    assert Interval(2647, int(typo[3]), int(typo[4]), "micro", typo[7].lower()) in v.intervals


def test_a_task_written_by_a_turkish_excel_upper_matches_its_folder(tmp_path, monkeypatch):
    # Turkish Excel's UPPER('i') is 'İ', whose lower() is 'i' + a combining dot: no folder 'i' matched it
    from . import fakes_long

    def turkish(rows):
        return [tuple("İ" if c == "J" else c for c in r) for r in rows]

    monkeypatch.setattr(fakes_long, "CASME3_LONG_ROWS", turkish(fakes_long.CASME3_LONG_ROWS))
    monkeypatch.setattr(fakes_long, "CASME3_LABEL_ROWS", turkish(fakes_long.CASME3_LABEL_ROWS))
    monkeypatch.setattr(fakes_long, "CASME3_FRAMES", {("spNO.1/i" if k == "spNO.1/j" else k): v
                                                      for k, v in fakes_long.CASME3_FRAMES.items()})
    videos = {v.video: v for v in load_dataset("casme3-long", write_casme3_long(tmp_path)).videos}
    assert videos["spNO.1_i"].intervals == (Interval(3, 6, 12, "micro", "others"),)
