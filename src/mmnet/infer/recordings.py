"""Spot a long recording, then classify its micro-expressions: the one path of ``mmnet spot --checkpoint``
and of the server's recordings (``mmnet serve``), so that both give the same intervals and classes.

* the spotter runs with the spot config's own face crop (``face.width`` x ``face.height``);
* each interval's onset and apex are read in one streaming pass over the recording and, when the
  config aligns faces (``face.mode=align``, the default), cropped with one alignment estimated on the
  onset, with the crop of ``mmnet prepare`` (the classifier was trained on such crops);
* MMNet classifies the micro intervals from those crops; macro-expressions are not classified (the
  model learnt micro-expressions). The crops are returned, so that what is drawn is what was classified.

``long_clip_warning`` says when a clip given to ``mmnet predict`` (or ``/api/predict``) looks like
such a recording rather than one micro-expression.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..errors import PreprocessError
from ..media import iter_frames, video_header
from ..preprocess.face import FollowedFaceGone
from ..spotting.config import SpotConfig, spot_config
from ..spotting.flow_spotter import NO_ALIGN
from ..spotting.spotter import SpotResult, spot_recording

__all__ = ["Pair", "SharedAligners", "classifier_alignment", "classifier_aligner", "recording_aligners", "read_pairs",
           "classify_pairs", "classify_intervals", "classify_micro", "spot_and_classify", "long_clip_warning",
           "zero_motion", "LONG_CLIP_S", "LONG_CLIP_FRAMES", "SAME_FRAME", "SPOT_INSTEAD",
           "same_frame_note"]

Pair = tuple[np.ndarray, np.ndarray]  # (onset, apex) images, (H, W, 3) uint8
_BATCH = 16  # pairs per forward pass (bounds memory on recordings with many intervals)
# A clip longer than this looks like a recording: six times the half second a micro-expression lasts at most.
LONG_CLIP_S = 3.0
LONG_CLIP_FRAMES = 600  # a frame folder has no rate: 3 s at 200 fps, the fastest camera of the datasets (SAMM)
#: The remedy of ``long_clip_warning``.
SPOT_INSTEAD = "use `mmnet spot RECORDING --checkpoint MODEL` (in `mmnet serve`: upload it as a recording)."


#: The note on a spotted micro interval whose onset is its apex (``ZERO_MOTION`` of ``mmnet predict``, for an
#: interval): the spotter shrinks each interval by half its flow stride, which can bring the onset onto the apex.
SAME_FRAME_HEAD = "the motion peaks at the interval's first frame"
SAME_FRAME = f"{SAME_FRAME_HEAD}, so there is no onset frame before the apex (zero motion: not classified)"


def same_frame_note(interval, gaps: Sequence[tuple[int, int]] = (), reach: int = 0) -> str:
    """``SAME_FRAME``, naming the gap without a face that ends at most ``reach`` frames (the flow stride: the
    pairs that touch a gap are not measured) before the interval's onset, when there is one."""
    onset = interval["onset"] if isinstance(interval, dict) else interval.onset
    before = [(a, b) for a, b in gaps if b < onset <= b + reach + 1]
    if not before:
        return SAME_FRAME
    a, b = before[-1]
    return (f"{SAME_FRAME_HEAD}, just after frames {a}-{b} without a face, so there is no onset frame before the "
            "apex (zero motion: not classified)")


def zero_motion(interval) -> bool:
    """A spotted micro interval (an ``Interval`` or its ``to_dict()`` record) whose onset is its apex: it gets
    no class (``SAME_FRAME``). The one rule of ``mmnet spot --checkpoint``, the server and spot then recognise."""
    get = interval.get if isinstance(interval, dict) else lambda key: getattr(interval, key)
    return get("type") == "micro" and get("onset") == get("apex")


def gap_reach(result) -> int:
    """How far past a gap without a face a spot ``result``'s motion is unmeasured: its largest flow stride."""
    return max(getattr(getattr(result, "curves", None), "strides", {}).values(), default=0)


class SharedAligners:
    """Face aligners kept by their landmark model, crop and detector settings, each landmark model loaded once:
    an aligner loads its model (about 100 MB, a second or more), and one with another crop but the same model is
    that one's ``cropping`` (the same alignments, the model shared). A server keeps one for all its recordings
    (and its ``--align`` clips, ``add``); an aligner may be used by several threads (``FaceAligner``)."""

    def __init__(self, *aligners):
        self._lock = threading.Lock()  # two first jobs at once build one aligner, not two
        self._kept: dict[tuple, object] = {}
        for aligner in aligners:
            self.add(aligner)

    def add(self, aligner) -> None:
        """Keep ``aligner`` (one built elsewhere) to serve its crop, and its model for other crops; one that does
        not say its model and crop (``points``, ``geometry``, ``cropping``: not a ``FaceAligner``) is not kept."""
        if not all(hasattr(aligner, name) for name in ("points", "geometry", "cropping")):
            return
        with self._lock:
            self._kept.setdefault(_aligner_key(aligner.points, aligner.geometry, aligner), aligner)

    def aligner(self, geometry, landmarks: int):
        """The aligner of the ``landmarks``-point model cropping to ``geometry`` (default detector settings): one
        kept, else a kept one's ``cropping``, else built (the model loaded) and kept."""
        from ..preprocess.face import FaceAligner

        key = _aligner_key(landmarks, geometry)
        with self._lock:
            if key not in self._kept:
                model = next((a for k, a in self._kept.items() if k[0] == key[0] and k[2:] == key[2:]), None)
                self._kept[key] = (FaceAligner(geometry, landmarks=landmarks) if model is None
                                   else model.cropping(geometry))
            return self._kept[key]


def _aligner_key(landmarks: int, geometry, aligner=None) -> tuple:
    """(landmark model, crop, detector settings): what makes two aligners' alignments differ. The settings are
    ``FaceAligner``'s defaults for an aligner that does not say (a stand-in)."""
    return (int(landmarks), geometry, getattr(aligner, "upsample", 0), getattr(aligner, "min_score", 0.0),
            getattr(aligner, "detect_side", 320))


def classifier_alignment(config: SpotConfig, predictor=None, landmarks: int | None = None):
    """How the classifier's crops are aligned (``TrainingAlignment``): the crop of ``mmnet prepare`` that
    ``predictor``'s checkpoint records (the default crop when it records none), with the landmark model chosen by
    one rule, that of the commands: ``landmarks`` when given, else the one the checkpoint records, else
    ``config.face.landmarks``."""
    from .alignment import TrainingAlignment, alignment_of

    recorded = alignment_of(predictor)
    chosen = (landmarks if landmarks is not None else recorded.landmarks if recorded.recorded
              else config.face.landmarks)
    return TrainingAlignment(chosen, recorded.geometry, recorded.recorded)


def classifier_aligner(config: SpotConfig, predictor=None, landmarks: int | None = None):
    """The aligner that crops intervals for the classifier, as ``classifier_alignment`` says (the crop the
    classifier was trained on, not the spotter's small one); None when ``face.mode=none`` (face crops already)."""
    if config.face.mode != "align":
        return None
    from .alignment import face_aligner

    return face_aligner(classifier_alignment(config, predictor, landmarks))


def recording_aligners(config: SpotConfig, predictor=None, *, classify: bool = True, landmarks: int | None = None,
                       shared: SharedAligners | None = None) -> tuple[object | None, object | None]:
    """(the spotter's aligner: ``config.face``'s model and crop, the classifier's: as ``classifier_alignment(config,
    predictor, landmarks)`` says) for ``config``; (None, None) when ``face.mode=none`` (frames are face crops
    already). The classifier's is None when ``classify`` is False. When both use one landmark model, it is loaded
    once (only the crops differ). ``shared``: where the aligners are taken from and kept (a server's, for all its
    recordings); default: built for this call."""
    if config.face.mode != "align":
        return None, None
    from ..preprocess.face import CropGeometry

    shared = shared or SharedAligners()
    spotter = shared.aligner(CropGeometry(config.face.width, config.face.height), config.face.landmarks)
    if not classify:
        return spotter, None
    alignment = classifier_alignment(config, predictor, landmarks)
    return spotter, shared.aligner(alignment.geometry, alignment.landmarks)


def read_pairs(source: str | Path, spans: Sequence[tuple[int, int]], aligner=None, *,
               optional: Iterable[int] = (), near: Callable[[int], tuple | None] | None = None,
               progress: Callable[[int, int], None] | None = None,
               gone: dict[int, str] | None = None,
               on_pair: Callable[[int, Pair | None], None] | None = None) -> list[Pair | None]:
    """The (onset, apex) images of each ``(onset, apex)`` span, read in one streaming pass.

    With an ``aligner`` each pair is cropped with one alignment estimated on its onset (as ``mmnet
    prepare`` crops a clip), and only the crops are kept while the recording streams by. ``near`` gives,
    for an onset frame number, the box of the face to crop there (the one the spotter followed,
    ``MotionCurves.face_at``): with several people in view, the best-scoring face may be another.
    ``progress(read, to_read)`` is called after every frame read (``mmnet.media.iter_frames``): a video is decoded
    again up to the last apex, minutes on a long recording.

    With a ``gone`` dict, a span whose onset shows faces but not the followed one gets None, and ``gone[k]``
    says why (an optional span's too), instead of an error: one interval where the person looked away need not
    fail the recording. ``on_pair(k, pair)`` is called as soon as span k's frames are read (its pair, or None as
    in the list returned): a caller can classify while the recording streams by (``kept_classification``).

    Raises:
        DataError: a frame is not in the recording.
        PreprocessError: no face on the onset of a span, or (with ``near``, without ``gone``) several and not the
            followed one; spans whose index is in ``optional`` get None instead.
    """
    source, optional = Path(source), set(optional)
    onsets_at: dict[int, list[int]] = defaultdict(list)
    apexes_at: dict[int, list[int]] = defaultdict(list)
    for k, (onset, apex) in enumerate(spans):
        onsets_at[onset].append(k)
        apexes_at[apex].append(k)
    alignments: dict[int, object] = {}
    onsets: dict[int, np.ndarray | None] = {}
    apexes: dict[int, np.ndarray | None] = {}
    labels = {**{n: "Onset" for n in onsets_at}, **{n: "Apex" for n in apexes_at}}
    for number, image in iter_frames(source, labels, f"recording '{source}'", labels, progress):
        for k in onsets_at.get(number, ()):  # before the apex: a span's onset may be its apex
            if aligner is None:
                onsets[k] = image
                continue
            try:
                alignments[k] = aligner.estimate(image) if near is None else aligner.estimate(image, near=near(number))
            except PreprocessError as exc:
                if gone is not None and isinstance(exc, FollowedFaceGone):
                    gone[k] = f"at its onset (frame {number}) {exc}, so a crop would show another person"
                elif k not in optional:
                    # faces are in view, not the followed one: not a recording of face crops
                    remedy = "" if isinstance(exc, FollowedFaceGone) else f" {NO_ALIGN}"
                    raise PreprocessError(
                        f"Recording '{source}', onset frame {number}: {exc}; the micro-expression there cannot be "
                        f"cropped to the face and classified.{remedy}") from None
                alignments[k] = None
            onsets[k] = None if alignments[k] is None else alignments[k].apply(image)
        for k in apexes_at.get(number, ()):
            apexes[k] = image if aligner is None else (None if alignments[k] is None else alignments[k].apply(image))
        if on_pair is not None:
            for k in dict.fromkeys([*onsets_at.get(number, ()), *apexes_at.get(number, ())]):
                if k in onsets and k in apexes:
                    on_pair(k, None if onsets[k] is None or apexes[k] is None else (onsets[k], apexes[k]))
    return [None if onsets[k] is None or apexes[k] is None else (onsets[k], apexes[k]) for k in range(len(spans))]


def classify_pairs(predictor, pairs: Sequence[Pair]) -> list[tuple[str, dict[str, float]]]:
    """(label, probabilities rounded to 6 places) of each (onset, apex) pair, as ``mmnet spot`` reports them."""
    out = []
    for start in range(0, len(pairs), _BATCH):
        batch = pairs[start: start + _BATCH]
        probs = predictor.predict_frames([p[0] for p in batch], [p[1] for p in batch])
        for p in probs:
            out.append((predictor.class_names[int(p.argmax())],
                        {name: round(float(v), 6) for name, v in zip(predictor.class_names, p)}))
    return out


def classify_intervals(intervals: Sequence, pairs: Mapping[int, Pair] | Callable[[int], Pair], predictor,
                       unclassified: Mapping[int, str] | None = None, *, gaps: Sequence[tuple[int, int]] = (),
                       reach: int = 0) -> list:
    """The spotted ``intervals`` (``Interval`` records) with their micro ones classified: new records with label
    and probabilities. ``pairs`` gives the (onset, apex) images of interval k: a mapping, or a function called
    ``_BATCH`` intervals at a time. A micro interval whose onset is its apex gets no class but the ``SAME_FRAME``
    note (zero motion has no class; ``same_frame_note``: naming a gap of ``gaps`` within ``reach`` frames before
    it), one in ``unclassified`` (interval index -> why) that note;
    macro-expressions are left as they are (the model learnt micro-expressions).
    The one rule of ``mmnet spot --checkpoint``, the server and spot then recognise."""
    pair_of = pairs if callable(pairs) else pairs.__getitem__
    unclassified = unclassified or {}
    # Not moved earlier to get a class: the spotter did not measure where this expression starts, and an onset
    # put there by fiat (or onto a gap frame) would give a class the recording does not support.
    out = [dataclasses.replace(i, note=same_frame_note(i, gaps, reach)) if zero_motion(i) else
           dataclasses.replace(i, note=unclassified[k]) if k in unclassified else i for k, i in enumerate(intervals)]
    micro = [k for k, i in enumerate(out) if i.type == "micro" and i.note is None]
    for start in range(0, len(micro), _BATCH):
        chunk = micro[start: start + _BATCH]
        for k, (label, probs) in zip(chunk, classify_pairs(predictor, [pair_of(k) for k in chunk])):
            out[k] = dataclasses.replace(out[k], label=label, probabilities=probs)
    return out


def classify_micro(result, predictor, aligner=None, *, draw: int = 0,
                   progress: Callable[[int, int], None] | None = None) -> dict[int, Pair | None]:
    """Fill label and probabilities of ``result``'s micro intervals (new ``Interval`` records) from their
    onset and apex frames, cropped by ``aligner`` (the classifier's, see ``recording_aligners``). An interval
    whose onset is its apex is left unclassified, with the ``SAME_FRAME`` note (zero motion has no class).
    ``progress`` follows the reading of those frames (``read_pairs``).

    Returns the pairs read, by interval index: every micro interval's (the images classified) and the
    first ``draw`` intervals' of any type (None for a macro interval whose onset shows no face, and for a micro
    one whose onset shows other faces but not the one followed: that one is left unclassified, with a note).
    See ``classify_intervals``.
    """
    intervals = list(result.intervals)
    keep = [k for k, i in enumerate(intervals) if i.type == "micro" or k < draw]
    optional = {j for j, k in enumerate(keep) if intervals[k].type != "micro"}
    near = None if aligner is None else result.curves.face_at  # crop the face the spotter measured
    gone: dict[int, str] = {}
    pairs = dict(zip(keep, read_pairs(result.source, [(intervals[k].onset, intervals[k].apex) for k in keep],
                                      aligner, optional=optional, near=near, progress=progress, gone=gone)))
    result.intervals = classify_intervals(intervals, pairs, predictor, {keep[j]: why for j, why in gone.items()},
                                          gaps=getattr(result, "gaps", ()), reach=gap_reach(result))
    return pairs


def spot_and_classify(source: str | Path, predictor=None, config: SpotConfig | None = None, *,
                      fps: float | None = None, progress: Callable[[int], None] | None = None,
                      on_total: Callable[[int | None], None] | None = None,
                      draw: int = 0, classify_progress: Callable[[int, int], None] | None = None,
                      partial=None, aligners: tuple[object | None, object | None] | None = None,
                      classifier_landmarks: int | None = None) -> tuple[SpotResult, dict[int, Pair | None]]:
    """Spot ``source`` with ``config`` (default: the CAS(ME)^2 preset, as ``mmnet spot``), then, with a
    ``predictor``, classify its micro intervals (``classify_micro``, which reads their frames again and reports
    it to ``classify_progress``). Returns the result and the pairs read. ``partial``: the spotting's kept progress
    (``spotting.partial_state.PartialSpot``, ``spot_recording``); ``kept_classification.spot_and_classify_kept``
    keeps the classifying too.

    The classifier's crops follow one rule, that of ``mmnet spot --checkpoint``: the crop and landmark model the
    predictor's checkpoint records, unless ``classifier_landmarks`` chooses the model (``classifier_alignment``).
    ``aligners``: (the spotter's, the classifier's) as ``recording_aligners`` builds them, used as given, for a
    caller that spots many recordings (each landmark model loads in a second or more); default: built for this
    call."""
    config = config or spot_config()
    if aligners is None:
        aligners = recording_aligners(config, predictor, classify=predictor is not None,
                                      landmarks=classifier_landmarks)
    spot_aligner, classifier_aligner = aligners
    result = spot_recording(source, config, fps=fps, aligner=spot_aligner, progress=progress, on_total=on_total,
                            partial=partial)
    if predictor is None:
        return result, {}
    return result, classify_micro(result, predictor, classifier_aligner, draw=draw, progress=classify_progress)


def long_clip_warning(clip) -> str | None:
    """A sentence when ``clip`` (``infer.Clip``) looks like a long recording rather than one expression:
    a video longer than ``LONG_CLIP_S`` by its frames (those that decoded once it was read to its end, else its
    header's count) at its header's rate, a frame folder of more than ``LONG_CLIP_FRAMES`` frames (over 3 s at
    any of the datasets' rates); None otherwise or when unknown."""
    if clip.kind == "folder":
        n = len(clip.numbers)
        if n <= LONG_CLIP_FRAMES:
            return None
        length = f"{n} frames (over {LONG_CLIP_S:g} s even at 200 fps)"
    elif clip.kind == "video":
        fps, declared = video_header(clip.source)
        n = declared if clip.decoded is None else clip.decoded  # a file cut short decodes fewer than it declares
        if not fps or not n or n / fps <= LONG_CLIP_S:
            return None
        seconds = f"{n / fps:.1f} s" if round(n / fps, 1) > LONG_CLIP_S else f"over {LONG_CLIP_S:g} s"  # not 3.0
        length = f"{seconds} ({n} frames at {fps:g} fps)"
    else:
        return None
    return (f"this clip is {length} long: it looks like a recording, not one micro-expression (which lasts under "
            "half a second), and was classified as a single clip. To find and classify the expressions in it, "
            + SPOT_INSTEAD)
