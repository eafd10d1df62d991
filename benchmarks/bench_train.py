"""Training/eval throughput, data cost per sample and peak memory of MMNet on this machine.

Prints figures; it is not a test. Everything runs through the same code as `mmnet train`: cached
uint8 frames on the device, batches with the authors' jitter and augmentation, AdamW steps.

    python benchmarks/bench_train.py                       # fp32 and bf16 on CPU (and CUDA if present)
    python benchmarks/bench_train.py --precision fp32 --steps 5
"""

# ruff: noqa: E402  (torch must be imported after prepare_process)
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

from mmnet.runtime import prepare_process

prepare_process()  # as the CLI does: mimalloc (MMNET_ALLOCATOR=system: glibc's), huge pages
import torch

from mmnet import MMNet
from mmnet.config import AugmentConfig
from mmnet.data.batches import DeviceFrames
from mmnet.data.cache import CachedFrames
from mmnet.runtime import configure_cpu_numerics, cpu_has_fast_bf16, resolve_memory_format
from mmnet.train.loop import adamw, evaluate, train_one_epoch


def fake_cache(n_samples: int, size: int) -> CachedFrames:
    """A cache as `build_frame_cache` returns: 3 onset and 3 apex candidate frames per sample."""
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (n_samples * 6, size, size, 3), dtype=np.uint8)
    base = np.arange(n_samples) * 6
    return CachedFrames(frames, np.stack([base, base + 3], 1), np.stack([base + 3, base + 6], 1), base, base + 5,
                        Path("memory"))


def authors_style_data_ms(n: int = 32, size: int = 224) -> float:
    """Baseline: the authors' per-sample pipeline (decode two JPEG frames with PIL, resize, flip,
    rotate, pad-and-crop, to tensor, normalise), as their Dataset does in DataLoader workers."""
    import random
    import tempfile

    from PIL import Image, ImageOps

    from mmnet.data.image import normalise

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(4):
            path = Path(tmp) / f"reg_img{i}.jpg"
            Image.fromarray(rng.integers(0, 256, (340, 280, 3), dtype=np.uint8)).save(path, quality=95)
            paths.append(path)
        t0 = time.perf_counter()
        for i in range(n):
            flip, angle, ox, oy = (random.random() < 0.5, random.uniform(-3, 3),
                                   random.randint(0, 30), random.randint(0, 30))
            pair = []
            for path in (paths[i % 2], paths[2 + i % 2]):
                im = Image.open(path).convert("RGB").resize((size, size), Image.BILINEAR)
                if flip:
                    im = ImageOps.mirror(im)
                im = im.rotate(angle, resample=Image.NEAREST)
                im = ImageOps.expand(im, 15).crop((ox, oy, ox + size, oy + size))
                pair.append(normalise(torch.from_numpy(np.asarray(im).copy())))
        return (time.perf_counter() - t0) / n * 1e3


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # kB on Linux


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench(device: torch.device, precision: str, steps: int, batch: int, size: int, memory_format: str,
          fused_adamw: bool = True) -> dict:
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
    opt = (adamw(model.parameters(), lr=8e-4, weight_decay=0.6) if fused_adamw  # as the recipe: fused where it can
           else torch.optim.AdamW(model.parameters(), lr=8e-4, weight_decay=0.6))
    # Warm-up: one step (kernel selection, allocator).
    train_one_epoch(model, data, idx[:batch], opt, batch_size=batch, augment=aug, generator=gen,
                    precision=precision, memory_format=fmt)
    sync(device)
    t0 = time.perf_counter()
    train_one_epoch(model, data, idx, opt, batch_size=batch, augment=aug, generator=gen, precision=precision,
                    memory_format=fmt)
    sync(device)
    train_ips = n / (time.perf_counter() - t0)

    evaluate(model, data, idx[:batch], precision=precision, batch_size=batch, memory_format=fmt)
    sync(device)
    t0 = time.perf_counter()
    evaluate(model, data, idx, precision=precision, batch_size=batch, memory_format=fmt)
    sync(device)
    eval_ips = n / (time.perf_counter() - t0)
    out = {"device": str(device), "precision": precision, "batch": batch,
           "memory_format": "channels_last" if fmt == torch.channels_last else "NCHW", "train_img_s": train_ips,
           "eval_img_s": eval_ips, "data_ms_per_sample": data_ms, "peak_rss_gib": peak_rss_gib()}
    if device.type == "cuda":
        out["peak_gpu_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--precision", choices=("fp32", "bf16", "both"), default="both")
    p.add_argument("--steps", type=int, default=3, help="timed optimiser steps")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--device", default=None, help="cpu, cuda (default: cpu, then cuda when present)")
    p.add_argument("--memory-format", choices=("auto", "channels_last", "contiguous"), default="auto",
                   help="as train.memory_format (auto: NCHW for fp32 on CPUs without AVX-512, else channels_last)")
    p.add_argument("--adamw", choices=("fused", "loop"), default="fused",
                   help="the recipe's fused AdamW (default) or torch's unfused one, for comparison")
    args = p.parse_args()
    configure_cpu_numerics()
    devices = [torch.device(args.device)] if args.device else [torch.device("cpu")] + (
        [torch.device("cuda")] if torch.cuda.is_available() else [])
    precisions = ["fp32", "bf16"] if args.precision == "both" else [args.precision]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}, native bf16: {cpu_has_fast_bf16()}", file=sys.stderr)
    print(f"baseline, the authors' per-sample PIL pipeline from JPEG files: {authors_style_data_ms():.2f} ms/sample "
          "(one process)")
    print("| device | precision | layout | batch | train img/s | eval img/s | data ms/sample | peak RSS GiB |")
    print("|---|---|---|---|---|---|---|---|")
    for device in devices:
        for precision in precisions:
            r = bench(device, precision, args.steps, args.batch, args.size, args.memory_format, args.adamw == "fused")
            print(f"| {r['device']} | {r['precision']} | {r['memory_format']} | {r['batch']} "
                  f"| {r['train_img_s']:.2f} | {r['eval_img_s']:.2f} "
                  f"| {r['data_ms_per_sample']:.3f} | {r['peak_rss_gib']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
