"""The training side of frame input: decode and resize a dataset frame, and normalise batches.

Decoding and resizing are ``mmnet.media``'s (shared with preprocessing and inference); the
normalisation uses the ImageNet statistics defined beside the network.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..media import read_rgb, resize_rgb
from ..model.mmnet import IMAGENET_MEAN, IMAGENET_STD  # one definition, beside the network it feeds

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "load_frame", "normalise"]


def load_frame(path: str | Path, size: int = 224) -> np.ndarray:
    """Decode and resize one frame: (size, size, 3) uint8."""
    return resize_rgb(read_rgb(path), size)


def normalise(images: torch.Tensor) -> torch.Tensor:
    """uint8 (..., H, W, 3) or (..., 3, H, W) -> float (..., 3, H, W), ImageNet-normalised."""
    if images.dtype == torch.uint8 and images.shape[-1] == 3:
        images = images.movedim(-1, -3)
    x = images.float() / 255.0
    mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device).view(3, 1, 1)
    return (x - mean) / std
