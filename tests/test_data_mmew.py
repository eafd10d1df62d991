"""MMEW loader on generated fake trees: both layouts, others/repression folder name."""

from __future__ import annotations

import pytest

from mmnet.data import get_scheme, load_dataset
from mmnet.errors import DatasetNotFoundError

from .fakes import MMEW_ROWS, write_mmew


@pytest.mark.parametrize("layout", ["emotion", "subject"])
@pytest.mark.parametrize("others_folder", ["others", "repression"])
def test_layouts(tmp_path, layout, others_folder):
    load = load_dataset("mmew", write_mmew(tmp_path / "MMEW_Final", layout=layout, others_folder=others_folder))
    assert len(load.samples) == len(MMEW_ROWS)
    assert load.errors == []
    s = {s.clip: s for s in load.samples}["S02-07-001"]
    assert s.subject == "S02" and s.label == "others" and s.frame_numbers == list(range(1, 11))
    assert s.frames[0][1].parent.parent.name == others_folder


def test_four_class_scheme(tmp_path):
    load = load_dataset("mmew", write_mmew(tmp_path / "m"))
    scheme = get_scheme("mmew-4class")
    got = {s.clip: scheme.classes[i] for s, i in scheme.select(load.samples)}
    assert got == {"S01-01-001": "happiness", "S01-02-001": "surprise", "S02-03-002": "disgust",
                   "S02-07-001": "others"}


def test_missing(tmp_path):
    root = write_mmew(tmp_path / "m")
    (root / "MMEW_Micro_Exp.xlsx").unlink()
    with pytest.raises(DatasetNotFoundError, match="MMEW_Micro_Exp.xlsx"):
        load_dataset("mmew", root)


@pytest.mark.parametrize("folder", ["S01-É-001", "s01-é-001", "S01-E\u0301-001"])
def test_a_clip_folder_is_found_whatever_its_case_and_unicode_form(tmp_path, folder):
    # lower() matched 's01-é-001' but not the decomposed 'E' + accent of a folder copied from macOS (or unpacked
    # from a zip made there): the row's clip was reported missing
    rows = [("S01", "S01-é-001", 1, 8, 15, "12", "happiness", None), *MMEW_ROWS[1:]]
    root = write_mmew(tmp_path / "m", rows)
    clip = root / "Micro_Expression" / "happiness" / "S01-é-001"
    clip.rename(clip.with_name(folder))
    load = load_dataset("mmew", root)
    assert load.errors == []
    sample = {s.clip: s for s in load.samples}["S01-é-001"]
    assert sample.frames[0][1].parent.name == folder
