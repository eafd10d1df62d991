"""Writing synthetic long recordings in the CAS(ME)^2 (CASME_sq) layout, as JPEG frames and/or .mp4.

Layout (as the real release, see docs/spotting.md)::

    OUT/CAS(ME)^2code_final.xlsx          sheets CASFEcode_final (no header), naming rule1, naming rule2
    OUT/rawpic/s15/15_0101disgust1/img1.jpg ...            (format "jpg")
    OUT/rawvideo/s15/15_0101disgust1.mp4                   (format "mp4": H.264 through PyAV)
    OUT/spotting-truth.csv                                 the planted expressions, as `mmnet score-spots` reads a truth
    OUT/synth.json                                         settings, and every event (blinks and speech too)

Subjects are numbered as in CAS(ME)^2 (index 1 = s15, 2 = s16, 3 = s19, ...); videos take the
stimulus codes of ``naming rule2`` (0101 disgust1, 0102 disgust2, 0401 anger1, ...). The
expression id of a row is ``{stimulus}_{n}``, n counting that video's expressions from 1.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..data.casme_sq import FPS as CASME_SQ_FPS
from ..data.casme_sq import SUBJECT_NUMBERS
from ..data.common import SYNTH_MARKER, SYNTH_TRUTH
from ..errors import ConfigError, DataError, install_hint
from ..progress import FrameProgress
from .face import GENERATOR_VERSION
from .long import EMOTION_CLASS, LongConfig, Recording, plan_recording, render_frames
from .output_folder import JPEG_BYTES_PER_PIXEL, MP4_BYTES_PER_PIXEL, check_empty, check_room, written_beside
from .workbook import save_workbook
from .written import WRITTEN, written_record

__all__ = ["CASME_SQ_CODING_FILE",
           "SUBJECT_FOLDERS", "STIMULI", "write_long_dataset", "write_video", "require_pyav",
           "video_name"]

CASME_SQ_CODING_FILE = "CAS(ME)^2code_final.xlsx"
#: CAS(ME)^2's subject index 1..22 -> folder (sheet ``naming rule1``).
SUBJECT_FOLDERS = tuple(f"s{n}" for n in SUBJECT_NUMBERS)
#: Stimulus code -> name (sheet ``naming rule2``); the codes are text.
STIMULI = (("0101", "disgust1"), ("0102", "disgust2"), ("0401", "anger1"), ("0402", "anger2"),
           ("0502", "happy1"), ("0503", "happy2"), ("0505", "happy3"), ("0507", "happy4"), ("0508", "happy5"))
FORMATS = ("jpg", "mp4")


def video_name(subject: int, video: int) -> str:
    """Folder (and .mp4 stem) of recording ``video`` (1-based) of subject index ``subject``: ``15_0101disgust1``."""
    code, name = STIMULI[video - 1]
    return f"{SUBJECT_FOLDERS[subject - 1][1:]}_{code}{name}"


def require_pyav() -> None:
    """DataError naming the video extra when PyAV, which writes .mp4 (``mmnet synth --format mp4``), is missing."""
    try:
        import av  # noqa: F401
    except ImportError:
        raise DataError(f"Writing .mp4 needs PyAV: {install_hint('video')} (or write JPEG frames).") from None


def write_video(path: str | Path, frames: Iterable[np.ndarray], fps: float) -> int:
    """Encode RGB frames to an H.264 .mp4 (yuv420p) with PyAV, streaming; returns the frame count."""
    from fractions import Fraction

    require_pyav()
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with av.open(str(path), mode="w") as container:
        stream = None
        for frame in frames:
            if stream is None:
                stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
                stream.height, stream.width = frame.shape[:2]
                stream.pix_fmt = "yuv420p"
                # mbtree off: with it, this x264 build's output for the same frames changed with the process's
                # memory state (uninitialised reads), so the same seed gave different videos and spotting results.
                stream.options = {"crf": "18", "preset": "veryfast", "x264-params": "mbtree=0"}
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
            count += 1
        if stream is not None:
            for packet in stream.encode():
                container.mux(packet)
    return count


def _write_workbook(path: Path, rows: list[list], subjects: int) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "CASFEcode_final"
    for row in rows:
        ws.append(row)
    rule1 = wb.create_sheet("naming rule1")
    for row in rows:  # one row per annotation row, as in the real file
        folder = SUBJECT_FOLDERS[row[0] - 1]
        rule1.append([int(folder[1:]), folder, row[0]])
    rule2 = wb.create_sheet("naming rule2")
    for code, name in STIMULI:
        rule2.append([code, name])
        rule2.cell(row=rule2.max_row, column=1).number_format = "@"
    wb.properties.creator = "mmnet synth"
    save_workbook(wb, path, datetime.datetime(2019, 7, 1))  # the same seed, the same bytes


def _rows(subject: int, video: int, recording: Recording) -> list[list]:
    stimulus = STIMULI[video - 1][1]
    rows = []
    for n, e in enumerate(recording.expressions, 1):
        aus = int(e.aus) if e.aus.isdigit() else e.aus
        rows.append([subject, f"{stimulus}_{n}", e.onset, e.apex, e.offset, aus, EMOTION_CLASS[e.label],
                     f"{e.kind}-expression", e.label])
    return rows


def _truth_rows(subject: int, video: int, recording: Recording) -> list[list]:
    """A recording's expressions as truth rows, its MEGC id (``15_0101``, as `mmnet spot` names the recording) and
    frames numbered from 1 as img1.jpg (MEGC's, as spotting.csv's); one empty row for a recording without any, so
    that spots there count as false positives."""
    vid = f"{SUBJECT_FOLDERS[subject - 1][1:]}_{STIMULI[video - 1][0]}"
    rows = [[vid, e.onset, e.offset, "me" if e.kind == "micro" else "mae"] for e in recording.expressions]
    return rows or [[vid, "", "", ""]]


def _write_truth(path: Path, rows: list[list]) -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["vid", "onset", "offset", "type"])
        writer.writerows(rows)


def write_long_dataset(out: str | Path, *, subjects: int = 1, videos_per_subject: int = 1, minutes: float = 1.0,
                       seed: int = 0, config: LongConfig | None = None, formats: tuple[str, ...] = ("jpg",),
                       overwrite: bool = False, progress: bool = False) -> Path:
    """Write synthetic long recordings in the CAS(ME)^2 layout and return the root (written beside it and moved
    into place once whole, ``synth.json`` last).

    Args:
        out: root folder; empty or absent unless ``overwrite`` (an earlier synthetic set only).
        subjects: 1..22 (CAS(ME)^2's subject indices); videos_per_subject: 1..9 (its stimuli).
        minutes: length of every recording.
        formats: "jpg" (rawpic/ frames) and/or "mp4" (rawvideo/).
        progress: on stderr, a bar per recording at a terminal, else a line every 10 % of its frames (a log or a
            pipe shows that a long recording is being written).
    """
    import shutil

    config = config or LongConfig()
    if not 1 <= subjects <= len(SUBJECT_FOLDERS):
        raise ConfigError(f"--subjects must be in 1..{len(SUBJECT_FOLDERS)} for the CAS(ME)^2 layout, got {subjects}")
    if not 1 <= videos_per_subject <= len(STIMULI):
        raise ConfigError(f"--videos must be in 1..{len(STIMULI)} (CAS(ME)^2's stimuli), got {videos_per_subject}")
    if not 0 < minutes <= 1440:  # also NaN and infinity
        raise ConfigError(f"--minutes must be > 0 and at most 1440 (a day), got {minutes}")
    bad = sorted(set(formats) - set(FORMATS))
    if bad or not formats:
        raise ConfigError(f"long synth formats must be some of {FORMATS}, got {list(formats)}")
    if "jpg" in formats and config.fps != CASME_SQ_FPS:  # the loader would read them at 30 fps: every gate off
        raise ConfigError(f"--fps {config.fps:g} with JPEG frames (--format jpg): rawpic/ is the CAS(ME)^2 layout, "
                          f"whose frames are {CASME_SQ_FPS:g} fps, and the casme-sq loader (check-data, train, "
                          f"train-spotter) reads them at that rate. Give --fps {CASME_SQ_FPS:g}, or write videos "
                          "alone (--format mp4: a video carries its own frame rate, which `mmnet spot` reads).")
    w, h = config.frame_size
    if "mp4" in formats and (w % 2 or h % 2):  # H.264 in 4:2:0 (yuv420p) halves both sides for colour
        raise ConfigError(f"--size {w} {h}: an .mp4 needs an even width and height (H.264 stores colour at half "
                          f"size); give --size {w + w % 2} {h + h % 2}, or write JPEG frames only (--format jpg).")
    root = Path(out)
    check_empty(root, overwrite, ["rawpic", "rawvideo", CASME_SQ_CODING_FILE, SYNTH_TRUTH])
    n_frames = max(2, int(round(minutes * 60 * config.fps)))
    per_pixel = JPEG_BYTES_PER_PIXEL["long"] * ("jpg" in formats) + MP4_BYTES_PER_PIXEL * ("mp4" in formats)
    check_room(root, subjects * videos_per_subject * n_frames * config.frame_size[0] * config.frame_size[1] * per_pixel,
               [root / "rawpic", root / "rawvideo"], smaller="--minutes, --size, --subjects, --videos, --format")
    for name in ("rawpic", "rawvideo"):  # an earlier synthetic set's (--overwrite)
        shutil.rmtree(root / name, ignore_errors=True)
    with written_beside(root) as stage:
        _write_recordings(stage, subjects, videos_per_subject, n_frames, seed, config, formats, progress)
    return root


def _write_recordings(root: Path, subjects: int, videos_per_subject: int, n_frames: int, seed: int,
                      config: LongConfig, formats: tuple[str, ...], progress: bool) -> None:
    from PIL import Image

    from ..utils import atomic_write_text
    from ..version import __version__

    root.mkdir(parents=True, exist_ok=True)
    rows: list[list] = []
    events: dict[str, list] = {}
    truth: list[list] = []
    for s in range(1, subjects + 1):
        for v in range(1, videos_per_subject + 1):
            recording = plan_recording(seed, s, v, n_frames, config)
            name = video_name(s, v)
            rows += _rows(s, v, recording)
            truth += _truth_rows(s, v, recording)
            events[name] = [asdict(e) for e in recording.events]
            counted = FrameProgress(name, progress=progress, doing="writing")
            counted.start(n_frames)
            frames = _counted(render_frames(seed, s, v, recording, config), counted)
            folder = root / "rawpic" / SUBJECT_FOLDERS[s - 1] / name
            if "jpg" in formats:
                folder.mkdir(parents=True, exist_ok=True)
            frames = _tee_jpeg(frames, folder, config.jpeg_quality, Image) if "jpg" in formats else frames
            if "mp4" in formats:
                write_video(root / "rawvideo" / SUBJECT_FOLDERS[s - 1] / f"{name}.mp4", frames, config.fps)
            else:
                for _ in frames:
                    pass
    _write_workbook(root / CASME_SQ_CODING_FILE, rows, subjects)
    _write_truth(root / SYNTH_TRUTH, truth)
    meta = {"generator": "mmnet synth --long", "generator_version": GENERATOR_VERSION, "mmnet_version": __version__,
            "subjects": subjects,
            "videos_per_subject": videos_per_subject, "frames": n_frames, "seed": seed, "formats": list(formats),
            "config": asdict(config), "events": events,
            WRITTEN: written_record(root, [CASME_SQ_CODING_FILE, SYNTH_TRUTH])}
    atomic_write_text(root / SYNTH_MARKER, json.dumps(meta, indent=1) + "\n")


def _counted(frames: Iterable[np.ndarray], counted: FrameProgress):
    try:
        for frame in frames:
            yield frame
            counted(1)
    finally:
        counted.close()


def _tee_jpeg(frames: Iterable[np.ndarray], folder: Path, quality: int, image_module):
    for i, frame in enumerate(frames, 1):
        image_module.fromarray(frame).save(folder / f"img{i}.jpg", quality=quality)
        yield frame
