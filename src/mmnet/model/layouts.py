"""Find operators that meet both memory layouts (NCHW and channels_last) in one call.

PyTorch's CPU elementwise kernels run several times slower on a channels_last tensor and an NCHW one
together than on two of one layout (an in-place add of two 32x128x112x112 fp32 tensors: 80 against
16 ms on a 2-core Xeon), and autograd creates such pairs silently when one operation's backward writes
the other layout (a reduction over the channels did, in the CA blocks). This mode records them::

    with MixedLayouts() as mixed:
        loss = model(x).sum(); loss.backward()
    print(mixed.summary())
"""

from __future__ import annotations

from collections import Counter

import torch
from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ["MixedLayouts", "layout_of"]


def layout_of(t: torch.Tensor) -> str | None:
    """'channels_last' or 'nchw' for a dense 4-D tensor whose layout is unambiguous, else None.

    One channel or one pixel makes both layouts the same memory, so such tensors have none.
    """
    if t.dim() != 4 or t.shape[1] == 1 or t.shape[2] * t.shape[3] == 1:
        return None
    if t.is_contiguous(memory_format=torch.channels_last):
        return "channels_last"
    if t.is_contiguous():
        return "nchw"
    return None


class MixedLayouts(TorchDispatchMode):
    """Records each operator call whose 4-D tensor arguments and results come in both layouts.

    Views (permute, expand ...) are skipped: they only reinterpret their input's memory.
    ``calls`` maps (operator, shape of its first mixed tensor) to the number of calls.
    """

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[tuple[str, tuple[int, ...]]] = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if any(r.alias_info is not None and not r.alias_info.is_write for r in func._schema.returns):
            return out
        outs = out if isinstance(out, (tuple, list)) else [out]
        tensors = [t for t in [*args, *outs] if isinstance(t, torch.Tensor)]
        layouts = {layout_of(t) for t in tensors} - {None}
        if len(layouts) > 1:
            shape = next(tuple(t.shape) for t in tensors if layout_of(t) is not None)
            self.calls[(str(func), shape)] += 1
        return out

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def summary(self, top: int = 8) -> str:
        if not self.calls:
            return "no operator met both memory layouts"
        rows = [f"{op} {'x'.join(map(str, shape))}: {n}" for (op, shape), n in self.calls.most_common(top)]
        return f"{self.total} operator calls met both memory layouts: " + "; ".join(rows)
