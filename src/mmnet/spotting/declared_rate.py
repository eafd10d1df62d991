"""A video whose own declared frame rate ``mmnet spot --fps`` replaces: a high-speed camera's footage.

High-speed cameras (200 fps and more) often export their footage with a playback rate in the container (30 fps:
slow motion in any player). Nothing in the file tells the capture rate, so ``--fps`` gives it: the spotter's windows
and every time in the table, intervals.csv and spot.json are then on the capture rate (frame / fps). A player, ELAN
or BORIS still plays the file at its own declared rate, so spots.eaf, which links the file, keeps the file's own
timeline (frame / the declared rate): ELAN sought to an annotation shows its frames, and ``mmnet score-spots
--recording VIDEO`` (the file's rate) reads them back as the same frames. spot.json records both rates.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DECLARED_FPS", "FAR", "declared_rate", "override_note"]

#: spot.json's key for the rate the video file itself declares, where --fps replaced it with another
DECLARED_FPS = "declared_fps"
#: Rates further apart than this (relative) are no rounding of one rate (29.97 for 30): --fps gives a capture rate
#: other than the file's playback rate, and a note says which rate the times are on.
FAR = 0.03


def declared_rate(source: str | Path, fps: float | None) -> float | None:
    """The frame rate the video file ``source`` declares, where ``fps`` (--fps) replaces it with another (a relative
    difference above a millionth, as the spotter tells them apart); None for a frame folder, a video spotted at its
    own rate, or one that declares none."""
    path = Path(source)
    if fps is None or not path.is_file():
        return None
    from ..media import video_header

    rate, _ = video_header(path)
    if not rate or abs(float(rate) - float(fps)) <= 1e-6 * float(fps):
        return None
    return float(rate)


def override_note(source: str | Path, fps: float, declared: float) -> str | None:
    """The note when --fps ``fps`` is far (``FAR``) from the rate ``declared`` by the video file ``source``: which
    rate the times are on; None when the two are close."""
    if abs(fps / declared - 1) <= FAR:
        return None
    return (f"{Path(source).name} declares {declared:g} fps; --fps {fps:g} replaces it (a high-speed camera's "
            f"capture rate?): the times in the table, intervals.csv and spot.json are frame / {fps:g} (capture "
            f"time; a player shows frame n at n / {declared:g} s), and spots.eaf keeps the file's own {declared:g} fps "
            "timeline, as ELAN plays it")
