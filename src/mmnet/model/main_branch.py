"""MMNet's main branch: motion stem, stem conv and four CA stages (paper Fig. 2, upper path)."""

from __future__ import annotations

from torch import Tensor, nn

from .ca_block import CABlock, ReLU
from .cpu_kernels import Conv2d

__all__ = ["MotionStem", "MainBranch"]


class MotionStem(nn.Module):
    """Conv 3 -> 180 (3x3, stride 2) -> BN -> ReLU on the motion image (the authors' ``conv_act``)."""

    def __init__(self, in_channels: int = 3, out_channels: int = 180) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = ReLU()  # in place in fp32 only (ca_block.ReLU says why)

    def forward(self, motion: Tensor) -> Tensor:
        return self.relu(self.bn(self.conv(motion)))  # (B, 180, H/2, W/2)


STEM_CHANNELS = 128  # the stem conv's output channels (paper, and the authors' checkpoint)


class MainBranch(nn.Module):
    """Stem conv 180 -> 128 and four CA stages; each stage's attention gates the next.

    Args:
        in_channels: channels coming from the motion stem.
        widths: output channels of the four stages.
        strides: strides of the four stages.
        use_attention: False replaces CA blocks with plain residual blocks (paper ablation).
    """

    def __init__(
        self,
        *,
        in_channels: int = 180,
        widths: tuple[int, ...] = (128, 128, 256, 512),
        strides: tuple[int, ...] = (1, 2, 2, 2),
        use_attention: bool = True,
    ) -> None:
        super().__init__()
        # cpu_kernels.Conv2d: 180 input channels, whose fp32 weight gradient may run faster padded to 192
        self.conv1 = Conv2d(in_channels, STEM_CHANNELS, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(STEM_CHANNELS)
        self.relu = ReLU()
        channels = STEM_CHANNELS
        for i, (width, stride) in enumerate(zip(widths, strides), start=1):
            # One block per stage, named layerN.0 as in torchvision (and the authors' checkpoint).
            stage = nn.Sequential(CABlock(channels, width, stride=stride, use_attention=use_attention))
            self.add_module(f"layer{i}", stage)
            channels = width
        self.num_stages = len(widths)
        self.strides = tuple(strides)  # a stage that downsamples gets the previous map pooled to its size
        self.out_channels = channels
        # The previous map is brought to the next stage's resolution by this pooling (no weights).
        self.pool_prior = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self._init_weights()

    def _init_weights(self) -> None:
        # As the authors: Kaiming-normal (fan_out, relu) convs, BN weight 1 / bias 0.
        for m in self.modules():
            # on "meta" (a network built to receive a checkpoint's weights) there is nothing to draw, and a meta
            # normal_ imports torch's compiler (seconds)
            if isinstance(m, nn.Conv2d) and not m.weight.is_meta:
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> tuple[Tensor, list[Tensor | None]]:
        """Return stage-4 features (B, 512, 14, 14) and the attention maps of the four stages."""
        x = self.relu(self.bn1(self.conv1(x)))  # (B, 128, 112, 112)
        maps: list[Tensor | None] = []
        attn = None
        for i in range(1, self.num_stages + 1):
            block: CABlock = getattr(self, f"layer{i}")[0]
            prior = None
            if attn is not None and self.strides[i - 1] != 1:
                prior = self.pool_prior(attn)  # (B, 1, H/2, W/2)
            elif attn is not None:
                prior = attn
            x, attn = block(x, prior)
            maps.append(attn)
        return x, maps
