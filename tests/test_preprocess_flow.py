"""Onset -> apex optical flow: known displacement recovered, documented scaling, cache, network input."""

from __future__ import annotations

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from mmnet.errors import ConfigError  # noqa: E402
from mmnet.preprocess import flow as flow_mod  # noqa: E402
from mmnet.preprocess.flow import FLOW_METHODS, FLOW_SCALE, cached_flow, compute_flow, flow_cache_path  # noqa: E402

SIZE = 96
TRUE_SHIFT = (1.5, -1.0)  # px: right and up


def _pair() -> tuple[np.ndarray, np.ndarray]:
    """A smooth random texture and the same texture moved by TRUE_SHIFT (sub-pixel)."""
    rng = np.random.default_rng(0)
    big = cv2.GaussianBlur(rng.integers(0, 256, (SIZE + 40, SIZE + 40, 3)).astype(np.uint8), (0, 0), 2.0)
    big = cv2.normalize(big, None, 0, 255, cv2.NORM_MINMAX)
    m = np.float64([[1, 0, TRUE_SHIFT[0]], [0, 1, TRUE_SHIFT[1]]])
    moved = cv2.warpAffine(big, m, big.shape[1::-1], flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    crop = (slice(20, 20 + SIZE), slice(20, 20 + SIZE))
    return big[crop], moved[crop]


def _methods():
    methods = list(FLOW_METHODS)
    if not hasattr(cv2, "optflow"):
        methods.remove("tvl1")  # plain OpenCV build: TV-L1 is contrib-only
    return methods


@pytest.mark.parametrize("method", _methods())
def test_known_shift_is_recovered_in_documented_units(method):
    onset, apex = _pair()
    flow = compute_flow(onset, apex, method)
    assert flow.shape == (3, SIZE, SIZE) and flow.dtype == np.float32
    inner = flow[:, 16:-16, 16:-16]  # away from the borders
    u, v = np.median(inner[0]), np.median(inner[1])
    assert u * FLOW_SCALE == pytest.approx(TRUE_SHIFT[0], abs=0.15)
    assert v * FLOW_SCALE == pytest.approx(TRUE_SHIFT[1], abs=0.15)
    np.testing.assert_allclose(flow[2], np.hypot(flow[0], flow[1]), rtol=1e-5, atol=1e-6)


def test_identical_frames_give_zero_flow():
    onset, _ = _pair()
    flow = compute_flow(onset, onset, "dis")
    assert np.abs(flow).max() < 0.05


def test_grey_input_and_size_mismatch():
    onset, apex = _pair()
    grey = cv2.cvtColor(onset, cv2.COLOR_RGB2GRAY)
    assert compute_flow(grey, cv2.cvtColor(apex, cv2.COLOR_RGB2GRAY), "farneback").shape == (3, SIZE, SIZE)
    with pytest.raises(Exception, match="differ in size"):
        compute_flow(onset, apex[:-2], "dis")
    with pytest.raises(ConfigError, match="Valid values"):
        compute_flow(onset, apex, "horn-schunck")


def test_cache_writes_once_atomically_and_reuses(tmp_path, monkeypatch):
    onset, apex = _pair()
    first = cached_flow(tmp_path, "casme2/01/EP02_01f/40-52", onset, apex, "dis")
    path = flow_cache_path(tmp_path, "casme2/01/EP02_01f/40-52", "dis")
    assert path.is_file() and [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left

    def boom(*args, **kwargs):
        raise AssertionError("should have been read from the cache")

    monkeypatch.setattr(flow_mod, "compute_flow", boom)
    np.testing.assert_array_equal(cached_flow(tmp_path, "casme2/01/EP02_01f/40-52", onset, apex, "dis"), first)
    # another method or key is another file
    assert flow_cache_path(tmp_path, "casme2/01/EP02_01f/40-52", "farneback") != path
    assert flow_cache_path(tmp_path, "casme2/01/EP02_01f/40-53", "dis") != path


def test_cache_recomputes_a_stale_or_broken_file(tmp_path):
    onset, apex = _pair()
    path = flow_cache_path(tmp_path, "k", "dis")
    path.parent.mkdir(parents=True)
    np.save(path, np.zeros((3, 8, 8), np.float32))  # wrong size: e.g. frames resized since
    assert cached_flow(tmp_path, "k", onset, apex, "dis").shape == (3, SIZE, SIZE)
    path.write_bytes(b"broken")
    assert cached_flow(tmp_path, "k", onset, apex, "dis").shape == (3, SIZE, SIZE)
    assert np.load(path).shape == (3, SIZE, SIZE)


def test_flow_feeds_the_network_main_input():
    import torch

    from mmnet import MMNet

    onset, apex = _pair()
    onset, apex = cv2.resize(onset, (224, 224)), cv2.resize(apex, (224, 224))
    flow = torch.from_numpy(compute_flow(onset, apex, "dis"))[None]  # (1, 3, 224, 224)
    model = MMNet(main_input="flow").eval()
    with torch.no_grad():
        logits = model(torch.zeros(1, 3, 224, 224), flow=flow)
    assert logits.shape == (1, 5) and torch.isfinite(logits).all()
