"""Apex spotting: find the frame of largest facial motion relative to the onset frame.

The one apex-estimation rule of mmnet: ``mmnet predict`` spots the apex of a clip with it, and the
SMIC loader (which has no annotated apex, ``mmnet.data.apex``) estimates one. Method (simple,
training-free, documented in docs/inference.md):

1. every frame is converted to grey (ITU-R 601 luma) and box-averaged down to ``grid`` x ``grid``
   cells (default 32): averaging removes pixel noise and compression artefacts, while a
   micro-expression (brows, mouth corners: tens of pixels on a 224 face) still changes the cells
   it covers;
2. the motion of frame t is the mean absolute difference of its cells to the onset's cells;
3. the curve is smoothed with a centred moving average over ``smooth`` frames (default 3) so
   that one noisy frame cannot win; the window shrinks at the clip ends;
4. the smoothed curve's maximum after the onset locates the apex region; the apex is the frame of
   largest raw motion within that smoothing window (smoothing alone would shift the peak of an
   asymmetric rise and fall; the first frame wins a tie).

``spot_apex`` reads its frames one at a time (any iterable, e.g. a video stream) and keeps one
number per frame, so a long clip is never held in memory.

Intensity differences are a proxy for motion: they also respond to lighting changes and head
movement, so inputs should be aligned face crops from a clip filmed under steady light, as in
the micro-expression databases. Give ``--apex`` when it is annotated.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import DataError

__all__ = ["frame_cells", "motion_curve", "spot_apex"]

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def frame_cells(frame: np.ndarray, grid: int) -> np.ndarray:
    """(H, W, 3) uint8 RGB or (H, W) grey -> (grid, grid) float32 mean grey level per cell."""
    grey = frame.astype(np.float32) @ _LUMA if frame.ndim == 3 else frame.astype(np.float32)  # (H, W)
    h, w = grey.shape
    # Cell edges by integer division, so sizes that are not multiples of grid still work.
    rows = np.add.reduceat(grey, np.arange(grid) * h // grid, axis=0)  # (grid, W)
    cells = np.add.reduceat(rows, np.arange(grid) * w // grid, axis=1)  # (grid, grid)
    heights = np.diff(np.append(np.arange(grid) * h // grid, h))
    widths = np.diff(np.append(np.arange(grid) * w // grid, w))
    return cells / np.outer(heights, widths)


def motion_curve(frames: Sequence[np.ndarray], onset: int = 0, *, grid: int = 32, smooth: int = 3) -> np.ndarray:
    """Smoothed motion of every frame relative to frame ``onset`` (0 at the onset itself).

    Args:
        frames: (H, W, 3) uint8 RGB frames of one clip, all the same size.
        onset: index of the onset frame in ``frames``.
        grid: cells per side of the grey-level grid.
        smooth: width of the centred moving average (1 = none).

    Returns:
        (len(frames),) float64 mean absolute grey-level difference to the onset.
    """
    if len(frames) < 2:
        raise DataError(f"Apex spotting needs at least 2 frames, got {len(frames)}.")
    if not 0 <= onset < len(frames):
        raise DataError(f"Onset index {onset} is outside the clip's {len(frames)} frames.")
    _check_sizes(frames[0].shape, [f.shape for f in frames])
    grid = _grid(frames[0], grid)
    reference = frame_cells(frames[onset], grid)
    raw = np.array([np.abs(frame_cells(f, grid) - reference).mean() for f in frames], dtype=np.float64)
    return _moving_average(raw, smooth)


def _grid(frame: np.ndarray, grid: int) -> int:
    h, w = frame.shape[:2]
    return max(1, min(grid, h, w))


def _check_sizes(first: tuple[int, ...], shapes: Sequence[tuple[int, ...]]) -> None:
    sizes = set(shapes) | {first}
    if len(sizes) > 1:
        raise DataError(f"Apex spotting needs frames of one size; got sizes {sorted(sizes)}.")


def _moving_average(raw: np.ndarray, smooth: int) -> np.ndarray:
    if smooth <= 1:
        return raw
    half = smooth // 2
    # Centred moving average whose window is cut at the clip ends (no padding bias).
    csum = np.concatenate([[0.0], np.cumsum(raw)])
    idx = np.arange(len(raw))
    lo = np.maximum(idx - half, 0)
    hi = np.minimum(idx + half + 1, len(raw))
    return (csum[hi] - csum[lo]) / (hi - lo)


def spot_apex(frames: Iterable[np.ndarray], onset: int = 0, *, grid: int = 32, smooth: int = 3) -> int:
    """Index of the apex frame: the frame after ``onset`` with the largest smoothed motion.

    Frames are read one at a time and summarised (``frame_cells``) as they come: memory holds one
    motion value per frame from the onset on, plus the cells of the ``smooth // 2`` frames before
    the onset (they enter the first smoothing windows).

    Args:
        frames: (H, W, 3) uint8 RGB frames of one clip, all the same size, in order.
        onset: index of the onset frame; frames before it are not candidates.
        grid: cells per side of the grey-level grid (see ``motion_curve``).
        smooth: width of the centred moving average.

    Raises:
        DataError: fewer than 2 frames, no frame after the onset, or frames of different sizes.
    """
    half = max(smooth, 1) // 2
    before: deque[np.ndarray] = deque(maxlen=half)
    reference = None
    raw: list[float] = []  # motion of frames start, start + 1, ... where start = onset - len(before)
    first_shape, count, cells_per_side = None, 0, grid
    for frame in frames:
        if first_shape is None:
            first_shape, cells_per_side = frame.shape, _grid(frame, grid)
        elif frame.shape != first_shape:
            _check_sizes(first_shape, [frame.shape])
        cells = frame_cells(frame, cells_per_side)
        if count < onset:
            if half:
                before.append(cells)
        elif count == onset:
            reference = cells
            raw = [float(np.abs(c - reference).mean()) for c in before] + [0.0]
        else:
            raw.append(float(np.abs(cells - reference).mean()))
        count += 1
    if onset >= count - 1:
        raise DataError(
            f"No frame after the onset (index {onset}) in a clip of {count} frames: "
            "give an earlier onset, or the apex explicitly."
        )
    start = onset - (len(raw) - (count - onset))  # the pre-onset frames kept in ``raw``
    curve = np.asarray(raw, dtype=np.float64)
    smoothed = _moving_average(curve, smooth)
    first = onset + 1 - start  # position of the first candidate in ``curve``
    centre = first + int(np.argmax(smoothed[first:]))
    lo, hi = max(first, centre - smooth // 2), min(len(curve), centre + smooth // 2 + 1)
    return start + lo + int(np.argmax(curve[lo:hi]))
