"""Spot then recognise: the long-video side of a run (``data.dataset`` casme-sq, samm-long, casme3-long, table-long).

The folds train MMNet on the training subjects' annotated micro-expressions (the intervals turned
into clip samples by ``data.long_clips``, through the ordinary fold code). Then, per finished
(seed, fold), the test subject's recordings are spotted (``spotting.spotters.make_spotter``), each
spotted micro interval is classified by that fold's MMNet from its onset and apex frames, and the
fold's ``spots.csv`` is written atomically: an interrupted run keeps every fold it finished.

A training-free spotter (``fold_independent``) spots each recording once: its result is kept in
``RUN/spotting/<video>.json`` and reused by every fold and seed (and by a rerun). Subjects whose
recordings hold no usable micro-expression have no fold of their own; their recordings are
spotted in a fold chosen in turn (every fold's model is honest for them: none trained on them).
"""

from __future__ import annotations

import bisect
import json
import time
from pathlib import Path

from .. import run_folder as rf
from ..calibration_cache import inference_routes
from ..errors import ConfigError
from ..progress import format_seconds, write_line
from ..utils import atomic_write_text
from .tasks import fold_seed

__all__ = ["spot_settings", "assign_folds", "write_long_files", "folds_to_spot", "run_spot_recognise"]

def spot_settings(cfg):
    """The run's ``SpotConfig``: ``spotting.preset`` (or the dataset's) and ``spotting.overrides``. Checked when
    the config is (before any data is read); for a dataset of short clips only the section's values are checked."""
    from ..choices import LONG_VIDEO_DATASETS
    from ..spotting.config import spot_config
    from ..spotting.dataset_settings import check_long_video_dataset, dataset_preset

    if cfg.data.dataset in LONG_VIDEO_DATASETS:
        if cfg.data.protocol != "loso":
            raise ConfigError(f"data.protocol={cfg.data.protocol!r}: spot then recognise on {cfg.data.dataset} is "
                              "leave-one-subject-out only (data.protocol=loso).")
        check_long_video_dataset(cfg.data.dataset)  # its preset and MEGC number, before any data is read
        preset = cfg.spotting.preset or dataset_preset(cfg.data.dataset)
    else:  # a clip dataset: nothing is spotted, the section's values are only checked (against casme2's preset)
        preset = cfg.spotting.preset or "casme2"
    try:
        return spot_config(preset, list(cfg.spotting.overrides))
    except ConfigError as exc:
        raise ConfigError(f"spotting section: {exc}") from None


def assign_folds(videos, folds) -> dict[str, str]:
    """video id -> the fold that spots it: its subject's fold, else the folds in turn (sorted subjects)."""
    by_subject = {name.rsplit("/", 1)[-1]: name for name, _, _ in folds}
    names = [name for name, _, _ in folds]
    out, extra = {}, {}
    for v in sorted(videos, key=lambda v: (v.subject, v.video)):
        if v.subject in by_subject:
            out[v.video] = by_subject[v.subject]
        else:
            extra.setdefault(v.subject, names[len(extra) % len(names)])
            out[v.video] = extra[v.subject]
    return out


def write_long_files(out: Path, load, scheme, folds) -> dict[str, str]:
    """truth.csv, truth_types.txt and videos.csv of the run folder; returns the fold of every video."""
    from ..spotting.intervals import six_decimals

    assignment = assign_folds(load.videos, folds)
    rows = []
    for v in load.videos:
        for iv in v.intervals:
            label = (iv.label or "").lower()
            cls = scheme.mapping.get(label) if iv.type == "micro" else None
            rows.append([v.video, v.subject, iv.onset, "" if iv.apex is None else iv.apex, iv.offset, iv.type,
                         label, cls or ""])
    rf.write_csv(out / rf.TRUTH, rf.TRUTH_COLUMNS, rows)
    # the types the annotation covers (CAS(ME)^3 from its label file: micro only): the report scores only these
    atomic_write_text(out / rf.TRUTH_TYPES, "".join(f"{t}\n" for t in load.types))
    rf.write_csv(out / rf.VIDEOS, rf.VIDEOS_COLUMNS,
                 [[v.video, v.subject, assignment[v.video], six_decimals(v.fps), v.frames[0][0], v.frames[-1][0],
                   v.n_frames] for v in load.videos])
    return assignment


def _cached_spot(run_dir: Path, spotter, video) -> list:
    """The recording's spotted intervals, from ``RUN/spotting/<video>.json`` when spotted with these settings
    from the same recording (a resume may point data.root at another copy, or at other recordings)."""
    from ..spotting.config import config_key, values_key
    from ..spotting.intervals import Interval
    from ..spotting.loso_records import recording_fingerprint

    path = run_dir / rf.SPOT_CACHE / f"{video.video}.json"
    # keyed as saved progress is: a file spotted before a setting existed matches a run at its earlier value
    settings = config_key(spotter.config)
    source = recording_fingerprint(video)
    data = None
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            data = None
        if (not isinstance(data, dict) or not isinstance(data.get("config"), dict)
                or values_key(data["config"]) != settings or data.get("recording") != source):
            data = None  # damaged, other settings or another recording: spotted again
    if data is None:
        data = {**spotter.spot(video).to_dict(), "recording": source}
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(data, indent=1) + "\n")
    return [Interval(i["onset"], i["apex"], i["offset"], i["type"], None, i["score"]) for i in data["intervals"]]


def _frame(video, number: int) -> Path:
    """The frame ``number`` of a recording, or the nearest one on disk."""
    numbers = video.frame_numbers
    i = bisect.bisect_left(numbers, number)
    near = min(numbers[max(0, i - 1): i + 1], key=lambda n: (abs(n - number), n))
    return video.frame_path(near)


def _recognise(predictor, video, intervals) -> list:
    """The micro intervals labelled by the fold's MMNet from their onset and apex frames (the nearest on disk),
    as ``mmnet spot --checkpoint`` labels them (``infer.recordings.classify_intervals``)."""
    from ..infer.recordings import classify_intervals
    from ..media import read_rgb

    def pair(k: int):
        return read_rgb(_frame(video, intervals[k].onset)), read_rgb(_frame(video, intervals[k].apex))

    return classify_intervals(intervals, pair, predictor)


def _spots_rows(video, intervals, classes) -> list[list]:
    """spots.csv's rows (``rf.spots_columns(classes)``): a p_<class> cell per class, as intervals.csv has them."""
    from ..spotting.intervals import six_decimals

    return [[video.video, video.subject, i.onset, "" if i.apex is None else i.apex, i.offset, i.type,
             six_decimals(i.score), i.label or "", *(six_decimals((i.probabilities or {}).get(c)) for c in classes)]
            for i in intervals]


def folds_to_spot(run) -> list[tuple[int, str]]:
    """(seed, fold) of every trained fold whose recordings are not yet spotted and recognised (no ``spots.csv``)."""
    return [(seed, name) for seed in run.cfg.seeds for name, _, _ in run.folds
            if (rf.fold_path(run.out_dir, seed, name) / rf.DONE).is_file()
            and not (rf.fold_path(run.out_dir, seed, name) / rf.SPOTS).is_file()]


def run_spot_recognise(run) -> int:
    """Spot and recognise the recordings of every finished fold without ``spots.csv``; returns how many folds.

    ``run`` is the ``PreparedRun`` of a long-video dataset (``run.long_videos``, ``run.video_folds``,
    ``run.spot``).
    """
    from ..infer.predictor import Predictor
    from ..runtime import plan_compute
    from ..spotting.spotters import make_spotter

    cfg = run.cfg
    todo = folds_to_spot(run)
    if not todo:
        return 0
    device = plan_compute(cfg.train.device, "fp32", "contiguous").device
    videos = run.long_videos.videos
    shared = None
    for k, (seed, name) in enumerate(todo, 1):
        t0 = time.perf_counter()
        fold_dir = rf.fold_path(run.out_dir, seed, name)
        mine = [v for v in videos if run.video_folds[v.video] == name]
        spotter = shared or make_spotter(run.spot, seed=fold_seed(seed, name), device=str(device))
        if spotter is not shared:  # the training subjects' recordings
            spotter.fit([v for v in videos if run.video_folds[v.video] != name], types=run.long_videos.types)
        once = getattr(spotter, "fold_independent", False)  # a spotter that learns is fitted and run per fold
        shared = spotter if once else None
        predictor = Predictor.from_checkpoint(fold_dir / rf.MODEL, device=device)
        predictor.use_cpu_routes(inference_routes(predictor.preprocessing.image_size))
        rows, n_micro, n_labelled = [], 0, 0
        for video in mine:
            spotted = _cached_spot(run.out_dir, spotter, video) if once else spotter.spot(video).intervals
            recognised = _recognise(predictor, video, spotted)
            n_micro += sum(i.type == "micro" for i in recognised)
            n_labelled += sum(i.type == "micro" and i.label is not None for i in recognised)
            rows += _spots_rows(video, recognised, predictor.class_names)
        rf.write_csv(fold_dir / rf.SPOTS, rf.spots_columns(predictor.class_names), rows)
        # one line per fold, with or without progress, as the training folds write
        took = format_seconds(time.perf_counter() - t0)
        write_line(f"[spots {k}/{len(todo)}] seed {seed} fold {name}: {len(mine)} recording(s), {len(rows)} "
                   f"interval(s) ({n_micro} micro, {n_labelled} recognised) in {took}")
    return len(todo)
