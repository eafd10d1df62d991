"""Position-calibration (PC) module: a small pre-norm vision transformer over the onset face.

The onset frame is resized to the stage-4 grid (14x14 for 224 input), each pixel becomes a token
(1x1 patch embedding), and two transformer blocks produce a (B, 512, 14, 14) map that is added
to the main branch's features: it tells the classifier *where* on the face the motion is.
Attribute names follow timm (``patch_embed.proj``, ``blocks.N.attn.qkv`` ...).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .cpu_kernels import Linear

__all__ = ["Attention", "Mlp", "DropPath", "Block", "PositionCalibration"]


class Attention(nn.Module):
    """Multi-head self-attention with one fused qkv projection.

    On CUDA through torch's fused kernel (``scaled_dot_product_attention``); on CPU written out as the
    authors do (q @ k^T, softmax, @ v): for MMNet's 196 tokens of 128 dimensions per head, torch 2.13's
    CPU flash kernel cuts the products into some 3,100 small oneDNN calls per training step, and bf16
    training is 3-6 % faster without it on AMX, fp32 unchanged (docs/performance.md, "Where the
    training step's time goes").
    """

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = Linear(dim, dim * 3)
        self.proj = Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        B, N, D = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim)  # (B, N, 3, h, hd)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B, h, N, hd)
        if x.is_cuda:
            x = F.scaled_dot_product_attention(q, k, v)  # scale = hd ** -0.5 (the default)
        else:
            x = ((q @ k.transpose(-2, -1)) * self.head_dim**-0.5).softmax(-1) @ v  # (B, h, N, hd)
        x = x.transpose(1, 2).reshape(B, N, D)  # (B, N, D)
        return self.proj(x)


class Mlp(nn.Module):
    """Linear -> GELU (exact erf form) -> Linear."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


class DropPath(nn.Module):
    """Stochastic depth per sample (used by the authors' 3-class variant only)."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Block(nn.Module):
    """Pre-norm transformer block: x + MHSA(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, drop_path: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class PatchEmbed(nn.Module):
    """1x1 conv from RGB to the embedding; each grid cell is one token."""

    def __init__(self, in_channels: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels, dim, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)  # (B, H*W, D), row-major tokens


class PositionCalibration(nn.Module):
    """The PC module: onset face -> (B, dim, grid, grid) positional features.

    Args:
        grid: side of the token grid (the main branch's stage-4 resolution).
        dim: embedding width (the main branch's stage-4 channels).
        depth: number of transformer blocks.
        num_heads: attention heads.
        mlp_ratio: MLP hidden width / dim.
        drop_path: stochastic-depth rate of the last block (linearly increasing from 0).
        antialias: antialias of the bilinear resize to the grid. False reproduces the paper
            (torchvision < 0.17 behaviour); True is torchvision's current default.
    """

    #: The onset's resize to the token grid (bilinear, align_corners=False as the authors' torchvision resize):
    #: token j samples input pixel (j + 0.5) * S / grid - 0.5, i.e. 16 j + 7.5 at S / grid = 16.
    align_corners = False

    def __init__(
        self,
        *,
        grid: int = 14,
        in_channels: int = 3,
        dim: int = 512,
        depth: int = 2,
        num_heads: int = 4,
        mlp_ratio: float = 4.0,
        drop_path: float = 0.0,
        antialias: bool = False,
    ) -> None:
        super().__init__()
        self.grid = grid
        self.antialias = antialias
        self.patch_embed = PatchEmbed(in_channels, dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid, dim))
        # timm's stochastic-depth rule; on the CPU whatever the default device (a network built on "meta" reads them)
        rates = torch.linspace(0, drop_path, depth, device="cpu").tolist()
        self.blocks = nn.ModuleList(Block(dim, num_heads, mlp_ratio, r) for r in rates)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self._init_weights()

    def _init_weights(self) -> None:
        # As the authors (timm ViT): truncated normal 0.02 for Linear weights and pos_embed;
        # the patch conv keeps PyTorch's default initialisation.
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, onset: Tensor) -> Tensor:
        B = onset.shape[0]
        x = F.interpolate(
            onset, size=(self.grid, self.grid), mode="bilinear", align_corners=self.align_corners,
            antialias=self.antialias,
        )  # (B, 3, grid, grid)
        x = self.patch_embed(x) + self.pos_embed  # (B, N, D)
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        return x.transpose(1, 2).reshape(B, -1, self.grid, self.grid)  # (B, D, grid, grid)
