"""How a classifier's training clips were aligned, as its checkpoint records it, and the face aligner that crops new
footage the same way (``mmnet predict --align``, ``explain``, ``serve``, ``mmnet spot --checkpoint``).

Training writes ``training.alignment`` into every checkpoint it saves (``mmnet.train.alignment_record``):

* ``{"clips": "mmnet prepare", "landmarks": 68 | 5, "size": [W, H], "eye_y": ..., "iod": ...}``: every training
  clip was prepared by ``mmnet prepare`` with these settings;
* ``{"clips": "synthetic", "landmarks": None}``: mmnet's synthetic faces, drawn in place, aligned by no model;
* ``{"clips": "not recorded", "landmarks": None}``: crops mmnet did not write (such as CASME II's ``Cropped/``).

A checkpoint of an earlier mmnet has no such record. Where no landmark model is recorded, new footage is aligned as
before: the 68-point model and ``mmnet prepare``'s default crop.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..preprocess.face import CropGeometry
from ..preprocess.landmarks import DEFAULT_LANDMARKS

__all__ = ["TrainingAlignment", "training_alignment", "choose_alignment", "face_aligner", "recorded_landmarks",
           "alignment_of", "spotting_alignment", "alignment_summary", "PREPARED"]

#: ``clips`` of a record whose training clips were all prepared by ``mmnet prepare`` with one set of settings.
PREPARED = "mmnet prepare"


@dataclass(frozen=True)
class TrainingAlignment:
    """The landmark model and crop to align new footage with; ``recorded``: the checkpoint names the model."""

    landmarks: int = DEFAULT_LANDMARKS
    geometry: CropGeometry = field(default_factory=CropGeometry)
    recorded: bool = False

    def describe(self) -> str:
        g = self.geometry
        return (f"the {self.landmarks}-point landmark model, crop {g.width}x{g.height}, eye_y {g.eye_y:g}, "
                f"iod {g.iod:g}")


def training_alignment(training: dict | None) -> TrainingAlignment:
    """The alignment a checkpoint's ``training`` record names (``CheckpointInfo.training``); the default (68 points,
    the default crop, not recorded) when it names none. A record that does not read as written is a CheckpointError:
    footage aligned by a guess would be classified without a word."""
    from ..errors import CheckpointError, PreprocessError

    record = (training or {}).get("alignment")
    if not isinstance(record, dict) or record.get("clips") != PREPARED:
        return TrainingAlignment()
    try:
        width, height = record["size"]
        geometry = CropGeometry(int(width), int(height), float(record["eye_y"]), float(record["iod"]))
        points = record["landmarks"]
        if points not in (5, 68) or isinstance(points, bool):
            raise ValueError(f"landmarks {points!r}")
    except (KeyError, TypeError, ValueError, PreprocessError) as exc:  # PreprocessError: CropGeometry's
        raise CheckpointError(f"the checkpoint's training.alignment record {record!r} cannot be read ({exc}); it "
                              "should name the landmark model (68 or 5), size [W, H], eye_y and iod of `mmnet "
                              "prepare` (a later mmnet's record: upgrade mmnet). Face crops need no aligning: "
                              "leave --align out (mmnet spot: --no-align).") from None
    return TrainingAlignment(points, geometry, recorded=True)


def alignment_summary(training: dict | None) -> dict:
    """How a checkpoint's training clips were aligned, and so new footage is, for its ``training`` record (``mmnet
    info``, the model card), as JSON: ``caption`` (one line), ``recorded`` (the checkpoint names the landmark model),
    ``landmarks``, ``size``, ``eye_y`` and ``iod``. A record this mmnet cannot read is said, not raised (the caption
    shows what the file holds): then ``caption`` and ``error`` only."""
    from ..errors import CheckpointError

    record = (training or {}).get("alignment")
    try:
        used = training_alignment(training)
    except CheckpointError as exc:
        return {"caption": str(exc), "error": str(exc)}
    g = used.geometry
    crop = f"{g.width}x{g.height}, eye_y {g.eye_y:g}, iod {g.iod:g}"
    fallback = f"new footage is aligned with the {used.landmarks}-point model and the default crop: {crop}"
    clips = record.get("clips") if isinstance(record, dict) else None
    if used.recorded:
        caption = f"{PREPARED}, {used.landmarks}-point landmarks, crop {crop} (new footage is aligned the same way)"
    elif clips == "synthetic":
        caption = f"synthetic faces, drawn in place (no landmark model aligned them; {fallback})"
    elif clips == "not recorded":  # crops mmnet did not write, such as a dataset's own
        caption = f"not recorded: the training clips were not prepared by mmnet prepare ({fallback})"
    elif clips is None:  # an earlier mmnet's checkpoint, or one converted from the authors' weights
        caption = f"not recorded ({fallback})"
    else:  # a later mmnet's kind of record, which training_alignment reads as none
        caption = f"clips {clips!r}, a record this mmnet does not know ({fallback})"
    return {"caption": caption, "recorded": used.recorded, "landmarks": used.landmarks, "size": [g.width, g.height],
            "eye_y": g.eye_y, "iod": g.iod}


def choose_alignment(recorded: TrainingAlignment, chosen: int | None,
                     option: str = "--landmarks") -> tuple[TrainingAlignment, str | None]:
    """The alignment to crop new footage with, and a warning or None. ``chosen``: the landmark model the user gave
    (``option``), None when not given: then the recorded one. A chosen model other than the recorded one is used,
    as asked (comparing the two models is a fair experiment), with a warning naming both: the crops then differ
    from the ones the model was trained on."""
    if chosen is None or chosen == recorded.landmarks:
        return recorded, None
    used = TrainingAlignment(chosen, recorded.geometry, recorded.recorded)
    if not recorded.recorded:
        return used, None
    given = f"{option}{chosen}" if option.endswith("=") else f"{option} {chosen}"
    return used, (f"{given} aligns the faces with the {chosen}-point landmark model, but this model was "
                  f"trained on clips aligned with the {recorded.landmarks}-point model (recorded in its checkpoint): "
                  "the crops differ from its training crops, and its classes may too. Leave "
                  f"{option.rstrip('=')} out to align with the {recorded.landmarks}-point model.")


def face_aligner(alignment: TrainingAlignment):
    """A ``FaceAligner`` that crops as ``alignment`` says (needs the face extra)."""
    from ..preprocess.face import FaceAligner

    return FaceAligner(alignment.geometry, landmarks=alignment.landmarks)


def alignment_of(predictor) -> TrainingAlignment:
    """``predictor.alignment`` (``Predictor``'s); the default for None or an object that classifies pairs without
    one (a stand-in for a Predictor)."""
    alignment = getattr(predictor, "alignment", None)
    return alignment if isinstance(alignment, TrainingAlignment) else TrainingAlignment()


def recorded_landmarks(predictor) -> int | None:
    """The landmark model ``predictor``'s checkpoint records, or None (it records none)."""
    alignment = alignment_of(predictor)
    return alignment.landmarks if alignment.recorded else None


def spotting_alignment(config, predictor, chosen: int | None, option: str):
    """(``config`` with ``face.landmarks`` as the recording's faces are to be aligned, a warning or None) for a
    recording spotted and then classified by ``predictor``: the user's ``chosen`` model (``option``) when given,
    else the checkpoint's recorded one, else ``config``'s own. The spotter then aligns with the model the
    classifier's crops need, and no other landmark model is loaded."""
    alignment, warning = choose_alignment(alignment_of(predictor), chosen, option)
    if chosen is None and not alignment.recorded:
        return config, None
    return dataclasses.replace(config, face=dataclasses.replace(config.face, landmarks=alignment.landmarks)), warning
