"""How bright a clip's frames are: the bit depth of 16-bit frames, and crops too dark to show a face's motion."""

from __future__ import annotations

import numpy as np

__all__ = ["DARK_MEAN", "dark_warning", "depth_warning", "unscaled_depth_warning", "DEPTH_SAMPLE"]

#: A crop whose mean grey level (of 255) is below this is nearly black: underexposed footage, or frames whose
#: values use fewer bits than their files hold, scaled as if they used all.
DARK_MEAN = 15


def depth_warning(depth: tuple[int, int] | None) -> str | None:
    """The note that 16-bit frames were scaled from the fewer bits their values use (``images.grey_bits``)."""
    if depth is None or depth[0] >= 16:
        return None
    bits, top = depth
    return (f"bit_depth: the frames are 16-bit files whose values reach {top} ({bits}-bit data, as a {bits}-bit "
            f"camera records): scaled to 8 bits from 0..{2 ** bits - 1}, the same for every frame of the clip")


#: How many of a folder's frames ``mmnet predict`` decodes once more for the bits its 16-bit values use: it only
#: warns, so a sample (and the last frame) does, where prepare, which scales by them, reads every frame.
DEPTH_SAMPLE = 8


def unscaled_depth_warning(paths) -> str | None:
    """``mmnet predict``'s ``bit_depth`` warning on a folder of 16-bit frames whose values use fewer bits: it reads
    them from the whole 16-bit range, as training does (a model is fed what it learnt from), so they are
    near-black. None for 8-bit frames (their first header says so) or values that use all 16 bits."""
    from ..images import grey_bits

    paths = list(paths)
    depth = grey_bits(paths[::max(1, len(paths) // DEPTH_SAMPLE)] + paths[-1:])
    if depth is None or depth[0] >= 16:
        return None
    bits, top = depth
    return (f"bit_depth: the frames are 16-bit files whose values reach {top} ({bits}-bit data, as a {bits}-bit "
            f"camera records), read from the whole 16-bit range (0..65535) as training reads them, so they are "
            f"near-black (at most {100 * top / 65535:.0f} % grey) and the motion is lost in them. Run `mmnet prepare` "
            "on the footage first: it scales each clip from the bits its values use")


def dark_warning(crop: np.ndarray, where: str) -> str | None:
    """A sentence when ``crop`` (uint8) is nearly black."""
    mean = float(np.mean(crop))
    if mean >= DARK_MEAN:
        return None
    return (f"dark: the crop of the {where} has a mean grey level of {mean:.1f} of 255, nearly black: the motion "
            "between frames is lost in it. Brighten the footage (or, for 16-bit frames, check the bits its values "
            "use) and rerun with --force")
