"""A face much smaller than the spotter's crop is enlarged into it with the camera's and encoder's noise: the
spotter says so (spotting.face_track.SMALL_FACE), naming its width, and says nothing about a face of ordinary size."""

from __future__ import annotations

from mmnet.spotting.config import spot_config
from mmnet.spotting.face_track import FaceTrack

CFG = spot_config("casme2", [])  # a 140 x 170 px crop


def _notes(widths: list[int]) -> list[str]:
    track = FaceTrack(CFG, 30, object())  # an aligner is not needed to say what the checks saw
    track.seen = [(30 * i, (100, 80, 100 + w, 80 + w)) for i, w in enumerate(widths)]
    return track.notes("rec.mp4")


def test_a_small_face_is_noted_with_its_width():
    (note,) = _notes([35, 36, 35, 34, 90])  # one larger detection does not hide a face that is small throughout
    assert note.startswith("rec.mp4: the face is small, 35 px wide") and "about 4.0x into the 140 px crop" in note
    assert "at least 70 px wide" in note


def test_a_face_of_ordinary_size_gets_no_note():
    assert _notes([124, 120, 130]) == [] and _notes([70, 72]) == [] and _notes([]) == []
