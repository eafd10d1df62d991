"""A stretch of far larger motion than anywhere else in a recording (a hand over the face, a sharp head turn, a
camera settling after it starts) sets MEGC's threshold T = mean + p * (max - mean) above every ordinary motion: a
note names it, with T and what T would be without it, whether or not an interval was kept there; the intervals
themselves stay MEGC's (spotting.frozen.large_motion)."""

from __future__ import annotations

import numpy as np
import pytest

from mmnet.spotting.config import spot_config
from mmnet.spotting.flow_spotter import MotionCurves
from mmnet.spotting.frozen import LARGE_MOTION
from mmnet.spotting.peaks import spot_intervals

CFG = spot_config("casme2", [])
FPS = 30.0
STRIDES = {s: CFG.frames_at(getattr(CFG, s).k, FPS) for s in ("micro", "macro")}


def _scores(n: int, seed: int, every: int = 240) -> dict[str, np.ndarray]:
    """Per scale, a still face's noise (about 0.3 px, as a synthetic face's) with a macro-expression every
    ``every`` frames, peaking 0.5-0.8 px as a synthetic recording's do, and micro-expressions between them; each
    as the flow over frames k apart sees it, k / 2 frames before and after it (the shrink spot_intervals undoes)."""
    rng = np.random.default_rng(seed)
    out = {s: rng.uniform(0.25, 0.35, n) for s in STRIDES}
    for centre in range(every // 2, n - every // 2 - 10, every):
        height = rng.uniform(0.25, 0.5)
        for s, k in STRIDES.items():
            out[s][centre - 15 - k // 2:centre + 15 + k // 2] += height * np.hanning(30 + 2 * (k // 2))
        micro = centre + every // 2
        k = STRIDES["micro"] // 2
        out["micro"][micro - 4 - k:micro + 4 + k] += rng.uniform(0.2, 0.3) * np.hanning(8 + 2 * k)
    return out


def _spot(scores: dict[str, np.ndarray], flow: bool = True):
    n = len(scores["micro"])
    curves = MotionCurves(FPS, np.arange(n), {s: x[:, None] for s, x in scores.items()}, ("mouth",), dict(STRIDES))
    intervals, details = spot_intervals(curves, CFG, flow=flow)
    return intervals, details, details["macro"].get("warnings") or []


def _hand(scores: dict[str, np.ndarray], first: int, last: int, height: float) -> dict[str, np.ndarray]:
    """A hand passing over the face from frame ``first`` to ``last``: the crop moves ``height`` px more."""
    out = {s: x.copy() for s, x in scores.items()}
    for x in out.values():
        x[first:last + 1] += height * np.hanning(last - first + 1)
    return out


def test_a_hand_that_lifts_the_threshold_above_every_expression_is_named_with_the_threshold_it_sets():
    scores = _scores(900, 0)
    clean, details, notes = _spot(scores)
    assert not notes and [i for i in clean if i.type == "macro"]  # an ordinary recording: nothing to say
    hand = _hand(scores, 300, 330, 30.0)  # ~14 px smoothed, where the expressions peak below 1 px
    found, told, notes = _spot(hand)
    assert found == _spot(hand, flow=False)[0]  # MEGC's intervals, unchanged by the note
    (note,) = [n for n in notes if n.startswith("the macro motion at frames ")]
    first, last = (int(v) for v in note.split()[5].split("-"))
    assert first <= 300 and 330 <= last < 400 and f"({first / FPS:.1f}-{last / FPS:.1f} s" in note
    t = told["macro"]["threshold"]
    assert f"at T = {t:.3g} (" in note and "macro interval" in note  # the hand's own interval is kept
    without = float(note.split(f"at T = {t:.3g} (")[1].split(" without")[0])
    assert abs(without - details["macro"]["threshold"]) < 0.05 * details["macro"]["threshold"] < t / 3


def test_a_transient_at_the_start_of_the_recording_is_named_though_no_interval_is_kept_there():
    scores = _scores(900, 1)
    scores = {s: np.concatenate([np.linspace(8.0, 0.3, 30), x[30:]]) for s, x in scores.items()}  # the camera settles
    found, _, notes = _spot(scores)
    (note,) = [n for n in notes if n.startswith("the macro motion at frames 0-")]
    assert "no macro interval kept there" in note and not [i for i in found if i.type == "macro" and i.onset < 30]


def test_two_hands_are_both_named():
    scores = _hand(_hand(_scores(1800, 2), 300, 330, 30.0), 1200, 1220, 25.0)
    _, _, notes = _spot(scores)
    (note,) = [n for n in notes if n.startswith("the macro motion at frames")]
    assert note.count(" s, peak ") == 2


@pytest.mark.parametrize("height", [1.0, 2.5])
def test_motion_a_few_times_the_expressions_is_not_noted(height):
    # a finger on the cheek, or a recording's one large expression: a few times the others, not set apart
    scores = _hand(_scores(900, 3), 300, 315, height)
    _, details, notes = _spot(scores)
    assert np.nanmax(details["macro"]["smoothed"]) < LARGE_MOTION * 0.9 and not notes


def test_a_stretch_is_named_whole_and_only_the_stretches_far_above_the_rest():
    """A stretch whose curve dips between a small bump and its expression is one stretch, named once with its own
    peak; a stretch peaking just above the largest motion elsewhere is not named (at most three are)."""
    from mmnet.spotting.frozen import large_motion, large_motion_note

    x = np.full(300, 0.1)
    x[20:30] = 0.226  # the largest motion anywhere else
    x[60:90] = 1.4 * np.hanning(30) + 0.11
    x[120:160] = 0.2  # one stretch above the still level: a small bump (0.244), a dip, then its expression (1.2)
    x[122:126], x[135:155] = 0.244, 0.2 + 1.0 * np.hanning(20)
    x[200:240] = 0.2
    x[202:206], x[215:235] = 0.241, 0.2 + 1.55 * np.hanning(20)
    mask, rest = large_motion(x, np.ones(300, bool))
    assert rest == pytest.approx(0.226)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    assert list(zip(edges[::2], edges[1::2])) == [(60, 90), (120, 160), (200, 240)]  # whole, three at most
    note = large_motion_note("micro", x, (mask, rest), 0.45, 0.17, [], np.arange(300), lambda n: n / FPS)
    assert note.count(" s, peak ") == 3 and "peak 0.244" not in note and "peak 0.241" not in note
    assert "frames 60-89 " in note and ", 120-159 (" in note and ", 200-239 (" in note
    assert "is each 5x or more the largest anywhere else (0.226)" in note  # 1.2 / 0.226, the lowest named
