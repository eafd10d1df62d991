"""CAS(ME)^3 part A loader on generated fake trees: text cells, repeated pairs, quirks."""

from __future__ import annotations

import pytest

from mmnet.data import get_scheme, load_dataset

from .fakes import CASME3_ROWS, write_casme3


def _checks(load, sid):
    return {i.check: i for i in load.issues if i.sample_id == sid}


@pytest.mark.parametrize("nested", [False, True])
def test_rows_and_frames(tmp_path, nested):
    load = load_dataset("casme3", write_casme3(tmp_path / "c3", nested=nested))
    by = {(s.subject, s.clip): s for s in load.samples}
    assert len(load.samples) == len(CASME3_ROWS)
    s = by[("spNO.1", "b")]
    assert (s.onset, s.apex, s.offset, s.label, s.aus) == (166, 175, 179, "disgust", ("4",))
    assert s.extra["objective_class"] == 3 and s.frame_numbers == list(range(166, 180))
    assert s.frames[0][1].parent.name == "color"
    # repeated (Subject, Filename): e, e2, each with its own span of the shared folder
    assert by[("spNO.1", "e")].frame_numbers == list(range(62, 97))
    assert by[("spNO.1", "e2")].frame_numbers == list(range(96, 107))
    # upper-case J matched to folder j; 'Others' lower-cased
    j = by[("spNO.14", "J")]
    assert j.label == "others" and j.frames
    assert "clip_name_case" in _checks(load, "casme3/spNO.14/J")
    # offset 0 -> None, span ends at the apex
    z = by[("spNO.40", "e")]
    assert z.offset is None and z.frame_numbers[-1] == 1824
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
