"""Synthetic micro-expression datasets in the CASME II layout, for demos, tests and CI.

Each subject is a procedural face of its own (shape, proportions, skin tone, texture); each class
is a FACS-like local motion (happiness AU6+12, disgust AU4+9/10, surprise AU1+2(+5), repression
AU14/15/17, others a mix of other AUs) that rises to the apex frame and falls, on top of head
drift, illumination flicker and sensor noise. See docs/synthetic-data.md for the calibration.

Example:
    >>> from mmnet import synth
    >>> root = synth.write_dataset("demo-data", **synth.DEMO_PRESET, config=synth.DEMO_CONFIG)  # doctest: +SKIP
    >>> synth.contact_sheet(root, "sheet.png")                         # doctest: +SKIP
"""

from __future__ import annotations

from .dataset import (
    CLASS_AUS,
    CLASS_MIX,
    CODING_FILE,
    HEADER,
    ClipAnnotation,
    SynthConfig,
    sample_annotations,
    subject_face,
    write_dataset,
)
from .face import GENERATOR_VERSION, Face, older_generator, render_face
from .motion import ACTION_UNITS, Nuisance
from .sheet import contact_sheet, read_annotations

__all__ = [
    "DEMO_PRESET",
    "DEMO_CONFIG",
    "GENERATOR_VERSION",
    "ACTION_UNITS",
    "CLASS_AUS",
    "CLASS_MIX",
    "CODING_FILE",
    "HEADER",
    "ClipAnnotation",
    "Face",
    "Nuisance",
    "SynthConfig",
    "contact_sheet",
    "older_generator",
    "read_annotations",
    "render_face",
    "sample_annotations",
    "subject_face",
    "write_dataset",
]

#: The set ``mmnet demo`` trains on: small enough for a CPU LOSO in minutes (calibration in
#: docs/synthetic-data.md); its pixel settings are ``DEMO_CONFIG``.
DEMO_PRESET: dict[str, int] = {"subjects": 5, "clips_per_subject": 20, "seed": 0}

#: The demo's pixel settings: motion of 8-12 px at 280x340, because the demo trains at 64 px
#: (1.8-2.7 px there): at 2.5-5 px (0.6-1.4 px at 80 px) MMNet learned too little in the demo's
#: budget (honest UF1 0.28-0.42 over seeds 0-2), with the default 0.5-3 px nothing. Still local
#: FACS-like motion on the subject's face structure, on top of drift, flicker and noise.
DEMO_CONFIG = SynthConfig(amplitude_px=(8.0, 12.0))
