"""The larger sections of ``gpu_check.py``: the data path, a CASME II-size LOSO, Ray, torch.compile."""

from __future__ import annotations

import csv
import json
import os
import shutil
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from gpu_check_sections import (
    GOAL_LOSO_S,
    PAPER_EPOCHS,
    Failed,
    Sizes,
    Skip,
    _throughput,
    fake_cache,
    need_cuda,
    sync,
)

from mmnet import MMNet
from mmnet.config import AugmentConfig
from mmnet.data.batches import DeviceFrames
from mmnet.errors import ConfigError
from mmnet.runtime import check_compile, plan_compute
from mmnet.train.loop import adamw, evaluate, train_one_epoch
from mmnet.utils import atomic_torch_save

RECIPE = "casme2_5class"  # the paper's CASME II setting, a recipe shipped with mmnet


# ----------------------------------------------------------------------------- the data path
def _sync_sites(run) -> tuple[int, list[str]]:
    """Run ``run()`` under CUDA's sync debug mode; the number of host synchronisations and where they were.

    The backward pass's too: the mode is process-wide (c10's WarningState), and autograd's device threads
    hand their warnings to the calling thread (GraphTask's DelayWarningHandler), where they are caught here.
    tests/test_host_syncs.py counts the synchronising operators on the CPU as well."""
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run()
    finally:
        torch.cuda.set_sync_debug_mode(0)
    syncs = [w for w in caught if "synchroniz" in str(w.message).lower()]
    return len(syncs), sorted({f"{Path(w.filename).name}:{w.lineno}" for w in syncs})


def section_data_path(device: torch.device, sizes: Sizes, out: Path) -> dict:
    """The frame cache resident on the device, batches built there, and how often the host waits for it."""
    plan = plan_compute(str(device), "auto", "auto")
    B, steps = sizes.batches[0], max(sizes.steps, 4)
    data = DeviceFrames(fake_cache(sizes.pool, sizes.image), [i % 5 for i in range(sizes.pool)], plan.device)
    gen = torch.Generator(device=plan.device).manual_seed(0)
    aug = AugmentConfig()
    idx = torch.randint(0, sizes.pool, (B * steps,), device=plan.device, generator=gen)
    onset, apex, labels = data.train_batch(idx[:B], aug, gen, memory_format=plan.memory_format)
    pixels = getattr(data, "_train_pixels", data.frames)  # the normalised training copy (a private attribute)
    where = {"cache_frames": data.frames.device, "cache_train_pixels": pixels.device, "labels": data.labels.device,
             "batch": onset.device}
    res = {name: str(d) for name, d in where.items()}
    res["batch_shape"] = list(onset.shape)
    passes = []
    for _ in range(6):  # one untimed pass, then the median of 5
        t0 = time.perf_counter()
        for start in range(0, len(idx), B):
            data.train_batch(idx[start:start + B], aug, gen, memory_format=plan.memory_format)
        sync(plan.device)
        passes.append((time.perf_counter() - t0) / len(idx) * 1e3)
    res["data_ms_per_sample"] = round(statistics.median(passes[1:]), 4)
    if any(d.type != plan.device.type for d in where.values()):
        raise Failed(f"data is not on {plan.device}: {res}", res)
    if device.type != "cuda":
        res["host_syncs"] = "skipped: needs CUDA (torch.cuda.set_sync_debug_mode)"
        return res
    torch.manual_seed(0)
    model = MMNet(image_size=sizes.image).to(plan.device).to(memory_format=plan.memory_format)
    opt = adamw(model.parameters(), lr=8e-4, weight_decay=0.6)
    kw = dict(batch_size=B, augment=aug, generator=gen, precision=plan.precision, memory_format=plan.memory_format)
    train_one_epoch(model, data, idx[:B], opt, **kw)  # warm-up outside the count
    sync(plan.device)
    n_train, train_at = _sync_sites(lambda: train_one_epoch(model, data, idx, opt, **kw))
    n_eval, eval_at = _sync_sites(lambda: evaluate(model, data, idx, precision=plan.precision, batch_size=B,
                                                   memory_format=plan.memory_format))
    res.update(train_steps=steps, train_syncs=n_train, train_sync_sites=train_at, eval_batches=steps,
               eval_syncs=n_eval, eval_sync_sites=eval_at)
    if n_train >= steps:
        raise Failed(f"{n_train} host synchronisations in a training epoch of {steps} steps (one per step or more)",
                     res)
    return res


# ----------------------------------------------------------------------------- a CASME II-size LOSO
def _synthetic_root(out: Path, sizes: Sizes) -> tuple[Path, float]:
    """mmnet's synthetic CASME II layout (reused when an earlier check wrote the same one); seconds spent."""
    from mmnet import synth

    root = out / "synth-data"
    config = synth.SynthConfig(image_size=sizes.synth_size, frames=sizes.synth_frames)
    want = {"subjects": sizes.subjects, "clips_per_subject": sizes.clips_per_subject, "seed": 0}
    meta = root / "synth.json"
    if meta.exists():
        old = json.loads(meta.read_text())
        same_pixels = old.get("config", {}).get("image_size") == list(sizes.synth_size) and old["config"].get(
            "frames") == list(sizes.synth_frames) and synth.older_generator(old) is None
        if same_pixels and all(old.get(k) == v for k, v in want.items()):
            return root, 0.0
    t0 = time.perf_counter()
    synth.write_dataset(root, **want, config=config, overwrite=True)
    return root, time.perf_counter() - t0


def _loso_config(root: Path, out: Path, device: torch.device, sizes: Sizes):
    from mmnet.config import load_config
    from mmnet.recipes import recipe_path

    overrides = [f"data.root={root}", f"data.cache_dir={out / 'cache'}", f"data.image_size={sizes.image}",
                 f"train.epochs={sizes.epochs}", f"train.lr_decay_epochs={sizes.epochs}", f"train.device={device}",
                 "seeds=[0]"]
    return load_config(recipe_path(RECIPE), overrides)  # a ConfigError when the recipe is gone: no silent defaults


def _save_seconds(device: torch.device, size: int, folder: Path) -> float:
    """What one per-epoch resume state costs to write: a model and AdamW moments of MMNet's size, on the device."""
    model = MMNet(image_size=size).to(device)
    state = {"model": model.state_dict(), "optimizer": {
        "exp_avg": [torch.zeros_like(p) for p in model.parameters()],
        "exp_avg_sq": [torch.zeros_like(p) for p in model.parameters()]}}
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        atomic_torch_save(state, folder / "save-check.pt")
        times.append(time.perf_counter() - t0)
    (folder / "save-check.pt").unlink(missing_ok=True)
    return statistics.median(times)


def section_loso(device: torch.device, sizes: Sizes, out: Path) -> dict:
    """A full LOSO (26 subjects, CASME II's clip count) for a few epochs through prepare_run and run_fold,
    the time extrapolated to the paper's 74 epochs per fold."""
    from mmnet import run_folder as rf
    from mmnet.report import build_report
    from mmnet.train import fold_tasks, prepare_run
    from mmnet.train.fold import run_fold

    root, gen_s = _synthetic_root(out, sizes)
    run_dir = out / "loso-run"
    shutil.rmtree(run_dir, ignore_errors=True)
    cfg = _loso_config(root, out, device, sizes)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    run = prepare_run(cfg, run_dir, progress=False)
    prepare_s = time.perf_counter() - t0
    tasks = fold_tasks(run)
    frames = np.load(tasks[0].frames_path, mmap_mode="r")
    folds = []
    t_all = time.perf_counter()
    # The parent's deadline for this section (wall clock): folds stop early, and the rest is extrapolated.
    deadline = float(os.environ.get("MMNET_GPU_CHECK_DEADLINE", "inf")) - 30
    for k, task in enumerate(tasks, 1):
        if folds and time.time() > deadline:
            print(f"  loso: time budget: {len(folds)} of {len(tasks)} folds run", file=sys.stderr, flush=True)
            break
        t0 = time.perf_counter()
        run_fold(task, progress=False, frames=frames, keep_process_settings=True)  # as the executors run folds
        wall = time.perf_counter() - t0
        with (task.fold_dir / rf.HISTORY).open() as f:
            seconds = [float(r["seconds"]) for r in csv.DictReader(f)]
        folds.append({"fold": task.fold, "wall_s": wall, "epoch_s": seconds, "train": len(task.train_idx),
                      "test": len(task.test_idx)})
        print(f"  loso: fold {k}/{len(tasks)} {task.fold}: {wall:.1f} s", file=sys.stderr, flush=True)
    folds_s = time.perf_counter() - t_all
    t0 = time.perf_counter()
    report = build_report(run_dir)
    report_s = time.perf_counter() - t0
    save_s = _save_seconds(device, sizes.image, out)
    E, per_fold, per_fold_upper = sizes.epochs, [], []
    every = cfg.train.state_every_s

    def state_writes(epochs: int, seconds: float) -> int:  # fold.py writes one at most every state_every_s
        return epochs if every <= 0 else min(epochs, int(seconds // every))

    for f in folds:
        sec = f["epoch_s"]
        steady = statistics.mean(sec[1:]) if len(sec) > 1 else sec[0]
        # History's seconds cover training and evaluation only; the fold's wall time also holds its set-up, the
        # tables after each epoch and the resume states written. The estimate counts the set-up once and the
        # state writes (timed apart) a 74-epoch fold makes; the bound counts the whole unlogged time as per-epoch
        # cost, plus those writes.
        setup = max(f["wall_s"] - sum(sec) - state_writes(E - 1, sum(sec)) * save_s, 0.0)
        train74 = sec[0] + (PAPER_EPOCHS - 1) * steady
        writes = state_writes(PAPER_EPOCHS - 1, train74) * save_s
        per_fold.append(setup + train74 + writes)
        per_fold_upper.append(f["wall_s"] + (PAPER_EPOCHS - E) * (steady + (f["wall_s"] - sum(sec)) / E) + writes)
    # folds not run: the mean of those run
    total74 = prepare_s + report_s + statistics.mean(per_fold) * len(tasks)
    total74_upper = prepare_s + report_s + statistics.mean(per_fold_upper) * len(tasks)
    headline = report.get("headline", {}).get("per_seed", {}).get("0", {})
    res = {"subjects": sizes.subjects, "clips": len(run.labels), "folds": len(tasks), "folds_run": len(folds),
           "epochs_run": E,
           "image": sizes.image, "synth_generate_s": round(gen_s, 1), "prepare_s": round(prepare_s, 2),
           "folds_s": round(folds_s, 2), "report_s": round(report_s, 2), "save_state_s": round(save_s, 4),
           "epoch_s_median": round(statistics.median(s for f in folds for s in f["epoch_s"][1:] or f["epoch_s"]), 4),
           "fold_wall_s_median": round(statistics.median(f["wall_s"] for f in folds), 3),
           "extrapolated_74_epochs_s": round(total74, 1), "extrapolated_74_epochs_upper_s": round(total74_upper, 1),
           "goal_s": GOAL_LOSO_S,
           "uf1_after_epochs_run": headline.get("uf1")}
    if device.type == "cuda":
        res["peak_gpu_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
    return res


# ----------------------------------------------------------------------------- Ray
def section_ray(device: torch.device, sizes: Sizes, out: Path, allow_cpu: bool = False) -> dict:
    """4 folds as Ray tasks sharing the GPU (0.25 each) against the same 4 folds one after another."""
    try:
        import ray
    except ImportError:
        raise Skip("ray is not installed (pip install -e '.[ray]' in the mmnet checkout)") from None
    if device.type != "cuda" and not allow_cpu:
        raise Skip("needs CUDA (4 folds x 0.25 GPU)")
    if device.index is not None:  # the Ray executor refuses train.device=cuda:N (a ConfigError)
        raise Skip(f"Ray assigns each fold its GPU, so it takes no --device {device}: run the check with "
                   f"--device cuda and CUDA_VISIBLE_DEVICES={device.index}")
    from mmnet.config import ExecutorConfig
    from mmnet.train import fold_tasks, prepare_run
    from mmnet.train.executors import run_local
    from mmnet.train.ray_executor import run_ray

    root, gen_s = _synthetic_root(out, sizes)
    cfg = _loso_config(root, out, device, sizes)
    runs = {}
    for name in ("ray-sequential", "ray-parallel"):
        shutil.rmtree(out / name, ignore_errors=True)
        runs[name] = fold_tasks(prepare_run(cfg, out / name, progress=False))[:4]
    t0 = time.perf_counter()
    seq = run_local(runs["ray-sequential"], progress=False)
    seq_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    # The GPUs counted by torch (CUDA_VISIBLE_DEVICES applies), not left to Ray's own detection
    ray.init(include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1",
             num_gpus=torch.cuda.device_count() if device.type == "cuda" else None)
    init_s = time.perf_counter() - t0
    try:
        gpus = 0.25 if device.type == "cuda" else 0.0
        t0 = time.perf_counter()
        par = run_ray(runs["ray-parallel"], ExecutorConfig(executor="ray", gpus_per_fold=gpus, cpus_per_fold=1),
                      progress=False)
        ray_s = time.perf_counter() - t0
    finally:
        ray.shutdown()
    return {"folds": len(seq), "epochs": sizes.epochs, "gpus_per_fold": gpus, "sequential_s": round(seq_s, 2),
            "ray_init_s": round(init_s, 2), "ray_s": round(ray_s, 2), "speedup": round(seq_s / ray_s, 2),
            "speedup_with_init": round(seq_s / (ray_s + init_s), 2),
            "sequential_test_acc": [r["test_acc"] for r in seq], "ray_test_acc": [r["test_acc"] for r in par]}


# ----------------------------------------------------------------------------- torch.compile
def section_compile(device: torch.device, sizes: Sizes, out: Path) -> dict:
    """Eager against ``torch.compile`` at one batch size (the first steps, which compile, timed apart)."""
    need_cuda(device)
    try:  # triton and a C compiler: known before the eager run rather than after it
        check_compile(str(device))
    except ConfigError as exc:
        raise Skip(str(exc)) from None
    plan = plan_compute(str(device), "auto", "auto")
    B = sizes.compile_batch
    data = DeviceFrames(fake_cache(sizes.pool, sizes.image), [i % 5 for i in range(sizes.pool)], plan.device)
    gen = torch.Generator(device=plan.device).manual_seed(0)
    torch.manual_seed(0)
    eager = _throughput(MMNet(image_size=sizes.image).to(plan.device).to(memory_format=plan.memory_format), data,
                        plan, B, sizes, plan.precision, gen)
    torch.manual_seed(0)
    model = torch.compile(MMNet(image_size=sizes.image).to(plan.device).to(memory_format=plan.memory_format),
                          dynamic=False)
    opt = adamw(model.parameters(), lr=8e-4, weight_decay=0.6)
    idx = torch.randint(0, sizes.pool, (2 * B,), device=plan.device, generator=gen)
    t0 = time.perf_counter()
    stats = train_one_epoch(model, data, idx, opt, batch_size=B, augment=AugmentConfig(), generator=gen,
                            precision=plan.precision, memory_format=plan.memory_format)
    evaluate(model, data, idx, precision=plan.precision, batch_size=B, memory_format=plan.memory_format)
    sync(plan.device)
    compile_s = time.perf_counter() - t0
    compiled = _throughput(model, data, plan, B, sizes, plan.precision, gen)
    train_x = compiled["train_img_s"] / eager["train_img_s"]
    eval_x = compiled["eval_img_s"] / eager["eval_img_s"]
    # A fast step is worthless if it is wrong (compiled bf16 training on CPU gave non-finite gradients).
    bad = [n for n, p in model.named_parameters() if not bool(torch.isfinite(p).all())]
    res = {"batch": B, "precision": plan.precision, "compile_s": round(compile_s, 1), "eager": eager,
           "compiled": compiled, "train_speedup": round(train_x, 3), "eval_speedup": round(eval_x, 3),
           "helps_train": train_x > 1.05, "helps_eval": eval_x > 1.05, "first_loss": stats.loss,
           "params_finite": not bad}
    if bad or stats.first_bad_step is not None:
        raise Failed(f"compiled training is not finite: first loss {stats.loss}, non-finite parameters "
                     f"{', '.join(bad[:5]) or 'none'}", res)
    return res
