"""Image files decoded with Pillow to uint8 (``mmnet.media`` imports these, the one place frames are read)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .errors import DataError

__all__ = ["read_image", "read_rgb", "resize_rgb", "RESIZE_METHOD", "pixels_refused", "grey_bits", "wide_grey",
           "CAMERA_BITS"]

# What resize_rgb does, in words another library can reproduce (the ONNX metadata carries it): Pillow's
# bilinear filter widens with the scale when shrinking; OpenCV INTER_LINEAR and torch without antialias do not.
RESIZE_METHOD = "Pillow BILINEAR (antialiased when downscaling)"


def read_image(path: str | Path, bits: int | None = None) -> np.ndarray:
    """Decode an image file to uint8: (H, W) if it is greyscale, else (H, W, 3) RGB.

    ``bits``: the bits a 16-bit greyscale frame's values use (a 10- or 12-bit camera's frames are saved in 16-bit
    files, values up to 1023 or 4095): they are scaled from that range, values above it clip at 255; default 16
    (the whole range). Decide it per clip (``grey_bits``): per frame, a dark frame would be brightened. Other
    frames ignore it.

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
    return _grey_to_uint8(image, mode, path, bits) if wide else image


#: The bit depths ``grey_bits`` rounds a maximum up to: what cameras record (8-bit frames are saved as 8-bit).
CAMERA_BITS = (10, 12, 14, 16)


def wide_grey(path) -> bool:
    """Whether ``path`` is a 16-bit greyscale frame (read from its header only; False if it cannot be opened)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.mode.startswith("I")
    except Exception:  # reported, by name, when the frame is read
        return False


def grey_bits(paths) -> tuple[int, int] | None:
    """(bits, maximum) of the 16-bit greyscale frames among ``paths``: their maximum value rounded up to
    ``CAMERA_BITS``; None when the first is not such a frame (read from its header only: 8-bit clips cost
    nothing). Every frame is decoded once more, for the clip's maximum; frames that cannot be read are left to
    the reading that reports them."""
    from PIL import Image

    top = 0
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as im:
                if not im.mode.startswith("I"):
                    if i == 0:
                        return None
                    continue
                top = max(top, int(np.asarray(im).max(initial=0)))
        except Exception:  # reported, by name, when the frame is read
            continue
    if top == 0:  # black or unreadable: nothing to scale by
        return None
    return next((b for b in CAMERA_BITS if top < 2 ** b), 16), top


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


def _grey_to_uint8(values: np.ndarray, mode: str, path: str | Path, bits: int | None = None) -> np.ndarray:
    """A 16-bit greyscale frame (PNG or TIFF: PIL modes I;16 and I) scaled to 8 bits. PIL's own
    convert("RGB") clips it at 255, which turns a 16-bit frame into a white one without a word."""
    if mode == "F" or values.size and (values.min() < 0 or values.max() > 65535):
        raise DataError(f"Frame '{path}' holds {'floating-point' if mode == 'F' else 'over-16-bit'} grey values "
                        f"(PIL mode {mode}), which mmnet does not read; save it as an 8- or 16-bit image.")
    if bits is None or bits >= 16:
        return ((values.astype(np.uint32) + 128) // 257).astype(np.uint8)
    top = 2 ** bits - 1
    return np.minimum((values.astype(np.uint32) * 255 + top // 2) // top, 255).astype(np.uint8)


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
