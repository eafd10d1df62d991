"""Fitting a learned spotter from Python leaves the caller's torch random stream where it was.

The networks are seeded through torch's global generator (their layers initialise from it, so a fixed seed gives
the same spotter); `make_spotter(config).fit(...)` and `loso_spotting(...)` in a notebook must not move the
notebook's own `torch.rand` stream.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cv2")
torch = pytest.importorskip("torch")

from mmnet.data.long_video import LongVideo  # noqa: E402
from mmnet.spotting.config import spot_config  # noqa: E402
from mmnet.spotting.intervals import Interval  # noqa: E402
from mmnet.spotting.spotters import make_spotter  # noqa: E402

CONFIG = ["method=learned", "face.mode=none", "face.width=80", "face.height=96", "learned.epochs=2"]


def _recording(folder, n: int = 40) -> LongVideo:
    from PIL import Image

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (96, 80, 3), np.uint8)).save(folder / f"img{i}.png")
    return LongVideo("casme-sq", "s15", "15_0101", 30.0, folder, (), (Interval(10, 14, 18, "micro"),))


def _weights(spotter) -> torch.Tensor:
    net, _ = spotter.nets["micro"]
    return torch.cat([p.detach().flatten() for p in net.parameters()])


def test_fit_leaves_the_callers_torch_random_stream_as_it_was_and_a_seed_gives_one_spotter(tmp_path):
    video = _recording(tmp_path / "frames")
    torch.manual_seed(123)
    expected = [torch.rand(4) for _ in range(2)]

    torch.manual_seed(123)
    first = torch.rand(4)
    spotter = make_spotter(spot_config("casme2", CONFIG), seed=5)
    spotter.fit([video], types=("micro",))
    assert torch.equal(first, expected[0])
    assert torch.equal(torch.rand(4), expected[1]), "fit moved the caller's torch random stream"

    torch.manual_seed(999)  # another caller state: the spotter is the seed's all the same
    again = make_spotter(spot_config("casme2", CONFIG), seed=5)
    again.fit([video], types=("micro",))
    assert torch.equal(_weights(again), _weights(spotter))
