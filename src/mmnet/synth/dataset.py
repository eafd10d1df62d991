"""Annotation sampling and the writer of a synthetic dataset in the CASME II layout (or the ``table`` dataset's).

Annotations are drawn first (``sample_annotations``: cheap, no pixels), then each clip is rendered
from its annotation. Every random draw comes from a generator seeded by (seed, purpose, subject[, clip]),
so a subject's face does not change when ``clips_per_subject`` changes, and the same seed gives
the same frames byte for byte.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..data.common import SYNTH_MARKER
from ..errors import ConfigError
from .face import GENERATOR_VERSION, Face, render_face
from .motion import Nuisance, displacement_field, parse_aus, render_clip
from .output_folder import JPEG_BYTES_PER_PIXEL, check_empty, check_room, written_beside
from .workbook import save_workbook
from .written import WRITTEN, written_record

__all__ = [
    "CLASS_MIX",
    "CLASS_AUS",
    "CODING_FILE",
    "HEADER",
    "ClipAnnotation",
    "SynthConfig",
    "sample_annotations",
    "subject_face",
    "write_dataset",
]

CODING_FILE = "CASME2-coding-20190701.xlsx"
TABLE_FILE, TABLE_CLIPS = "annotations.csv", "clips"  # the table layout (mmnet.data.table)
# Sheet1 header of the real 2019 coding file: blank columns C and G included (None).
HEADER = ("Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None,
          "Action Units", "Estimated Emotion", "Objective Classes")  # fmt: skip

# CASME II 5-class proportions (2019 file: o99 d63 h32 r27 s28 of 249).
CLASS_MIX: dict[str, float] = {"others": 99 / 249, "disgust": 63 / 249, "happiness": 32 / 249,
                               "repression": 27 / 249, "surprise": 28 / 249}  # fmt: skip

# AU combinations per class, drawn uniformly. "others" is deliberately heterogeneous and shares
# AU4/AU7 with disgust, as CASME II's "others" does; the defining AUs of each class are distinct.
CLASS_AUS: dict[str, tuple[str, ...]] = {
    "happiness": ("12", "6+12", "6+12", "L12", "6+7+12"),
    "disgust": ("9", "10", "4+9", "4+10", "4+7+10", "L10"),
    "surprise": ("1+2", "1+2", "1+2+5", "R1+R2", "1+2+25"),
    "repression": ("14", "15", "17", "15+17", "14+17", "L14"),
    "others": ("4", "7", "4+7", "20", "24", "25", "26", "25+26", "L2", "R20", "7+24", "L4"),
}

# Davison et al.'s objective classes, approximated from the drawn AUs (column J of the 2019 file).
_OBJECTIVE = (({"6", "12"}, 1), ({"1", "2", "5", "25", "26"}, 2), ({"4", "7"}, 3), ({"9", "10"}, 4),
              ({"15", "17"}, 5), ({"20"}, 6))  # fmt: skip


@dataclass(frozen=True)
class ClipAnnotation:
    """One row of the coding file. Frame numbers are absolute (``reg_img{onset}.jpg`` is the first)."""

    subject: str
    clip: str
    onset: int
    apex: int
    offset: int
    aus: str
    label: str

    @property
    def objective_class(self) -> int:
        numbers = {a for _, a in parse_aus(self.aus)}
        for group, cls in _OBJECTIVE:
            if numbers & group:
                return cls
        return 7


@dataclass(frozen=True)
class SynthConfig:
    """Everything that decides the pixels, besides the seed and sizes.

    Attributes:
        image_size: (width, height) of the frames; CASME II crops are about 280 x 340.
        amplitude_px: range of a clip's peak action-unit displacement, in pixels at ``image_size``.
        subject_gain: range of a subject's expressivity factor (multiplies the amplitude).
        frames: range (inclusive) of clip lengths in frames.
        texture: skin-texture contrast multiplier (1 = default faces).
        blink_prob: probability that a clip also holds an unannotated partial blink.
        nuisance: head drift, illumination flicker and sensor noise.
        jpeg_quality: JPEG quality of the frames (high, so sub-pixel motion survives).
    """

    image_size: tuple[int, int] = (280, 340)
    # Micro-expression motion at CASME II's crop size. The demo, which trains at 80 px, uses
    # synth.DEMO_CONFIG (8-12 px here, 1.8-2.7 px at its 64 px input; docs/synthetic-data.md).
    amplitude_px: tuple[float, float] = (0.5, 3.0)
    subject_gain: tuple[float, float] = (0.8, 1.2)
    frames: tuple[int, int] = (8, 16)
    texture: float = 1.0
    blink_prob: float = 0.15
    nuisance: Nuisance = field(default_factory=Nuisance)
    jpeg_quality: int = 95

    def __post_init__(self) -> None:
        w, h = self.image_size
        if w < 64 or h < 64:
            raise ConfigError(f"synth image_size must be at least 64 x 64, got {self.image_size!r}")
        lo, hi = self.amplitude_px
        if not 0 <= lo <= hi:
            raise ConfigError(
                f"synth amplitude_px must be (low, high) with 0 <= low <= high, got {self.amplitude_px!r}"
            )
        if not 3 <= self.frames[0] <= self.frames[1]:
            raise ConfigError(f"synth frames must be (min, max) with 3 <= min <= max, got {self.frames!r}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ConfigError(f"synth jpeg_quality must be in 1..100, got {self.jpeg_quality!r}")


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *keys]))


def _quota(n: int) -> list[str]:
    """Class labels for n clips in CLASS_MIX proportions (largest remainder), in a fixed order."""
    exact = {c: p * n for c, p in CLASS_MIX.items()}
    counts = {c: int(v) for c, v in exact.items()}
    for c in sorted(exact, key=lambda c: exact[c] - counts[c], reverse=True)[: n - sum(counts.values())]:
        counts[c] += 1
    return [c for c in CLASS_MIX for _ in range(counts[c])]


def _check_sizes(subjects: int, clips_per_subject: int) -> None:
    if not 1 <= subjects <= 99:
        raise ConfigError(f"--subjects must be in 1..99 (folders sub01..sub99), got {subjects}")
    if not 1 <= clips_per_subject <= 200:
        raise ConfigError(f"--clips-per-subject must be in 1..200, got {clips_per_subject}")


def sample_annotations(
    *, subjects: int, clips_per_subject: int, seed: int, config: SynthConfig | None = None
) -> list[ClipAnnotation]:
    """Draw the coding-file rows: labels in CASME II 5-class proportions over the whole set, AUs per class.

    The class quota is exact over all ``subjects * clips_per_subject`` clips (largest remainder);
    which subject gets which clips is random, as in CASME II where subjects' mixes differ.
    """
    _check_sizes(subjects, clips_per_subject)
    config = config or SynthConfig()
    labels = _quota(subjects * clips_per_subject)
    _rng(seed, 0).shuffle(labels)
    rows = []
    for s in range(subjects):
        rng = _rng(seed, 1, s)
        episodes = rng.permutation(np.arange(1, 20))  # EP01..EP19: tasks, a few clips each
        for c in range(clips_per_subject):
            label = labels[s * clips_per_subject + c]
            n = int(rng.integers(config.frames[0], config.frames[1] + 1))
            onset = int(rng.integers(10, 200))
            apex = onset + int(round(rng.uniform(0.3, 0.7) * (n - 1)))
            suffix = "f" if rng.random() < 0.5 else ""
            clip = f"EP{episodes[c % len(episodes)]:02d}_{c // len(episodes) + 1:02d}{suffix}"
            aus = str(rng.choice(CLASS_AUS[label]))
            rows.append(ClipAnnotation(f"{s + 1:02d}", clip, onset, apex, onset + n - 1, aus, label))
    return rows


def _write_coding(path: Path, rows: list[ClipAnnotation]) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(list(HEADER))
    for r in rows:
        # Single AUs are stored as numbers, combinations and sided AUs as text, as in the real file.
        aus = int(r.aus) if r.aus.isdigit() else r.aus
        ws.append([r.subject, r.clip, None, r.onset, r.apex, r.offset, None, aus, r.label, r.objective_class])
        ws.cell(row=ws.max_row, column=1).number_format = "@"
    wb.create_sheet("Sheet2")
    wb.create_sheet("Sheet3")
    wb.properties.creator = "mmnet synth"
    save_workbook(wb, path, datetime.datetime(2019, 7, 1))  # the same seed, the same bytes


def _table_clip(row: ClipAnnotation) -> Path:
    return Path(TABLE_CLIPS, f"P{row.subject}", row.clip)


def _write_table(path: Path, rows: list[ClipAnnotation]) -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["subject", "clip", "onset", "apex", "offset", "emotion", "aus"])
        for r in rows:
            w.writerow([f"P{r.subject}", _table_clip(r).as_posix(), r.onset, r.apex, r.offset, r.label, r.aus])


def subject_face(seed: int, subject: int, config: SynthConfig | None = None) -> Face:
    """The neutral face of subject number ``subject`` (1-based, as in ``sub01``) of the set made with ``seed``."""
    config = config or SynthConfig()
    return render_face(_rng(seed, 2, subject - 1), config.image_size, texture=config.texture)


def write_dataset(
    out: str | Path,
    *,
    subjects: int,
    clips_per_subject: int,
    seed: int,
    config: SynthConfig | None = None,
    overwrite: bool = False,
    table: bool = False,
) -> Path:
    """Write a synthetic micro-expression dataset in the CASME II layout and return its root.

    With ``table``, the same clips in the ``table`` dataset's layout instead (a lab's own clips, docs/datasets.md):
    ``out/annotations.csv`` (subject, clip, onset, apex, offset, emotion, aus) and
    ``out/clips/P01/EP02_01f/frame_0046.jpg``.

    Writes ``out/CASME2-coding-20190701.xlsx``, ``out/Cropped/subNN/CLIP/reg_imgN.jpg`` for the
    frames onset..offset of every clip, and ``out/synth.json`` (the settings that made it), into a new folder
    beside ``out`` that is moved into place once whole (``synth.json`` last: its presence marks a whole set).

    Args:
        out: dataset root; must be empty or absent unless ``overwrite``.
        subjects, clips_per_subject: dataset size.
        seed: everything is a function of it.
        config: pixel-level settings; default is the calibrated ``SynthConfig()``.
        overwrite: replace an earlier synthetic set in ``out`` (only one with ``synth.json``).
    """
    import shutil

    config = config or SynthConfig()
    root = Path(out)
    parts = ["Cropped", CODING_FILE, TABLE_CLIPS, TABLE_FILE]  # either layout's: --overwrite replaces the other
    check_empty(root, overwrite, parts)
    rows = sample_annotations(subjects=subjects, clips_per_subject=clips_per_subject, seed=seed, config=config)
    frames_total = sum(row.offset - row.onset + 1 for row in rows)
    check_room(root, frames_total * config.image_size[0] * config.image_size[1] * JPEG_BYTES_PER_PIXEL["clips"],
               [root / p for p in parts], smaller="--subjects, --clips-per-subject")
    for target in (root / p for p in parts):  # an earlier synthetic set's (overwrite)
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        else:
            target.unlink(missing_ok=True)
    with written_beside(root) as stage:
        _write_clips(stage, rows, subjects, clips_per_subject, seed, config, table)
    return root


def _write_clips(root: Path, rows: list[ClipAnnotation], subjects: int, clips_per_subject: int, seed: int,
                 config: SynthConfig, table: bool = False) -> None:
    from PIL import Image

    from ..utils import atomic_write_text
    from ..version import __version__

    faces = {f"{s + 1:02d}": subject_face(seed, s + 1, config) for s in range(subjects)}
    subject_gain = {k: _rng(seed, 3, int(k)).uniform(*config.subject_gain) for k in faces}
    for i, row in enumerate(rows):
        frames = render_row(row, faces[row.subject], subject_gain[row.subject], _rng(seed, 4, i), config)
        folder = root / (_table_clip(row) if table else Path("Cropped", f"sub{row.subject}", row.clip))
        folder.mkdir(parents=True, exist_ok=True)
        for k, frame in enumerate(frames):
            name = f"frame_{row.onset + k:04d}.jpg" if table else f"reg_img{row.onset + k}.jpg"
            Image.fromarray(frame).save(folder / name, quality=config.jpeg_quality, subsampling=0)
    if table:
        _write_table(root / TABLE_FILE, rows)
    else:
        _write_coding(root / CODING_FILE, rows)
    meta = {"generator": "mmnet synth", "generator_version": GENERATOR_VERSION, "mmnet_version": __version__,
            "subjects": subjects, "clips_per_subject": clips_per_subject, "seed": seed,
            "layout": "table" if table else "casme2",
            "config": asdict(config),
            WRITTEN: written_record(root, [TABLE_FILE if table else CODING_FILE])}  # fmt: skip
    atomic_write_text(root / SYNTH_MARKER, json.dumps(meta, indent=2) + "\n")


def render_row(row: ClipAnnotation, face, gain: float, rng: np.random.Generator, config: SynthConfig) -> np.ndarray:
    """Frames (T, H, W, 3) uint8 of one annotated clip on the subject's face."""
    aus = parse_aus(row.aus)
    peak = rng.uniform(*config.amplitude_px) * gain
    amps = [peak * rng.uniform(0.8, 1.2) for _ in aus]
    if rng.random() < config.blink_prob:
        aus.append(("", "45"))
        amps.append(rng.uniform(*config.amplitude_px))
    field = displacement_field(face, aus, amps)
    n = row.offset - row.onset + 1
    offset_px = tuple(rng.normal(0.0, 2.0, 2))  # framing differs a little between recordings
    return render_clip(face, field, n, row.apex - row.onset, rng, config.nuisance,
                       offset_px=offset_px, gain=float(rng.uniform(0.95, 1.05)))  # fmt: skip
