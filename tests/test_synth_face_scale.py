"""Faces larger than CASME II's 280 x 340 crops are drawn with their features scaled to the face; faces up to that
size, the demo's and the tests', keep their exact pixels."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest

from mmnet import synth
from mmnet.synth.face import REFERENCE_FACE, feature_scale
from mmnet.synth.long import LongConfig, face_size_for, plan_recording, recording_face, render_frames

# 4 x 4 block means (grey levels) of frames drawn before faces larger than 280 x 340 got scaled features (generator
# version 2), at the sizes the demo and the tests use. Compared within 0.25 of a grey level rather than by hash: numpy's
# SIMD maths (AVX2 vs AVX-512) may round a pixel differently from one CPU to another, while any change to the drawing
# (a stroke, a random draw) moves some block mean by far more. If the drawing changed on purpose, raise
# GENERATOR_VERSION, rerun the demo for docs/synthetic-data.md and record the new values (``_fingerprint`` below).
TOLERANCE = 0.25
DEMO_CLIPS = [
    [59.4, 36.3, 35.6, 60.7, 105.2, 142.7, 139.3, 102.0, 109.7, 139.1, 142.7, 110.2, 71.4, 102.9, 101.2, 67.3],
    [59.3, 36.2, 35.6, 60.8, 105.7, 143.1, 139.7, 102.0, 110.0, 139.2, 142.8, 110.0, 71.5, 102.9, 101.1, 67.3],
    [58.7, 36.0, 34.8, 58.7, 99.7, 136.9, 134.4, 100.0, 105.3, 135.8, 138.9, 109.7, 69.2, 100.5, 99.8, 66.6],
    [166.9, 93.9, 99.8, 167.8, 97.0, 79.3, 87.2, 114.3, 79.5, 78.6, 84.7, 98.6, 147.7, 88.6, 96.2, 158.8],
    [166.7, 93.8, 99.8, 167.6, 96.9, 79.2, 87.0, 114.3, 79.3, 78.6, 84.5, 98.4, 147.4, 88.4, 96.0, 158.6],
    [178.7, 102.0, 107.9, 178.6, 104.7, 83.8, 92.1, 121.9, 84.8, 84.0, 90.6, 103.9, 155.8, 92.3, 100.2, 166.8],
    [180.2, 103.0, 109.0, 180.4, 105.6, 84.6, 93.0, 123.2, 85.4, 84.7, 91.3, 105.1, 157.1, 93.1, 101.1, 168.4],
]
SPOTTING_DEMO_FRAMES = [
    [157.4, 134.3, 129.3, 143.3, 150.8, 145.0, 128.1, 154.3, 145.7, 137.8, 134.7, 162.5, 148.8, 140.8, 144.3, 157.6],
    [157.0, 134.0, 129.8, 142.8, 150.3, 143.9, 127.3, 153.8, 145.3, 137.5, 134.7, 162.0, 148.3, 140.1, 143.9, 157.1],
    [157.9, 134.7, 130.9, 143.6, 151.1, 144.5, 127.9, 154.6, 146.1, 138.3, 135.6, 162.9, 149.1, 140.8, 144.7, 158.0],
]
DEFAULT_LONG_FACE = [
    [159.1, 133.6, 124.0, 150.2, 150.2, 129.4, 139.0, 154.5, 145.7, 144.4, 157.2, 156.7, 152.2, 149.2, 149.7, 153.5],
]


def _fingerprint(image, n=4) -> list[float]:
    a = np.asarray(image, dtype=np.float64)
    a = a.mean(axis=2) if a.ndim == 3 else a
    h, w = a.shape[0] // n * n, a.shape[1] // n * n
    return a[:h, :w].reshape(n, h // n, n, w // n).mean(axis=(1, 3)).round(1).ravel().tolist()


def _assert_close(measured, recorded):
    assert len(measured) == len(recorded)
    worst = float(np.abs(np.asarray(measured) - np.asarray(recorded)).max())
    assert worst <= TOLERANCE, f"a block mean moved by {worst:.2f} grey levels: the drawing changed"


def test_clips_at_the_demo_size_keep_their_pixels(tmp_path):
    from PIL import Image

    root = synth.write_dataset(tmp_path / "set", subjects=2, clips_per_subject=2, seed=0, config=synth.DEMO_CONFIG)
    files = sorted((root / "Cropped").rglob("*.jpg"))
    assert len(files) == 49
    _assert_close([_fingerprint(Image.open(p)) for p in files[::8]], DEMO_CLIPS)


def test_recordings_at_the_spotting_demo_and_default_sizes_keep_their_pixels():
    from mmnet.spotting.demo import DEMO_FRAME

    config = LongConfig(**DEMO_FRAME)
    frames = list(render_frames(0, 1, 1, plan_recording(0, 1, 1, 12, config), config))
    _assert_close([_fingerprint(f) for f in frames[::4]], SPOTTING_DEMO_FRAMES)
    _, canvas = recording_face(0, 1, LongConfig())  # 640 x 480 with a 280 x 340 face
    _assert_close([_fingerprint(canvas)], DEFAULT_LONG_FACE)


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
