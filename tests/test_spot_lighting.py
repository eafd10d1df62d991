"""The face crop's brightness (one mean grey level a frame): steps and flicker are named, a still face's noise, a
blink or a brief hand is not (spotting.lighting); a progress file of an earlier version, without the brightness,
still resumes (spotting.motion_state)."""

from __future__ import annotations

import numpy as np

from mmnet.spotting.lighting import flicker, lighting_notes, steps

FPS = 30.0


def _light(n: int = 900, seed: int = 0) -> np.ndarray:
    """A still face's crop brightness: about 120 grey levels, 0.05 % noise, a blink (-1 %) every 4 s."""
    rng = np.random.default_rng(seed)
    b = 120.0 * (1 + 0.0005 * rng.standard_normal(n))
    for at in range(60, n, 120):
        b[at:at + 5] *= 0.99
    return b


def _notes(b: np.ndarray) -> list[str]:
    return lighting_notes(b, np.arange(len(b)), FPS, lambda number: number / FPS, "rec.mp4")


def test_a_still_face_with_blinks_a_brief_hand_and_no_face_for_a_while_gets_no_note():
    b = _light()
    b[300:330] *= 1.3  # a hand passes (1 s): no step, the level comes back
    b[500:560] = np.nan  # no face
    assert _notes(b) == []


def test_exposure_steps_are_named_where_they_are():
    b = _light()
    b[250:] *= 1.12
    b[500:] *= 0.8
    assert [at for at, _ in steps(b, FPS)] == [250, 500]
    (note,) = _notes(b)
    assert "steps at frame(s) 250 (8.3 s, +12%), 500 (16.7 s, -20%)" in note


def test_mains_flicker_is_named_with_its_stretch():
    b = _light()
    b[300:600] *= 1 + 0.03 * np.sin(2 * np.pi * 3 * np.arange(300) / FPS)  # +-3 % at 3 Hz for 10 s
    ((first, last, spread),) = flicker(b, FPS)
    assert abs(first - 300) <= 15 and abs(last - 599) <= 15 and 0.015 < spread < 0.03
    (note,) = _notes(b)
    assert note.startswith(f"rec.mp4: the face's brightness flickers (by {spread:.1%} RMS) at frames {first}-{last}")


def test_a_progress_file_without_the_brightness_resumes_with_it_unknown(monkeypatch):
    from mmnet.spotting import motion_state
    from mmnet.spotting.regions import MEASURED

    n = 4
    arrays = {"numbers": np.arange(n), "absent": np.zeros(n, bool), "window": np.zeros((0, 170, 140), np.uint8),
              "window_present": np.zeros(0, bool),
              **{f"ends_{s}": np.zeros((n, len(MEASURED))) for s in ("micro", "macro")}}
    # only the brightness is looked at here: the face track's part of a progress file has tests of its own
    monkeypatch.setattr(motion_state.FaceTrack, "parse_state", staticmethod(lambda *args, **kwargs: {}))
    parsed = motion_state.parse({"frames": n, "shape": None, "face": None}, arrays, (170, 140))
    assert len(parsed["light"]) == n and np.isnan(parsed["light"]).all()


def test_an_exposure_step_under_flicker_is_named_once():
    for hz, amp in ((8, 0.03), (3, 0.05), (1.5, 0.05)):  # the levels are confirmed on half-second means
        b = _light()
        b[250:] *= 1.10
        b *= 1 + amp * np.sin(2 * np.pi * hz * np.arange(len(b)) / FPS)
        (step,) = steps(b, FPS)  # a slow flicker splits the seconds' means: still one step
        assert abs(step[0] - 250) <= 10 and 0.08 < step[1] < 0.12, (hz, step)
        notes = _notes(b)
        assert any("brightness steps at frame(s)" in note for note in notes), hz
        assert any("brightness flickers" in note for note in notes), hz
