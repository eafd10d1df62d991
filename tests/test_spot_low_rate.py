"""A recording slower than the preset's rate: its micro-expression windows shrink to a frame or two, and the spot
says so (frames_at kept them at 1 silently, and 0.60-0.60 s micro intervals were reported at 5 fps)."""

import numpy as np
import pytest

from mmnet.spotting.config import spot_config
from mmnet.spotting.flow_spotter import extract_motion


def _frames(n=12, size=(40, 48)):
    rng = np.random.default_rng(0)
    return [(i, rng.integers(0, 255, (*size, 3), dtype=np.uint8)) for i in range(n)]


@pytest.mark.parametrize(("fps", "said"), [
    (10, "at 10 fps a micro-expression (at most 0.5 s) spans at most 5 frames, and the casme2 preset's "
         "micro-expression windows, set at 30 fps, shrink to a stride of 2 and a shortest interval of 2 frames"),
    (5, "at 5 fps a micro-expression (at most 0.5 s) spans at most 2 frames, and the casme2 preset's "
        "micro-expression windows, set at 30 fps, shrink to a stride of 1 and a shortest interval of 1 frame:"),
    (25, None),  # a stride of 5 and a shortest interval of 6 frames: enough
    (30, None),
])
def test_a_rate_too_low_for_micro_expressions_is_noted(fps, said):
    curves = extract_motion(_frames(), fps, spot_config("casme2", ["face.mode=none"]), source="slow.mp4")
    slow = [n for n in curves.notes if "micro-expression (at most" in n]
    if said is None:
        assert slow == []
    else:
        (note,) = slow
        assert note.startswith(f"slow.mp4: {said}") and "validated at 30 fps or more" in note


def test_the_samm_preset_at_30_fps_is_not_noted():
    """SAMM's windows are set at 200 fps: scaled to 30 fps they still span 6 and 7 frames."""
    assert spot_config("samm").rate_note(30) is None
    assert "shrink to a stride of 1" in spot_config("samm").rate_note(5)


def test_no_face_says_to_rotate_a_sideways_video():
    """A phone video whose rotation tag was lost shows the face on its side, which the detector does not find: the
    error named --no-align only."""
    from mmnet.errors import PreprocessError

    class NoFace:  # the detector on a face turned a quarter: nothing
        points = 68

        def detect(self, grey):
            return []

    with pytest.raises(PreprocessError) as caught:
        extract_motion(_frames(), 30, spot_config("casme2"), aligner=NoFace(), source="phone.mp4")
    said = str(caught.value)
    assert said.startswith("phone.mp4: no face found in any of the")
    assert ("If the face appears on its side or upside down (e.g. a phone video whose rotation tag was lost), "
            "rotate the video first") in said
