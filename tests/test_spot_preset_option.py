"""`mmnet spot --preset NAME`: the published per-dataset parameters are used, their frame strides scaled from the
preset's own frame rate to --fps, and spot.json records both."""

from __future__ import annotations

import json

import pytest

from mmnet.cli import main
from mmnet.spotting.config import PRESETS

from .fakes_long import write_face_recording

pytest.importorskip("cv2")
pytestmark = pytest.mark.slow  # a 7 s recording rendered, then spotted four times (~15-25 s)


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """A 7 s face-crop recording at 30 fps (frames img1..img210.png), one planted macro-expression."""
    return write_face_recording(tmp_path_factory.mktemp("preset") / "frames")


def _spot(recording, fps: int, capsys, *preset: str) -> dict:
    assert main(["spot", str(recording), "--fps", str(fps), "--no-align", "--json", "--no-progress", *preset]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("fps", [30, 60])
def test_the_samm_preset_is_used_and_scaled_to_the_recordings_rate(recording, fps, capsys):
    samm, casme2 = _spot(recording, fps, capsys, "--preset", "samm"), _spot(recording, fps, capsys)
    for name, result in (("samm", samm), ("casme2", casme2)):
        preset = PRESETS[name]
        assert result["config"]["preset"] == name and result["config"]["fps_reference"] == preset["fps_reference"]
        for kind in ("micro", "macro"):
            for key in ("k", "smooth", "distance", "min_length", "max_length"):
                assert result["config"][kind][key] == preset[f"{kind}.{key}"]  # at the preset's own rate
            # the flow strides used: the preset's, in frames at --fps
            assert result["strides"][kind] == max(1, round(preset[f"{kind}.k"] * fps / preset["fps_reference"]))
    assert samm["strides"] != casme2["strides"]
