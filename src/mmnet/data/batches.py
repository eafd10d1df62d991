"""Onset/apex batches assembled on the compute device, with the authors' augmentation.

The cached uint8 frames live in one (F, S, S, 3) tensor on the device. Nearest-neighbour
augmentation (flip, rotation, padded crop) is a gather: each output pixel copies one source pixel
or is filled. So a batch is one index computation per sample, one uint8 gather of both frames with
the same indices, and one fused normalisation into the channels_last float layout the network
uses. This replaces the authors' per-sample PIL pipeline in worker processes (about 21 ms per
sample here) with a few batched tensor operations.
"""

from __future__ import annotations

import math

import torch

from ..config import AugmentConfig
from .cache import CachedFrames
from .image import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["DeviceFrames", "normalise_hwc"]


def normalise_hwc(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, S, S, 3 or 4) -> float (B, 3, S, S) ImageNet-normalised in channels_last memory.

    A 4th (padding) channel is ignored. Conversion, scale and shift are done in place on one
    channels_last buffer (the layout the network runs in), so no NCHW copy is ever made.
    """
    dev = images.device
    scale = torch.tensor([1.0 / (255.0 * s) for s in IMAGENET_STD], device=dev).view(1, 3, 1, 1)
    shift = torch.tensor([-m / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)], device=dev).view(1, 3, 1, 1)
    x = images.permute(0, 3, 1, 2)[:, :3].float()  # (B, 3, S, S), channels_last strides preserved
    return x.mul_(scale).add_(shift)


class DeviceFrames:
    """Cached frames and per-sample row indices as tensors on one device."""

    def __init__(
        self,
        cache: CachedFrames,
        labels: list[int],
        device: torch.device | str = "cpu",
        *,
        subset: list[int] | None = None,
        flows=None,
    ) -> None:
        """Args:
            cache: the run's frame cache.
            labels: class index per sample of the cache.
            device: where frames live and batches are built.
            subset: sample indices to keep (a fold's samples); positions in this list become
                the sample indices of this object. None keeps all samples.
            flows: optional (N, S, S, 3) float32 optical flow (u, v, magnitude) per sample of the
                cache; when given, batches carry the flow in place of the apex frame.
        """
        import numpy as np

        self.device = torch.device(device)
        keep = np.arange(len(labels)) if subset is None else np.asarray(subset, dtype=np.int64)
        # Gather only the kept samples' rows, and renumber their windows.
        rows, onset_rows, apex_rows, onset_exact, apex_exact = [], [], [], [], []
        for i in keep:
            for ranges, exact, out_r, out_e in ((cache.onset_rows, cache.onset_exact, onset_rows, onset_exact),
                                                (cache.apex_rows, cache.apex_exact, apex_rows, apex_exact)):
                lo, hi = int(ranges[i, 0]), int(ranges[i, 1])
                base = len(rows)
                rows.extend(range(lo, hi))
                out_r.append((base, base + hi - lo))
                out_e.append(base + int(exact[i]) - lo)
        frames = np.asarray(cache.frames[np.asarray(rows, dtype=np.int64)]) if rows else np.zeros((0, 1, 1, 3), np.uint8)
        # RGB plus one padding byte: a pixel is one int32, so an augmented batch is a single
        # 1-D int32 gather (index_select on 3-byte rows is ~4x slower).
        rgbx = np.zeros(frames.shape[:3] + (4,), np.uint8)
        rgbx[..., :3] = frames
        self.frames = torch.from_numpy(rgbx).to(self.device)  # (F, S, S, 4) uint8
        self._pixels = self.frames.view(torch.int32).view(-1)  # (F*S*S,) one int32 per pixel
        self.onset_rows = torch.tensor(onset_rows, dtype=torch.long, device=self.device).view(-1, 2)
        self.apex_rows = torch.tensor(apex_rows, dtype=torch.long, device=self.device).view(-1, 2)
        self.onset_exact = torch.tensor(onset_exact, dtype=torch.long, device=self.device)
        self.apex_exact = torch.tensor(apex_exact, dtype=torch.long, device=self.device)
        self.labels = torch.tensor([labels[i] for i in keep], dtype=torch.long, device=self.device)
        self.flows = None
        if flows is not None:
            self.flows = torch.from_numpy(np.asarray(flows[keep], dtype=np.float32)).to(self.device)  # (N, S, S, 3)

    @property
    def has_flow(self) -> bool:
        return self.flows is not None

    def __len__(self) -> int:
        return len(self.labels)

    def _draw_rows(self, rows: torch.Tensor, idx: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        lo, hi = rows[idx, 0], rows[idx, 1]
        u = torch.rand(len(idx), generator=gen, device=self.device)
        return lo + (u * (hi - lo)).long().clamp(max=(hi - lo - 1))

    def eval_batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Exact onset and apex, normalised: (onset, apex, labels)."""
        onset = normalise_hwc(self.frames[self.onset_exact[idx]])
        if self.flows is not None:
            return onset, self.flows[idx].permute(0, 3, 1, 2), self.labels[idx]
        apex = normalise_hwc(self.frames[self.apex_exact[idx]])
        return onset, apex, self.labels[idx]

    def train_batch(
        self, idx: torch.Tensor, aug: AugmentConfig, gen: torch.Generator, *, jitter: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Jittered onset/apex with one augmentation draw per sample shared by both frames.

        With flows, the second tensor is the flow field (no jitter: it was computed between the
        annotated frames), moved by the same geometric draw and its vectors flipped/rotated.
        """
        if self.flows is not None:
            return self._train_batch_flow(idx, aug, gen)
        if jitter:
            onset_rows = self._draw_rows(self.onset_rows, idx, gen)
            apex_rows = self._draw_rows(self.apex_rows, idx, gen)
        else:
            onset_rows, apex_rows = self.onset_exact[idx], self.apex_exact[idx]
        rows = torch.cat([onset_rows, apex_rows])  # (2B,)
        S = self.frames.shape[1]
        draw = self._draw(len(idx), aug, gen)
        if draw is None:
            pair = self.frames[rows]  # (2B, S, S, 3)
            out = normalise_hwc(pair)
        else:
            src, valid = draw[0], draw[1]  # (B, S*S) each
            flat = rows.view(-1, 1) * (S * S) + src.repeat(2, 1)  # (2B, S*S) pixel ids, same draw for both
            pixels = self._pixels.index_select(0, flat.view(-1))  # (2B*S*S,) int32 = RGBX bytes
            out = normalise_hwc(pixels.view(torch.uint8).view(-1, S, S, 4))
            # Fill 0 after normalisation where the source lies outside the image (as the authors).
            out = out.mul_(valid.repeat(2, 1).view(-1, 1, S, S))
        onset, apex = out.chunk(2)
        return onset, apex, self.labels[idx]

    def _train_batch_flow(self, idx, aug, gen):
        S = self.frames.shape[1]
        rows = self.onset_exact[idx]
        draw = self._draw(len(idx), aug, gen)
        flow = self.flows[idx]  # (B, S, S, 3)
        if draw is None:
            return normalise_hwc(self.frames[rows]), flow.permute(0, 3, 1, 2), self.labels[idx]
        src, valid, flip, cos, sin = draw
        flat = rows.view(-1, 1) * (S * S) + src
        onset = normalise_hwc(self._pixels.index_select(0, flat.view(-1)).view(torch.uint8).view(-1, S, S, 4))
        onset = onset.mul_(valid.view(-1, 1, S, S))
        base = torch.arange(len(idx), device=self.device).view(-1, 1) * (S * S)
        moved = flow.reshape(-1, 3).index_select(0, (base + src).view(-1)).view(-1, S, S, 3)
        # A motion vector w of the source maps to R * flip(w) in the output (magnitude unchanged).
        u = torch.where(flip.view(-1, 1, 1), -moved[..., 0], moved[..., 0])
        v = moved[..., 1]
        c, s_ = cos.view(-1, 1, 1), sin.view(-1, 1, 1)
        out = torch.stack([c * u + s_ * v, -s_ * u + c * v, moved[..., 2]], dim=1)  # (B, 3, S, S)
        return onset, out * valid.view(-1, 1, S, S), self.labels[idx]

    def _draw(self, B: int, aug: AugmentConfig, gen: torch.Generator):
        """One augmentation draw per sample: (source pixel, inside-image mask, flip, cos, sin), or None.

        Source pixel and mask are (B, S*S): for every output pixel, which source pixel it copies.

        The authors' order: horizontal flip, rotation about the centre (nearest), then a random
        S x S crop of the image zero-padded by p. The crop is a shift by (ox - p, oy - p) with ox, oy
        uniform in [0, 2p]. Composed, output pixel o reads flip(rotate^-1(o + shift)).
        """
        if aug.hflip == 0 and aug.rotate_degrees == 0 and aug.crop_padding == 0:
            return None
        dev, S = self.device, self.frames.shape[1]
        flip = torch.rand(B, 1, 1, generator=gen, device=dev) < aug.hflip
        angle = (torch.rand(B, 1, 1, generator=gen, device=dev) * 2 - 1) * math.radians(aug.rotate_degrees)
        p = aug.crop_padding
        shift = (torch.randint(0, 2 * p + 1, (B, 2, 1, 1), generator=gen, device=dev) - p).float()
        c = (S - 1) / 2.0
        coords = torch.arange(S, device=dev, dtype=torch.float32) - c
        x = coords.view(1, 1, S) + shift[:, 0]  # (B, 1, S) output x + shift, centred
        y = coords.view(1, S, 1) + shift[:, 1]  # (B, S, 1)
        cos, sin = torch.cos(angle), torch.sin(angle)
        sx = cos * x - sin * y  # (B, S, S) inverse rotation
        sy = sin * x + cos * y
        sx = torch.where(flip, -sx, sx)
        col = torch.round(sx + c).long()
        row = torch.round(sy + c).long()
        valid = (col >= 0) & (col < S) & (row >= 0) & (row < S)
        src = row.clamp(0, S - 1) * S + col.clamp(0, S - 1)
        return src.view(B, S * S), valid.view(B, S * S).float(), flip.view(B), cos.view(B), sin.view(B)
