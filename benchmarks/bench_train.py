"""Training/eval throughput, data cost per sample and peak memory of MMNet on this machine.

Prints figures; it is not a test. Everything runs through the same code as `mmnet train`: cached
uint8 frames on the device, batches with the authors' jitter and augmentation, AdamW steps.

    python benchmarks/bench_train.py                       # fp32 and bf16 on CPU (and CUDA if present)
    python benchmarks/bench_train.py --precision fp32 --steps 5
    python benchmarks/bench_train.py --baseline            # against the authors' pipeline, split in two:
                                                           # what process settings give, what our code gives
    python benchmarks/bench_train.py --baseline --rounds 3 # the same three times, interleaved (shared hosts drift)

The baseline (``authors_baseline.py``) is the authors' data path (9 JPEG frames decoded per sample,
their per-sample transforms) and network (fp32, NCHW, their attention). ``--baseline`` runs five
fresh processes: ours and the authors', each with our process settings (mimalloc, flushed
denormals, freed memory kept, huge pages: ``mmnet.runtime``) and plain (glibc's malloc, none of
those), plus ours in fp32 with our settings; it prints which part of each ratio comes from the process
settings and which from the code.
"""

# ruff: noqa: E402  (torch must be imported after prepare_process)
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from mmnet.runtime import prepare_process

# MMNET_BENCH_PROCESS=plain: the process as a plain PyTorch script has it (the baseline's "plain").
PLAIN = os.environ.get("MMNET_BENCH_PROCESS") == "plain"
if not PLAIN:
    prepare_process()  # as the CLI does: mimalloc (MMNET_ALLOCATOR=system: glibc's), huge pages
import torch

from mmnet import MMNet
from mmnet.config import AugmentConfig
from mmnet.data.batches import DeviceFrames
from mmnet.data.cache import CachedFrames
from mmnet.model.cpu_kernels import set_cpu_routes
from mmnet.runtime import active_allocator, configure_cpu_numerics, cpu_has_fast_bf16, resolve_memory_format
from mmnet.train.calibrate import calibrated_routes
from mmnet.train.loop import adamw, evaluate, train_one_epoch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from authors_baseline import (  # noqa: I001
    FRAMES_PER_SAMPLE, WARM_UP_STEPS, authors_data_ms, authors_train, untimed_steps)


def fake_cache(n_samples: int, size: int) -> CachedFrames:
    """A cache as `build_frame_cache` returns: 3 onset and 3 apex candidate frames per sample."""
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (n_samples * 6, size, size, 3), dtype=np.uint8)
    base = np.arange(n_samples) * 6
    return CachedFrames(frames, np.stack([base, base + 3], 1), np.stack([base + 3, base + 6], 1), base, base + 5,
                        Path("memory"))


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # kB on Linux


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench(device: torch.device, precision: str, steps: int, batch: int, size: int, memory_format: str,
          fused_adamw: bool = True, compile_model: bool = False, routes: str = "calibrated") -> dict:
    n = batch * steps
    fmt = resolve_memory_format(memory_format, device, precision)
    data = DeviceFrames(fake_cache(n, size), list(np.arange(n) % 5), device)
    gen = torch.Generator(device=device).manual_seed(0)
    aug = AugmentConfig()
    idx = torch.arange(n, device=device)

    # Data cost alone: assembling augmented batches from the cache, in the network's layout.
    # One untimed pass first (the first touch of fresh memory is not a per-step cost), then the
    # median of 5 passes: single passes of a few batches vary by 20 % on a shared host.
    passes = []
    for _ in range(6):
        t0 = time.perf_counter()
        for start in range(0, n, batch):
            data.train_batch(idx[start:start + batch], aug, gen, memory_format=fmt)
        sync(device)
        passes.append((time.perf_counter() - t0) / n * 1e3)
    data_ms = float(np.median(passes[1:]))

    model = MMNet(image_size=size).to(device).to(memory_format=fmt)
    # the fp32 kernel routes `mmnet train` turns on where the calibration measured them faster
    on = calibrated_routes(size, precision, fmt) if device.type == "cpu" and routes == "calibrated" else {}
    set_cpu_routes(model, **on)
    opt = (adamw(model.parameters(), lr=8e-4, weight_decay=0.6) if fused_adamw  # as the recipe: fused where it can
           else torch.optim.AdamW(model.parameters(), lr=8e-4, weight_decay=0.6))
    compile_s = None
    if compile_model:  # torch.compile (inductor; on CPU it needs a C++ compiler), timed apart from the steps
        model = torch.compile(model)
    def step() -> None:
        train_one_epoch(model, data, idx[:batch], opt, batch_size=batch, augment=aug, generator=gen,
                        precision=precision, memory_format=fmt)
        sync(device)

    # Warm-up (kernel selection, fresh memory: authors_baseline.WARM_UP_STEPS); with --compile one more
    # (the compilation, and a possible recompilation on the second call).
    warm_up_s = untimed_steps(step, WARM_UP_STEPS + (1 if compile_model else 0))
    if compile_model:
        compile_s = sum(warm_up_s[:2])  # the compiling call and a possible recompilation, as before
    t0 = time.perf_counter()
    train_one_epoch(model, data, idx, opt, batch_size=batch, augment=aug, generator=gen, precision=precision,
                    memory_format=fmt)
    sync(device)
    train_ips = n / (time.perf_counter() - t0)
    # a fast step is worthless if it is wrong: with torch 2.13, compiled bf16 training on CPU gave
    # non-finite gradients in the main branch (docs/performance.md, "torch.compile on CPU")
    params_finite = all(bool(torch.isfinite(p).all()) for p in model.parameters())

    evaluate(model, data, idx[:batch], precision=precision, batch_size=batch, memory_format=fmt)
    sync(device)
    t0 = time.perf_counter()
    evaluate(model, data, idx, precision=precision, batch_size=batch, memory_format=fmt)
    sync(device)
    eval_ips = n / (time.perf_counter() - t0)
    out = {"device": str(device), "precision": precision, "batch": batch,
           "memory_format": "channels_last" if fmt == torch.channels_last else "NCHW", "train_img_s": train_ips,
           "eval_img_s": eval_ips, "data_ms_per_sample": data_ms, "peak_rss_gib": peak_rss_gib(),
           "params_finite": params_finite, "warm_up_s": warm_up_s,
           "cpu_routes": [name for name, used in on.items() if used]}
    if compile_model:
        out["compile"] = True
        out["compile_warmup_s"] = compile_s
    if device.type == "cuda":
        out["peak_gpu_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    return out


# (code, process settings); "ours-fp32" is our code in fp32 for the fp32-against-fp32 ratio.
ROLES = (("ours", "ours"), ("ours", "plain"), ("authors", "ours"), ("authors", "plain"), ("ours-fp32", "ours"))


def _plain_environment() -> dict[str, str]:
    """This environment without our process settings: no mimalloc preload, no huge-page request."""
    env = dict(os.environ, MMNET_BENCH_PROCESS="plain", MMNET_ALLOCATOR="system")
    preload = [p for p in env.pop("LD_PRELOAD", "").split(":") if p and "mimalloc" not in p]
    if preload:
        env["LD_PRELOAD"] = ":".join(preload)
    for key in ("MMNET_ALLOCATOR_REEXEC", "MIMALLOC_PURGE_DELAY", "THP_MEM_ALLOC_ENABLE"):
        env.pop(key, None)
    return env


def run_role(code: str, args: argparse.Namespace) -> dict:
    """One cell of the baseline table, in this process (its process settings are already decided)."""
    if code == "authors":
        r = authors_train(args.steps, args.batch, args.size)
        r.update(precision="fp32", memory_format="NCHW")
    else:
        # "ours": what train.precision=auto picks on this CPU (the flag rule; the calibration agrees on AMX)
        precision = "fp32" if code == "ours-fp32" or not cpu_has_fast_bf16() else "bf16"
        r = bench(torch.device("cpu"), precision, args.steps, args.batch, args.size, "auto", routes=args.routes)
    r.update(code=code, allocator=active_allocator(), flush_denormal=not PLAIN, threads=torch.get_num_threads())
    return r


def _cell(code: str, process: str, args: argparse.Namespace) -> dict:
    """One cell of the baseline table, timed in a fresh process with these process settings."""
    env = _plain_environment() if process == "plain" else {
        k: v for k, v in os.environ.items() if k not in ("MMNET_BENCH_PROCESS", "MMNET_ALLOCATOR_REEXEC")}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--role", code, "--steps", str(args.steps),
           "--batch", str(args.batch), "--size", str(args.size), "--routes", args.routes]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit(f"{code} / {process} settings failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


RATIOS = (  # label, what it isolates, numerator cell, denominator cell
    ("ours / authors', both plain", "our code alone (glibc malloc, no process settings)",
     ("ours", "plain"), ("authors", "plain")),
    ("authors' with our process settings / authors' plain", "process settings alone, on the authors' code",
     ("authors", "ours"), ("authors", "plain")),
    ("ours / authors' with our process settings", "our code alone, both with our process settings",
     ("ours", "ours"), ("authors", "ours")),
    ("ours / ours plain", "process settings alone, on our code", ("ours", "ours"), ("ours", "plain")),
    ("ours / authors' plain", "everything (= code x settings)", ("ours", "ours"), ("authors", "plain")),
    ("ours in fp32 / authors' with our process settings", "our code alone, fp32 against their fp32",
     ("ours-fp32", "ours"), ("authors", "ours")),
)


def _span(values: list[float], unit: str = "") -> str:
    lo, hi = min(values), max(values)
    return f"{lo:.2f}{unit}" if len(values) == 1 or f"{lo:.2f}" == f"{hi:.2f}" else f"{lo:.2f}-{hi:.2f}{unit}"


def baseline(args: argparse.Namespace) -> None:
    """Five fresh processes per round (ours / authors' x our process settings / plain, ours in fp32); the
    ratios, split. With several rounds the cells run interleaved and each ratio is taken within a round,
    so that a shared host's drift (20-40 % over minutes) moves both sides of a ratio alike."""
    rounds: list[dict] = []
    for n in range(1, args.rounds + 1):
        cells = {}
        for code, process in ROLES:
            r = cells[code, process] = _cell(code, process, args)
            print(f"{'' if args.rounds == 1 else f'round {n}: '}{code:>7} code, {process:>5} process settings "
                  f"({r['allocator']} malloc, flush denormals {r['flush_denormal']}): train {r['train_img_s']:.2f} "
                  f"img/s, eval {r['eval_img_s']:.2f} img/s, data {r['data_ms_per_sample']:.2f} ms/sample "
                  f"({r['precision']}, {r['memory_format']}" + "".join(f", {name}" for name in r.get("cpu_routes", []))
                  + "); untimed steps " + " / ".join(f"{s:.2f}" for s in r["warm_up_s"]) + " s", flush=True)
        rounds.append({k: v["train_img_s"] for k, v in cells.items()})
    if args.rounds > 1:
        print("\n| cell | training img/s over the rounds |\n|---|---|")
        for code, process in ROLES:
            print(f"| {code}, {process} process settings | {_span([t[code, process] for t in rounds])} |")
    print("\n| ratio (training img/s) | what it isolates | value" + (" (each round's)" if args.rounds > 1 else "")
          + " |\n|---|---|---|")
    for label, what, top, bottom in RATIOS:
        print(f"| {label} | {what} | {_span([t[top] / t[bottom] for t in rounds], 'x')} |")


def _at_least_one(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of rounds, 1 or more")
    return int(text)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--precision", choices=("fp32", "bf16", "both"), default="both")
    p.add_argument("--steps", type=int, default=3, help="timed optimiser steps")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--device", default=None, help="cpu, cuda (default: cpu, then cuda when present)")
    p.add_argument("--memory-format", choices=("auto", "channels_last", "contiguous"), default="auto",
                   help="as train.memory_format (auto: NCHW for fp32 on CPUs without AVX-512, else channels_last)")
    p.add_argument("--baseline", action="store_true",
                   help="ours against the authors' pipeline (CPU), with and without our process settings")
    p.add_argument("--rounds", type=_at_least_one, default=1,
                   help="with --baseline: run the five cells this many times, interleaved; ratios taken within a round")
    p.add_argument("--role", choices=("ours", "authors", "ours-fp32"), help=argparse.SUPPRESS)
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the network (inductor; the compilation is timed apart)")
    p.add_argument("--adamw", choices=("fused", "loop"), default="fused",
                   help="the recipe's fused AdamW (default) or torch's unfused one, for comparison")
    p.add_argument("--routes", choices=("calibrated", "off"), default="calibrated",
                   help="fp32 kernel routes (mmnet.model.cpu_kernels): as training, those the calibration measured "
                        "faster (default), or none")
    args = p.parse_args()
    if not PLAIN:
        configure_cpu_numerics()
    if args.role:
        print(json.dumps(run_role(args.role, args)))
        return
    if args.baseline:
        baseline(args)
        return

    devices = [torch.device(args.device)] if args.device else [torch.device("cpu")] + (
        [torch.device("cuda")] if torch.cuda.is_available() else [])
    precisions = ["fp32", "bf16"] if args.precision == "both" else [args.precision]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}, native bf16: {cpu_has_fast_bf16()}", file=sys.stderr)
    print(f"baseline, the authors' per-sample data path ({FRAMES_PER_SAMPLE} JPEG frames decoded with PIL, their "
          f"transforms): {authors_data_ms(size=args.size):.2f} ms/sample (one process)")
    print("| device | precision | layout | batch | train img/s | eval img/s | data ms/sample | peak RSS GiB |")
    print("|---|---|---|---|---|---|---|---|")
    for device in devices:
        for precision in precisions:
            r = bench(device, precision, args.steps, args.batch, args.size, args.memory_format, args.adamw == "fused",
                      args.compile, args.routes)
            if r["cpu_routes"]:
                print(f"{precision}: fp32 kernel routes on (calibrated): {', '.join(r['cpu_routes'])}", file=sys.stderr)
            if args.compile:
                print(f"compiled: warm-up (compilation) {r['compile_warmup_s']:.1f} s", file=sys.stderr)
            if not r["params_finite"]:
                print(f"WARNING: {precision}: the parameters are not finite after training (a wrong kernel): "
                      "the figures below measure broken arithmetic", file=sys.stderr)
            print(f"| {r['device']} | {r['precision']} | {r['memory_format']} | {r['batch']} "
                  f"| {r['train_img_s']:.2f} | {r['eval_img_s']:.2f} "
                  f"| {r['data_ms_per_sample']:.3f} | {r['peak_rss_gib']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
