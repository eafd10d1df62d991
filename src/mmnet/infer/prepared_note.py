"""What a prediction says of face crops ``mmnet prepare`` wrote: their marker records how they were cropped.

A folder that prepare wrote holds ``mmnet.media.PREPARED_MARKER`` with the settings of its crops (landmark model,
size, eye_y, iod): the faces were found and aligned there, so "not checked for a face" would be wrong, and crops
made with other settings than the model's training crops place the face elsewhere than the model learned.
"""

from __future__ import annotations

from .alignment import TrainingAlignment

__all__ = ["PREPARED_BY", "prepared_note", "described"]

#: How the note on crops that ``mmnet prepare`` wrote with the model's settings begins.
PREPARED_BY = "prepared by mmnet prepare"
_COMPARED = ("landmarks", "size", "eye_y", "iod")


def described(settings: dict) -> str:
    """"68 points, 280x340, eye_y 0.38, iod 0.4" of a marker's (or a training alignment's) settings."""
    width, height = settings.get("size") or ("?", "?")
    return (f"{settings.get('landmarks')} points, {width}x{height}, eye_y {settings.get('eye_y'):g}, "
            f"iod {settings.get('iod'):g}")


def _training(alignment: TrainingAlignment) -> dict:
    g = alignment.geometry
    return {"landmarks": alignment.landmarks, "size": [g.width, g.height], "eye_y": g.eye_y, "iod": g.iod}


def prepared_note(settings: dict, alignment: TrainingAlignment) -> str:
    """The note on a clip of crops prepare wrote with ``settings``, for a model trained on ``alignment``'s crops:
    that it was prepared (and how), or, when the model records other settings, a warning naming both."""
    mine = {k: settings.get(k) for k in _COMPARED}
    if isinstance(mine["size"], tuple):
        mine["size"] = list(mine["size"])
    trained = _training(alignment)
    try:
        differ = alignment.recorded and any(
            (float(mine[k]) != float(trained[k])) if k in ("eye_y", "iod") else mine[k] != trained[k]
            for k in _COMPARED)
        text = described(mine)
    except (TypeError, ValueError):  # a marker written by hand or damaged: say so rather than guess
        return (f"{PREPARED_BY}, but its settings cannot be read ({settings!r}): check that the crops match the "
                "model's (`mmnet info CHECKPOINT`)")
    if not differ:
        return f"{PREPARED_BY} ({text})"
    t = trained
    return (f"the crops were prepared by mmnet prepare with {text}, the model was trained on crops of "
            f"{described(t)}: the face sits elsewhere in them than the model learned, which lowers its accuracy. "
            f"Prepare the footage again with --landmarks {t['landmarks']} --size {t['size'][0]}x{t['size'][1]} "
            f"--eye-y {t['eye_y']:g} --iod {t['iod']:g} (or give the raw footage with --align)")
