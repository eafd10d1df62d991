"""Continuous-attention (CA) blocks of MMNet's main branch (Li et al., IJCAI 2022, Sec. 3.2).

A CA block is a basic residual block whose output is re-weighted by a single-channel spatial
attention map. The map of block *k* is multiplied by the (max-pooled) map of block *k-1*, so the
attention is "continuous" across stages: a location must stay salient to keep its weight.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["SpatialAttention", "CABlock", "ReLU"]


class ReLU(nn.ReLU):
    """ReLU in place on fp32 tensors (as the authors'), out of place on bf16 and fp16.

    The CPU kernels of torch 2.13 make the choice (32x128x112x112 channels_last, 2 Xeon cores): fp32 in
    place 5.8 ms against 13.2 out of place (it writes the cache-hot input instead of fresh memory), bf16 the
    reverse (8.7 against 7.8; an in-place add 18.3 against 9.5). Only used on a fresh intermediate that no
    backward reads: a BatchNorm output or a residual sum. ``inplace=True`` always runs in place.
    """

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu_(x) if self.inplace or _in_place_is_faster(x) else torch.relu(x)


def _in_place_is_faster(x: Tensor) -> bool:
    return x.dtype == torch.float32  # the measurements: ReLU's docstring


def _residual_add(y: Tensor, identity: Tensor) -> Tensor:
    # In place on fp32 like the authors' (out += identity; y is a BatchNorm output, which its backward does
    # not read): 10.5 against 18.6 ms; bf16's in-place add is the slower one (ReLU's docstring)
    return y.add_(identity) if _in_place_is_faster(y) else y + identity


class SpatialAttention(nn.Module):
    """Channel mean and max -> 1x1 conv (2 -> 1, no bias) -> BN -> sigmoid: a (B, 1, H, W) map."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size=1, bias=False)
        self.bn = nn.BatchNorm2d(1)

    def forward(self, x: Tensor) -> Tensor:
        channels = 1
        if not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
            # Pool a channels_last x over the last dim of its (B, H, W, C) view: the same values, and the
            # backward then writes channels_last gradients like the rest of the block. Pooled over dim 1
            # they came back NCHW, and autograd's sum of the two layouts ran 3-5x slower than of one
            # (224 px training: bf16 +9 %, fp32 +2 %; tests/test_ca_block_layout.py).
            x, channels = x.permute(0, 2, 3, 1), 3
        if torch.is_grad_enabled() and x.requires_grad:
            pooled = _ChannelMeanMax.apply(x, channels)
        else:  # inference: the plain operators (amax: max's values, faster in bf16). ONNX export traces
            # the Function's forward (grad is on there): the same operators
            pooled = torch.cat([_channel_mean(x, channels), x.amax(dim=channels, keepdim=True)], channels)
        if channels == 3:
            pooled = pooled.permute(0, 3, 1, 2)  # back to (B, 2, H, W), channels_last in memory
        return torch.sigmoid(self.bn(self.conv(pooled)))  # (B, 1, H, W)


def _channel_mean(x: Tensor, dim: int) -> Tensor:
    # On CPU sum / C rather than mean: in bf16 torch's mean converts the whole tensor to fp32 first (20
    # against 3 ms on 32x128x112x112). The same values as mean in fp32, and in bf16 when C is a power of two
    # (MMNet's widths 128-512: the division is exact); otherwise within one bf16 rounding. Not on CUDA,
    # where autocast runs sum (not mean) in fp32, which would add that conversion instead.
    if x.device.type != "cpu":
        return x.mean(dim=dim, keepdim=True)
    return x.sum(dim=dim, keepdim=True) / x.shape[dim]


class _ChannelMeanMax(torch.autograd.Function):
    """cat([mean over dim, x.max(dim).values], dim) with a one-pass backward.

    Autograd's backward of the two pools and the cat writes the full-size gradient four times (max's
    zeros, its out-of-place scatter, mean's division, their sum), and in bf16 its scatters convert the
    whole tensor to fp32 and back; this one writes it once (the mean's share, broadcast) and puts the
    max's share at the arg-max with an indexed write (in bf16 4 against 28 ms for a scatter on
    32x128x112x112): the same values as autograd's, bit for bit (tests/test_ca_block_layout.py).
    max(...).values as the authors' torch.max(x, 1)[0]: a tie's gradient goes to one channel (amax
    would split it).
    """

    @staticmethod
    def forward(ctx, x: Tensor, dim: int) -> Tensor:
        values, indices = x.max(dim=dim, keepdim=True)
        ctx.save_for_backward(indices)
        ctx.dim, ctx.shape = dim, x.shape
        return torch.cat([_channel_mean(x, dim), values], dim=dim)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:
        (indices,) = ctx.saved_tensors
        dim, shape = ctx.dim, ctx.shape
        grad_mean, grad_max = grad.split(1, dim=dim)
        share = grad_mean / shape[dim]  # as autograd's mean backward: grad / count, broadcast
        grad_x = share.expand(shape).contiguous()  # contiguous: the layout of x
        # At each arg-max the mean's share plus the max's (the sum autograd forms, in the same order of
        # rounding): positions along the other dims are aranges that broadcast against the indices.
        where = []
        for k, n in enumerate(shape):
            broadcast = [1] * len(shape)
            broadcast[k] = n
            where.append(indices if k == dim else torch.arange(n, device=grad.device).view(broadcast))
        return grad_x.index_put_(tuple(where), share + grad_max), None


class CABlock(nn.Module):
    """Residual block (3x3 conv -> BN -> ReLU -> 1x1 conv -> BN, plus shortcut) with attention.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        stride: stride of the 3x3 conv and of the shortcut projection.
        use_attention: False gives the paper's ablation without CA (a plain residual block).
    """

    def __init__(
        self, in_channels: int, out_channels: int, *, stride: int = 1, use_attention: bool = True
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = ReLU()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        # The shortcut projection exists only where the shape changes (torchvision's _make_layer).
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        self.attn = SpatialAttention() if use_attention else None

    def forward(self, x: Tensor, prior: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """Return the block output and its attention map (None without attention).

        Args:
            x: (B, C_in, H, W) features.
            prior: (B, 1, H', W') attention map of the previous stage, already pooled to the
                output resolution, or None for the first stage.
        """
        identity = x if self.downsample is None else self.downsample(x)
        y = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        y = self.relu(_residual_add(y, identity))  # (B, C_out, H', W')
        if self.attn is None:
            return y, None
        attn = self.attn(y)  # (B, 1, H', W')
        if prior is not None:
            attn = attn * prior
        return y * attn, attn
