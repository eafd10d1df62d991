"""A CA block trained in channels_last keeps one memory layout through its backward.

Reducing over channels (the spatial attention's mean and max) wrote NCHW gradients into a
channels_last block, and every op that then met both layouts (autograd summing a tensor's
gradients, ReLU's backward) ran several times slower. The layout is part of the training speed,
so it is checked here; the values must not depend on it.
"""

from __future__ import annotations

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from mmnet.model.ca_block import CABlock, SpatialAttention


def _layout(t: torch.Tensor) -> str | None:
    """'cl' or 'nchw' for a 4-D tensor whose layout is unambiguous (more than one channel and pixel)."""
    if t.dim() != 4 or t.shape[1] == 1 or t.shape[2] * t.shape[3] == 1:
        return None
    if t.is_contiguous(memory_format=torch.channels_last):
        return "cl"
    if t.is_contiguous():
        return "nchw"
    return None


class _MixedLayouts(TorchDispatchMode):
    """Records ops whose 4-D tensor arguments and results come in both layouts."""

    def __init__(self) -> None:
        super().__init__()
        self.mixed: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if any(r.alias_info is not None and not r.alias_info.is_write for r in func._schema.returns):
            return out  # a view (permute, expand ...) only reinterprets its input's memory
        outs = out if isinstance(out, (tuple, list)) else [out]
        layouts = {_layout(t) for t in [*args, *outs] if isinstance(t, torch.Tensor)} - {None}
        if len(layouts) > 1:
            self.mixed.append(str(func))
        return out


def test_channels_last_block_backward_stays_channels_last() -> None:
    torch.manual_seed(0)
    block = CABlock(8, 8).to(memory_format=torch.channels_last)
    x = torch.randn(2, 8, 12, 12).to(memory_format=torch.channels_last).requires_grad_()
    prior = torch.rand(2, 1, 12, 12)
    with _MixedLayouts() as mode:
        y, attn = block(x, prior)
        (y.square().sum() + attn.sum()).backward()
    assert mode.mixed == [], f"ops that met both memory layouts: {mode.mixed}"
    assert x.grad is not None and x.grad.is_contiguous(memory_format=torch.channels_last)


def test_spatial_attention_same_values_and_gradients_in_both_layouts() -> None:
    torch.manual_seed(0)
    sa = SpatialAttention()
    sa.bn.weight.data.fill_(1.7)  # BN in training mode: a non-trivial map
    base = torch.randn(3, 16, 9, 9)
    results = []
    for fmt in (torch.contiguous_format, torch.channels_last):
        x = base.clone().to(memory_format=fmt).requires_grad_()
        out = sa(x)
        (out * torch.arange(out.numel()).reshape(out.shape)).sum().backward()
        results.append((out.detach(), x.grad.contiguous()))
    (out_nchw, grad_nchw), (out_cl, grad_cl) = results
    torch.testing.assert_close(out_cl, out_nchw, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(grad_cl, grad_nchw, atol=1e-5, rtol=1e-5)
    assert grad_nchw.abs().sum() > 0
