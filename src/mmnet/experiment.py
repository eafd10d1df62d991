"""LOSO (or leave-one-dataset-out) experiments: data preparation, one task per (seed, fold), resume.

A run folder is self-describing (see docs/reports.md for the layout): the resolved config, the
environment, every sample used or skipped, and per fold its per-epoch history and per-epoch test
predictions. Each fold writes an atomic checkpoint after every epoch, so killing the process at
any moment (SIGKILL included) and rerunning the same command continues where it stopped, and on
CPU gives the same numbers as an uninterrupted run.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml

from .config import ExperimentConfig, config_from_dict, config_to_dict
from .data import DEFAULT_SCHEME, get_scheme, load_dataset, protocol_folds
from .data.cache import CachedFrames, UnreadableFrames, build_frame_cache, frame_windows
from .errors import ConfigError, DataError
from .utils import atomic_torch_save, atomic_write_bytes, atomic_write_text

__all__ = ["PreparedRun", "FoldTask", "prepare_run", "fold_tasks", "run_fold", "run_experiment"]


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


@dataclass
class FoldTask:
    """One unit of work: a (seed, fold) of a run. Picklable, so any executor can ship it."""

    out_dir: str
    config: dict  # resolved ExperimentConfig as a dict
    seed: int
    fold: str
    train_idx: list[int]
    test_idx: list[int]
    frames_path: str  # the frame cache (.npy), memory-mapped by the worker
    onset_rows: np.ndarray
    apex_rows: np.ndarray
    onset_exact: np.ndarray
    apex_exact: np.ndarray
    labels: list[int]
    sample_ids: list[str]
    subjects: list[str]
    datasets: list[str]
    flows_path: str | None = None  # optical flow per sample (model.main_input == "flow")

    @property
    def fold_dir(self) -> Path:
        return Path(self.out_dir) / f"seed-{self.seed}" / fold_folder(self.fold)


def fold_folder(name: str) -> str:
    return "fold-" + re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _parse_root(dataset: str, root: str | None):
    if root is None:
        raise ConfigError(f"No dataset root given: pass --root DIR (or set data.root) for dataset {dataset!r}.")
    if "=" in root:  # composite: "casme2=DIR,samm=DIR,smic=DIR"
        parts = dict(item.split("=", 1) for item in root.split(","))
        return {k.strip(): v.strip() for k, v in parts.items()}
    return root


def _git_revision() -> str | None:
    try:
        here = Path(__file__).resolve().parent
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        if out.returncode == 0:
            dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                                   capture_output=True, text=True, timeout=5).stdout.strip()
            return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return None


def environment(cfg: ExperimentConfig, fingerprint: str) -> dict:
    from . import __version__
    from .allocator import active_allocator
    from .engine import resolve_device, resolve_precision

    device = resolve_device(cfg.train.device)
    return {
        "mmnet_version": __version__,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "allocator": active_allocator(),
        "device": str(device) + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""),
        "precision": resolve_precision(cfg.train.precision, device),
        "git_revision": _git_revision(),
        "dataset_fingerprint": fingerprint,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def prepare_run(cfg: ExperimentConfig, out_dir: str | Path, *, progress: bool = True) -> PreparedRun:
    """Load and check the data, build (or reuse) the frame cache, write the run's shared files.

    Re-running into an existing folder is a resume: the resolved config must be the same.
    """
    out = Path(out_dir)
    d = cfg.data
    scheme = get_scheme(d.scheme or DEFAULT_SCHEME[d.dataset])
    load = load_dataset(d.dataset, _parse_root(d.dataset, d.root), annotation=d.annotation)
    pairs = scheme.select(load.samples)

    # Bad samples: an explicit choice, never a silent drop.
    skipped: list[tuple[str, str]] = []
    excluded = [s for s in load.excluded if scheme.class_of(s) is not None]
    if excluded and d.on_bad_sample != "skip":
        names = ", ".join(s.sample_id for s in excluded[:10])
        raise DataError(f"{len(excluded)} sample(s) have no usable frames on disk: {names}. "
                        "Run `mmnet check-data` for details, or set data.on_bad_sample=skip.")
    skipped += [(s.sample_id, "no usable frames on disk") for s in excluded]
    kept, windows = [], []
    for sample, label in pairs:
        try:
            windows.append(frame_windows(sample, d.jitter_fraction, clamp=d.on_bad_sample == "nearest"))
            kept.append((sample, label))
        except DataError as exc:
            if d.on_bad_sample != "skip":
                raise
            skipped.append((sample.sample_id, str(exc)))
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

    # The resolved config: the scheme's classes decide the head's size.
    resolved = config_to_dict(cfg)
    resolved["data"]["scheme"] = scheme.name
    resolved["data"]["classes"] = list(scheme.classes)
    resolved["model"]["num_classes"] = scheme.num_classes
    cfg = config_from_dict(resolved)
    text = yaml.safe_dump(config_to_dict(cfg), sort_keys=False)
    config_path = out / "config.yaml"
    if config_path.exists() and yaml.safe_load(config_path.read_text()) != yaml.safe_load(text):
        raise ConfigError(f"'{out}' holds a run with a different configuration (see {config_path}). "
                          "Use another --out folder, or delete this one to start over.")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(config_path, text)
    fingerprint = cache.path.stem.removeprefix("frames-")
    if not (out / "env.json").exists():  # keep the first start's record when resuming
        atomic_write_text(out / "env.json", json.dumps(environment(cfg, fingerprint), indent=2) + "\n")
    samples = [s for s, _ in kept]
    labels = [c for _, c in kept]
    if d.permute_labels:  # control: same class counts, no relation to the motion
        labels = [labels[i] for i in np.random.default_rng(cfg.train.seed).permutation(len(labels))]
        kept = list(zip(samples, labels))
    _write_csv(out / "samples.csv", ["sample_id", "dataset", "subject", "clip", "label", "class_index"],
               [[s.sample_id, s.dataset, s.subject, s.clip, s.label, c] for s, c in kept])
    if skipped:
        _write_csv(out / "skipped.csv", ["sample_id", "reason"], [list(r) for r in skipped])
    notes = [[s.sample_id, n] for s, w in zip(samples, windows) for n in w.notes]
    if notes:
        _write_csv(out / "frame_notes.csv", ["sample_id", "note"], notes)
    flows_path = None
    if cfg.model.main_input == "flow":
        flows_path = _build_flows(cache, samples, d.flow_method, progress=progress)
    return PreparedRun(
        cfg=cfg, out_dir=out, flows_path=flows_path, sample_ids=[s.sample_id for s in samples], subjects=[s.subject for s in samples],
        datasets=[s.dataset for s in samples], labels=labels, cache=cache,
        folds=protocol_folds(samples, d.protocol),
    )


def _build_flows(cache: CachedFrames, samples, method: str, *, progress: bool) -> Path:
    """Optical flow onset -> apex of every sample, on the cached (resized) frames, in one file.

    Per-sample fields come from ``mmnet.preprocess.flow.cached_flow`` (one file each, reused
    across runs); the run's array sits beside the frame cache, named after it and the method.
    """
    from .preprocess.flow import cached_flow

    path = cache.path.with_name(cache.path.stem.replace("frames-", "flows-") + f"-{method}.npy")
    if path.exists():
        return path
    n, size = len(samples), cache.frames.shape[1]
    flows = np.empty((n, size, size, 3), np.float32)
    items = range(n)
    if progress:
        from tqdm import tqdm

        items = tqdm(items, desc=f"optical flow ({method})", unit="clip", leave=False)
    for i in items:
        onset, apex = cache.frames[cache.onset_exact[i]], cache.frames[cache.apex_exact[i]]
        key = f"{cache.path.stem}/{samples[i].sample_id}"
        flows[i] = cached_flow(cache.path.parent / "flow", key, onset, apex, method).transpose(1, 2, 0)
    buf = io.BytesIO()
    np.save(buf, flows, allow_pickle=False)
    atomic_write_bytes(path, buf.getvalue())
    return path


def fold_tasks(run: PreparedRun) -> list[FoldTask]:
    """Every (seed, fold) of the run that has not finished yet."""
    tasks = []
    for seed in run.cfg.seeds:
        for name, train_idx, test_idx in run.folds:
            task = FoldTask(
                out_dir=str(run.out_dir), config=config_to_dict(run.cfg), seed=seed, fold=name,
                train_idx=train_idx, test_idx=test_idx, frames_path=str(run.cache.path),
                onset_rows=run.cache.onset_rows, apex_rows=run.cache.apex_rows,
                onset_exact=run.cache.onset_exact, apex_exact=run.cache.apex_exact, labels=run.labels,
                sample_ids=run.sample_ids, subjects=run.subjects, datasets=run.datasets,
                flows_path=str(run.flows_path) if run.flows_path else None,
            )
            if not (task.fold_dir / "done.json").exists():
                tasks.append(task)
    return tasks


def fold_seed(seed: int, fold: str) -> int:
    """A fresh, reproducible seed per (seed, fold)."""
    return int.from_bytes(hashlib.sha256(f"{seed}/{fold}".encode()).digest()[:4], "little") & 0x7FFFFFFF


def run_fold(task: FoldTask, *, progress: bool = True, device: str | None = None, frames=None) -> dict:
    """Train one fold (resuming from its checkpoint if present); write its files; return done.json."""
    from .data.batches import DeviceFrames
    from .engine import evaluate, resolve_device, resolve_memory_format, resolve_precision, train_one_epoch
    from .model import IMAGENET_MEAN, IMAGENET_STD, CheckpointInfo, MMNet
    from .utils import configure_cpu_numerics

    cfg = config_from_dict(task.config)
    tc = cfg.train
    fold_dir = task.fold_dir
    fold_dir.mkdir(parents=True, exist_ok=True)
    dev = resolve_device(device or tc.device)
    precision = resolve_precision(tc.precision, dev)
    memory_format = resolve_memory_format(tc.memory_format, dev, precision)
    if dev.type == "cpu":
        configure_cpu_numerics()

    if frames is None:
        frames = np.load(task.frames_path, mmap_mode="r")
    cache = CachedFrames(frames, task.onset_rows, task.apex_rows, task.onset_exact, task.apex_exact,
                         Path(task.frames_path))
    # Only this fold's samples go to the device.
    used = sorted(set(task.train_idx) | set(task.test_idx))
    flows = np.load(task.flows_path, mmap_mode="r") if task.flows_path else None
    data = DeviceFrames(cache, task.labels, dev, subset=used, flows=flows)
    local = {g: i for i, g in enumerate(used)}
    train_idx = torch.tensor([local[i] for i in task.train_idx], device=dev)
    test_idx = torch.tensor([local[i] for i in task.test_idx], device=dev)

    seed = fold_seed(task.seed, task.fold)
    torch.manual_seed(seed)
    model = MMNet(config=cfg.model).to(dev)
    model = model.to(memory_format=memory_format)
    optimizer = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=tc.lr_gamma)
    generator = torch.Generator(device=dev).manual_seed(seed + 1)
    history: list[dict] = []
    predictions: list[list] = []
    start_epoch = 0
    state_path = fold_dir / "state.pt"
    if state_path.exists():  # resume: everything needed to continue bit-for-bit
        state = torch.load(state_path, map_location=dev, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"].cpu())
        torch.set_rng_state(state["torch_rng"].cpu())
        history, predictions, start_epoch = state["history"], state["predictions"], state["epoch"]

    num_classes = cfg.model.num_classes
    header_pred = ["epoch", "sample_id", "subject", "dataset", "true", "pred"] + [f"prob_{c}" for c in range(num_classes)]
    header_hist = ["epoch", "train_loss", "train_acc", "lr", "test_loss", "test_acc", "seconds"]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=tc.epochs, initial=start_epoch, desc=f"seed {task.seed} fold {task.fold}", unit="epoch",
                   leave=False, dynamic_ncols=True)
    for epoch in range(start_epoch + 1, tc.epochs + 1):
        t0 = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        stats = train_one_epoch(model, data, train_idx, optimizer, batch_size=tc.batch_size, augment=cfg.augment,
                                generator=generator, precision=precision, memory_format=memory_format)
        if epoch <= tc.lr_decay_epochs:  # the authors step the schedule after epochs 1..50, then hold
            scheduler.step()
        probs, test_loss = evaluate(model, data, test_idx, precision=precision, memory_format=memory_format)
        preds = probs.argmax(1).tolist()
        truth = [task.labels[i] for i in task.test_idx]
        test_acc = sum(int(p == t) for p, t in zip(preds, truth)) / max(len(truth), 1)
        for row, (gi, p) in enumerate(zip(task.test_idx, preds)):
            predictions.append([epoch, task.sample_ids[gi], task.subjects[gi], task.datasets[gi], truth[row], p]
                               + [round(float(x), 6) for x in probs[row]])
        history.append({"epoch": epoch, "train_loss": round(stats.loss, 6), "train_acc": round(stats.accuracy, 6),
                        "lr": lr, "test_loss": round(test_loss, 6), "test_acc": round(test_acc, 6),
                        "seconds": round(time.perf_counter() - t0, 3)})
        if epoch < tc.epochs:  # the last epoch is recorded by done.json instead
            atomic_torch_save({
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "generator": generator.get_state(),
                "torch_rng": torch.get_rng_state(), "history": history, "predictions": predictions,
                "epoch": epoch,
            }, state_path)
        _write_csv(fold_dir / "history.csv", header_hist, [[h[k] for k in header_hist] for h in history])
        _write_csv(fold_dir / "predictions.csv", header_pred, predictions)
        if bar is not None:
            bar.set_postfix(loss=f"{stats.loss:.3f}", acc=f"{stats.accuracy:.2f}", test_acc=f"{test_acc:.2f}")
            bar.update(1)
    if bar is not None:
        bar.close()
    if tc.save_models:
        info = CheckpointInfo(class_names=list(cfg.data.classes or []),
                              preprocessing={"image_size": cfg.data.image_size, "mean": list(IMAGENET_MEAN),
                                             "std": list(IMAGENET_STD)})
        model.to(memory_format=torch.contiguous_format).save_pretrained(fold_dir / "model", info)
    done = {"fold": task.fold, "test_subjects": sorted({task.subjects[i] for i in task.test_idx}),
            "test_datasets": sorted({task.datasets[i] for i in task.test_idx}), "epochs": tc.epochs,
            "seed": task.seed, "fold_seed": seed, "seconds": round(sum(h["seconds"] for h in history), 3),
            "device": str(dev), "precision": precision}
    atomic_write_text(fold_dir / "done.json", json.dumps(done, indent=2) + "\n")
    state_path.unlink(missing_ok=True)
    return done


def run_experiment(cfg: ExperimentConfig, out_dir: str | Path, *, progress: bool = True, executor: str = "local",
                   executor_options: dict | None = None) -> dict:
    """Prepare, run every unfinished (seed, fold), and build the report. Returns the report dict."""
    from .report import build_report

    run = prepare_run(cfg, out_dir, progress=progress)
    tasks = fold_tasks(run)
    if executor == "local":
        frames = run.cache.frames
        for task in tasks:
            run_fold(task, progress=progress, frames=frames)
    else:
        from .executors import run_tasks  # optional engines (Ray), imported only when asked for

        run_tasks(executor, tasks, progress=progress, **(executor_options or {}))
    return build_report(run.out_dir)


