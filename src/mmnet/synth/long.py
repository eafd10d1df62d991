"""Synthetic long recordings for spotting: minutes of one face with expressions at known times.

A recording is one procedural face (``render_face``) pasted on a background, then, frame by frame,
warped by the sum of what is going on at that moment (``motion.displacement_field`` per event,
scaled by the event's envelope) plus a slow head drift (an Ornstein-Uhlenbeck walk of a few pixels),
illumination flicker and sensor noise. Events:

* **macro-expressions** (annotated): 0.5-4 s, 4-10 px at a 280 x 340 face, the AUs of a class;
* **micro-expressions** (annotated): 0.2-0.5 s, 1-3 px;
* **speech** (not annotated): lips and jaw (AU25+26) opening and closing at 3-5 Hz for 1.5-4 s;
* **blinks** (not annotated): AU45 of 0.15-0.3 s, about 15 a minute, independent of the rest.

Expressions and speech never overlap one another; blinks fall anywhere. Amplitudes scale with the
face width (given at 280 px). Frames are generated as a stream (a few at a time), so any length
fits in memory. ``write_long_dataset`` writes the CAS(ME)^2 layout (``rawpic/sNN/NN_CODEname/imgN.jpg``
and the ``CAS(ME)^2code_final.xlsx`` workbook: a header-less ``CASFEcode_final`` sheet plus the
``naming rule1``/``naming rule2`` sheets), and/or one .mp4 per recording through PyAV.
Same seed, same frames.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError
from .dataset import CLASS_AUS, CLASS_MIX
from .face import Face, render_face
from .motion import Nuisance, displacement_field, envelope, parse_aus, sample_displaced

__all__ = ["LongConfig", "Event", "Recording", "face_size_for", "plan_recording", "recording_face", "render_frames"]

# Emotion class (column 7 of CAS(ME)^2's sheet) of each synthetic class.
EMOTION_CLASS = {"happiness": "positive", "disgust": "negative", "repression": "negative",
                 "surprise": "surprise", "others": "others"}  # fmt: skip


MIN_FACE = 64  # px: the face renderer's smallest face (either side)


def face_size_for(frame_size: tuple[int, int]) -> tuple[int, int]:
    """The face (width, height, even) for a frame: 280 x 340 in CAS(ME)^2's 640 x 480, in proportion in the
    largest 4:3 area of the frame, so that a wide (16:9) or tall frame keeps the face's shape (a face stretched
    to 0.44 of a 16:9 width was too wide for the face detector)."""
    w, h = frame_size
    w43, h43 = min(w, h * 4 / 3), min(h, w * 3 / 4)  # exactly (w, h) for a 4:3 frame
    return int(round(w43 * 0.4375)) // 2 * 2, int(round(h43 * 0.7083)) // 2 * 2


@dataclass(frozen=True)
class LongConfig:
    """Everything that decides a long recording's pixels and timeline, besides the seed and length.

    Durations are in seconds, amplitudes in pixels at a 280 px wide face (scaled with ``face_size``).
    ``weights`` are the odds that the next non-blink event is a macro-expression, a
    micro-expression or speech; ``gap_s`` is the still time between two of them.
    """

    fps: float = 30.0
    frame_size: tuple[int, int] = (640, 480)  # (width, height), CAS(ME)^2's raw frames
    face_size: tuple[int, int] = (280, 340)
    macro_s: tuple[float, float] = (0.5, 4.0)
    micro_s: tuple[float, float] = (0.2, 0.5)
    macro_px: tuple[float, float] = (4.0, 10.0)
    micro_px: tuple[float, float] = (1.0, 3.0)
    gap_s: tuple[float, float] = (2.0, 8.0)
    weights: tuple[float, float, float] = (0.4, 0.4, 0.2)
    speech_s: tuple[float, float] = (1.5, 4.0)
    speech_px: tuple[float, float] = (1.0, 2.5)
    blinks_per_min: float = 15.0
    blink_s: tuple[float, float] = (0.15, 0.3)
    blink_px: tuple[float, float] = (4.0, 8.0)
    drift_px: float = 3.0  # std of the head's slow translation
    drift_tau_s: float = 4.0  # its correlation time
    nuisance: Nuisance = field(default_factory=lambda: Nuisance(drift_px=0.0))  # flicker and noise only
    jpeg_quality: int = 90

    def __post_init__(self) -> None:
        (w, h), (fw, fh) = self.frame_size, self.face_size
        if not (MIN_FACE <= fw <= w and MIN_FACE <= fh <= h):
            raise ConfigError(f"long synth: face_size {self.face_size} must be >= {MIN_FACE} px and fit in "
                              f"{self.frame_size}")
        if not 0 < self.fps <= 10_000:  # also NaN and infinity
            raise ConfigError(f"long synth: fps must be in (0, 10000], got {self.fps}")
        for name in ("macro_s", "micro_s", "macro_px", "micro_px", "gap_s", "speech_s", "blink_s", "blink_px"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise ConfigError(f"long synth: {name} must be (low, high) with 0 <= low <= high, got {(lo, hi)}")

    def frames(self, seconds: float) -> int:
        return max(1, int(round(seconds * self.fps)))


@dataclass(frozen=True)
class Event:
    """One thing happening in a recording. Frame numbers count from 1 (``img1.jpg``), inclusive."""

    kind: str  # "macro" | "micro" | "speech" | "blink"
    onset: int
    apex: int
    offset: int
    aus: str
    amplitude: float  # peak displacement in pixels at this recording's face size
    label: str = ""  # class of an expression (CLASS_MIX key), "" otherwise


@dataclass(frozen=True)
class Recording:
    """The timeline of one recording: its length and its events sorted by onset."""

    frames: int
    events: tuple[Event, ...]

    @property
    def expressions(self) -> list[Event]:
        return [e for e in self.events if e.kind in ("macro", "micro")]


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, 77, *keys]))


def plan_recording(seed: int, subject: int, video: int, frames: int, config: LongConfig = LongConfig()) -> Recording:
    """Draw the events of recording ``video`` of ``subject`` (cheap: no pixels)."""
    rng = _rng(seed, 1, subject, video)
    scale = config.face_size[0] / 280.0
    u = rng.uniform
    events: list[Event] = []
    classes = list(CLASS_MIX)
    t = config.frames(u(0.5, 1.0) * config.gap_s[0] + 0.5)
    while True:
        kind = str(rng.choice(["macro", "micro", "speech"], p=np.asarray(config.weights) / sum(config.weights)))
        seconds = {"macro": config.macro_s, "micro": config.micro_s, "speech": config.speech_s}[kind]
        n = max(3, config.frames(u(*seconds)))
        if t + n + config.frames(0.5) > frames:
            break
        apex = t + int(round(u(0.3, 0.7) * (n - 1)))
        if kind == "speech":
            events.append(Event("speech", t, apex, t + n - 1, "25+26", scale * u(*config.speech_px)))
        else:
            label = str(rng.choice(classes, p=list(CLASS_MIX.values())))
            amp = scale * u(*(config.macro_px if kind == "macro" else config.micro_px))
            events.append(Event(kind, t, apex, t + n - 1, str(rng.choice(CLASS_AUS[label])), amp, label))
        t += n + config.frames(u(*config.gap_s))
    blink_rng = _rng(seed, 2, subject, video)
    t = 1.0
    while config.blinks_per_min > 0:
        t += blink_rng.exponential(60.0 / config.blinks_per_min)
        n = max(3, config.frames(blink_rng.uniform(*config.blink_s)))
        start = config.frames(t)
        if start + n > frames:
            break
        amp = scale * blink_rng.uniform(*config.blink_px)
        events.append(Event("blink", start, start + n // 2, start + n - 1, "45", amp))
    return Recording(frames, tuple(sorted(events, key=lambda e: (e.onset, e.kind))))


def recording_face(seed: int, subject: int, config: LongConfig = LongConfig()) -> tuple[Face, np.ndarray]:
    """The subject's face pasted at the centre of a frame, as a Face of frame size, and the background."""
    rng = _rng(seed, 3, subject)
    face = render_face(rng, config.face_size)
    (w, h), (fw, fh) = config.frame_size, config.face_size
    x0, y0 = (w - fw) // 2, (h - fh) // 2
    corner = face.image[:4, :4].reshape(-1, 3).mean(0)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    shade = 1.0 + 0.08 * np.sin(xx / w * np.pi * rng.uniform(1, 3)) * np.cos(yy / h * np.pi * rng.uniform(1, 2))
    canvas = (corner * shade[..., None]).astype(np.float32)
    canvas[y0:y0 + fh, x0:x0 + fw] = face.image
    landmarks = {k: (x + x0, y + y0) for k, (x, y) in face.landmarks.items()}
    return Face(canvas, landmarks, face.scale), canvas


def _drift(rng: np.random.Generator, frames: int, config: LongConfig) -> np.ndarray:
    """(frames, 2) head translation: an Ornstein-Uhlenbeck walk with std drift_px, correlation drift_tau_s."""
    a = float(np.exp(-1.0 / max(config.drift_tau_s * config.fps, 1e-6)))
    steps = rng.normal(0.0, config.drift_px * np.sqrt(1 - a * a), (frames, 2))
    out = np.empty((frames, 2))
    pos = rng.normal(0.0, config.drift_px, 2)
    for i in range(frames):  # a scalar recursion: fast enough (microseconds per frame)
        pos = a * pos + steps[i]
        out[i] = pos
    return out


def _strength(event: Event, frame: int, fps: float) -> float:
    """The event's envelope at ``frame`` (0 outside it)."""
    if not event.onset <= frame <= event.offset:
        return 0.0
    i = frame - event.onset
    if event.kind == "speech":  # syllables: open-close at 3-5 Hz, faded in and out
        n = event.offset - event.onset + 1
        rate = 3.0 + 2.0 * ((event.onset * 7919) % 100) / 100.0
        fade = max(0.0, np.sin(np.pi * i / max(n - 1, 1))) ** 0.5
        return float(fade * 0.5 * (1 - np.cos(2 * np.pi * rate * i / fps)))
    return float(envelope(event.offset - event.onset + 1, event.apex - event.onset)[i])


def render_frames(seed: int, subject: int, video: int, recording: Recording, config: LongConfig = LongConfig(),
                  *, chunk: int = 16) -> Iterator[np.ndarray]:
    """The recording's frames, (H, W, 3) uint8 RGB, one at a time (rendered ``chunk`` at a time).

    Only the face's box (plus a margin for the drift) is warped; the background stays still, as
    behind a real head. Sensor noise comes from a bank of 4 noise images taken at a random shift
    per frame: drawing full-frame Gaussian noise per frame cost more than the warp.
    """
    import torch

    face, canvas = recording_face(seed, subject, config)
    rng = _rng(seed, 4, subject, video)
    drift = _drift(rng, recording.frames, config)
    gains = 1.0 + rng.normal(0.0, config.nuisance.flicker, recording.frames)
    (w, h), (fw, fh) = config.frame_size, config.face_size
    margin = int(np.ceil(3 * config.drift_px)) + 8
    x0, y0 = max(0, (w - fw) // 2 - margin), max(0, (h - fh) // 2 - margin)
    x1, y1 = min(w, (w + fw) // 2 + margin), min(h, (h + fh) // 2 + margin)
    region = Face(np.ascontiguousarray(canvas[y0:y1, x0:x1]),
                  {k: (x - x0, y - y0) for k, (x, y) in face.landmarks.items()}, face.scale)
    image = torch.from_numpy(region.image)
    pad = 32
    bank = (config.nuisance.noise * rng.standard_normal((4, h + pad, w + pad, 3))).astype(np.float32)
    base = np.broadcast_to(canvas, (chunk, h, w, 3))
    fields: dict[Event, torch.Tensor | None] = {}  # only the events active in the current chunk
    for start in range(1, recording.frames + 1, chunk):
        numbers = range(start, min(start + chunk, recording.frames + 1))
        active = [e for e in recording.events if e.onset <= numbers[-1] and e.offset >= numbers[0]]
        fields = {e: fields.get(e) for e in active}
        for e in active:
            if fields[e] is None:
                aus = parse_aus(e.aus)
                fields[e] = torch.from_numpy(displacement_field(region, aus, [e.amplitude] * len(aus)))
        disp = torch.from_numpy(drift[numbers[0] - 1:numbers[-1]]).float()[:, None, None, :]
        disp = disp.expand(-1, y1 - y0, x1 - x0, -1).clone()
        for j, n in enumerate(numbers):
            for e in active:
                s = _strength(e, n, config.fps)
                if s:
                    disp[j] += s * fields[e]
        warped = sample_displaced(image, disp).permute(0, 2, 3, 1).numpy()  # (T, h', w', 3)
        frames = base[: len(numbers)].copy()
        frames[:, y0:y1, x0:x1] = warped
        frames *= gains[numbers[0] - 1:numbers[-1], None, None, None].astype(np.float32)
        for j in range(len(numbers)):
            k, dy, dx = rng.integers(4), rng.integers(pad), rng.integers(pad)
            frames[j] += bank[k, dy:dy + h, dx:dx + w]
        yield from np.clip(frames + 0.5, 0, 255).astype(np.uint8)
