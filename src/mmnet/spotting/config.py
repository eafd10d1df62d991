"""Parameters of the training-free optical-flow spotter, with the published per-dataset values.

One typed dataclass per concern, set the usual way: a preset (``casme2``, ``samm``, ``casme3``),
then ``section.key=value`` overrides (the syntax of ``mmnet.config`` and ``--set``)::

    spot_config("samm", ["macro.p=0.4", "face.mode=none"])

Temporal parameters are **frame counts at ``fps_reference``** (the dataset's native rate, as the
papers give them) and are scaled to each video's own frame rate (``frames_at``), so a 60 fps
recording with the CAS(ME)^2 preset uses twice the frame counts. Sources (docs/spotting.md):

* ``k`` (flow stride): SoftNet/MEAN's half the mean expression length; CAS(ME)^2 6 / 18 (ME / MaE),
  SAMM-LV 37 / 174, CAS(ME)^3 17 / 75.
* ``p`` (threshold mean + p (max - mean)): **0.05**, not the 0.55 of SoftNet, MEAN and BoostingVRME.
  Theirs is for a learned score; on raw flow magnitudes, where the largest expression of a
  recording moves many times more than the smallest, 0.55 keeps only the largest (on two
  synthetic 2-minute recordings: 1 of 5 and 1 of 6 macro-expressions). MDMD, the training-free
  MEGC2020 baseline, ran at 0.01 on its contrast curve. 0.05 was chosen on one synthetic
  recording (seed 0) and checked on another (seed 1); see docs/spotting.md. Set
  ``micro.p=0.55 macro.p=0.55`` for the published value.
* ``smooth``: SoftNet's centred moving average over 2k.
* ``min_length``/``max_length`` (length gates): MDMD's CAS(ME)^2 ME 7-16 and MaE >= 17, SAMM-LV
  ME 47-105 and MaE >= 106; MTSN's CAS(ME)^3 test-set ME 5-30 and MaE 15-90; applied exactly as set. The
  CAS(ME)^2 micro gate here is 6-16, not 7: 6 frames is 0.2 s at 30 fps, and the spotter (bounds read on the
  unsmoothed score) measures a 0.2 s micro-expression at about its true length, which a 7-frame gate would drop;
  MDMD's 7 was set on its own contrast curve, measured differently. SAMM-LV's 47 and CAS(ME)^3's 5 are the
  published values, not re-measured.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..errors import ConfigError, verify_choice

MAX_FPS = 10_000  # the highest frame rate a recording may declare (no window length can be computed past it)
MIN_MICRO_FRAMES = 3  # below this stride or shortest length (frames), a micro-expression is barely sampled
MICRO_SECONDS = 0.5  # the longest micro-expression (the usual definition)

__all__ = ["MAX_FPS", "PRESETS", "DATASET_PRESETS", "ScaleConfig", "FaceConfig", "LearnedConfig", "SpotConfig",
           "spot_config", "spot_config_from", "config_key", "values_key"]


@dataclass
class ScaleConfig:
    """One expression type (micro or macro): its flow stride, smoothing, threshold and length gate."""

    k: int = 6  # flow from frame i to frame i + k (frames at fps_reference)
    smooth: int = 12  # centred moving-average width of the motion curve (frames)
    p: float = 0.05  # threshold = mean + p * (max - mean) of the smoothed curve, per video
    distance: int = 6  # two peaks at least this far apart (frames); 0 = k
    min_length: int = 6  # interval length gate offset - onset + 1 (frames): 0.2 s at 30 fps
    max_length: int = 0  # 0 = no upper gate

    def __post_init__(self) -> None:
        if self.k < 1 or self.smooth < 1 or self.distance < 0 or self.min_length < 1 or self.max_length < 0:
            raise ConfigError("spotting k and smooth must be >= 1, distance and max_length >= 0, min_length >= 1")
        if not 0.0 <= self.p <= 1.0:
            raise ConfigError(f"spotting p must be in [0, 1], got {self.p}")
        if self.max_length and self.max_length < self.min_length:
            raise ConfigError(f"spotting max_length {self.max_length} < min_length {self.min_length}")


@dataclass
class FaceConfig:
    """Where the face is, and the crop the flow is computed on.

    ``mode``: ``"align"`` detects the face (dlib HOG + 68 landmarks, the ``face`` extra) and warps
    every frame with one similarity transform, re-estimated only when the face has moved; the
    face is looked for again every ``check_every`` seconds, and frames where it is missing are gaps.
    ``"none"`` takes the whole frame as the face crop (frames already cropped and aligned, as
    CASME II's ``Cropped``), with the facial regions at their usual place in such a crop.
    ``landmarks``: the landmark model of ``align``, 68 (dlib's iBUG 300-W model: non-commercial use only) or 5
    (dlib's 5-point model: eye corners and nose; the regions are then the template's, at the measured eyes).
    """

    mode: str = "align"
    check_every: float = 1.0  # seconds between two face checks
    realign: float = 0.1  # re-estimate the alignment when the face box moved by this fraction of its width
    width: int = 140  # crop the flow runs on (half of CASME II's 280 x 340 crops)
    height: int = 170
    eye_margin: float = 0.25  # eye masks are pushed out by this fraction of the inter-ocular distance
    landmarks: int = 68  # landmark model: 68 or 5 points

    def __post_init__(self) -> None:
        from ..preprocess.landmarks import landmark_count

        verify_choice("face.mode", self.mode, ("align", "none"))
        self.landmarks = landmark_count(self.landmarks, "face.landmarks")  # "5" from the Python API kept as 5
        if self.check_every <= 0 or self.realign <= 0 or self.width < 32 or self.height < 32 or self.eye_margin < 0:
            raise ConfigError("face.check_every and face.realign must be > 0, face.width/height >= 32, "
                              "face.eye_margin >= 0")


@dataclass
class LearnedConfig:
    """The learned spotter's network and training (``method=learned``; docs/spotting.md).

    SoftNet's recipe (ICIP 2021): one shallow network per expression type on the flow of frames
    k apart (|u|, |v| and optical strain of the brows and the mouth, ``size`` x ``size``),
    pseudo-labels, MSE loss, 10 epochs, batch 32 (SoftNet 12), Adam at 5e-4 (MEAN's; SoftNet uses SGD),
    half of the pairs without any expression dropped, p = 0.55 on the smoothed score. ``flip``
    mirrors a random half of each training batch (a label-preserving augmentation; on by default, as it
    scored the same on the synthetic LOSO benchmark, docs/spotting.md).
    """

    size: int = 32  # side of the network's input (brows above mouth, each size x size / 2)
    epochs: int = 10
    batch: int = 32
    lr: float = 5e-4
    negatives: float = 0.5  # fraction of the training pairs without an expression that are kept
    p: float = 0.55  # threshold mean + p * (max - mean) of the smoothed learned score (SoftNet, MEAN)
    flip: bool = True  # training augmentation: mirror a random half of each batch (the face mirrored, u negated)

    def __post_init__(self) -> None:
        if self.size < 12 or self.size % 2 or self.epochs < 1 or self.batch < 1 or self.lr <= 0:
            raise ConfigError("learned.size must be even and >= 12, learned.epochs and learned.batch >= 1, "
                              "learned.lr > 0")
        if not 0.0 < self.negatives <= 1.0 or not 0.0 <= self.p <= 1.0:
            raise ConfigError(f"learned.negatives must be in (0, 1] and learned.p in [0, 1], got "
                              f"{self.negatives} and {self.p}")


@dataclass
class SpotConfig:
    preset: str = "casme2"
    fps_reference: float = 30.0  # the frame rate the frame counts below are given at
    flow: str = "dis"  # optical flow (mmnet.preprocess.flow): "dis", "farneback" or "tvl1" (slow)
    combine: str = "max"  # a frame's score from its regions' scores: "max" or "mean"
    # A region's score: the mean of its largest `top` fraction of flow magnitudes. An action unit moves
    # a small part of a region (a lip corner), so MDMD's top third would average in mostly still skin.
    top: float = 0.1
    micro: ScaleConfig = field(default_factory=ScaleConfig)
    macro: ScaleConfig = field(default_factory=lambda: ScaleConfig(18, 36, 0.05, 18, 17, 0))
    face: FaceConfig = field(default_factory=FaceConfig)
    # "flow": the training-free spotter; "learned": LearnedSpotter (trained, see learned); "package.module:Class": a
    # spotter of one's own (spotting/base.py)
    method: str = "flow"
    learned: LearnedConfig = field(default_factory=LearnedConfig)

    def __post_init__(self) -> None:
        from .spotters import check_method  # registered, or one's own "package.module:Class" (imported now)

        check_method(self.method)
        verify_choice("flow", self.flow, ("dis", "farneback", "tvl1"))
        verify_choice("combine", self.combine, ("max", "mean"))
        if not 0 < self.top <= 1:
            raise ConfigError(f"top must be in (0, 1], got {self.top}")
        if self.fps_reference <= 0:
            raise ConfigError(f"fps_reference must be > 0, got {self.fps_reference}")

    def frames_at(self, frames: int, fps: float) -> int:
        """A frame count of this config converted to a video at ``fps`` (at least 1)."""
        return max(1, int(round(frames * fps / self.fps_reference)))

    def rate_note(self, fps: float) -> str | None:
        """The note for a recording slower than ``fps_reference`` whose micro-expression stride or shortest
        interval scales below ``MIN_MICRO_FRAMES`` (``frames_at`` keeps them at 1, silently): micro intervals of a
        frame or two are what it can find, none validated. None otherwise."""
        k = self.frames_at(self.micro.k, fps)
        shortest = self.frames_at(self.micro.min_length, fps) if self.micro.min_length else MIN_MICRO_FRAMES
        if fps >= self.fps_reference or min(k, shortest) >= MIN_MICRO_FRAMES:
            return None
        spans = max(1, int(MICRO_SECONDS * fps))
        return (f"at {fps:g} fps a micro-expression (at most {MICRO_SECONDS:g} s) spans at most {spans} "
                f"frame{'s' * (spans > 1)}, and the {self.preset} preset's micro-expression windows, set at "
                f"{self.fps_reference:g} fps, shrink to a stride of {k} and a shortest interval of {shortest} "
                f"frame{'s' * (shortest > 1)}: spotting was validated at {self.fps_reference:g} fps or more, so the "
                "micro intervals found are uncertain; record at 30 fps or more for micro-expressions")


#: Published per-dataset values (see the module docstring); keys are override paths.
PRESETS: dict[str, dict[str, object]] = {
    "casme2": {"fps_reference": 30.0, "micro.k": 6, "micro.smooth": 12, "micro.distance": 6,
               "micro.min_length": 6, "micro.max_length": 16,
               "macro.k": 18, "macro.smooth": 36, "macro.distance": 18, "macro.min_length": 17, "macro.max_length": 0},
    "samm": {"fps_reference": 200.0, "micro.k": 37, "micro.smooth": 74, "micro.distance": 37,
             "micro.min_length": 47, "micro.max_length": 105,
             "macro.k": 174, "macro.smooth": 348, "macro.distance": 174, "macro.min_length": 106,
             "macro.max_length": 0},
    "casme3": {"fps_reference": 30.0, "micro.k": 17, "micro.smooth": 34, "micro.distance": 17,
               "micro.min_length": 5, "micro.max_length": 30,
               "macro.k": 75, "macro.smooth": 150, "macro.distance": 75, "macro.min_length": 15,
               "macro.max_length": 90},
}

#: The preset of each long-video dataset, for train-spotter and spot then recognise when none is chosen.
#: table-long (a lab's own recordings) takes casme2: its frame counts are scaled to each recording's rate, and its
#: windows (a micro-expression's stride 0.2 s, 6-16 frames at 30 fps) follow the MEGC baselines'; --preset overrides it.
DATASET_PRESETS = {"casme-sq": "casme2", "casme2-long": "casme2", "samm-long": "samm", "casme3-long": "casme3",
                   "table-long": "casme2"}


def spot_config(preset: str = "casme2", overrides: list[str] | dict | str | None = None) -> SpotConfig:
    """The preset's values, then ``key=value`` / ``section.key=value`` overrides (strings, one string alone, or a
    dict ``{key: value}``); every value is type-checked."""
    # mmnet's override parsing and typed section builder: one mechanism for every config.
    from ..config import set_value
    from ..overrides import override_list, parse_override

    if not isinstance(preset, str):
        raise TypeError(f"spot_config's preset is a preset name ({', '.join(PRESETS)}), got a "
                          f"{type(preset).__name__}; give overrides as its second argument.")
    verify_choice("spotting preset", preset, tuple(PRESETS))
    values: dict = {"preset": preset}
    given = [item if isinstance(item, tuple) else parse_override(item) for item in override_list(overrides)]
    for key, value in given:
        _check_shape(key, value)
    for key, value in list(PRESETS[preset].items()) + given:
        if "." in key:
            set_value(values, key, value, where="spotting override")
        else:
            values[key] = value
    return spot_config_from(values)


SECTIONS = ("micro", "macro", "face", "learned")


def _check_shape(key: str, value: object) -> None:
    """A value set as a section (``flow.method=...``) or a section as a value (``micro=3``) is said as such, with the
    keys of each kind: the type check would say "flow must be of type str, got {'method': ...}" or "micro must be
    a mapping, got 3"."""
    import typing

    head, dot, _ = key.partition(".")
    plain = [f.name for f in dataclasses.fields(SpotConfig) if f.name not in (*SECTIONS, "preset")]  # (--preset)
    if dot and head in plain:
        problem = f"{head} is a value, not a section: give --set {head}=VALUE"
    elif not dot and key in SECTIONS and not isinstance(value, dict):  # a dict from Python sets the section
        keys = ", ".join(f.name for f in dataclasses.fields(typing.get_type_hints(SpotConfig)[key]))
        problem = f"{key} is a section: give --set {key}.KEY=VALUE, KEY one of {keys}"
    else:
        return
    raise ConfigError(f"--set {key}={value}: {problem}. Values (--set KEY=VALUE): {', '.join(plain)}; sections "
                      f"(--set SECTION.KEY=VALUE): {', '.join(SECTIONS)}.")


def spot_config_from(values: dict) -> SpotConfig:
    """A ``SpotConfig`` from nested values (``dataclasses.asdict`` of one, as a saved spotter keeps it), checked."""
    import typing

    from ..config import build_section

    values = dict(values)
    hints = typing.get_type_hints(SpotConfig)
    sections = {name: build_section(hints[name], values.pop(name, None) or {}, name) for name in SECTIONS}
    # top-level keys are named as the user writes them (``--set pp=0.1``), a mistyped one with its section's
    dotted = tuple(f"{name}.{f.name}" for name in SECTIONS for f in dataclasses.fields(hints[name]))
    return build_section(SpotConfig, {**values, **sections}, "", dotted)


#: Keys added after saved progress and fold records were first keyed by the config, with the value all of those
#: were made with: left out of a key while they hold it, so what was saved before still matches.
LATER_KEYS = {("face", "landmarks"): 68}


def config_key(config: SpotConfig) -> dict:
    """``config`` as JSON values, for keys that decide whether saved work is reused (``LATER_KEYS`` at their
    earlier value left out)."""
    import json

    return values_key(json.loads(json.dumps(dataclasses.asdict(config))))


def values_key(values: dict) -> dict:
    """A config saved as JSON values (``asdict`` of one, as a spotting record keeps it) keyed as ``config_key``
    keys a config: one saved before a ``LATER_KEYS`` key existed matches one made with its earlier value."""
    values = {name: dict(value) if isinstance(value, dict) else value for name, value in values.items()}
    for (section, key), value in LATER_KEYS.items():
        if isinstance(values.get(section), dict) and values[section].get(key) == value:
            del values[section][key]
    return values
