"""`mmnet spot --preset NAME`: the published per-dataset parameters are used, their frame strides scaled from the
preset's own frame rate to --fps, and spot.json records both."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from mmnet.cli import main
from mmnet.spotting.config import PRESETS
from mmnet.synth.long import LongConfig, plan_recording, render_frames

pytest.importorskip("cv2")


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """A 7 s face-crop recording at 30 fps (frames img1..img210.png), one planted macro-expression."""
    config = LongConfig(frame_size=(140, 170), face_size=(140, 170), weights=(1.0, 0.0, 0.0), blinks_per_min=0.0,
                        macro_s=(1.0, 1.5), gap_s=(3.0, 3.0))
    folder = tmp_path_factory.mktemp("preset") / "frames"
    folder.mkdir()
    for n, frame in enumerate(render_frames(0, 1, 1, plan_recording(0, 1, 1, 210, config), config), 1):
        Image.fromarray(frame).save(folder / f"img{n}.png")
    return folder


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
