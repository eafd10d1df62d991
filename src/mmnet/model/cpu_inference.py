"""A faster, numerically near-identical copy of a trained MMNet for CPU inference.

Two rewrites, neither of which changes what the network computes beyond float rounding:

- every BatchNorm that follows a convolution is folded into that convolution's weights and bias
  (eval mode: BN is a per-channel affine map), which removes 17 full passes over the activations;
- the two 3x3 stride-1 convolutions at 112x112 (the main-branch stem and stage 1's first
  convolution, 62 % of the network's FLOPs) run through NNPACK's Winograd kernels, which ship in
  PyTorch's CPU builds: F(6x6, 3x3) Winograd needs about a quarter of the multiplications.
  oneDNN, PyTorch's default, has Winograd only for AVX-512 CPUs.

On AVX2-only CPUs the two layers run markedly faster this way and the whole pass a little
faster. On AVX-512 CPUs oneDNN's own kernels are faster than NNPACK's and this copy is slower,
so it is an option, not a default (per-machine figures: ``docs/performance.md``).
Outputs differ from the exact path by ~1e-5 relative (``benchmarks/bench_latency.py`` prints the
logit difference). Training never uses this (NNPACK has no weight gradient here).
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import Tensor, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

__all__ = ["fast_cpu_copy", "WinogradConv2d"]


class WinogradConv2d(nn.Module):
    """A 3x3, stride-1, ungrouped float32 convolution computed with NNPACK (CPU, no autograd).

    Falls back to the ordinary convolution wherever NNPACK cannot run it (gradients, other
    devices or dtypes). Use it only where ``mmnet.runtime.nnpack_available()``.
    """

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        if conv.kernel_size != (3, 3) or conv.stride != (1, 1) or conv.groups != 1 or conv.dilation != (1, 1):
            raise ValueError(f"WinogradConv2d takes 3x3 stride-1 ungrouped convolutions, got {conv}")
        self.conv = conv
        self.nnpack_failed = False

    def forward(self, x: Tensor) -> Tensor:
        w = self.conv.weight
        if (x.requires_grad or w.requires_grad and torch.is_grad_enabled() or x.device.type != "cpu"
                or x.dtype != torch.float32):
            return self.conv(x)
        if self.nnpack_failed:
            return self.conv(x)
        try:
            return torch._nnpack_spatial_convolution(x.contiguous(), w.contiguous(), self.conv.bias,
                                                     list(self.conv.padding), [1, 1])
        except RuntimeError as error:
            # NNPACK can refuse a shape or a CPU at run time although torch reports it available
            # (seen on an AVX-512 Xeon): the ordinary convolution gives the same result, slower.
            self.nnpack_failed = True
            warnings.warn(f"NNPACK convolution failed ({error}); using the standard convolution", stacklevel=2)
            return self.conv(x)


def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[nn.Conv2d, nn.Module]:
    return fuse_conv_bn_eval(conv, bn), nn.Identity()


def fast_cpu_copy(model: nn.Module, *, winograd: bool) -> nn.Module:
    """An eval-mode copy of an MMNet with BN folded into convolutions and, when ``winograd``
    (the caller checks ``mmnet.runtime.nnpack_available()``), the 3x3 stride-1 convolutions on
    NNPACK. The original model is left unchanged."""
    from .ca_block import CABlock, SpatialAttention
    from .main_branch import MainBranch, MotionStem

    fast = copy.deepcopy(model).eval()
    for m in fast.modules():
        if isinstance(m, MotionStem):
            m.conv, m.bn = _fold(m.conv, m.bn)
        elif isinstance(m, MainBranch):
            m.conv1, m.bn1 = _fold(m.conv1, m.bn1)
        elif isinstance(m, CABlock):
            m.conv1, m.bn1 = _fold(m.conv1, m.bn1)
            m.conv2, m.bn2 = _fold(m.conv2, m.bn2)
            if m.downsample is not None:
                m.downsample = nn.Sequential(fuse_conv_bn_eval(m.downsample[0], m.downsample[1]))
        elif isinstance(m, SpatialAttention):
            m.conv, m.bn = _fold(m.conv, m.bn)
    if winograd:
        for m in list(fast.modules()):
            for name, child in list(m.named_children()):
                if (isinstance(child, nn.Conv2d) and child.kernel_size == (3, 3) and child.stride == (1, 1)
                        and child.groups == 1 and child.dilation == (1, 1)):
                    setattr(m, name, WinogradConv2d(child))
    for p in fast.parameters():
        p.requires_grad_(False)
    return fast
