"""The one place where the server meets long-video spotting: ``spot_recording`` and the result's shape.

A spotter is a callable ``spotter(path, *, fps, predictor, progress, classify_progress, draw) -> dict`` returning
the JSON of ``mmnet spot --json``::

    {"fps": 30.0, "frames": 9000,
     "intervals": [{"onset": 120, "apex": 131, "offset": 140, "type": "micro", "score": 0.8,
                    "label": "happiness", "probabilities": {"happiness": 0.7, ...}}, ...],
     "thresholds": {"macro": 1.2, "micro": None},        (None: the scale could not be measured)
     "notes": ["the recording (14 frames) is shorter than ..."],  (optional: what the result cannot vouch for)
     "curve": {"frames": [...], "score": [...]},        (optional: the motion curve to draw; "macro": [...], the
                                                          macro scale's, beside the micro scale's "score")
     "pairs": {0: (onset, apex), ...},                   (optional: the images classified, by interval)
     "timeline": b"\x89PNG..."}                           (optional: the timeline figure of `mmnet spot --out`)

``progress(done, total)`` is called as frames are spotted (``total`` None when unknown), then
``classify_progress(read, to_read)`` as the intervals' frames are read again to classify them (a second pass
over the recording, up to the last apex); the server's callbacks stop the work when the job is deleted. Frame
numbers are those of ``mmnet.media.FRAME_NUMBERING`` (videos from 0; frame folders: the number in the name).
``pairs`` holds the (onset, apex) images each classified interval was classified from, and those of
the first ``draw`` intervals: the server draws these, so that the pictures are of the frames classified.
``timeline`` is the PNG that ``mmnet spot --out`` writes as timeline.png (both scales' motion curves,
thresholds and intervals); the server serves it as the job's ``timeline.png``.
The server's own spotter is ``mmnet spot --checkpoint``'s path (``mmnet.infer.recordings``), with the landmark
model of ``mmnet serve --landmarks`` (``flow_spotter``);
``model_spotter`` wraps a trained one (``mmnet serve --spotter-model``) as ``mmnet spot --spotter-model
--checkpoint`` runs it. A spotter that leaves ``label``/``probabilities`` None or gives no ``pairs`` has the
frames read as they are (uncropped) and its micro intervals classified from them.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import threading
from pathlib import Path

from ..errors import MMNetError, PreprocessError
from ..infer import recordings
from ..infer.recordings import (
    SharedAligners,
    classifier_alignment,
    classify_micro,
    recording_aligners,
    spot_and_classify,
)
from ..preprocess.face import require_face_extra
from ..preprocess.landmarks import DEFAULT_LANDMARKS
from ..spotting.intervals import PRESENTATION, gap_seconds, seek_time, with_seconds

__all__ = ["SpottingUnavailable", "spotting_available", "missing_for_spotting", "require_spotting", "spot_recording",
           "flow_spotter", "model_spotter", "SharedAligners",
           "check_spot_result", "downsample_curve", "MAX_CURVE_POINTS"]

MAX_CURVE_POINTS = 2000
WAIT_S = 0.5  # how often a job waiting for a spotter model's turn looks whether it was cancelled


class SpottingUnavailable(MMNetError, RuntimeError):
    """Long-video spotting cannot run here: the face extra it needs is not installed."""


def _missing_face_extra(landmarks: int = DEFAULT_LANDMARKS) -> str | None:
    """What ``spot_recording`` lacks here (its faces are aligned with dlib and the ``landmarks``-point model, its
    flow is OpenCV's), or None."""
    try:
        require_face_extra(landmarks)
    except PreprocessError as e:
        return str(e)
    return None


def missing_for_spotting(landmarks: int = DEFAULT_LANDMARKS) -> str | None:
    """What ``spot_recording`` with the ``landmarks``-point model lacks here (a sentence naming what to install), or
    None when it can run."""
    return _missing_face_extra(landmarks)


def spotting_available(landmarks: int = DEFAULT_LANDMARKS) -> bool:
    """Whether ``spot_recording`` can run here: the face extra (OpenCV, dlib, the landmark model) is installed."""
    return _missing_face_extra(landmarks) is None


def require_spotting(landmarks: int = DEFAULT_LANDMARKS) -> None:
    """SpottingUnavailable, naming what is missing and the extra to install, when spotting cannot run here."""
    missing = _missing_face_extra(landmarks)
    if missing is not None:
        raise SpottingUnavailable(f"Long-video spotting is not available on this server. {missing}. "
                                  "Upload a short clip (a video or a zip of its frames) to classify it instead.")


def spot_recording(path: Path, *, fps: float | None = None, predictor=None, progress=None, classify_progress=None,
                   draw: int = 0, landmarks: int = DEFAULT_LANDMARKS, aligners: SharedAligners | None = None) -> dict:
    """Spot and classify a long recording exactly as ``mmnet spot RECORDING --checkpoint MODEL --set
    face.landmarks=LANDMARKS`` does (``mmnet.infer.recordings.spot_and_classify``: the CAS(ME)^2 preset, faces
    aligned with the ``landmarks``-point model; see the module docstring). The curve is the micro scale's
    smoothed motion score, with the macro scale's beside it; the timeline is drawn once per recording.
    ``aligners``: those of the server, shared by its jobs (default: built for this recording).
    """
    require_spotting(landmarks)
    total: list[int | None] = [None]
    done = [0]

    def step(frames: int) -> None:
        done[0] += frames
        if progress is not None:
            progress(done[0], total[0])

    # the preset `mmnet spot` uses (recordings.spot_config: one place to change it), with the chosen landmarks
    preset = recordings.spot_config()
    config = dataclasses.replace(preset, face=dataclasses.replace(preset.face, landmarks=landmarks))
    # the classifier's crops with the chosen model too, as `mmnet spot --set face.landmarks=` crops them
    built = recording_aligners(config, predictor, classify=predictor is not None, landmarks=landmarks,
                               shared=aligners)
    result, pairs = spot_and_classify(path, predictor, config, fps=fps, progress=step,
                                      on_total=lambda n: total.__setitem__(0, n), draw=draw,
                                      classify_progress=classify_progress, aligners=built)
    return _result_json(result, pairs)


def flow_spotter(landmarks: int = DEFAULT_LANDMARKS, aligners: SharedAligners | None = None):
    """The server's own spotter (``spot_recording``) with the ``landmarks``-point model, as ``mmnet serve
    --landmarks`` chooses it for recordings without ``--spotter-model``; its face aligners are built once, at
    the first recording, and shared by every recording it spots (``aligners``, default: its own
    ``SharedAligners``; the server's holds its ``--align`` clip aligner too)."""
    return functools.partial(spot_recording, landmarks=landmarks,
                             aligners=SharedAligners() if aligners is None else aligners)


def model_spotter(spotter, aligners: SharedAligners | None = None):
    """The server's spotter for a spotter object (``mmnet.spotting.learned.load_spotter``, as ``mmnet serve
    --spotter-model`` loads): its ``spot``, then the micro intervals classified as ``mmnet spot --spotter-model
    MODEL --checkpoint`` does. One recording is spotted at a time (the spotter and its face aligner are shared by
    the workers, as is the classifier's aligner, built once); ``progress`` is called after every frame, and every
    half second while a job waits for its turn, so that a job deleted, timed out or stopped with the server ends
    there too."""
    lock = threading.Lock()
    aligners = SharedAligners() if aligners is None else aligners  # the classifier's, built once

    def spot(path: Path, *, fps: float | None = None, predictor=None, progress=None, classify_progress=None,
             draw: int = 0) -> dict:
        require_spotting()
        while not lock.acquire(timeout=WAIT_S):
            if progress is not None:
                progress(0, None)  # raises when the job was cancelled meanwhile
        try:
            result = spotter.spot(path, fps=fps, on_frame=progress)
        finally:
            lock.release()
        pairs = {}
        if predictor is not None:
            # the classifier's crops: its checkpoint's landmark model (the spotter's own when it records none)
            aligner = None
            if spotter.config.face.mode == "align":
                alignment = classifier_alignment(spotter.config, predictor)
                aligner = aligners.aligner(alignment.geometry, alignment.landmarks)
            pairs = classify_micro(result, predictor, aligner, draw=draw, progress=classify_progress)
        return _result_json(result, pairs)

    return spot


def _result_json(result, pairs: dict) -> dict:
    """``mmnet spot --json``'s dict of a ``SpotResult``, with the micro (and macro) scale's curve, the pairs read and
    the timeline figure."""
    out = result.to_dict()
    scale = "micro" if "micro" in result.details else next(iter(result.details), None)
    if scale is not None:
        smoothed = result.details[scale]["smoothed"]
        out["curve"] = {"frames": [int(n) for n in result.curves.numbers],
                        "score": [float(v) for v in smoothed]}
        if scale == "micro" and "macro" in result.details:  # the page shows why a macro-expression was not found
            out["curve"]["macro"] = [float(v) for v in result.details["macro"]["smoothed"]]
        if out.get("time_base") == PRESENTATION:  # a video's own frame times: the page's time axis follows them
            out["curve"]["seconds"] = [round(result.seconds(int(n)), 3) for n in result.curves.numbers]
    out["pairs"] = pairs
    out["timeline"] = _timeline_png(result)
    return out


def _timeline_png(result) -> bytes:
    """The PNG bytes of ``mmnet spot --out``'s timeline.png for a ``SpotResult``."""
    from ..spotting.timeline import timeline_png

    return timeline_png(result)


def _number(value, what: str, *, integer: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (integer and int(value) != value):
        raise MMNetError(f"The spotter returned {what} = {value!r}; expected a {'whole ' if integer else ''}number.")
    return int(value) if integer else float(value)


def _end_s(interval: dict, fps: float, first: int) -> float:
    """A spotter's interval that has its own seconds but no ``end_s``: the end of its offset frame, as
    ``with_seconds`` gives it, one frame (at fps) after its own ``offset_s`` (its times may be presentation
    times, not frame numbers / fps), else from the frame numbers."""
    offset_s = interval.get("offset_s")
    if isinstance(offset_s, int | float) and not isinstance(offset_s, bool) and math.isfinite(offset_s):
        return seek_time(offset_s + 1 / fps)
    return with_seconds(interval, fps, first)["end_s"]


def check_spot_result(result: dict) -> dict:
    """``result`` if it has the shape above (a copy, numbers normalised, NaN and infinities None); MMNetError
    naming what is wrong."""
    if not isinstance(result, dict) or not isinstance(result.get("intervals"), list):
        raise MMNetError("The spotter returned no 'intervals' list.")
    out = {**result, "fps": _number(result.get("fps"), "fps"), "frames": _number(result.get("frames"), "frames",
                                                                                  integer=True)}
    intervals = []
    for k, iv in enumerate(result["intervals"]):
        if not isinstance(iv, dict):
            raise MMNetError(f"The spotter returned interval {k} = {iv!r}; expected an object.")
        onset, apex, offset = (_number(iv.get(n), f"interval {k} {n}", integer=True)
                               for n in ("onset", "apex", "offset"))
        if not onset <= apex <= offset:
            raise MMNetError(f"The spotter returned interval {k} with onset {onset}, apex {apex}, offset {offset}; "
                             "expected onset <= apex <= offset.")
        probs = iv.get("probabilities")
        if probs is not None and not isinstance(probs, dict):
            raise MMNetError(f"The spotter returned interval {k} probabilities {probs!r}; expected an object.")
        intervals.append({**iv, "onset": onset, "apex": apex, "offset": offset, "type": str(iv.get("type", "")),
                          "score": None if iv.get("score") is None else _number(iv["score"], f"interval {k} score"),
                          "label": iv.get("label"), "probabilities": probs})
    notes = result.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise MMNetError(f"The spotter returned notes = {notes!r}; expected a list of sentences.")
    curve = result.get("curve")
    if curve is not None:
        frames, score = curve.get("frames"), curve.get("score")
        if not isinstance(frames, list) or not isinstance(score, list) or len(frames) != len(score):
            raise MMNetError("The spotter returned a 'curve' without equal-length 'frames' and 'score' lists.")
        if "macro" in curve and not (isinstance(curve["macro"], list) and len(curve["macro"]) == len(frames)):
            raise MMNetError("The spotter returned a 'curve' whose 'macro' is not a list as long as its 'frames'.")
    if out["fps"] <= 0:
        raise MMNetError(f"The spotter returned fps = {out['fps']!r}; expected a positive frame rate.")
    # seconds from the first frame, as `mmnet spot` counts them, where the spotter did not give them
    first = _number(curve["frames"][0], "the curve's first frame", integer=True) if curve and curve["frames"] else 0
    out["intervals"] = [with_seconds(iv, out["fps"], first) if "onset_s" not in iv else
                        iv if "end_s" in iv else {**iv, "end_s": _end_s(iv, out["fps"], first)} for iv in intervals]
    gaps = result.get("gaps") or []
    if not isinstance(gaps, list) or not all(isinstance(g, dict) and {"first", "last"} <= set(g) for g in gaps):
        raise MMNetError(f"The spotter returned gaps = {gaps!r}; expected a list of {{'first', 'last'}} objects.")
    out["gaps"] = [g if "first_s" in g else {**g, **gap_seconds(_number(g["first"], "a gap's first", integer=True),
                                                                 _number(g["last"], "a gap's last", integer=True),
                                                                 lambda number: (number - first) / out["fps"])}
                   for g in gaps]
    return _finite(out)


def _finite(value):
    """``value`` with every NaN or infinite number (which JSON cannot hold) replaced by None, at any depth:
    the fields a spotter adds (thresholds, curve, probabilities) reach the client as they are."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def downsample_curve(curve: dict, points: int = MAX_CURVE_POINTS) -> dict:
    """At most ``points`` points of a motion curve: each bucket keeps its first frame (and its ``seconds``, a
    video's frame times, where the curve has them) and its largest score (so that no peak disappears from the
    drawing); NaN scores (no face) become None."""
    frames = list(curve["frames"])
    seconds = curve.get("seconds")
    if not isinstance(seconds, list) or len(seconds) != len(frames):  # a spotter's own curve may have none
        seconds = None

    def clean(v):
        return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else float(v)

    step = 1 if len(frames) <= points else math.ceil(len(frames) / points)
    starts = range(0, len(frames), step)

    def peaks(score: list) -> list:
        kept = ([v for v in (clean(s) for s in score[i: i + step]) if v is not None] for i in starts)
        return [max(values) if values else None for values in kept]

    out = {"frames": [int(frames[i]) for i in starts], "score": peaks(list(curve["score"]))}
    if isinstance(curve.get("macro"), list) and len(curve["macro"]) == len(frames):
        out["macro"] = peaks(list(curve["macro"]))
    return out if seconds is None else {**out, "seconds": [clean(seconds[i]) for i in starts]}
