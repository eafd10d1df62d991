"""What ``flow_spotter.extract_motion`` holds between two frames, and the same as arrays and JSON numbers.

Between two frames the spotter holds: the frame numbers read so far and which of them were missing, per scale the
region scores of the pair that ends at each frame, the face crop's mean brightness at each frame, the first frame's
size, the last k + 1 face crops (the window the next pairs start in) and the face it follows
(``face_track.FaceTrack``). ``MotionState.snapshot`` gives all of it; ``parse`` checks such a snapshot read back and
``MotionState.start`` continues from it, so that a resumed spotter measures the frames after it exactly as an
uninterrupted one would (``partial_state`` keeps the file).
"""

from __future__ import annotations

from array import array
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .face_track import FaceTrack
from .regions import MEASURED

__all__ = ["MotionState", "StaleProgress", "parse", "SCALES"]

SCALES = ("micro", "macro")


class StaleProgress(Exception):
    """The recording streams other frames than the saved progress says it measured: it is spotted from its start."""


@dataclass
class MotionState:
    face: FaceTrack
    window: deque  # the last k + 1 crops (None for a frame without a face or missing)
    # per frame, in flat arrays of machine numbers, not Python lists of objects: about 60 bytes a frame instead of
    # about 400, on recordings of 100,000s of frames (an hour at 30 fps; SAMM-LV's 200 fps)
    numbers: array = field(default_factory=lambda: array("q"))
    # the scores of the pair ending at each frame, len(MEASURED) a frame, one after the other
    ends: dict[str, array] = field(default_factory=lambda: {s: array("d") for s in SCALES})
    absent: array = field(default_factory=lambda: array("b"))  # 1: the frame is missing from the recording
    shape: tuple[int, ...] | None = None  # the first frame's
    light: array = field(default_factory=lambda: array("d"))  # the face crop's mean grey level (NaN: no crop)

    @property
    def done(self) -> int:
        """The frames measured: the next frame's position (from 0) in the recording."""
        return len(self.numbers)

    @classmethod
    def start(cls, face: FaceTrack, maxlen: int, saved: dict | None = None) -> MotionState:
        """A new state, or the one ``saved`` (``parse``'s) continued: ``face`` takes its track back."""
        if saved is None:
            return cls(face, deque(maxlen=maxlen))
        face.restore(saved["face"])
        return cls(face, deque(saved["window"], maxlen=maxlen), array("q", saved["numbers"]),
                   {s: array("d", saved["ends"][s]) for s in SCALES}, array("b", saved["absent"]), saved["shape"],
                   light=array("d", saved["light"]))

    def snapshot(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(JSON-able numbers, arrays): everything ``parse`` and ``start`` need to continue after this frame."""
        meta, arrays = self.face.state()
        crops = [c for c in self.window if c is not None]
        size = self.face.shape
        arrays.update(
            # copies (np.array), not views: an array.array that lends its buffer cannot grow
            numbers=np.array(self.numbers, np.int64), absent=np.array(self.absent, bool),
            light=np.array(self.light, np.float64),
            window=np.stack(crops) if crops else np.zeros((0, *size), np.uint8),
            window_present=np.asarray([c is not None for c in self.window], bool),
            **{f"ends_{s}": np.array(self.ends[s], np.float64).reshape(self.done, len(MEASURED)) for s in SCALES})
        return {"frames": self.done, "shape": None if self.shape is None else [int(v) for v in self.shape],
                "face": meta}, arrays


def parse(meta: dict, arrays: dict[str, np.ndarray], crop: tuple[int, int], landmarks: int = 68) -> dict:
    """A snapshot read back, checked and in the types the spotter keeps (``MotionState.start``'s ``saved``).

    Raises:
        ValueError, KeyError, TypeError: it is not what ``snapshot`` writes for a crop of ``crop`` (height, width)
            and the ``landmarks``-point model (``face.landmarks``).
    """
    numbers = arrays["numbers"]
    n = int(meta["frames"])
    if numbers.shape != (n,) or arrays["absent"].shape != (n,) or numbers.dtype.kind != "i":
        raise ValueError(f"{n} frames, but numbers {numbers.shape} and absent {arrays['absent'].shape}")
    ends = {}
    for s in SCALES:
        end = arrays[f"ends_{s}"]
        if end.shape != (n, len(MEASURED)) or end.dtype != np.float64:
            raise ValueError(f"ends_{s} is {end.shape} {end.dtype}, not ({n}, {len(MEASURED)}) float64")
        ends[s] = end.ravel().tolist()  # flat, as MotionState.ends holds them
    present, crops = arrays["window_present"], arrays["window"]
    if present.dtype != bool or crops.shape != (int(present.sum()), *crop) or crops.dtype != np.uint8:
        raise ValueError(f"window crops {crops.shape} {crops.dtype} for {int(present.sum())} of {crop}")
    kept = iter(crops)
    window = [np.array(next(kept)) if here else None for here in present.tolist()]
    light = arrays.get("light")  # absent from an earlier version's file: those frames' brightness is unknown
    if light is None:
        light = np.full(n, np.nan)
    elif light.shape != (n,) or light.dtype != np.float64:
        raise ValueError(f"light is {light.shape} {light.dtype}, not ({n},) float64")
    shape = meta["shape"]
    return {"numbers": numbers.tolist(), "absent": arrays["absent"].astype(bool).tolist(), "ends": ends,
            "light": light.tolist(), "window": window, "shape": None if shape is None else tuple(int(v) for v in shape),
            "face": FaceTrack.parse_state(meta["face"], arrays, landmarks)}
