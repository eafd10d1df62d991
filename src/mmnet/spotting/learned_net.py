"""The learned spotter's parts: a flow pair -> a small feature map, pseudo-labels, the SoftNet-like network.

Features (SoftNet's input, docs/spotting.md): from the head-motion-free flow of a pair (the flow
spotter's, ``flow_spotter.extract_motion``'s ``on_flow``), three channels, |u|, |v| and the optical
strain sqrt(u_x^2 + v_y^2 + (u_y + v_x)^2 / 2), zero outside the measured regions (the eyes masked);
the eyebrow band resized to ``size`` x ``size / 2`` above the mouth box resized likewise. Values stay
in crop pixels (SoftNet's per-sample min-max would make a still face's noise look like an
expression); the network divides by the training set's per-channel scale instead. Kept as float16:
3 * size^2 * 2 bytes per pair (6 KiB at size 32).

Augmentation (``learned.flip``, ``train_net(flip=True)``): a random half of each training batch is
mirrored left-right. Mirroring the face mirrors its flow with the horizontal component negated; |u|,
|v| and the strain are unchanged by that sign (u_x and v_y keep theirs, u_y and v_x both change it,
so (u_y + v_x)^2 does not), and the brow band and the mouth box are left-right symmetric on an
aligned face, so the mirrored face's features are the feature maps mirrored. It is done on the
features because the flows are not kept. The pseudo-label, a matter of time, stays valid.

Pseudo-label of a pair of frames (first, last): the fraction of its frames inside an annotated
interval of the type (SoftNet gives 1 to a window that overlaps one at all; the fraction is the
soft version of that rule, 1 inside an expression and falling off over its first and last k frames).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from .regions import Regions

__all__ = ["FeatureMaker", "as_made", "coverage", "pair_label", "make_net", "train_net", "mirror_half", "predict"]


class FeatureMaker:
    """flow (2, H, W) + regions -> (3, size, size) float16; the region boxes are cached per alignment."""

    def __init__(self, size: int):
        self.size = size
        self._key: int | None = None
        self._boxes: list[tuple[slice, slice]] = []
        self._mask: np.ndarray | None = None

    def _prepare(self, regions: Regions) -> None:
        h, w = regions.shape
        mask = np.zeros(h * w, np.float32)
        boxes = []
        for names in (("brow_right", "brow_left"), ("mouth",)):
            idx = np.concatenate([regions.measured[n] for n in names])
            mask[idx] = 1.0
            rows, cols = idx // w, idx % w
            boxes.append((slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1)))
        self._key, self._boxes, self._mask = id(regions), boxes, mask.reshape(h, w)

    def __call__(self, flow: np.ndarray, regions: Regions) -> np.ndarray:
        import cv2

        if self._key != id(regions):
            self._prepare(regions)
        u, v = flow[0], flow[1]
        uy, ux = np.gradient(u)
        vy, vx = np.gradient(v)
        strain = np.sqrt(ux * ux + vy * vy + 0.5 * (uy + vx) ** 2)
        maps = np.stack([np.abs(u), np.abs(v), strain], axis=-1) * self._mask[..., None]  # (H, W, 3)
        half = self.size // 2
        parts = [cv2.resize(np.ascontiguousarray(maps[r, c]), (self.size, half), interpolation=cv2.INTER_AREA)
                 for r, c in self._boxes]
        return np.concatenate(parts, axis=0).transpose(2, 0, 1).astype(np.float16)  # (3, size, size)


def as_made(features: np.ndarray) -> np.ndarray:
    """``features`` (N, 3, size, size) in the memory layout ``FeatureMaker`` makes them in (channels last, as they are
    computed): a network's outputs on a batch depend on its layout in their last digits, so features read back from
    a file are fed in the layout they had when they were made."""
    return np.ascontiguousarray(features.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def coverage(intervals, type_: str, last_number: int) -> np.ndarray:
    """Cumulative count of annotated frames of ``type_`` up to each frame number (index = number + 1)."""
    covered = np.zeros(max(last_number, max((i.offset for i in intervals), default=0)) + 2, np.int64)
    for i in intervals:
        if i.type == type_:
            covered[max(i.onset, 0):i.offset + 1] = 1
    return np.concatenate([[0], np.cumsum(covered)])


def pair_label(cum: np.ndarray, first: int, last: int) -> float:
    """Fraction of the frames first..last (inclusive) inside an annotated interval (``cum`` from ``coverage``)."""
    last = min(last, len(cum) - 2)
    if last < first:
        return 0.0
    return float(cum[last + 1] - cum[max(first, 0)]) / (last - first + 1)


def make_net(size: int):
    """SoftNet's network: three streams (|u|, |v|, strain) of a 5x5 conv with 3/5/8 filters and a 3x3 max-pool,
    concatenated, a 2x2 max-pool, a dense layer of 400 and one linear output."""
    import torch
    from torch import nn

    class SoftNetLike(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.streams = nn.ModuleList([nn.Conv2d(1, c, 5, padding=2) for c in (3, 5, 8)])
            side = (size // 3) // 2
            self.head = nn.Sequential(nn.Flatten(), nn.Linear(16 * side * side, 400), nn.ReLU(), nn.Linear(400, 1))

        def forward(self, x):
            parts = [nn.functional.max_pool2d(torch.relu(conv(x[:, i:i + 1])), 3)
                     for i, conv in enumerate(self.streams)]
            return self.head(nn.functional.max_pool2d(torch.cat(parts, 1), 2)).squeeze(1)

    return SoftNetLike()


@contextmanager
def _one_thread():
    """Run torch on one thread, then restore. The network is tiny (about 170k weights, batches of 32): on a
    2-core machine shared with other work, one Adam step took 0.07 s on one thread and 1.1 s on two
    (the threads wait on each other), so intra-op threads only cost here."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train_net(x: np.ndarray, y: np.ndarray, *, size: int, epochs: int, batch: int, lr: float, seed: int,
              device: str = "cpu", progress=None, flip: bool = False) -> tuple[object, np.ndarray, dict]:
    """Fit one network on features ``x`` (N, 3, size, size) float16 and targets ``y`` (N,) in [0, 1].

    ``flip``: mirror a random half of every batch left-right (see the module docstring).
    Returns (network in eval mode, per-channel input scale (3,), stats: pairs, positives, final loss).
    The network is seeded through torch's global generator (its layers initialise from it); the caller's random
    state is set back afterwards.
    """
    from ..random_state import kept_torch_random_state

    with _one_thread(), kept_torch_random_state():
        return _train(x, y, size=size, epochs=epochs, batch=batch, lr=lr, seed=seed, device=device, progress=progress,
                      flip=flip)


def mirror_half(xb, rng: np.random.Generator):
    """The batch ``xb`` (B, 3, size, size) with a random half (each sample with probability 1/2) mirrored."""
    import torch

    chosen = torch.from_numpy(rng.random(len(xb)) < 0.5).to(xb.device).view(-1, 1, 1, 1)
    return torch.where(chosen, xb.flip(-1), xb)


def _train(x, y, *, size, epochs, batch, lr, seed, device, progress, flip=False):
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    scale = np.sqrt((x.astype(np.float32) ** 2).mean(axis=(0, 2, 3))) + 1e-6  # per-channel RMS
    net = make_net(size).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    xs = torch.from_numpy(x)
    ys = torch.from_numpy(y.astype(np.float32))
    inv = torch.from_numpy((1.0 / scale).astype(np.float32)).view(1, 3, 1, 1).to(device)
    losses = []
    net.train()
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(len(y)))
        total = 0.0
        for start in range(0, len(y), batch):
            idx = order[start:start + batch]
            xb = xs[idx].to(device).float() * inv
            if flip:
                xb = mirror_half(xb, rng)
            loss = torch.nn.functional.mse_loss(net(xb), ys[idx].to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        losses.append(total / len(y))
        if progress is not None:
            progress(len(losses), losses[-1])
    net.eval()
    stats = {"pairs": int(len(y)), "positives": int((y > 0).sum()), "loss": [round(v, 6) for v in losses]}
    return net, scale.astype(np.float32), stats


def predict(net, scale: np.ndarray, x: np.ndarray, device: str = "cpu") -> np.ndarray:
    """Scores (N,) of features ``x`` (N, 3, size, size)."""
    import torch

    with torch.inference_mode(), _one_thread():
        xb = torch.from_numpy(x).to(device).float() / torch.from_numpy(scale).view(1, 3, 1, 1).to(device)
        return net(xb).float().cpu().numpy().astype(np.float64)
