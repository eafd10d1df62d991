"""The learned spotter keeps its networks' outputs over a whole recording (a position and a score a pair) in flat
arrays of machine numbers, not Python lists of objects, and they are the networks' outputs bit for bit."""

from __future__ import annotations

import itertools
import tracemalloc

import numpy as np
import pytest

from mmnet.spotting import learned_outputs
from mmnet.spotting.learned_outputs import NetOutputs

torch = pytest.importorskip("torch")

SIZE = 32


def _outputs(nets, features) -> NetOutputs:
    """``NetOutputs`` whose feature maker hands out ``features`` in turn (no flow to compute)."""
    outputs = NetOutputs(nets, SIZE)
    made = iter(features)
    outputs._features = lambda flow, regions: next(made)
    return outputs


def test_the_outputs_of_a_long_recording_take_16_bytes_a_pair(monkeypatch):
    # Python lists of floats and ints took about 70 bytes a pair: some 7 MB a type on an hour at 30 fps
    monkeypatch.setattr(learned_outputs, "predict", lambda net, scale, x, device: np.linspace(0.1, 0.9, len(x)))
    pairs = 40_000
    feature = np.zeros((3, 2, 2), np.float16)  # what is fed is not looked at here
    outputs = _outputs({"micro": (None, np.ones(3, np.float32))}, itertools.repeat(feature))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for pos in range(1000, 1000 + pairs):  # positions above 256: Python caches no such int
            outputs("micro", pos, (pos - 6, pos), None, None)
        outputs.flush("micro")
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held / pairs < 24, f"{held / pairs:.1f} bytes a pair"
    assert len(outputs.positions["micro"]) == pairs and outputs.positions["micro"][-1] == 999 + pairs


def test_the_kept_outputs_are_the_networks_outputs_bit_for_bit_and_survive_a_snapshot(monkeypatch):
    from mmnet.spotting.learned_net import make_net, predict

    monkeypatch.setattr(learned_outputs, "BATCH", 16)
    torch.manual_seed(0)
    scale = np.ones(3, np.float32)
    net = make_net(SIZE).eval()
    rng = np.random.default_rng(0)
    features = rng.random((70, 3, SIZE, SIZE)).astype(np.float16)
    positions = np.sort(rng.choice(np.arange(6, 200), 70, replace=False))
    outputs = _outputs({"micro": (net, scale)}, features)
    for pos in positions[:40]:
        outputs("micro", int(pos), (int(pos) - 6, int(pos)), None, None)
    # cut with 8 pairs waiting for their batch; the snapshot is held while the run goes on (a view of an array.array
    # would stop it growing)
    saved = outputs.parse(outputs.snapshot(), 200)
    resumed = _outputs({"micro": (net, scale)}, features[40:])
    resumed.start(saved)
    for o in (outputs, resumed):
        for pos in positions[40:]:
            o("micro", int(pos), (int(pos) - 6, int(pos)), None, None)
        o.flush("micro")
    # the networks fed the same batches by hand: 16, 16, 16, 16, then the last 6
    expected = np.full(200, np.nan)
    expected[positions] = np.concatenate([predict(net, scale, features[k:k + 16]) for k in range(0, 70, 16)])
    for o in (outputs, resumed):
        ends = o.ends("micro", 200)
        assert ends.dtype == np.float64 and ends.tobytes() == expected.tobytes()
        arrays = o.snapshot()
        assert arrays["learned_micro_positions"].dtype == np.int64
        np.testing.assert_array_equal(arrays["learned_micro_positions"], positions)
        assert arrays["learned_micro_scores"].tobytes() == expected[positions].tobytes()
    assert list(saved["micro"][0]) == positions[:32].tolist()  # held while the run went on: copies, not views
