"""The learned spotter's network outputs on one recording, and the same as arrays for ``mmnet spot --out``'s file.

While the flow pairs stream by (``flow_spotter.extract_motion``'s ``on_flow``), ``NetOutputs`` turns each pair of
a type the spotter has a network for into a feature map (``learned_net.FeatureMaker``), feeds that type's network
``BATCH`` of them at once and keeps its outputs: the score of the pair ending at each position. Between two frames
it holds, per type, the outputs so far and the features of the pairs still waiting for their batch.

``snapshot`` gives both as arrays (``partial_state`` writes them beside the motion state, in the same file, so the
two always stop at the same frame) and ``parse`` checks them read back; ``start`` continues from them, and the
networks are then fed the batches an uninterrupted run feeds them (the features in the memory layout they were
made in, ``learned_net.as_made``), so the outputs are the same to the last digit.
``key`` names what the outputs depend on beyond the recording and the parameters (the networks' weights, the
device, PyTorch's version, the batch): outputs made otherwise are not continued.

The outputs kept over the whole recording (a position and a score per pair, about one pair a frame per type) are
flat arrays of machine numbers, as ``motion_state`` keeps its frames, not Python lists of objects: 16 bytes a pair
instead of about 70, on recordings of 100,000s of frames. The values are the same: a score is the float64 the
network gave, an int64 position the pair's.
"""

from __future__ import annotations

import hashlib
from array import array

import numpy as np

from .learned_net import FeatureMaker, as_made, predict
from .motion_state import SCALES
from .regions import Regions

__all__ = ["NetOutputs", "BATCH"]

BATCH = 256  # pairs fed to a network at once while spotting
PREFIX = "learned_"  # the arrays' names in the progress file, apart from the motion state's


class NetOutputs:
    """The outputs of the networks ``nets`` (type -> (network, feature scale)) on one recording's pairs; the object
    is ``extract_motion``'s ``on_flow`` hook."""

    def __init__(self, nets: dict[str, tuple[object, np.ndarray]], size: int, device: str = "cpu"):
        self.nets, self.size, self.device = nets, size, device
        self.types = tuple(s for s in SCALES if s in nets)
        self._features = FeatureMaker(size)
        self.start()

    def start(self, saved: dict | None = None) -> None:
        """Hold nothing (a run from the first frame), or what ``saved`` (``parse``'s) holds."""
        saved = saved or {s: ([], [], [], []) for s in self.types}
        # of the pairs whose output is known, one entry each over the whole recording: flat arrays (module note)
        self.positions = {s: _flat("q", np.int64, saved[s][0]) for s in self.types}
        self.scores = {s: _flat("d", np.float64, saved[s][1]) for s in self.types}
        # positions of the pairs waiting for a batch and their features: fewer than BATCH, lists
        self.waiting = {s: list(saved[s][2]) for s in self.types}
        self.features = {s: list(saved[s][3]) for s in self.types}

    def __call__(self, scale: str, pos: int, pair: tuple[int, int], flow: np.ndarray, regions: Regions) -> None:
        if scale not in self.nets:
            return
        self.waiting[scale].append(pos)
        self.features[scale].append(self._features(flow, regions))
        if len(self.waiting[scale]) >= BATCH:
            self.flush(scale)

    def flush(self, scale: str) -> None:
        """Feed the pairs waiting to ``scale``'s network (the last batch, of fewer than ``BATCH``, at the end)."""
        if not self.waiting[scale]:
            return
        net, feature_scale = self.nets[scale]
        outputs = predict(net, feature_scale, np.stack(self.features[scale]), self.device)
        self.positions[scale].extend(self.waiting[scale])
        self.scores[scale].extend(np.asarray(outputs, np.float64).tolist())
        self.waiting[scale].clear()
        self.features[scale].clear()

    def ends(self, scale: str, frames: int) -> np.ndarray:
        """(frames,) the output of the pair ending at each position, NaN where none was computed (call ``flush``
        first)."""
        end = np.full(frames, np.nan)
        # copies, not views: an array.array that lends its buffer cannot grow
        end[np.array(self.positions[scale], np.int64)] = np.array(self.scores[scale], np.float64)
        return end

    @property
    def key(self) -> dict:
        """What the outputs depend on beyond the recording and the spotter's parameters, as JSON values."""
        import torch

        digest = hashlib.sha256()
        for s in self.types:
            net, feature_scale = self.nets[s]
            parts = [(name, tensor.detach().cpu().numpy()) for name, tensor in net.state_dict().items()]
            for name, values in [*parts, ("scale", np.asarray(feature_scale))]:
                digest.update(f"{s}\0{name}\0{values.dtype.str}\0{values.shape}\n".encode())
                digest.update(np.ascontiguousarray(values).tobytes())
        return {"types": list(self.types), "weights_sha256": digest.hexdigest(), "batch": BATCH,
                "device": str(self.device), "torch": torch.__version__}

    def snapshot(self) -> dict[str, np.ndarray]:
        """The arrays ``parse`` reads back."""
        arrays = {}
        for s in self.types:  # copies (np.array), not views: the array.array ones go on growing after it
            arrays[f"{PREFIX}{s}_positions"] = np.array(self.positions[s], np.int64)
            arrays[f"{PREFIX}{s}_scores"] = np.array(self.scores[s], np.float64)
            arrays[f"{PREFIX}{s}_waiting"] = np.asarray(self.waiting[s], np.int64)
            arrays[f"{PREFIX}{s}_features"] = (np.stack(self.features[s]) if self.features[s] else
                                               np.zeros((0, 3, self.size, self.size), np.float16))
        return arrays

    def bound(self, frames: int) -> int:
        """The most bytes ``snapshot``'s arrays take at ``frames`` frames measured."""
        return len(self.types) * (frames * 16 + BATCH * (8 + 3 * self.size * self.size * 2))

    def parse(self, arrays: dict[str, np.ndarray], frames: int) -> dict:
        """``snapshot``'s arrays read back after ``frames`` frames measured, checked (``start``'s ``saved``).

        Raises:
            ValueError, KeyError: they are not what ``snapshot`` writes for these types, size and frames.
        """
        saved = {}
        for s in self.types:
            positions, scores = arrays[f"{PREFIX}{s}_positions"], arrays[f"{PREFIX}{s}_scores"]
            waiting, features = arrays[f"{PREFIX}{s}_waiting"], arrays[f"{PREFIX}{s}_features"]
            if positions.dtype != np.int64 or waiting.dtype != np.int64 or positions.ndim != 1 or waiting.ndim != 1:
                raise ValueError(f"the {s} positions are {positions.dtype} and {waiting.dtype}, not int64 lists")
            if scores.shape != positions.shape or scores.dtype != np.float64:
                raise ValueError(f"{len(positions)} {s} positions, but scores {scores.shape} {scores.dtype}")
            if features.shape != (len(waiting), 3, self.size, self.size) or features.dtype != np.float16:
                raise ValueError(f"{len(waiting)} {s} pairs waiting, but features {features.shape} {features.dtype}")
            if len(waiting) >= BATCH:
                raise ValueError(f"{len(waiting)} {s} pairs waiting, a batch is {BATCH}")
            every = np.concatenate([positions, waiting])
            if len(every) and (every.min() < 0 or every.max() >= frames or (np.diff(every) <= 0).any()):
                raise ValueError(f"the {s} positions are not increasing within the {frames} frames measured")
            saved[s] = (positions, scores, waiting.tolist(), list(as_made(features)))
        return saved


def _flat(code: str, dtype, values) -> array:
    """``values`` (a list or an array) as a new ``array.array`` of type ``code`` (``dtype``'s), copied bit for bit."""
    flat = array(code)
    flat.frombytes(np.ascontiguousarray(values, dtype).tobytes())
    return flat
