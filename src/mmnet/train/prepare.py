"""Preparing a run: config -> dataset -> frame cache -> folds -> fold tasks, and the run's shared files.

A run folder is self-describing (:mod:`mmnet.run_folder`, docs/reports.md): the resolved config,
the environment, every sample used or skipped. Re-running into an existing folder is a resume:
the resolved config must be the same, and finished folds are not handed out again.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml

from .. import run_folder as rf
from ..config import ExperimentConfig, config_to_dict, parse_root
from ..config_effect import effective_config, inert_set
from ..config_history import fill_earlier_keys
from ..data import (
    DATASETS,
    LONG_VIDEO_DATASETS,
    dataset_paths,
    default_scheme,
    load_dataset,
    protocol_folds,
    resolve_scheme,
)
from ..data.cache import (
    CACHE_VERSION,
    CachedFrames,
    UnreadableFrames,
    UnusableSample,
    build_frame_cache,
    frame_windows,
    npy_intact,
)
from ..data.class_coverage import check_unique_ids, coverage_lines
from ..data.frame_check import check_frame_files, frame_errors_line
from ..data.long_clips import long_video_clips
from ..data.long_video import LongVideoLoad
from ..data.schemes import scheme_warnings
from ..data.table_long import check_fps
from ..data.usage import NEAREST_CANNOT, NEAREST_FIXES, classes_left, describe_problems, plan_usage
from ..errors import ConfigError, DataError, verify_choice
from ..preprocess.flow import cached_flow
from ..private_files import write_private
from ..progress import bars_wanted
from ..runtime import check_compile, describe_machine, plan_compute
from ..spotting.config import SpotConfig
from ..utils import atomic_write_text, move_aside
from .alignment_record import clips_alignment
from .cache_version1 import Version1Run
from .calibrate import plan_training
from .env_record import annotation_digests, labels_digest, library_record, numerics_record, synthetic_record
from .fold_choice import choose_folds
from .protocol_record import listed_rows, part_frames, protocol_issues, write_protocol_files
from .resolve import resolve_config
from .resume_rules import config_changes, inert_changes, restoring_sets, resume_changes
from .saved_config import check_not_newer, check_saved_config
from .spot_recognise import spot_settings, write_long_files
from .tasks import FoldTask
from .tb_log import require_tensorboard

__all__ = ["PreparedRun", "prepare_run", "resolve_config", "fold_tasks", "task_count", "environment", "config_changes"]

log = logging.getLogger("mmnet.train")


@dataclass
class PreparedRun:
    """Everything the folds of a run share: resolved config, samples, labels, cached frames."""

    cfg: ExperimentConfig
    out_dir: Path
    sample_ids: list[str]
    subjects: list[str]
    datasets: list[str]
    labels: list[int]
    cache: CachedFrames
    folds: list[tuple[str, list[int], list[int]]]
    flows_path: Path | None = None  # (N, S, S, 3) float32 optical flow, when model.main_input == "flow"
    long_videos: LongVideoLoad | None = None  # spot then recognise: the recordings, their truth
    video_folds: dict[str, str] | None = None  # spot then recognise: video id -> the fold that spots it
    spot: SpotConfig | None = None  # spot then recognise: the spotter's settings
    alignment: dict | None = None  # how the clips were aligned (alignment_record), recorded with every model
    only: tuple[str, ...] | None = None  # --folds: the folds to train now (fold_choice); None: every fold


def prepare_run(cfg: ExperimentConfig, out_dir: str | Path, *, progress: bool = True,
                measure: bool = True, setting: str | None = None, folds: Sequence[str] | None = None) -> PreparedRun:
    """Load and check the data, build (or reuse) the frame cache, write the run's shared files.

    Re-running into an existing folder is a resume: the resolved config must be the same. ``measure=False``: the
    folds run elsewhere (Ray workers, SLURM jobs), which measure the CPU's precision and memory format themselves,
    so env.json's compute plan is not measured here (a login node's seconds of calibration would be spent for
    nothing). ``setting``: the sweep setting this run is, named in the warnings about its config (a sweep prepares
    every setting before the first one's folds, into one log). ``folds``: the folds to train now (--folds), named
    as fold_choice reads them; a name of no fold is refused before any file is written into the run folder.
    """
    out = Path(out_dir)
    d = cfg.data
    check_out_apart(out, cfg)
    check_not_newer(out)  # before the data is read: a newer mmnet's run cannot be resumed here
    if cfg.train.tensorboard:  # a missing optional package fails here, before the data is read
        require_tensorboard()
    if cfg.train.compile:  # likewise a missing C++ compiler
        check_compile(cfg.train.device)
    long_videos = None
    verify_choice("data.dataset", d.dataset, tuple(sorted(DATASETS) + sorted(LONG_VIDEO_DATASETS)))
    scheme = resolve_scheme(d.scheme or default_scheme(d.dataset), d.classes, d.dataset)
    spot = spot_settings(cfg) if d.dataset in LONG_VIDEO_DATASETS else None  # its values checked before the data
    frames = {k: v for k, v in (("frames", d.frames), ("layout", d.layout)) if v is not None}  # table's, CASME II's
    if d.fps is not None:  # table-long: the rate of the recordings whose rows give none
        frames["fps"] = check_fps(d.fps, "data.fps (--fps)")
    load = load_dataset(d.dataset, parse_root(d.dataset, d.root), annotation=d.annotation, **frames)
    if d.dataset in LONG_VIDEO_DATASETS:  # spot then recognise: MMNet trains on the annotated micro-expressions
        long_videos = load
        load = long_video_clips(load, "micro")

    # Bad samples: an explicit choice, never a silent drop (the rule is data.usage's, as check-data's).
    loaded_issues = len(load.issues)  # what the loader found (its summary line counted them)
    check_frame_files(load, scheme)  # empty, damaged, truncated or odd-sized frames: as check-data reports them
    if damaged := [i for i in load.issues[loaded_issues:] if i.severity == "error"]:
        log.warning("%s", frame_errors_line(damaged, out / rf.SKIPPED))
    scheme_notes = scheme_warnings(scheme, load.samples + load.excluded)  # a protocol's samples not met: said
    for issue in scheme_notes:  # (and written to the run's issues.csv below)
        log.warning("%s: %s", issue.sample_id, issue.message)
    usage = plan_usage(load, scheme, d.on_bad_sample)
    blocking = usage.blocking(d.on_bad_sample)
    if blocking:
        nearest = " (frames not on disk: data.on_bad_sample=nearest uses the nearest one)" if any(
            c in reason for _, reason in blocking for c in NEAREST_FIXES) else ""
        unfixable = f", and {NEAREST_CANNOT}" if d.on_bad_sample == "nearest" else ""
        raise DataError(f"{len(blocking)} sample(s) of {d.dataset} cannot be used as annotated{unfixable}:\n"
                        f"{describe_problems(blocking)}\nFix the annotation or the files, or set "
                        f"data.on_bad_sample=skip to leave them out (listed in skipped.csv){nearest}. "
                        f"`mmnet check-data {d.dataset} --root ...` lists every problem.")
    check_unique_ids([s for s, _ in usage.used], d.dataset)  # refused here, not by the report after every fold
    skipped: list[tuple[str, str]] = list(usage.left_out)
    kept, windows = [], []
    jitter = effective_config(config_to_dict(cfg))["data"]["jitter_fraction"]  # flow: unused, the same frames cached
    for sample, label in usage.used:
        try:
            windows.append(frame_windows(sample, jitter, clamp=d.on_bad_sample == "nearest"))
            kept.append((sample, label))
        except UnusableSample as exc:
            if d.on_bad_sample != "skip":
                raise
            skipped.append((sample.sample_id, exc.problem))  # skip was chosen: the reason, not the advice
    if why := classes_left(load, scheme, [c for _, c in kept], skipped, dataset=d.dataset):  # before the cache
        raise DataError(why)
    run_folds, only = None, None  # the protocol's folds, made once (again only if decoding leaves samples out)
    if folds is not None:  # a mistyped --folds refused before the dataset is decoded
        run_folds = protocol_folds([s for s, _ in kept], d.protocol)
        only = choose_folds(run_folds, folds, d.protocol)
    if rf.trained_folds(out):  # refused before the whole dataset is decoded into a cache entry of this version
        Version1Run(out, [s for s, _ in kept], windows, d.image_size)()
    while True:
        try:
            cache = build_frame_cache([s for s, _ in kept], windows, image_size=d.image_size,
                                      cache_dir=d.cache_dir, progress=progress)
            break
        except UnreadableFrames as exc:
            if d.on_bad_sample != "skip":
                raise
            skipped += sorted(exc.failures.items())
            keep = [i for i, (s, _) in enumerate(kept) if s.sample_id not in exc.failures]
            kept, windows = [kept[i] for i in keep], [windows[i] for i in keep]
    if not kept:
        raise DataError(f"No samples left to train on for dataset {d.dataset!r} with scheme {scheme.name!r}.")
    if why := classes_left(load, scheme, [c for _, c in kept], skipped, dataset=d.dataset):  # undecodable frames too
        raise DataError(why)
    alignment = clips_alignment([s for s, _ in kept])  # clips aligned two ways: refused before any training
    samples = [s for s, _ in kept]
    # --folds chosen again before a file is written in out where frames that would not decode left samples out
    # (without --folds the folds are made below, after the checks of out: a protocol the data cannot serve is said
    # after "out holds another run")
    if run_folds is not None and sum(len(test) for _, _, test in run_folds) != len(samples):
        run_folds = protocol_folds(samples, d.protocol)
        only = choose_folds(run_folds, folds, d.protocol)

    version1 = Version1Run(out, [s for s, _ in kept], windows, d.image_size)  # asked when needed
    cfg = resolve_config(cfg)
    # as set (inert keys too, warned of); a CJK path or label as written, not as \u escapes
    text = yaml.safe_dump(config_to_dict(cfg), sort_keys=False, allow_unicode=True)
    for line in inert_set(config_to_dict(cfg)):
        log.warning("%s%s", f"setting {setting!r}: " if setting else "", line)
    config_path = out / rf.CONFIG
    check_saved_config(out, config_path)
    if config_path.exists():
        saved = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
        filled = fill_earlier_keys(saved)  # a run of an earlier mmnet: its missing keys as that mmnet behaved
        changes = resume_changes(saved, yaml.safe_load(text))  # the seed list may grow
        for note in inert_changes(saved, yaml.safe_load(text)) if rf.trained_folds(out) else []:
            log.warning("Resuming '%s' with %s", out, note)
        if changes and rf.trained_folds(out):  # before an epoch finished: nothing to lose, the new config holds
            version1()  # the reason to say first (its keys filled differ too)
            earlier = (f" It was written by an earlier mmnet (keys added since, read as that mmnet behaved: "
                       f"{', '.join(filled)})." if filled else "")
            raise ConfigError(f"'{out}' holds a run with a different configuration ({'; '.join(changes)}).{earlier} "
                              f"To resume it as it was, add {restoring_sets(saved, changes)} (or train with --config "
                              f"'{config_path}'). Else use another out folder, or --restart (restart=True from "
                              "Python) to set this run aside.")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(config_path, text)
    fingerprint = cache.path.stem.removeprefix("frames-")
    labels = [c for _, c in kept]
    if d.permute_labels:  # control: same class counts, no relation to the motion
        labels = [labels[i] for i in np.random.default_rng(cfg.train.seed).permutation(len(labels))]
        kept = list(zip(samples, labels))
    rows = [[s.sample_id, s.dataset, s.subject, s.clip, s.label, c] for s, c in kept]
    if rf.trained_folds(out) and (changed := rf.data_changes(out, fingerprint, rows, cache.content, version1)):
        raise ConfigError(f"'{out}' holds a run whose finished folds were trained on other data: {'; '.join(changed)}. "
                          "Resuming would mix folds trained on the old and the new data. Use --restart "
                          "(restart=True from Python) to move this run aside and train every fold on the current "
                          "data, or another out folder (or put the old data back).")
    if not rf.trained_folds(out) or not (out / rf.ENV).exists():  # kept from the start whose folds trained
        roots = list(dataset_paths(parse_root(d.dataset, d.root))[0].values())
        data = {"labels_digest": labels_digest(rows), "annotation_sha256": annotation_digests(load),
                **synthetic_record(roots), **listed_rows(load), **part_frames(load, roots)}
        atomic_write_text(out / rf.ENV, json.dumps(environment(cfg, fingerprint, cache.content, data, measure=measure),
                                                     indent=2) + "\n")
    write_protocol_files(out, rows, samples, protocol_issues(load, scheme_notes, samples))
    if skipped:  # a composite's unlisted part samples last: the data's problems come first, where they are seen
        skipped = sorted(skipped, key=lambda row: rf.not_listed(row[1]))
        rf.write_csv(out / rf.SKIPPED, rf.SKIPPED_COLUMNS, [list(r) for r in skipped])
    else:
        (out / rf.SKIPPED).unlink(missing_ok=True)
    notes = [[s.sample_id, n] for s, w in zip(samples, windows) for n in w.notes]
    if notes:
        rf.write_csv(out / rf.FRAME_NOTES, rf.FRAME_NOTES_COLUMNS, notes)
    flows_path = None
    if cfg.model.main_input == "flow":
        flows_path = _build_flows(cache, samples, d.flow_method, progress=progress)
    folds = run_folds if run_folds is not None else protocol_folds(samples, d.protocol)
    rf.check_fold_folders(name for name, _, _ in folds)
    running = [] if cfg.train.final_fit == "only" else folds  # a final fit alone has no test part to lack a class
    for line in coverage_lines(scheme.classes, labels, running, scheme.name):  # said before any fold trains
        log.warning("%s", line)
    video_folds = write_long_files(out, long_videos, scheme, folds) if long_videos is not None else {}
    if spot is not None and spot.method == "learned":  # said now, not after the first fold's training
        from ..spotting.learned import check_learned_folds

        check_learned_folds(long_videos.videos, video_folds, types=long_videos.types,
                            instead="drop method=learned from spotting.overrides (the flow spotter is the default)")
    return PreparedRun(
        cfg=cfg, out_dir=out, flows_path=flows_path, sample_ids=[s.sample_id for s in samples],
        subjects=[s.subject for s in samples], datasets=[s.dataset for s in samples], labels=labels, cache=cache,
        folds=folds, long_videos=long_videos, video_folds=video_folds, spot=spot, alignment=alignment, only=only,
    )


def check_out_apart(out: str | Path, cfg: ExperimentConfig) -> None:
    """Refuse a run folder that is or holds a dataset root or an annotation file given apart from it: the
    run's files would land among the data, and `train --restart` (which moves the run folder aside) would
    move the data away."""
    if not cfg.data.root:
        return
    folders, files = dataset_paths(parse_root(cfg.data.dataset, cfg.data.root), cfg.data.annotation)
    here = Path(out).resolve()
    for path, kind in [(f, "dataset root") for f in folders.values()] + [(f, "annotation file") for f in files]:
        there = path.resolve()
        if here == there or here in there.parents:
            what = f"is the {kind}" if here == there else f"holds the {kind} '{path}'"
            moved = "the dataset" if kind == "dataset root" else "the annotation file"
            raise ConfigError(f"--out '{out}' {what}: a run folder must be apart from the data (--restart would move "
                              f"{moved} aside with the run). Choose another --out, e.g. runs/{cfg.data.dataset}.")


def fold_tasks(run: PreparedRun) -> list[FoldTask]:
    """Every (seed, fold) of the run that has not finished yet, then the final fit (train.final_fit:
    every sample, no test subject, in RUN/final) when asked for and not finished; with
    ``train.final_fit: only`` the final fit alone."""
    final_fit = run.cfg.train.final_fit
    everything = list(range(len(run.labels)))
    todo = [] if final_fit == "only" else [(seed, *fold) for seed in run.cfg.seeds for fold in _folds(run)]
    if final_fit:
        todo.append((run.cfg.seeds[0], rf.FINAL, everything, []))
    tasks = []
    for seed, name, train_idx, test_idx in todo:
        task = FoldTask(
            out_dir=str(run.out_dir.absolute()), config=run.cfg, seed=seed, fold=name,  # absolute: a worker's
            train_idx=train_idx, test_idx=test_idx, frames_path=str(run.cache.path.absolute()),  # cwd differs
            onset_rows=run.cache.onset_rows, apex_rows=run.cache.apex_rows,
            onset_exact=run.cache.onset_exact, apex_exact=run.cache.apex_exact, labels=run.labels,
            sample_ids=run.sample_ids, subjects=run.subjects, datasets=run.datasets,
            flows_path=str(run.flows_path.absolute()) if run.flows_path else None, final=not test_idx,
            alignment=run.alignment,
        )
        if not _finished(task):
            tasks.append(task)
    return tasks


def task_count(run: PreparedRun) -> int:
    """How many tasks :func:`fold_tasks` hands out for a fresh run folder (finished ones included)."""
    final_fit = run.cfg.train.final_fit
    return (0 if final_fit == "only" else len(run.cfg.seeds) * len(_folds(run))) + (1 if final_fit else 0)


def _folds(run: PreparedRun) -> list[tuple[str, list[int], list[int]]]:
    return run.folds if run.only is None else [f for f in run.folds if f[0] in run.only]


def _finished(task: FoldTask) -> bool:
    """A fold whose done.json is valid, whose tables are there and whose saved model (train.save_models)
    loads; a damaged file of a finished fold is moved aside (NAME.corrupt) and the fold runs again."""
    done = task.fold_dir / rf.DONE
    if not done.exists():
        return False
    damaged = None
    try:
        if not isinstance(json.loads(done.read_text(encoding="utf-8")), dict):
            damaged = (done, "not a JSON object")
    except (ValueError, OSError) as exc:
        damaged = (done, str(exc))
    if damaged is None and not (task.fold_dir / rf.PREDICTIONS).is_file():
        damaged = (done, f"{rf.PREDICTIONS} is missing")
    if damaged is None and (task.config.train.save_models or task.final):
        from ..errors import MMNetError
        from ..model import load_checkpoint

        try:
            load_checkpoint(task.fold_dir / rf.MODEL)
        except MMNetError as exc:
            damaged = (task.fold_dir / rf.MODEL, str(exc).splitlines()[0])
    if damaged is None:
        rf.remove_finished_leftovers(task.fold_dir)
        return True
    path, why = damaged
    aside = move_aside(path)
    if path != done:
        move_aside(done)
    log.warning("finished fold %s (seed %s): '%s' is damaged (%s); moved to '%s', the fold runs again",
                task.fold, task.seed, path, why, aside.name)
    return False


def _build_flows(cache: CachedFrames, samples, method: str, *, progress: bool) -> Path:
    """Optical flow onset -> apex of every sample, on the cached (resized) frames, in one file.

    Per-sample fields come from ``mmnet.preprocess.flow.cached_flow`` (one file each, reused
    across runs); the run's array sits beside the frame cache, named after it and the method.
    """
    path = cache.path.with_name(cache.path.stem.replace("frames-", "flows-") + f"-{method}.npy")
    n, size = len(samples), cache.frames.shape[1]
    if path.exists():
        if npy_intact(path, (n, size, size, 3)):
            return path
        # not deleted: another process may have put an intact one in place meanwhile; the atomic write replaces it
        log.warning("optical-flow cache '%s' is damaged; rebuilding it", path)
    flows = np.empty((n, size, size, 3), np.float32)
    items = range(n)
    if bars_wanted(progress):
        from tqdm import tqdm

        items = tqdm(items, desc=f"optical flow ({method})", unit="clip", leave=False)
    for i in items:
        onset, apex = cache.frames[cache.onset_exact[i]], cache.frames[cache.apex_exact[i]]
        key = f"{cache.path.stem}/{samples[i].sample_id}"
        flows[i] = cached_flow(cache.path.parent / "flow", key, onset, apex, method).transpose(1, 2, 0)
    buf = io.BytesIO()
    np.save(buf, flows, allow_pickle=False)
    write_private(path, buf.getvalue())  # the dataset's flows: private as the frames beside
    return path


def environment(cfg: ExperimentConfig, fingerprint: str, frames_digest: str = "", data: dict | None = None, *,
                measure: bool = True) -> dict:
    """The run's env.json: versions, machine and process settings, the frame cache's fingerprint, frames digest,
    and ``data``: what else identifies the data (labels digest, annotation files' sha256: ``env_record``)."""
    from ..version import __version__, code_digest, git_revision

    tc = cfg.train
    # measured on CPU once per machine (calibrate.py); not where the folds run on other machines
    plan = plan_training(tc, cfg.data.image_size) if measure else \
        plan_compute(tc.device, tc.precision, tc.memory_format, why="the folds measure where they run")
    return {
        "mmnet_version": __version__,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "python": sys.version.split()[0],
        **describe_machine(plan),
        **numerics_record(plan.device.type, None if measure else tc), **library_record(),
        "git_revision": git_revision(),
        "code_digest": code_digest(),  # an installed mmnet has no git revision: this tells one from another
        "frame_cache_version": CACHE_VERSION,  # part of dataset_fingerprint: an upgrade may change it, not the data
        "dataset_fingerprint": fingerprint,
        "frames_digest": frames_digest,
        **(data or {}),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
