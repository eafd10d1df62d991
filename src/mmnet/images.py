"""Image files decoded with Pillow to uint8 (``mmnet.media`` imports these, the one place frames are read)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .errors import DataError

__all__ = ["read_image", "read_rgb", "resize_rgb", "RESIZE_METHOD", "pixels_refused"]

# What resize_rgb does, in words another library can reproduce (the ONNX metadata carries it): Pillow's
# bilinear filter widens with the scale when shrinking; OpenCV INTER_LINEAR and torch without antialias do not.
RESIZE_METHOD = "Pillow BILINEAR (antialiased when downscaling)"


def read_image(path: str | Path) -> np.ndarray:
    """Decode an image file to uint8: (H, W) if it is greyscale, else (H, W, 3) RGB.

    Raises:
        DataError: the file is missing, truncated, not an image, or too large for Pillow to decode.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()  # decode now: a truncated file raises here instead of giving a grey tail
            ImageOps.exif_transpose(im, in_place=True)  # a phone's portrait photo is stored sideways with a tag
            wide = im.mode.startswith("I") or im.mode == "F"
            image = np.asarray(im if wide or im.mode == "L" else im.convert("RGB"))
            mode = im.mode
    except FileNotFoundError:
        raise DataError(f"Frame '{path}' does not exist.") from None
    except Image.DecompressionBombError as exc:
        raise DataError(_too_large(path, exc)) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"Frame '{path}' cannot be decoded ({exc}); replace or re-extract it.") from None
    return _grey_to_uint8(image, mode, path) if wide else image


def pixels_refused(exc: Exception) -> str:
    """What Pillow's DecompressionBombError refused, in words: "has 225,000,000 pixels, more than Pillow decodes
    (178,956,970, a guard against decompression bombs)". Pillow refuses over twice its MAX_IMAGE_PIXELS and
    gives the image's size only in its message."""
    from PIL import Image

    found = re.search(r"\((\d+) pixels\)", str(exc))
    size = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
    return f"has {size}, more than Pillow decodes ({2 * Image.MAX_IMAGE_PIXELS:,}, a guard against decompression bombs)"


def _too_large(path: str | Path, exc: Exception) -> str:
    return (f"Frame '{path}' {pixels_refused(exc)}. Crop it to the face or resize it (the model sees a few hundred "
            "pixels a side), then rerun.")


def _grey_to_uint8(values: np.ndarray, mode: str, path: str | Path) -> np.ndarray:
    """A 16-bit greyscale frame (PNG or TIFF: PIL modes I;16 and I) scaled to 8 bits. PIL's own
    convert("RGB") clips it at 255, which turns a 16-bit frame into a white one without a word."""
    if mode == "F" or values.size and (values.min() < 0 or values.max() > 65535):
        raise DataError(f"Frame '{path}' holds {'floating-point' if mode == 'F' else 'over-16-bit'} grey values "
                        f"(PIL mode {mode}), which mmnet does not read; save it as an 8- or 16-bit image.")
    return ((values.astype(np.uint32) + 128) // 257).astype(np.uint8)


def read_rgb(path: str | Path) -> np.ndarray:
    """Decode an image file to (H, W, 3) uint8 RGB (greyscale frames, as SAMM's, are expanded)."""
    image = read_image(path)
    return np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image


def resize_rgb(image: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize to size x size with Pillow (antialiased when shrinking), as the authors' torchvision Resize
    on PIL images; torch's ``interpolate(mode="bilinear", antialias=True)`` is within one grey level of it."""
    from PIL import Image

    if image.shape[:2] == (size, size):
        return image
    return np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR))
