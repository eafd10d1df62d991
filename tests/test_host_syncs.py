"""The training and evaluation loops never make the host wait for the device once per step.

On CUDA an operator whose result the host must read (``.item()``, ``bool(t)``, ``nonzero``, a boolean-mask
index...) stalls the GPU's queue until it drains; one per step costs a GPU much of its throughput.
``scripts/gpu-check.sh`` counts them on a GPU with ``torch.cuda.set_sync_debug_mode``; this counts, on the
CPU, the operators that synchronise on CUDA, so that such a call added to the loops fails in CI too.
Host copies (``.cpu()``, ``.tolist()``) do not pass through torch's dispatcher on a CPU tensor: only the GPU
check sees those.
"""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from mmnet import MMNet
from mmnet.config import AugmentConfig
from mmnet.data.batches import DeviceFrames
from mmnet.data.cache import CachedFrames
from mmnet.train.loop import adamw, evaluate, train_one_epoch

# Operators that wait for the device on CUDA: a scalar read, and those whose output size depends on values.
_SYNCING = {"_local_scalar_dense", "nonzero", "masked_select", "_unique2", "unique_dim", "unique_consecutive",
            "bincount"}


class SyncCounter(TorchDispatchMode):
    """Counts the dispatched operators that would synchronise the host with a CUDA device."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = func.overloadpacket.__name__
        boolean_index = name in ("index", "index_put", "index_put_") and any(
            isinstance(t, torch.Tensor) and t.dtype == torch.bool for t in _flat(args[1]))
        repeat_unsized = name == "repeat_interleave" and kwargs.get("output_size") is None
        if name in _SYNCING or boolean_index or repeat_unsized:
            self.calls[name] += 1
        return func(*args, **kwargs)


def _flat(indices):
    return [t for t in (indices if isinstance(indices, (list, tuple)) else [indices]) if t is not None]


def _data(n: int, size: int = 32) -> DeviceFrames:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (2 * n, size, size, 3), dtype=np.uint8)
    base = np.arange(n) * 2
    cache = CachedFrames(frames, np.stack([base, base + 1], 1), np.stack([base + 1, base + 2], 1), base, base + 1,
                         Path("memory"))
    return DeviceFrames(cache, [i % 5 for i in range(n)])


def test_the_counter_sees_what_synchronises():
    # a positive control: if torch stopped routing these through the mode, the tests below would pass vacuously
    x = torch.arange(6.0)
    with SyncCounter() as seen:
        x.sum().item()
        x[x > 2].sum()
        bool(x.any())
        torch.nonzero(x)
        x + 1  # not a synchronisation
    assert seen.calls == Counter(_local_scalar_dense=2, index=1, nonzero=1)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_training_and_evaluation_loops_read_the_device_once_per_epoch_not_per_step(precision):
    torch.manual_seed(0)
    model = MMNet(image_size=32)
    opt = adamw(model.parameters(), lr=8e-4, weight_decay=0.6)
    data = _data(12)
    idx = torch.arange(12)
    gen = torch.Generator().manual_seed(0)
    train_one_epoch(model, data, idx, opt, batch_size=4, augment=AugmentConfig(), generator=gen, precision=precision)
    counts = {}
    for batch in (6, 2):  # 2 and 6 steps: a per-step synchronisation would count 3x more in the second
        with SyncCounter() as train:
            train_one_epoch(model, data, idx, opt, batch_size=batch, augment=AugmentConfig(), generator=gen,
                            precision=precision)
        with SyncCounter() as test:
            evaluate(model, data, idx, precision=precision, batch_size=batch)
        counts[batch] = (train.calls, test.calls)
    assert counts[2] == counts[6], counts
    train_calls, test_calls = counts[2]
    assert sum(train_calls.values()) == 0, train_calls  # its one read, a .tolist() at the end, is not dispatched
    assert test_calls == Counter(_local_scalar_dense=1), test_calls  # the mean loss, once per evaluation
