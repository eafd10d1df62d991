"""Frame decoding and the network's input normalisation, shared by training and inference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import DataError
from ..model.mmnet import IMAGENET_MEAN, IMAGENET_STD  # one definition, beside the network it feeds

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "read_rgb", "resize_rgb", "load_frame", "normalise"]


def read_rgb(path: str | Path) -> np.ndarray:
    """Decode an image file to (H, W, 3) uint8 RGB (greyscale frames, as SAMM's, are expanded)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except FileNotFoundError:
        raise DataError(f"Frame '{path}' does not exist.") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise DataError(f"Frame '{path}' cannot be decoded ({exc}); replace or re-extract it.") from None


def resize_rgb(image: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize to size x size with PIL, as the authors' torchvision Resize on PIL images."""
    from PIL import Image

    if image.shape[:2] == (size, size):
        return image
    return np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR))


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
