"""Onset/apex batches assembled on the compute device, with the authors' augmentation.

For training, the cached frames live on the device as uint8 RGB plus an in-image flag (one 4-byte
word per pixel) with a one-pixel border of zero words. Nearest-neighbour augmentation (flip,
rotation, padded crop) is then a gather: each output pixel copies one source pixel, and every
source outside the image is clamped into the border. So a batch is one index computation per
sample, one 1-D gather of both frames with the same indices, and one normalisation in the layout
the network uses: the same float32 arithmetic as evaluation's, bit for bit (a micro-expression is a
motion of a few grey levels, and the network's first operation is apex - onset), with the border at
0, the authors' "fill 0 after normalisation". This replaces the authors' per-sample PIL pipeline in
worker processes with a few batched tensor operations, which cost a small fraction of it per sample
(per-machine figures: ``docs/performance.md``).
"""
from __future__ import annotations

import functools
import math

import torch

from ..config import AugmentConfig
from .cache import CachedFrames
from .image import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["DeviceFrames", "normalise_hwc"]


def normalise_hwc(images: torch.Tensor, memory_format: torch.memory_format = torch.channels_last) -> torch.Tensor:
    """uint8 (B, S, S, 3 or 4) -> float (B, 3, S, S) ImageNet-normalised, in ``memory_format``.

    A 4th (padding) channel is ignored. Conversion, scale and shift are done in place on one
    buffer already in the layout the network runs in, so no second copy is made.
    """
    scale, shift = _normalise_constants(images.device)
    x = _to_float(images.permute(0, 3, 1, 2)[:, :3], memory_format)  # (B, 3, S, S)
    return x.mul_(scale).add_(shift)


@functools.cache
def _normalise_constants(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(scale, shift) of ``normalise_hwc``, (1, 3, 1, 1) float32 on ``device``, made once per device: a
    ``torch.tensor(..., device="cuda")`` copies from the host and waits for the GPU to drain (a host
    synchronisation), which per batch would stall every evaluation batch on CUDA. Made outside inference
    mode, so that a first call under ``torch.inference_mode`` does not cache inference tensors."""
    with torch.inference_mode(False):
        scale = torch.tensor([1.0 / (255.0 * s) for s in IMAGENET_STD], device=device).view(1, 3, 1, 1)
        shift = torch.tensor([-m / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)], device=device).view(1, 3, 1, 1)
    return scale, shift


@functools.cache
def _scale_per_word(device: torch.device, size: int) -> torch.Tensor:
    """``normalise_hwc``'s scale repeated over one (size, size, 4) RGBX image, with 1 for the flag lane."""
    with torch.inference_mode(False):
        scale, _ = _normalise_constants(device)
        return torch.cat([scale.view(3), torch.ones(1, device=device)]).repeat(size * size)


def _to_float(x: torch.Tensor, memory_format: torch.memory_format) -> torch.Tensor:
    """float32 copy of an NHWC-strided (B, C, H, W) view, in one pass, in ``memory_format``."""
    if memory_format == torch.channels_last:
        return x.float()  # keeps the channels_last strides
    return torch.empty(x.shape, dtype=torch.float32, device=x.device).copy_(x)  # NCHW


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
        frames = (np.asarray(cache.frames[np.asarray(rows, dtype=np.int64)]) if rows
                  else np.zeros((0, 1, 1, 3), np.uint8))
        self.frames = torch.from_numpy(frames).to(self.device)  # (F, S, S, 3) uint8, exact (evaluation)
        self._train_pixels = _padded_rgbx(frames, self.device)  # (F * (S+2)^2,) int32 words
        # int32 word indices where they fit: index_select with int32 indices is faster than
        # take/index_select with int64 (half the index memory traffic; docs/performance.md).
        self._index_dtype = torch.int32 if len(self._train_pixels) < 2**31 else torch.int64
        self.onset_rows = torch.tensor(onset_rows, dtype=torch.long, device=self.device).view(-1, 2)
        self.apex_rows = torch.tensor(apex_rows, dtype=torch.long, device=self.device).view(-1, 2)
        self.onset_exact = torch.tensor(onset_exact, dtype=torch.long, device=self.device)
        self.apex_exact = torch.tensor(apex_exact, dtype=torch.long, device=self.device)
        self.labels = torch.tensor([labels[i] for i in keep], dtype=torch.long, device=self.device)
        self.flows = None
        if flows is not None:
            self.flows = torch.from_numpy(np.asarray(flows[keep], dtype=np.float32)).to(self.device)  # (N, S, S, 3)
            # Zero-bordered copy for augmentation: out-of-image sources read 0 (no motion).
            self._flows_padded = torch.nn.functional.pad(self.flows, (0, 0, 1, 1, 1, 1))  # (N, S+2, S+2, 3)

    @property
    def has_flow(self) -> bool:
        return self.flows is not None

    def __len__(self) -> int:
        return len(self.labels)

    def _draw_rows(self, rows: torch.Tensor, idx: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        lo, hi = rows[idx, 0], rows[idx, 1]
        u = torch.rand(len(idx), generator=gen, device=self.device)
        return lo + (u * (hi - lo)).long().clamp(max=(hi - lo - 1))

    def eval_batch(
        self, idx: torch.Tensor, memory_format: torch.memory_format = torch.channels_last
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Exact onset and apex, normalised: (onset, apex, labels)."""
        onset = normalise_hwc(self.frames[self.onset_exact[idx]], memory_format)
        if self.flows is not None:
            return onset, self.flows[idx].permute(0, 3, 1, 2).contiguous(memory_format=memory_format), self.labels[idx]
        apex = normalise_hwc(self.frames[self.apex_exact[idx]], memory_format)
        return onset, apex, self.labels[idx]

    def train_batch(
        self,
        idx: torch.Tensor,
        aug: AugmentConfig,
        gen: torch.Generator,
        *,
        jitter: bool = True,
        memory_format: torch.memory_format = torch.channels_last,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Jittered onset/apex with one augmentation draw per sample shared by both frames.

        Frames come in ``memory_format`` (channels_last or NCHW, the network's layout). With
        flows, the second tensor is the flow field (no jitter: it was computed between the
        annotated frames), moved by the same geometric draw and its vectors flipped/rotated.
        """
        if self.flows is not None:
            return self._train_batch_flow(idx, aug, gen, memory_format)
        if jitter:
            onset_rows = self._draw_rows(self.onset_rows, idx, gen)
            apex_rows = self._draw_rows(self.apex_rows, idx, gen)
        else:
            onset_rows, apex_rows = self.onset_exact[idx], self.apex_exact[idx]
        draw = self._draw(len(idx), aug, gen)
        if draw is None:
            onset = normalise_hwc(self.frames[onset_rows], memory_format)
            apex = normalise_hwc(self.frames[apex_rows], memory_format)
            return onset, apex, self.labels[idx]
        src = draw[0]  # (B, S*S) source pixel in the zero-bordered frame, shared by onset and apex
        S = self.frames.shape[1]
        pair = self._gather(torch.cat([onset_rows, apex_rows]), src, S, memory_format)  # (2B, 3, S, S)
        onset, apex = pair.chunk(2)
        return onset, apex, self.labels[idx]

    def _gather(
        self, rows: torch.Tensor, src: torch.Tensor, S: int, memory_format: torch.memory_format = torch.channels_last
    ) -> torch.Tensor:
        """Normalised float32 (N, 3, S, S) of frames ``rows`` at source pixels ``src`` (B, S*S),
        N a multiple of B: the k-th block of B rows uses the same B source maps (onset, apex).

        Inside the image the values are ``normalise_hwc``'s, bit for bit; the border reads 0.
        channels_last: a view into an (N, S, S, 4) buffer (the network's first operation,
        apex - onset, makes the dense tensor). NCHW: converted and transposed in one copy.
        """
        P2 = (S + 2) * (S + 2)
        rows = rows.to(self._index_dtype)
        flat = src.unsqueeze(0) + rows.view(-1, src.shape[0], 1) * P2  # (N/B, B, S*S) word index
        words = self._train_pixels.index_select(0, flat.view(-1))  # int32 words
        rgbx = words.view(torch.uint8).view(-1, S, S, 4)
        scale, shift = _normalise_constants(self.device)
        if memory_format == torch.channels_last:
            both = rgbx.float()  # contiguous conversion (fast path)
            # x * scale as one contiguous pass (per-channel scale along the innermost dimension of 4 is
            # 1.3x slower); the flag's lane is multiplied by 1
            both.view(len(both), -1).mul_(_scale_per_word(self.device, S))
            both = both.permute(0, 3, 1, 2)
            x, inside = both[:, :3], both[:, 3:]
        else:
            x, inside = _to_float(rgbx.permute(0, 3, 1, 2)[:, :3], memory_format), rgbx[..., 3].unsqueeze(1)
            x.mul_(scale)
        # normalise_hwc's x * scale + shift; inside is 1 or 0, so inside * shift is exact and the border
        # (x = 0) gets +0.0
        return x.addcmul_(inside, shift)

    def _train_batch_flow(self, idx, aug, gen, memory_format):
        S = self.frames.shape[1]
        rows = self.onset_exact[idx]
        draw = self._draw(len(idx), aug, gen)
        flow = self.flows[idx]  # (B, S, S, 3)
        if draw is None:
            onset = normalise_hwc(self.frames[rows], memory_format)
            return onset, flow.permute(0, 3, 1, 2).contiguous(memory_format=memory_format), self.labels[idx]
        src, flip, cos, sin = draw
        onset = self._gather(rows, src, S, memory_format)
        P2 = (S + 2) * (S + 2)
        flat = (src.long() + idx.view(-1, 1) * P2).view(-1)  # the flow tensor has its own (int64) indexing
        moved = self._flows_padded.reshape(-1, 3).index_select(0, flat).view(-1, S, S, 3)
        # A motion vector w of the source maps to R * flip(w) in the output (magnitude unchanged).
        u = torch.where(flip.view(-1, 1, 1), -moved[..., 0], moved[..., 0])
        v = moved[..., 1]
        c, s_ = cos.view(-1, 1, 1), sin.view(-1, 1, 1)
        out = torch.stack([c * u + s_ * v, -s_ * u + c * v, moved[..., 2]], dim=1)  # (B, 3, S, S)
        return onset, out.contiguous(memory_format=memory_format), self.labels[idx]

    def _draw(self, B: int, aug: AugmentConfig, gen: torch.Generator):
        """One augmentation draw per sample: (source pixel, flip, cos, sin), or None without augmentation.

        The source pixel (B, S*S) indexes the (S+2) x (S+2) zero-bordered frame: for every output
        pixel, the pixel it copies. The authors' order is horizontal flip, rotation about the centre
        (nearest), then a random S x S crop of the image zero-padded by p, i.e. a shift by
        (ox - p, oy - p) with ox, oy uniform in [0, 2p]. Composed, output pixel o reads
        flip(rotate^-1(o + shift)). Sources outside the image clamp into the zero border.
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
        sign = torch.where(flip, -1.0, 1.0)
        # Per-sample factors are folded into the small (B,1,S) and (B,S,1) terms, so each
        # full-size (B, S, S) coordinate costs one broadcast add; +1 is the border offset.
        col = (sign * cos * x + (c + 1)) - (sign * sin) * y  # (B, S, S) source column, bordered
        row = sin * x + (cos * y + (c + 1))  # (B, S, S) source row, bordered
        col = col.round_().clamp_(0, S + 1)
        row = row.round_().clamp_(0, S + 1)
        src = row.mul_(S + 2).add_(col).to(self._index_dtype)  # exact: (S+2)^2 < 2^24
        return src.view(B, S * S), flip.view(B), cos.view(B), sin.view(B)


def _padded_rgbx(frames, device: torch.device) -> torch.Tensor:
    """uint8 (F, S, S, 3) -> uint8 RGB plus an in-image flag (1; 0 in the one-pixel zero border),
    viewed as one int32 word per pixel: (F * (S+2)^2,)."""
    import numpy as np

    F_, S = frames.shape[0], frames.shape[1]
    out = np.zeros((F_, S + 2, S + 2, 4), np.uint8)
    out[:, 1:-1, 1:-1, :3] = frames
    out[:, 1:-1, 1:-1, 3] = 1
    return torch.from_numpy(out).to(device).view(torch.int32).view(-1)
