"""Datasets prepared on Windows and copied to Linux: Excel's lock files, decimal commas, names in another case,
Windows paths in a config."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmnet.data import load_dataset
from mmnet.data.annotations import frame_number
from mmnet.data.long_video import frame_value
from mmnet.errors import ConfigError

from .fakes import write_frames


def _checks(load) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for i in load.issues:
        out.setdefault(i.check, []).append(i.message)
    return out


@pytest.mark.parametrize(("text", "value"), [("29,97", 29.97), ("566,4", 566.4), ("52,0", 52.0), ("12.000", 12.0),
                                             ("1234,000", 1234.0), ("1,000", None), ("12,345", None), ("1,2,3", None)])
def test_a_decimal_comma_is_read_but_not_one_that_may_separate_thousands(text, value):
    assert frame_value(text) == value


def test_a_whole_frame_with_a_comma_that_may_separate_thousands_is_refused_not_read_as_one():
    assert frame_number("12.000") == 12 and frame_number("46,0") == 46 and frame_number("46,00") == 46
    assert frame_number("1,000") is None and frame_number("46,000") is None


def _long_root(root: Path, rows: list[str]) -> Path:
    write_frames(root / "P01" / "rec1", range(1, 61), "frame_{:04d}.jpg".format)
    (root / "intervals.csv").write_text("\n".join(["subject;video;onset;offset;type;fps", *rows]) + "\n",
                                        encoding="utf-8")
    return root


def test_a_european_semicolon_table_long_with_decimal_commas_loads(tmp_path):
    load = load_dataset("table-long", _long_root(tmp_path, ["P01;P01/rec1;5,0;12;micro;29,97"]))
    assert not load.errors, _checks(load)
    (video,) = load.videos
    assert video.fps == pytest.approx(29.97)
    assert [(i.onset, i.offset) for i in video.intervals] == [(5, 12)]


def test_a_comma_that_may_separate_thousands_is_named_in_the_error(tmp_path):
    load = load_dataset("table-long", _long_root(tmp_path, ["P01;P01/rec1;1,000;1200;micro;30"]))
    (message,) = _checks(load)["bad_value"]
    assert "'1,000'" in message and "thousands separator or a decimal comma" in message
    from mmnet.data.table_long import check_fps

    with pytest.raises(ConfigError, match="thousands separator or a decimal comma"):
        check_fps("29,970", "--fps")
    assert check_fps("29,97", "--fps") == pytest.approx(29.97)
