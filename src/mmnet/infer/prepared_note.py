"""What a prediction says of face crops ``mmnet prepare`` wrote: their marker records how they were cropped.

A folder that prepare wrote holds ``mmnet.media.PREPARED_MARKER`` with the settings of its crops (landmark model,
size, eye_y, iod): the faces were found and aligned there, so "not checked for a face" would be wrong, and crops
made with other settings than the model's training crops place the face elsewhere than the model learned.
"""

from __future__ import annotations

import re

from ..errors import DataError, PreprocessError
from ..media import PREPARED_MARKER
from ..preprocess.face_watch import FACE_WATCH, MOVED_SHIFT, SPAN_KINDS
from ..preprocess.marker import MARKER_FORMAT
from .alignment import TrainingAlignment
from .clips import CHOOSE_FACE_FRAMES, FOLLOW_FACE

__all__ = ["PREPARED_BY", "prepared_note", "described", "moved_spans", "check_prepared", "prepared_notes",
           "prepared_recording"]

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


# -- what prepare warned of the clip: its marker's record holds the warnings it printed and the face watch's spans --
_SPAN = re.compile(r"\bframes? (\d+)(?:-(\d+))? \(([^)]+)\)")
#: How a refusal names what prepare found in a span (``SPAN_KINDS``; "away": between two spans one look apart).
_FOUND = {"moved": f"moved over {MOVED_SHIFT:g} face widths or changed size", "gone": "gone (no face near its place)",
          "away": "away from its place"}


def _record(clip) -> dict:
    # a clip aligned again (--align) is checked frame by frame instead; the record was read with the clip
    prepared = clip.prepared is not None and clip.kind == "folder" and clip.transform is None
    return clip.prepared_record if prepared else {}


def _warning(record: dict, kind: str) -> str | None:
    found = [w for w in record.get("warnings") or () if isinstance(w, str) and w.startswith(f"{kind}: ")]
    return found[0] if found else None


def _frames(first: int, last: int) -> str:
    return f"frame {first}" if first == last else f"frames {first}-{last}"


def _whole(value) -> bool:
    return type(value) is int  # not a bool, a float or text


def _watched(clip, watch) -> tuple[list[tuple[int, int, str]], int]:
    """The spans and look step of the record's ``face_watch`` (``FaceWatch.record``); DataError when damaged."""
    try:
        step, spans = watch["step"], [tuple(span) for span in watch["spans"]]
        if _whole(step) and step >= 1 and all(len(span) == 3 and _whole(span[0]) and _whole(span[1]) and
                                              span[0] <= span[1] and span[2] in SPAN_KINDS for span in spans):
            return spans, step
    except (TypeError, KeyError):
        pass
    raise DataError(f"Clip '{clip.source}': the {FACE_WATCH} entry of its {PREPARED_MARKER} cannot be read "
                    f"({watch!r}; mmnet prepare writes {{\"step\": N, \"spans\": [[first, last, \"moved\" or "
                    "\"gone\"], ...]}): prepare the clip again (mmnet prepare --force)")


def moved_spans(clip) -> tuple[list[tuple[int, int, str]], int]:
    """The spans (first, last, "moved" or "gone") where prepare found the face away from its place on the onset
    frame, and how many frames apart it looked (1 when unknown); ([], 1) for a clip prepare did not write or warn
    of. Read from the record's ``face_watch`` fields; a folder an earlier mmnet prepared has only the text of its
    ``face_moved`` warning, which is parsed instead."""
    record = _record(clip)
    if record.get(FACE_WATCH) is not None:
        return _watched(clip, record[FACE_WATCH])
    text = _warning(record, "face_moved")
    if text is None:
        return [], 1
    listed, _, rest = text.partition("looked at every ")
    step = re.match(r"\d+", rest)
    spans = [(int(m[1]), int(m[2] or m[1]), "gone" if m[3].startswith("no face") else "moved")
             for m in _SPAN.finditer(listed)]
    return spans, int(step[0]) if step else 1


def check_prepared(clip, onset: int, apex: int) -> None:
    """Refuse an onset or apex frame in a span where prepare found the face moved or gone: its crop (one alignment
    for the clip) shows part of the face or background, as ``align_clip`` refuses such a frame of raw footage."""
    spans, step = moved_spans(clip)
    # between two such spans one look apart (moved, then gone) no look found the face in place either
    gaps = [(b, a2, "away") for (_, b, _), (a2, _, _) in zip(spans, spans[1:]) if a2 - b <= step]
    for label, n in (("onset", onset), ("apex", apex)):
        for first, last, what in spans + gaps:
            if first <= n <= last:
                found = _FOUND[what]
                raise PreprocessError(
                    f"Clip '{clip.source}': {label} frame '{clip.name(n)}': mmnet prepare found the face {found} "
                    f"there ({_frames(first, last)} of its face_moved warning), so the crop shows part of the face or "
                    f"background. {CHOOSE_FACE_FRAMES} while the head keeps still; {FOLLOW_FACE}")


def prepared_notes(clip, onset: int, apex: int) -> list[str]:
    """Warnings of prepare's that bear on the chosen frames: a frame within its look step of a face_moved span
    (the face may already be away there), else that the face moved elsewhere in the clip; first, that a newer
    mmnet prepared the clip (its marker's settings may not mean what this mmnet reads them as)."""
    return [*_newer_marker(clip), *_moved_notes(clip, onset, apex)]


def _newer_marker(clip) -> list[str]:
    if clip.prepared is None or clip.kind != "folder" or clip.transform is not None:  # not prepare's, or aligned
        return []
    fmt, version = clip.prepared_origin  # read with the clip's marker
    if fmt <= MARKER_FORMAT:
        return []
    return [f"prepared by a newer mmnet ({version or 'version not recorded'}; its {PREPARED_MARKER} is of format "
            f"{fmt}, this mmnet reads format {MARKER_FORMAT}): the crop settings it records may mean other crops "
            "than this mmnet's of the same names; upgrade mmnet to read them as written"]


def _moved_notes(clip, onset: int, apex: int) -> list[str]:
    spans, step = moved_spans(clip)
    if not spans:
        return []
    listed = ", ".join(_frames(a, b)[len("frames "):] if a != b else str(a) for a, b, _ in spans)
    near = [f"{label} frame {n}" for label, n in (("onset", onset), ("apex", apex))
            if any(a - step < n < b + step for a, b, _ in spans)]
    if near:
        verb = "lies" if len(near) == 1 else "lie"
        return [f"face_moved: {' and '.join(near)} {verb} within {step - 1} frames of the frames where mmnet prepare "
                f"found the face away from its place ({listed}; it looked every {step} frames), so the face may "
                f"already be away there: check the crops, or choose frames further from them"]
    return [f"{PREPARED_BY} warned that the face moved away from its place in frames {listed}; the onset and apex "
            "frames are outside them"]


def prepared_recording(clip) -> str | None:
    """Prepare's ``recording`` warning of the footage the clip was cropped from (it is long), or None."""
    text = _warning(_record(clip), "recording")
    return text[len("recording: "):] if text else None
