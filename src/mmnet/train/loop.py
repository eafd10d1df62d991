"""The training and evaluation loops: plain, readable, one epoch at a time.

They run where and how they are told (device, precision, memory format: decided by
:func:`mmnet.runtime.plan_compute`); they never probe the machine.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import AugmentConfig
from ..data.batches import DeviceFrames

__all__ = ["autocast", "adamw", "train_one_epoch", "evaluate", "EpochStats"]


def autocast(device: torch.device, precision: str):
    """bf16 autocast when asked for; fp32 runs as written."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def adamw(params, *, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """The recipe's AdamW, fused (one kernel per parameter instead of a loop of elementwise ops) where
    this torch has a fused AdamW for the device (CPU: torch >= 2.4); the same update to ~1e-7. On a
    2-core CPU the optimizer step of MMNet took about a tenth of the CPU time of the unfused one."""
    params = list(params)
    try:
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):  # a device without the fused kernel
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


@dataclass
class EpochStats:
    loss: float
    accuracy: float
    first_bad_step: int | None = None  # 1-based step whose loss was first NaN/inf; None: all finite


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
    # The first step whose loss is not finite, kept on the device too (-1: none), read once at the end.
    first_bad = torch.full((), -1, device=device, dtype=torch.long)
    for step, start in enumerate(range(0, len(order), batch_size), start=1):
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
        bad = (first_bad < 0) & ~torch.isfinite(loss.detach())
        first_bad = torch.where(bad, torch.full_like(first_bad, step), first_bad)
    n = max(len(order), 1)
    # one transfer to the host per epoch
    loss_sum, n_correct, bad_step = torch.stack([total_loss.double(), correct.double(), first_bad.double()]).tolist()
    return EpochStats(loss=loss_sum / n, accuracy=n_correct / n,
                      first_bad_step=int(bad_step) if bad_step >= 0 else None)


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
