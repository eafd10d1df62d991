"""CAS(ME)^3 part A loader on generated fake trees: text cells, repeated pairs, quirks."""

from __future__ import annotations

import pytest

from mmnet.data import get_scheme, load_dataset

from .fakes import CASME3_ROWS, write_casme3, write_frames


def _checks(load, sid):
    return {i.check: i for i in load.issues if i.sample_id == sid}


@pytest.mark.parametrize("nested", [False, True])
def test_rows_and_frames(tmp_path, nested):
    load = load_dataset("casme3", write_casme3(tmp_path / "c3", nested=nested))
    by = {(s.subject, s.clip): s for s in load.samples}
    assert len(load.samples) == len(CASME3_ROWS)
    s = by[("spNO.1", "b")]
    assert (s.onset, s.apex, s.offset, s.label, s.aus) == (150, 158, 163, "disgust", ("4",))
    assert s.extra["objective_class"] == 3 and s.frame_numbers == list(range(150, 164))
    assert s.frames[0][1].parent.name == "color"
    # repeated (Subject, Filename): e, e2, each with its own span of the shared folder
    assert by[("spNO.1", "e")].frame_numbers == list(range(60, 94))
    assert by[("spNO.1", "e2")].frame_numbers == list(range(93, 105))
    # upper-case J matched to folder j; 'Others' lower-cased
    j = by[("spNO.14", "J")]
    assert j.label == "others" and j.frames
    # the task folder matched is named, not the color/ folder below it
    assert _checks(load, "casme3/spNO.14/J")["clip_name_case"].message == "annotated clip 'J' found as folder 'j'"
    # offset 0 -> None, span ends at the apex
    z = by[("spNO.40", "e")]
    assert z.offset is None and z.frame_numbers[-1] == 1801
    assert "offset_zero" in _checks(load, "casme3/spNO.40/e")
    # corrected onset
    d = by[("spNO.216", "d")]
    assert d.onset == 2647 and "correction" in _checks(load, "casme3/spNO.216/d")
    assert "apex_outside" not in _checks(load, "casme3/spNO.216/d")


def test_schemes(tmp_path):
    load = load_dataset("casme3", write_casme3(tmp_path / "c3"))
    four = get_scheme("casme3-4class")
    assert four.unmapped(load.samples) == {}
    counts = {c: 0 for c in four.classes}
    for _, i in four.select(load.samples):
        counts[four.classes[i]] += 1
    assert counts == {"negative": 1, "positive": 2, "surprise": 0, "others": 4}
    obj = get_scheme("casme3-objective")
    assert {s.clip: obj.classes[i] for s, i in obj.select(load.samples)}["b"] == "III"


# the real label file's quirks (docs/datasets.md), made-up frames: a 410-frame "micro-expression" and onset = apex = 0
_QUIRK_ROWS = [("spNO.2", "j", "9", "9", "418", "4", "I", "others"),
               ("spNO.216", "e", "0", "0", "31", "4", "VII", "others")]


def test_quirks_are_reported_as_the_long_video_loader_reports_them(tmp_path):
    root = write_casme3(tmp_path / "c3", _QUIRK_ROWS)
    write_frames(root / "spNO.216" / "e" / "color", range(1, 31), "{}.jpg".format)  # the fake wrote frame 31 only
    clips = load_dataset("casme3", root)
    long = load_dataset("casme3-long", root)
    long_messages = {(i.check, i.message) for i in long.issues}
    for sid, checks in (("casme3/spNO.2/j", ("long_micro",)), ("casme3/spNO.216/e", ("onset_zero",))):
        found = _checks(clips, sid)
        for check in checks:
            assert (check, found[check].message) in long_messages  # the rule and its wording are shared
    assert "410 frames long (13.7 s at 30 fps)" in _checks(clips, "casme3/spNO.2/j")["long_micro"].message
    e = _checks(clips, "casme3/spNO.216/e")
    # apex 0 is "not annotated": an error for recognition, not a frame missing from disk
    assert e["apex_unknown"].severity == "error"
    assert "row 3: apex 0 (not annotated); stored as unknown; fix the annotation" in e["apex_unknown"].message
    assert {"onset_not_on_disk", "apex_not_on_disk", "apex_at_edge"}.isdisjoint(e)
    sample = next(s for s in clips.samples if s.clip == "e")
    assert (sample.onset, sample.apex, sample.offset) == (1, None, 31)
