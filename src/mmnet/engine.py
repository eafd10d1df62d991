"""The training and evaluation loops: plain, readable, one epoch at a time."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .config import AugmentConfig
from .data.batches import DeviceFrames

__all__ = ["resolve_device", "resolve_precision", "resolve_memory_format", "autocast", "train_one_epoch", "evaluate", "EpochStats"]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def cpu_has_fast_bf16() -> bool:
    """True where the CPU computes bf16 natively (AMX or AVX-512 BF16).

    Without them (e.g. AVX2-only CPUs) PyTorch emulates bf16 and a training step is ~15x slower
    than fp32, so "auto" must not pick bf16 there.
    """
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve_precision(precision: str, device: torch.device) -> str:
    """"auto" -> "bf16" on CUDA GPUs with bf16 and on CPUs with native bf16, else "fp32"."""
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_fast_bf16() else "fp32"


def cpu_prefers_nchw_for_fp32() -> bool:
    """True on CPUs without AVX-512, where oneDNN's fp32 channels_last convolution backward is slow.

    Measured (fp32, 224 px, batch 32, `benchmarks/bench_train.py --memory-format ...`):
    AVX2-only AMD EPYC: a training step ~25 % faster in NCHW (backward 4.7 s against 6.9 s in
    channels_last at batch 16); AVX-512 Xeon (Sapphire Rapids): channels_last faster,
    4.8 against 3.6-3.8 img/s.
    """
    return torch.backends.cpu.get_cpu_capability() != "AVX512"  # torch: "AVX2", "AVX512", "DEFAULT", ...


def resolve_memory_format(memory_format: str, device: torch.device, precision: str) -> torch.memory_format:
    """"auto" -> channels_last on CUDA, for bf16, and for fp32 on AVX-512 CPUs; NCHW for fp32 on
    other CPUs (see `cpu_prefers_nchw_for_fp32`). channels_last is what bf16 (AMX) and CUDA
    kernels are fastest in."""
    if memory_format == "auto":
        nchw = device.type == "cpu" and precision != "bf16" and cpu_prefers_nchw_for_fp32()
        return torch.contiguous_format if nchw else torch.channels_last
    return torch.channels_last if memory_format == "channels_last" else torch.contiguous_format


def autocast(device: torch.device, precision: str):
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


@dataclass
class EpochStats:
    loss: float
    accuracy: float


def train_one_epoch(
    model: nn.Module,
    data: DeviceFrames,
    train_idx: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    batch_size: int,
    augment: AugmentConfig,
    generator: torch.Generator,
    precision: str,
    memory_format: torch.memory_format = torch.channels_last,
) -> EpochStats:
    """One pass over ``train_idx`` in a shuffled order; the last partial batch is kept (as the authors)."""
    model.train()
    device = data.device
    order = train_idx[torch.randperm(len(train_idx), generator=generator, device=device)]
    # Loss and accuracy are accumulated on the device: no host synchronisation per step.
    total_loss = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        # Batches come in the network's memory format (see data.batches).
        onset, apex, labels = data.train_batch(idx, augment, generator, memory_format=memory_format)
        with autocast(device, precision):
            logits = model(onset, flow=apex) if data.has_flow else model(onset, apex)
        loss = F.cross_entropy(logits.float(), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += loss.detach() * len(idx)
        correct += (logits.argmax(1) == labels).sum()
    n = max(len(order), 1)
    return EpochStats(loss=float(total_loss) / n, accuracy=float(correct) / n)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    data: DeviceFrames,
    test_idx: torch.Tensor,
    *,
    precision: str,
    batch_size: int = 64,
    memory_format: torch.memory_format = torch.channels_last,
) -> tuple[torch.Tensor, float]:
    """Softmax probabilities (N, C) on the exact onset/apex, and the mean cross-entropy."""
    model.eval()
    probs, loss_sum = [], torch.zeros((), device=data.device)
    for start in range(0, len(test_idx), batch_size):
        idx = test_idx[start : start + batch_size]
        onset, apex, labels = data.eval_batch(idx, memory_format)
        with autocast(data.device, precision):
            logits = (model(onset, flow=apex) if data.has_flow else model(onset, apex)).float()
        loss_sum += F.cross_entropy(logits, labels, reduction="sum")
        probs.append(logits.softmax(1))
    # One transfer to the host per evaluation, not one per batch.
    return torch.cat(probs).cpu(), float(loss_sum) / max(len(test_idx), 1)
