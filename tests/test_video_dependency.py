"""The PyAV release the extras ask for: one whose frames carry a video's rotation (docs/inference.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement

WITHOUT_ROTATION = ("12.0.0", "13.1.0", "14.0.1")  # releases whose VideoFrame has no rotation
FIRST_WITH_ROTATION = "14.1.0"


def test_the_extras_that_bring_pyav_ask_for_a_release_that_reads_a_videos_rotation():
    # av>=12 allowed PyAV 12 to 14.0, whose frames have no rotation: a phone recording was read sideways, silently
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    pins = [Requirement(quoted) for quoted in re.findall(r'"(av\b[^"]*)"', text)]
    assert [pin.name for pin in pins] == ["av", "av"]  # the video and serve extras
    for pin in pins:
        assert pin.specifier.contains(FIRST_WITH_ROTATION), pin
        assert not any(pin.specifier.contains(old) for old in WITHOUT_ROTATION), pin
    av = pytest.importorskip("av")
    assert hasattr(av.VideoFrame, "rotation"), av.__version__
