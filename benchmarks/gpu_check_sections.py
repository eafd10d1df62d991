"""The sections of ``gpu_check.py``: each takes the run's settings and returns a dict of figures.

A section raises on failure (the driver records the error and goes on) and raises ``Skip`` when it
does not apply (no CUDA, no Ray, quick mode). Everything trains through mmnet's own code:
``plan_compute``, ``DeviceFrames``, ``train_one_epoch``/``evaluate``, ``prepare_run``/``run_fold``.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mmnet import MMNet
from mmnet.config import AugmentConfig
from mmnet.data.batches import DeviceFrames
from mmnet.data.cache import CachedFrames
from mmnet.runtime import active_allocator, cpu_model_name, plan_compute
from mmnet.train.loop import adamw, autocast, evaluate, train_one_epoch
from mmnet.utils import atomic_torch_save, checked_torch_load

PAPER_EPOCHS = 74
GOAL_TRAIN_IMG_S = 1500  # H100/H200-class GPU, 224 px, bf16 + channels_last
GOAL_LOSO_S = 360  # a full CASME II-size LOSO (26 folds x 74 epochs)
# A resumed step's parameters may differ from the uninterrupted run's by this much in any case: kernels with
# atomic adds (CUDA max-pool backward) move a step in the last bits, and repeating it may by chance not show it.
RESUME_ABS_TOL = 1e-5


class Skip(Exception):
    """The section does not apply here; the message says why."""


class Failed(Exception):
    """The section ran and its check failed: the message says how; ``figures`` are kept in the report."""

    def __init__(self, message: str, figures: dict) -> None:
        super().__init__(message)
        self.figures = figures


@dataclass(frozen=True)
class Sizes:
    """How big each section runs: the full GPU check, or tiny for the quick (CPU) mode."""

    image: int
    parity_batch: int
    batches: tuple[int, ...]
    steps: int  # timed optimiser steps per batch size
    warmup: int
    pool: int  # distinct synthetic samples on the device for the throughput runs
    subjects: int
    clips_per_subject: int
    epochs: int  # LOSO epochs actually run (then extrapolated to the paper's 74)
    synth_size: tuple[int, int]  # (width, height) of the synthetic frames
    synth_frames: tuple[int, int]
    compile_batch: int


FULL = Sizes(image=224, parity_batch=4, batches=(32, 64, 128), steps=20, warmup=3, pool=128, subjects=26,
             clips_per_subject=10, epochs=3, synth_size=(280, 340), synth_frames=(4, 6), compile_batch=64)
QUICK = Sizes(image=32, parity_batch=2, batches=(2, 4), steps=2, warmup=1, pool=8, subjects=4,
              clips_per_subject=2, epochs=2, synth_size=(64, 80), synth_frames=(3, 4), compile_batch=4)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def need_cuda(device: torch.device) -> None:
    if device.type != "cuda":
        raise Skip("needs CUDA (this run is on the CPU)")


def fake_cache(n_samples: int, size: int, seed: int = 0) -> CachedFrames:
    """A frame cache as ``build_frame_cache`` returns: 3 onset and 3 apex candidate frames per sample."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 256, (n_samples * 6, size, size, 3), dtype=np.uint8)
    base = np.arange(n_samples) * 6
    return CachedFrames(frames, np.stack([base, base + 3], 1), np.stack([base + 3, base + 6], 1), base, base + 5,
                        Path("memory"))


# ----------------------------------------------------------------------------- device and software
def section_env(device: torch.device, sizes: Sizes, out: Path) -> dict:
    from mmnet.version import __version__

    info = {"python": platform.python_version(), "torch": torch.__version__, "mmnet": __version__,
            "cuda_build": torch.version.cuda, "cudnn": torch.backends.cudnn.version() if torch.cuda.is_available()
            else None, "cpu": cpu_model_name() or platform.processor(), "cpu_count": os.cpu_count(),
            "allocator": active_allocator(), "device": str(device), "cuda_available": torch.cuda.is_available()}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1),
                    compute_capability=f"{props.major}.{props.minor}", gpu_count=torch.cuda.device_count(),
                    bf16=torch.cuda.is_bf16_supported())
        info["driver"] = _nvidia_smi("driver_version")
    return info


def _nvidia_smi(field: str) -> str | None:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        res = subprocess.run([exe, f"--query-gpu={field}", "--format=csv,noheader"], capture_output=True, text=True,
                             timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip().splitlines()[0] if res.returncode == 0 and res.stdout.strip() else None


# ----------------------------------------------------------------------------- parity
def _perturbed_model(size: int) -> MMNet:
    """A random MMNet whose BatchNorm statistics and affine terms are perturbed, so that the main branch moves
    the eval-mode logits (at initialisation it barely does)."""
    torch.manual_seed(0)
    model = MMNet(image_size=size)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
    return model.eval()


def section_parity(device: torch.device, sizes: Sizes, out: Path) -> dict:
    S, B = sizes.image, sizes.parity_batch
    g = torch.Generator().manual_seed(2)
    onset = torch.randn(B, 3, S, S, generator=g)
    apex = onset + 0.3 * torch.randn(B, 3, S, S, generator=g)
    model = _perturbed_model(S)
    with torch.no_grad():
        cpu = model(onset, apex)
    res = {"batch": B, "image": S, "logit_scale": float(cpu.abs().max())}
    model = model.to(device).to(memory_format=torch.channels_last)
    on, ap = (t.to(device).contiguous(memory_format=torch.channels_last) for t in (onset, apex))
    if device.type == "cuda":
        old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
        try:
            with torch.no_grad():
                fp32 = model(on, ap).float().cpu()
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old
        diff = float((fp32 - cpu).abs().max())
        res.update(cuda_vs_cpu_fp32_max_abs=diff, cuda_vs_cpu_fp32_max_rel=diff / max(res["logit_scale"], 1e-12),
                   tolerance_rel=1e-3)
    else:
        res["cuda_vs_cpu_fp32"] = "skipped: needs CUDA"
        fp32 = cpu
    with torch.no_grad(), autocast(device, "bf16"):
        bf16 = model(on, ap).float().cpu()
    res.update(bf16_device=str(device), bf16_vs_fp32_max_abs=float((bf16 - fp32).abs().max()),
               bf16_same_argmax=bool((bf16.argmax(1) == fp32.argmax(1)).all()))
    if device.type == "cuda" and res["cuda_vs_cpu_fp32_max_rel"] > res["tolerance_rel"]:
        raise Failed(f"CUDA fp32 logits differ from the CPU's by {res['cuda_vs_cpu_fp32_max_abs']:.3g} "
                             f"(relative {res['cuda_vs_cpu_fp32_max_rel']:.3g} > {res['tolerance_rel']})", res)
    return res


# ----------------------------------------------------------------------------- one step, resume
def _fresh(plan, size: int, seed: int):
    torch.manual_seed(seed)
    model = MMNet(image_size=size).to(plan.device).to(memory_format=plan.memory_format)
    opt = adamw(model.parameters(), lr=8e-4, weight_decay=0.6)  # the recipe's optimizer, as run_fold builds it
    gen = torch.Generator(device=plan.device).manual_seed(seed + 1)
    return model, opt, gen


def section_train_resume(device: torch.device, sizes: Sizes, out: Path) -> dict:
    """One step, save the state as a fold does, a second step; then a fresh model loads the state and takes
    the second step again: its parameters must equal the uninterrupted run's."""
    plan = plan_compute(str(device), "auto", "auto")
    B = sizes.batches[0]
    data = DeviceFrames(fake_cache(2 * B, sizes.image), [i % 5 for i in range(2 * B)], plan.device)
    idx = torch.arange(2 * B, device=plan.device)
    kw = dict(batch_size=B, augment=AugmentConfig(), precision=plan.precision, memory_format=plan.memory_format)
    flags = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark,
             torch.are_deterministic_algorithms_enabled())
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model, opt, gen = _fresh(plan, sizes.image, 0)
            t0 = time.perf_counter()
            first = train_one_epoch(model, data, idx[:B], opt, generator=gen, **kw)
            sync(plan.device)
            step_s = time.perf_counter() - t0
            path = out / "resume-check" / "state.pt"
            path.parent.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            atomic_torch_save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                               "generator": gen.get_state(), "torch_rng": torch.get_rng_state()}, path)
            save_s = time.perf_counter() - t0
            second = train_one_epoch(model, data, idx[B:], opt, generator=gen, **kw)
            ref = {k: v.detach().clone() for k, v in model.state_dict().items()}
            resumed = [_resume_step(plan, sizes.image, path, data, idx[B:], kw) for _ in range(2)]
    finally:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = flags[:2]
        torch.use_deterministic_algorithms(flags[2])
    (loaded_same, again, got), (_, again2, got2) = resumed
    diff = _max_diff(got, ref)
    repeat = _max_diff(got2, got)  # the resumed step twice: how far this device's kernels alone move it
    nondet = sorted({str(w.message).split(".")[0][:160] for w in caught if "deterministic" in str(w.message)})
    res = {"device": str(plan.device), "precision": plan.precision, "batch": B, "first_loss": first.loss,
           "first_step_s": round(step_s, 4), "state_mb": round(path.stat().st_size / 2**20, 1),
           "save_s": round(save_s, 4), "loaded_state_identical": loaded_same, "second_loss": second.loss,
           "resumed_loss": again.loss, "params_max_abs_diff": diff, "repeat_max_abs_diff": repeat,
           "identical": diff == 0.0 and second.loss == again.loss, "nondeterministic_ops": nondet}
    shutil.rmtree(path.parent, ignore_errors=True)
    if not np.isfinite(first.loss):
        raise Failed(f"the first training step's loss is {first.loss}", res)
    if not loaded_same:
        raise Failed("the reloaded state differs from the saved one", res)
    if second.loss != again.loss:
        raise Failed(f"the resumed step's loss {again.loss} differs from the uninterrupted run's {second.loss}", res)
    if not resume_close_enough(diff, repeat):
        raise Failed(f"the resumed step's parameters differ from the uninterrupted run's by {diff:.3g} "
                     f"(repeating the resumed step: {repeat:.3g}; accepted: {RESUME_ABS_TOL:g}, or 10x that)", res)
    return res


def resume_close_enough(diff: float, repeat: float) -> bool:
    """Whether the resumed step's parameters (``diff`` from the uninterrupted run's) count as the same step:
    identical, within RESUME_ABS_TOL, or no further off than 10x what repeating the resumed step moves them."""
    return diff <= RESUME_ABS_TOL or (repeat > 0 and diff <= 10 * repeat)


def _max_diff(a: dict, b: dict) -> float:
    return max((float((a[k].double() - v.double()).abs().max()) for k, v in b.items() if v.numel()), default=0.0)


def _resume_step(plan, size: int, path: Path, data, idx, kw) -> tuple[bool, object, dict]:
    """A fresh model (other weights) loads the saved state and takes the next step: (state loaded exactly,
    the step's stats, the parameters after it)."""
    model, opt, gen = _fresh(plan, size, 123)
    state = checked_torch_load(path, map_location=plan.device)
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    gen.set_state(state["generator"].cpu())
    torch.set_rng_state(state["torch_rng"].cpu())
    same = _max_diff(model.state_dict(), state["model"]) == 0.0 and bool(
        (gen.get_state().cpu() == state["generator"].cpu()).all())
    stats = train_one_epoch(model, data, idx, opt, generator=gen, **kw)
    return same, stats, {k: v.detach().clone() for k, v in model.state_dict().items()}


# ----------------------------------------------------------------------------- throughput
def _throughput(model, data, plan, B: int, sizes: Sizes, precision: str, gen) -> dict:
    """Training and evaluation img/s at batch B (warm-up steps first), peak GPU memory of the training."""
    aug = AugmentConfig()
    opt = adamw(model.parameters(), lr=8e-4, weight_decay=0.6)
    n = B * sizes.steps
    idx = torch.randint(0, len(data), (n,), device=plan.device, generator=gen)
    kw = dict(batch_size=B, augment=aug, generator=gen, precision=precision, memory_format=plan.memory_format)
    if plan.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(plan.device)
    train_one_epoch(model, data, idx[: B * sizes.warmup], opt, **kw)
    sync(plan.device)
    t0 = time.perf_counter()
    train_one_epoch(model, data, idx, opt, **kw)
    sync(plan.device)
    train = n / (time.perf_counter() - t0)
    ekw = dict(precision=precision, batch_size=B, memory_format=plan.memory_format)
    evaluate(model, data, idx[: B * sizes.warmup], **ekw)
    sync(plan.device)
    t0 = time.perf_counter()
    evaluate(model, data, idx, **ekw)
    sync(plan.device)
    row = {"batch": B, "precision": precision, "train_img_s": round(train, 2),
           "eval_img_s": round(n / (time.perf_counter() - t0), 2)}
    if plan.device.type == "cuda":
        row.update(peak_gpu_gib=round(torch.cuda.max_memory_allocated(plan.device) / 2**30, 2),
                   peak_reserved_gib=round(torch.cuda.max_memory_reserved(plan.device) / 2**30, 2),
                   # PyTorch's defaults: an "fp32" row's convolutions run in TF32 unless these are off
                   tf32_convolutions=torch.backends.cudnn.allow_tf32,
                   tf32_matmul=torch.backends.cuda.matmul.allow_tf32)
    return row


def section_throughput(device: torch.device, sizes: Sizes, out: Path) -> dict:
    plan = plan_compute(str(device), "auto", "auto")
    data = DeviceFrames(fake_cache(sizes.pool, sizes.image), [i % 5 for i in range(sizes.pool)], plan.device)
    gen = torch.Generator(device=plan.device).manual_seed(0)
    rows = []
    runs = [(B, plan.precision) for B in sizes.batches] + ([(sizes.batches[0], "fp32")] if plan.precision != "fp32"
                                                           else [])
    for B, precision in runs:
        torch.manual_seed(0)
        model = MMNet(image_size=sizes.image).to(plan.device).to(memory_format=plan.memory_format)
        try:
            rows.append(_throughput(model, data, plan, B, sizes, precision, gen))
        except torch.cuda.OutOfMemoryError as exc:
            rows.append({"batch": B, "precision": precision, "error": f"out of memory: {str(exc)[:120]}"})
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()
        print(f"  throughput: {rows[-1]}", file=sys.stderr, flush=True)
    best = max((r for r in rows if "train_img_s" in r and r["precision"] == plan.precision),
               key=lambda r: r["train_img_s"], default=None)
    res = {"image": sizes.image, "precision": plan.precision,
           "memory_format": "channels_last" if plan.memory_format == torch.channels_last else "NCHW",
           "timed_steps": sizes.steps, "rows": rows, "goal_train_img_s": GOAL_TRAIN_IMG_S}
    if best:
        res.update(best_train_img_s=best["train_img_s"], best_batch=best["batch"],
                   best_eval_img_s=max(r["eval_img_s"] for r in rows if "eval_img_s" in r))
    if device.type == "cuda":
        # each row resets the peaks: the section's are the largest row's
        res.update(peak_gpu_gib=max((r.get("peak_gpu_gib", 0) for r in rows), default=0),
                   peak_reserved_gib=max((r.get("peak_reserved_gib", 0) for r in rows), default=0))
    return res
