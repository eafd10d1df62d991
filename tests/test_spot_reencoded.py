"""Artefacts of real footage, written as H.264 with PyAV and spotted end to end: a freeze that a video encoder wrote
again (its decoded frames differ by a grey level or two, and change at each keyframe) is one frozen stretch, and
the camera's exposure steps are named (spotting.frozen, spotting.lighting)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mmnet.spotting.config import spot_config
from mmnet.spotting.flow_spotter import extract_motion, open_recording
from mmnet.spotting.peaks import spot_intervals
from mmnet.synth.long import LongConfig, plan_recording, render_frames

av = pytest.importorskip("av")
pytest.importorskip("cv2")
pytestmark = pytest.mark.skipif(
    __import__("importlib").util.find_spec("dlib") is None, reason="needs the face extra (dlib)")

FRAMES, FPS = 240, 30
CFG = spot_config("casme2", [])


def _video(path, edit, **options):
    """A synthetic recording (8 s, a face in 320 x 240 px) through ``edit(i, frame)``, as H.264."""
    config = LongConfig(frame_size=(320, 240), face_size=(140, 170), blinks_per_min=0.0)
    rec = plan_recording(0, 1, 1, FRAMES, config)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS, options={"g": "30", "keyint_min": "30", "sc_threshold": "0"})
        stream.width, stream.height, stream.pix_fmt, stream.bit_rate = 320, 240, "yuv420p", 200_000
        for i, frame in enumerate(render_frames(0, 1, 1, rec, config)):
            for packet in stream.encode(av.VideoFrame.from_ndarray(edit(i, frame), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def _spot(path):
    frames, fps, count = open_recording(path)
    curves = extract_motion(frames, fps, CFG, declared=count, source=path.name)
    _, details = spot_intervals(curves, CFG, flow=True)
    return curves.notes + (details["macro"].get("warnings") or [])


def test_a_freeze_written_again_by_an_encoder_is_one_frozen_stretch(tmp_path):
    held = {}

    def freeze(i, frame):  # 2 s of frame 90 repeated, keyframes at 90 and 120 (every 30 frames)
        if i == 90:
            held["frame"] = frame
        return held["frame"] if 90 <= i < 150 else frame

    notes = _spot(_video(tmp_path / "frozen.mp4", freeze))
    (note,) = [n for n in notes if "do not change" in n]
    first, last = (int(v) for v in note.split()[1].split("-"))
    assert note.count(" s)") == 1 and first <= 96 and 145 <= last <= 150, note


def test_exposure_steps_are_named(tmp_path):
    def gain(i, frame):  # the camera's gain up 12 % at frame 80, down to 10 % under the start at 160
        g = 1.12 if 80 <= i < 160 else (0.9 if i >= 160 else 1.0)
        return np.clip(frame * g, 0, 255).astype(np.uint8)

    notes = _spot(_video(tmp_path / "gain.mp4", gain))
    (note,) = [n for n in notes if "brightness steps" in n]
    said = [(int(a), int(c)) for a, _, c in re.findall(r"(\d+) \((\d+\.\d) s, ([+-]\d+)%\)", note)]
    assert len(said) == 2 and abs(said[0][0] - 80) <= 3 and abs(said[1][0] - 160) <= 3, note
    assert 8 <= said[0][1] <= 14 and -22 <= said[1][1] <= -16, note  # from 1.12 to 0.9: about -20 %
