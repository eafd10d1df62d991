"""The wording of prepare's face_moved and recording warnings: where a sampled span's edges may lie, and a length
just over the recording threshold not rounded down to it."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from mmnet.preprocess.face_watch import FaceWatch, long_video_warning


class _Square:
    def detect(self, image):
        ys, xs = np.nonzero(image[..., 0] > 200)
        return [SimpleNamespace(box=(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))] \
            if len(xs) else []


def test_a_span_before_the_onset_may_extend_toward_it_not_only_start_earlier():
    watch = FaceWatch(_Square(), (40, 20, 60, 40), last=45)  # a frame folder: a look every 15 frames
    for n in range(46):  # the face is away on frames 0-20, in place from 21 (the onset, 30, among them)
        frame = np.zeros((60, 200, 3), np.uint8)
        frame[20:40, 40:60] = 255 if n > 20 else 0
        watch.see(n, frame)
    warning = watch.warning()
    assert "frames 0-15 (no face near its place)" in warning  # the look at 15 is the span's last
    assert "beyond its first and its last frame" in warning and "start up to" not in warning


def test_a_video_just_over_the_recording_length_is_not_said_to_be_3_0_s():
    assert "is over 3 s long (91 frames at 30 fps)" in long_video_warning("v.mp4", 30.0, 91)
    assert "is 5.0 s long (150 frames" in long_video_warning("v.mp4", 30.0, 150)
    assert long_video_warning("v.mp4", 30.0, 90) is None


def test_predict_says_the_same_of_a_video_just_over_it(tmp_path):
    pytest.importorskip("av")
    from mmnet.infer.clips import load_clip
    from mmnet.infer.recordings import long_clip_warning
    from tests.serve_helpers import mp4_bytes

    (tmp_path / "v.mp4").write_bytes(mp4_bytes(np.zeros((302, 32, 32, 3), np.uint8), fps=100))
    assert "this clip is over 3 s (302 frames at 100 fps) long" in long_clip_warning(load_clip(tmp_path / "v.mp4"))


def test_the_record_docs_preprocessing_shows_is_one_a_watch_writes():
    # the page showed spans ending one frame before a look ([15, 29], [30, 44]): a span's ends are looked-at frames
    import json
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "preprocessing.md").read_text()
    shown = json.loads(re.search(r'`(\{"step": 15, "spans": .*?\})`', text).group(1))
    watch = FaceWatch(_Square(), (40, 20, 60, 40), last=75)  # a frame folder: a look every 15 frames
    for n in range(76):  # in place on 0-14 and from 75; moved on 15-59; gone on 60-74
        frame = np.zeros((60, 200, 3), np.uint8)
        if n < 15 or n == 75:
            frame[20:40, 40:60] = 255
        elif n < 60:
            frame[20:40, 50:70] = 255  # half a face width to the right
        watch.see(n, frame)
    record = watch.record() if callable(watch.record) else watch.record
    assert record == shown
