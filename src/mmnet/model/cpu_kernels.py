"""Two fp32 CPU routes around slow library kernels, each off until a measurement turns it on.

Which kernel PyTorch reaches for an fp32 operation on CPU is fixed, and on some CPUs it is slow:

- **Linear layers through oneDNN.** PyTorch runs an fp32 ``nn.Linear`` through MKL's sgemm, which on
  AMD CPUs takes its AVX2 code path (155-202 GFLOP/s on two AVX-512 Zen 5 cores, where oneDNN's
  convolutions reach 400-460). A linear layer over rows of a contiguous (..., K) tensor *is* a 1x1
  convolution over a channels_last (1, K, rows, 1) view of the same memory, which oneDNN runs:
  :class:`Linear` does that when ``onednn`` is set (forward and both gradients through PyTorch's
  convolution, which takes oneDNN at MMNet's sizes with more than one thread).
- **Weight gradients of convolutions whose input channels are not a multiple of 16.** oneDNN's fp32
  channels_last backward-weights kernel (``jit:avx512_core``) runs the main branch's 180 -> 128
  convolution at about half the rate of 192 -> 128 on AMD Zen 5 (122-149 against 218-262 GFLOP/s).
  :class:`Conv2d` with ``pad_weight_grad`` set computes that gradient on the input padded with zero
  channels to the next multiple of 16 and drops the padded columns: the same sums (zero channels add
  nothing to the others), at the faster rate. Forward and input gradient are oneDNN's as usual.

Both only touch fp32 on CPU outside autocast (bf16 linear layers already run on oneDNN, and bf16's
kernel has no such gap); parameters and state-dict names are nn.Linear's and nn.Conv2d's. Whether a
route is faster depends on the CPU (on an Intel Xeon MKL runs at oneDNN's rate), so the calibration
(:mod:`mmnet.train.calibrate`) times both ways once per machine and :func:`set_cpu_routes` applies
what it measured. Results agree with the plain kernels to fp32 rounding (different summation order).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["Linear", "Conv2d", "set_cpu_routes", "ROUTES"]

ROUTES = ("onednn_linear", "pad_weight_grad")  # the names set_cpu_routes takes and the calibration records
CHANNEL_BLOCK = 16  # oneDNN's AVX-512 fp32 channel block


def _plain_fp32_cpu(x: Tensor) -> bool:
    return x.device.type == "cpu" and x.dtype == torch.float32 and not torch.is_autocast_enabled("cpu")


def linear_as_conv(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """``F.linear(x, weight, bias)`` as a oneDNN 1x1 convolution over a channels_last view of x."""
    k = x.shape[-1]
    rows = x.reshape(1, -1, 1, k).permute(0, 3, 1, 2)  # (1, K, rows, 1) channels_last: x's own memory
    y = F.conv2d(rows, weight.reshape(weight.shape[0], k, 1, 1), bias)  # (1, N, rows, 1) channels_last
    return y.permute(0, 2, 3, 1).reshape(*x.shape[:-1], weight.shape[0])


class Linear(nn.Linear):
    """nn.Linear that runs through oneDNN in fp32 on CPU when ``onednn`` is set (see the module's text)."""

    onednn = False

    def forward(self, x: Tensor) -> Tensor:
        if self.onednn and x.numel() and _plain_fp32_cpu(x):
            return linear_as_conv(x.contiguous(), self.weight, self.bias)
        return F.linear(x, self.weight, self.bias)


class _PaddedWeightGradConv(torch.autograd.Function):
    """A bias-free, ungrouped convolution whose weight gradient is computed on zero-padded channels."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, stride, padding, dilation) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.geometry = (list(stride), list(padding), list(dilation))
        return F.conv2d(x, weight, None, stride, padding, dilation)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, weight = ctx.saved_tensors
        stride, padding, dilation = ctx.geometry
        args = (stride, padding, dilation, False, [0, 0], 1)
        backward = torch.ops.aten.convolution_backward
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = backward(grad, x, weight, None, *args, [True, False, False])[0]
        grad_w = None
        if ctx.needs_input_grad[1]:
            fmt = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
            extra = -x.shape[1] % CHANNEL_BLOCK
            x_pad = F.pad(x, (0, 0, 0, 0, 0, extra)).contiguous(memory_format=fmt)
            w_pad = F.pad(weight, (0, 0, 0, 0, 0, extra)).contiguous(memory_format=fmt)
            grad_w = backward(grad, x_pad, w_pad, None, *args, [False, True, False])[1][:, : x.shape[1]]
        return grad_x, grad_w, None, None, None


class Conv2d(nn.Conv2d):
    """nn.Conv2d whose fp32 CPU weight gradient pads the input channels when ``pad_weight_grad`` is set."""

    pad_weight_grad = False

    def forward(self, x: Tensor) -> Tensor:
        if (self.pad_weight_grad and x.dim() == 4 and self.in_channels % CHANNEL_BLOCK and self.bias is None
                and self.groups == 1
                and self.padding_mode == "zeros" and not isinstance(self.padding, str)
                and torch.is_grad_enabled() and self.weight.requires_grad and _plain_fp32_cpu(x)):
            return _PaddedWeightGradConv.apply(x, self.weight, self.stride, self.padding, self.dilation)
        return super().forward(x)


def set_cpu_routes(model: nn.Module, *, onednn_linear: bool = False, pad_weight_grad: bool = False) -> None:
    """Turn the two routes on or off for every layer of ``model`` that has them."""
    for m in model.modules():
        if isinstance(m, Linear):
            m.onednn = onednn_linear
        elif isinstance(m, Conv2d):
            m.pad_weight_grad = pad_weight_grad
