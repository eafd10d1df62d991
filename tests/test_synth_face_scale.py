"""Faces larger than CASME II's 280 x 340 crops are drawn with their features scaled to the face; faces up to that
size, the demo's and the tests', keep their exact pixels."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

import numpy as np
import pytest

from mmnet import synth
from mmnet.synth.face import REFERENCE_FACE, feature_scale
from mmnet.synth.long import LongConfig, face_size_for, plan_recording, recording_face, render_frames

# sha256 of frames drawn before faces larger than 280 x 340 got scaled features (generator version 2). Another
# value means the demo's frames, and the figures published from them, changed: if the drawing changed on purpose,
# raise GENERATOR_VERSION, rerun the demo for docs/synthetic-data.md and record the new values here.
DEMO_CLIPS_SHA256 = "e39fbf927733b066f4e676d5b4d75b7a81594a2396690f9706e21555ffce0751"
SPOTTING_DEMO_FRAMES_SHA256 = "82a618b8b7b3a361804acdf46b2cd22e3a4861a8123aa88df25cbbb5c95467d6"
DEFAULT_LONG_FACE_SHA256 = "95b0f912cda24d0ff3977b9db4597f7981abd537ff09d2d3a60d0527962ad44d"


def test_clips_at_the_demo_size_keep_their_bytes(tmp_path):
    root = synth.write_dataset(tmp_path / "set", subjects=2, clips_per_subject=2, seed=0, config=synth.DEMO_CONFIG)
    h = hashlib.sha256()
    for p in sorted((root / "Cropped").rglob("*.jpg")):
        h.update(p.relative_to(root).as_posix().encode() + p.read_bytes())
    assert h.hexdigest() == DEMO_CLIPS_SHA256


def test_recordings_at_the_spotting_demo_and_default_sizes_keep_their_pixels():
    from mmnet.spotting.demo import DEMO_FRAME

    config = LongConfig(**DEMO_FRAME)
    h = hashlib.sha256()
    for frame in render_frames(0, 1, 1, plan_recording(0, 1, 1, 12, config), config):
        h.update(frame.tobytes())
    assert h.hexdigest() == SPOTTING_DEMO_FRAMES_SHA256
    _, canvas = recording_face(0, 1, LongConfig())  # 640 x 480 with a 280 x 340 face
    assert hashlib.sha256(np.clip(canvas + 0.5, 0, 255).astype(np.uint8).tobytes()).hexdigest() == (
        DEFAULT_LONG_FACE_SHA256
    )


@pytest.mark.parametrize("size", [(64, 64), (140, 170), REFERENCE_FACE, (400, 340), (280, 900)])
def test_faces_up_to_the_reference_size_are_drawn_at_scale_1(size):
    assert feature_scale(size) == 1.0


def test_a_1080p_face_is_drawn_at_its_scale():
    w, h = face_size_for((1920, 1080))
    assert feature_scale((w, h)) == pytest.approx(min(w / 280, h / 340)) and feature_scale((w, h)) > 2.2


def _meta(version: int, **config) -> dict:
    return {"generator": "mmnet synth", "generator_version": version, "config": config}


def test_a_version_2_set_is_this_generators_only_where_its_faces_are_drawn_as_before():
    clips = json.loads(json.dumps(asdict(synth.DEMO_CONFIG)))
    assert synth.older_generator(_meta(2, **clips)) is None  # the demo's set: the same pixels, not drawn again
    assert synth.older_generator(_meta(2, face_size=[140, 170])) is None  # the spotting demo's recordings
    assert "version 2 " in synth.older_generator(_meta(2, face_size=list(face_size_for((1920, 1080)))))
    assert "version 2 " in synth.older_generator(_meta(2, **{**clips, "image_size": [560, 680]}))
    assert "version 2 " in synth.older_generator(_meta(2))  # no size recorded: not known to be the same
    assert "version 1 " in synth.older_generator(_meta(1, **clips))  # dark skin drawn otherwise
