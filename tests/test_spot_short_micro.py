"""Short micro-expressions (0.2-0.3 s at 30 fps) keep their length: the bounds are read on the unsmoothed score (a
moving average of 2k frames keeps any shorter expression above half its height for about 2k frames), the casme2
micro gate is 6 frames (0.2 s; MDMD's was 7), and every gate is applied exactly as set."""

from __future__ import annotations

import numpy as np
import pytest

from mmnet.spotting.config import spot_config
from mmnet.spotting.flow_spotter import MotionCurves
from mmnet.spotting.peaks import spot_intervals

from .preprocess_helpers import face_frame, skip_without_face_extra

FPS = 30.0
#: first frame (from 0), length, amplitude (px) and place of the micro-expressions: a brow raise of 0.2 s and a pull of
#: the mouth corners of 0.3 s, 2.5 s apart on a still face (mostly still: the curve's median is the still face's)
MICROS = ((40, 9, 3.9, "mouth"), (110, 6, 3.9, "brows"))
MACRO = (180, 45)  # and of the macro-expression (brows and mouth, 1.5 s)


def _frames(n: int, micros=MICROS):
    """The astronaut's face on a 320 x 240 frame, swaying by 1-1.5 px, with ``MICROS`` and a 5 px raise of the brows
    and mouth corners for ``MACRO``; RGB, camera noise of 1 grey level."""
    import cv2

    from mmnet.preprocess.face import FaceAligner

    base = face_frame((320, 240))
    aligner = FaceAligner()
    marks = aligner.landmarks(base, aligner.detect(base)[0])
    h, w = base.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)

    def bump(point):
        return np.exp(-((xx - point[0]) ** 2 + (yy - point[1]) ** 2) / (2 * 6.0 ** 2)).astype(np.float32)

    corners = bump(marks[48]) + bump(marks[54])
    mouth = (0.7 * (bump(marks[48]) - bump(marks[54])), 0.7 * corners)  # corners out and up
    brows = bump(marks[17:22].mean(0)) + bump(marks[22:27].mean(0))
    where = {"mouth": mouth, "brows": (0 * brows, brows)}
    events = [(start, length, amp * where[at][0], amp * where[at][1]) for start, length, amp, at in micros]
    events.append((*MACRO, 5.0 * mouth[0], 5.0 * (mouth[1] + brows)))
    rng = np.random.default_rng(1)
    for i in range(n):
        mx, my = xx.copy(), yy.copy()
        for start, length, dx, dy in events:
            if start <= i < start + length:
                weight = np.float32(np.sin(np.pi * (i - start + 0.5) / length))
                mx, my = mx + weight * dx, my + weight * dy
        image = cv2.remap(base, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        sway = np.float32([[1, 0, 1.5 * np.sin(2 * np.pi * i / FPS / 4.0)], [0, 1, np.sin(2 * np.pi * i / FPS / 5.3)]])
        image = cv2.warpAffine(image, sway, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        yield i, np.clip(image + rng.normal(0, 1.0, image.shape), 0, 255).astype(np.uint8)


def test_the_casme2_micro_gate_is_0_2_s_and_scales_with_the_rate():
    for config in (spot_config("casme2"), spot_config("casme2", ["micro.k=6"])):
        assert config.micro.min_length == 6
        assert [config.frames_at(config.micro.min_length, fps) for fps in (30, 60, 25)] == [6, 12, 5]
    assert (spot_config("samm").micro.min_length, spot_config("casme3").micro.min_length) == (47, 5)  # as published


def _curves(x: np.ndarray, first: int = 0) -> MotionCurves:
    return MotionCurves(fps=FPS, numbers=np.arange(first, first + len(x)), scores={"micro": x[:, None]},
                        regions=("mouth",), strides={"micro": 6})


@pytest.mark.parametrize("gate,kept", [(None, True), ("micro.min_length=12", False), ("micro.min_length=7", True)])
def test_a_micro_gate_set_is_applied_as_set(gate, kept):
    """The planted micro-expression of ``SEGMENT`` is measured as 7-11 frames: kept by the preset's 6 and a gate of 7,
    dropped by a gate of 12 (it was cut to 6 frames without a word)."""
    curves = _curves(np.concatenate([np.random.default_rng(0).uniform(0.1, 0.18, 60), SEGMENT,
                                     np.random.default_rng(1).uniform(0.1, 0.18, 60)]))
    (measured,), _ = spot_intervals(curves, spot_config("casme2", ["micro.min_length=1"]), types=("micro",))
    assert 7 <= measured.offset - measured.onset + 1 <= 11, measured
    intervals, _ = spot_intervals(curves, spot_config("casme2", [gate] if gate else None), types=("micro",))
    assert intervals == ([measured] if kept else []), intervals


#: The micro score (px) of frames 172-198 of `mmnet demo --spotting`'s first recording (seed 0), around a planted
#: micro-expression of frames 179-191, 0.43 s; on both sides 2 s of a still face's score (median 0.14, as there).
PLANTED = (179, 191)
SEGMENT = [0.13, 0.09, 0.15, 0.09, 0.15, 0.09, 0.16, 0.2, 0.37, 0.58, 0.44, 0.35, 0.18, 0.23, 0.23, 0.51, 0.54, 0.52,
           0.38, 0.31, 0.24, 0.1, 0.14, 0.21, 0.15, 0.14, 0.13]


def test_the_bounds_are_read_on_the_unsmoothed_score():
    still = np.random.default_rng(0).uniform(0.1, 0.18, 60)
    curves = _curves(np.concatenate([still, SEGMENT, still]), first=172 - 60)
    intervals, _ = spot_intervals(curves, spot_config("casme2"), types=("micro",))
    assert len(intervals) == 1, intervals
    found = intervals[0]
    # the smoothed curve's half-height run gave 185-190: 6 frames, dropped by the 7-frame gate, and a miss if kept
    # (IoU 0.46 with the planted 13 frames)
    assert _iou(PLANTED, (found.onset, found.offset)) >= 0.5, found


def _iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    overlap = max(0, min(a[1], b[1]) - max(a[0], b[0]) + 1)
    return overlap / (a[1] - a[0] + 1 + b[1] - b[0] + 1 - overlap)


@pytest.mark.slow
def test_micro_expressions_of_0_2_and_0_3_s_are_kept_and_match():
    skip_without_face_extra()
    from mmnet.spotting.flow_spotter import extract_motion

    cfg = spot_config("casme2")
    curves = extract_motion(_frames(250), FPS, cfg)
    intervals, _ = spot_intervals(curves, cfg, flow=True)
    micro = [i for i in intervals if i.type == "micro"]
    assert len(micro) == len(MICROS), intervals  # each micro-expression once; nothing from the sway or the noise
    for (start, length, _, _), found in zip(MICROS, micro):
        assert _iou((start, start + length - 1), (found.onset, found.offset)) >= 0.5, (start, found)  # MEGC's rule
    # the 0.2 s one is measured at its true 6 frames: MDMD's 7-frame gate would drop it, the preset's 6 keeps it
    assert min(i.offset - i.onset + 1 for i in micro) < 7, micro
    assert [i.type for i in intervals if i.onset > MICROS[-1][0] + MICROS[-1][1]] == ["macro"], intervals
