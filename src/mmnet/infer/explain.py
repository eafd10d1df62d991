"""Attention figures in the style of the paper's Fig. 4: where the CA blocks look on the face.

One row of panels: the onset face, the apex face, the amplified motion |apex - onset|, then the
continuous-attention maps of stages 1-4, each upsampled (bilinear) to the face size and overlaid
on the onset face in a perceptual colour map (viridis), with a colour bar in the map's raw values.

By default each map's colours span its own [min, max] (a later stage's map is the product of all
earlier ones, so its raw values are much smaller), and the title gives that range: a map whose
range is narrow (an untrained model's, e.g. 0.49-0.51) is nearly flat however bright its colours
look. ``shared_scale`` puts all four maps on one scale, so their magnitudes compare directly.
Panels keep the face's aspect ratio (the network sees a square; the figure shows the frame's
shape). Rendering uses matplotlib's Agg canvas, no display needed.
"""

from __future__ import annotations

import textwrap
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError
from ..utils import atomic_write_bytes
from .clips import Clip, FrameNumber, as_clip
from .predictor import ZERO_MOTION, FrameLike, Predictor, checked_frame_pair

__all__ = ["Explanation", "explain_pair", "explain_clip", "render_explanation", "draw_explanation",
           "explanation_png"]


@dataclass
class Explanation:
    """Everything one figure shows, as arrays at the network's input size S.

    Attributes:
        onset, apex: (S, S, 3) uint8 resized faces.
        motion: (S, S) float in [0, 1]: |apex - onset| averaged over RGB, divided by its
            99th percentile (the "amplification") and clipped.
        attention: four (S, S) float maps, the raw CA attention of stages 1-4, upsampled.
        label, probabilities: the prediction for this pair.
        source, onset_frame, apex_frame: what the pair was taken from (for the title).
        apex_spotted: the apex frame was found automatically (largest motion), not given.
        frame_names: the file names of an image pair's two images (its panels are named by them).
        frame_size: (height, width) of the frames before resizing, for the figure's aspect ratio.
        caption: a line under the panels, e.g. what the model was trained on
            (:func:`mmnet.infer.provenance.training_caption`); empty: none.
        still: the onset and apex frames hold the same pixels, so the motion is zero by construction
            (``mmnet.infer.predictor.ZERO_MOTION``).
    """

    onset: np.ndarray = field(repr=False)  # pixel arrays: a notebook shows the prediction, not thousands of numbers
    apex: np.ndarray = field(repr=False)
    motion: np.ndarray = field(repr=False)
    attention: list[np.ndarray] = field(repr=False)
    label: str
    probabilities: dict[str, float]
    source: str = ""
    onset_frame: int | None = None
    apex_frame: int | None = None
    apex_spotted: bool = False
    frame_names: tuple[str, str] | None = None
    frame_size: tuple[int, int] | None = None
    caption: str = ""
    still: bool = False


def explain_pair(predictor: Predictor, onset: FrameLike, apex: FrameLike) -> Explanation:
    """Prediction and upsampled attention maps for (H, W, 3) uint8 onset and apex frames (arrays, PIL images or
    tensors, converted as ``Predictor.predict_frames`` converts them).

    Raises:
        ConfigError: the checkpoint was built without CA blocks (``use_ca=False``).
        DataError: a frame is not (H, W, 3) uint8, or the two differ in size.
    """
    model = predictor.model
    if not model.config.use_ca:
        raise ConfigError(
            "This checkpoint was trained without CA blocks (model.use_ca=False): it has no attention maps to draw."
        )
    onset, apex = checked_frame_pair(onset, apex, "explain_pair")
    prep = predictor.preprocessing
    size = prep.image_size
    x_on = prep.to_tensor([onset]).to(predictor.device)  # (1, 3, S, S)
    x_ap = prep.to_tensor([apex]).to(predictor.device)
    with torch.inference_mode():
        features, maps = model.forward_features(x_on, x_ap)
        probs = torch.softmax(model.forward_head(features), dim=1)[0].float().cpu().numpy()
        upsampled = [
            F.interpolate(m.float(), size=(size, size), mode="bilinear", align_corners=False)[0, 0].cpu().numpy()
            for m in maps
        ]  # each (S, S)
    onset_small = (x_on[0].cpu() * torch.tensor(prep.std).view(3, 1, 1) + torch.tensor(prep.mean).view(3, 1, 1))
    apex_small = (x_ap[0].cpu() * torch.tensor(prep.std).view(3, 1, 1) + torch.tensor(prep.mean).view(3, 1, 1))
    onset_rgb = _to_uint8(onset_small)
    apex_rgb = _to_uint8(apex_small)
    diff = np.abs(apex_rgb.astype(np.float32) - onset_rgb.astype(np.float32)).mean(axis=2)  # (S, S)
    scale = float(np.percentile(diff, 99))
    motion = np.clip(diff / scale, 0.0, 1.0) if scale > 0 else np.zeros_like(diff)
    k = int(np.argmax(probs))
    return Explanation(
        onset=onset_rgb, apex=apex_rgb, motion=motion, attention=upsampled,
        label=predictor.class_names[k],
        probabilities={c: float(p) for c, p in zip(predictor.class_names, probs)},
        frame_size=(int(onset.shape[0]), int(onset.shape[1])),
        still=bool(np.array_equal(onset, apex)),
    )


def _to_uint8(image: torch.Tensor) -> np.ndarray:
    """(3, S, S) float in [0, 1] -> (S, S, 3) uint8."""
    return (image.clamp(0, 1).permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)


def explain_clip(predictor: Predictor, clip: Clip | str | Path, *, onset: FrameNumber | None = None,
                 apex: FrameNumber | None = None) -> Explanation:
    """``explain_pair`` on a clip's onset and apex (given as frame numbers, or first frame / spotted); ``clip``
    is a Clip or its path."""
    clip = as_clip(clip)
    onset, apex, spotted = clip.select(onset, apex)
    result = explain_pair(predictor, *clip.read_pair(onset, apex))
    result.source, result.onset_frame, result.apex_frame = clip.source, onset, apex
    result.apex_spotted = spotted
    if clip.pair:  # two image files: their "frame 0" and "frame 1" mean nothing to the reader
        result.frame_names = (Path(clip.name(onset)).name, Path(clip.name(apex)).name)
    return result


def render_explanation(explanation: Explanation, path: str | Path, *, dpi: int = 100, alpha: float = 0.6,
                       shared_scale: bool = False, cmap: str = "viridis") -> Path:
    """Draw one row (onset, apex, motion, attention 1-4 over the onset, with colour bars); write a PNG.

    Args:
        shared_scale: one colour scale for the four attention maps (default: each its own range).
        cmap: a perceptual matplotlib colour map (viridis, magma, ...).
    """
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    e = explanation
    h, w = e.frame_size or e.onset.shape[:2]
    panels = 3 + len(e.attention)
    caption_lines = len(_caption(e, panels).splitlines())
    fig = Figure(figsize=(2.2 * panels, 2.2 * h / w + 1.0 + (0.1 + 0.15 * caption_lines if caption_lines else 0.0)),
                 dpi=dpi,
                 layout="constrained")
    FigureCanvasAgg(fig)  # attaches the Agg canvas; no pyplot, no global backend switch
    draw_explanation(fig, e, alpha=alpha, shared_scale=shared_scale, cmap=cmap)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    out = Path(path)
    _write_png(out, buf.getvalue())
    return out


def draw_explanation(fig, e: Explanation, *, alpha: float = 0.6, shared_scale: bool = False,
                     cmap: str = "viridis") -> list:
    """The panels of :func:`render_explanation` on a matplotlib Figure; returns the axes."""
    h, w = e.frame_size or e.onset.shape[:2]
    extent = (0, w, h, 0)  # the S x S arrays drawn at the frame's shape
    panels = 3 + len(e.attention)
    axes = list(fig.subplots(1, panels))
    on_name, ap_name = _panel_titles(e)
    axes[0].imshow(e.onset, extent=extent)
    axes[0].set_title(on_name, fontsize=9)
    axes[1].imshow(e.apex, extent=extent)
    axes[1].set_title(ap_name, fontsize=9)
    axes[2].imshow(e.motion, cmap="gray", vmin=0.0, vmax=1.0, extent=extent)
    axes[2].set_title("|apex - onset|, amplified", fontsize=9)
    if shared_scale:
        lo_all = min(float(a.min()) for a in e.attention)
        hi_all = max(float(a.max()) for a in e.attention)
    for k, attn in enumerate(e.attention, start=1):
        lo, hi = float(attn.min()), float(attn.max())
        vmin, vmax = (lo_all, hi_all) if shared_scale else (lo, hi)
        if vmax <= vmin:
            vmax = vmin + 1e-12
        ax = axes[2 + k]
        ax.imshow(e.onset, extent=extent)
        im = ax.imshow(attn, cmap=cmap, alpha=alpha, vmin=vmin, vmax=vmax, extent=extent)
        ax.set_title(f"stage {k}: {lo:.3g}-{hi:.3g}", fontsize=9)
        bar = fig.colorbar(im, ax=ax, orientation="horizontal", fraction=0.06, pad=0.02)
        ticks = np.linspace(vmin, vmax, 3)  # three ticks: more run together under a map a quarter wide
        bar.set_ticks(ticks, labels=_distinct_labels(ticks))
        bar.ax.tick_params(labelsize=7)
    for ax in axes:
        ax.set_axis_off()
    p = e.probabilities[e.label]
    scale = "one scale for all maps" if shared_scale else "each map on its own range"
    fig.suptitle(f"{e.source + ': ' if e.source else ''}{e.label} (probability {p:.2f}); attention: {scale}",
                 fontsize=10)
    caption = _caption(e, panels)
    if caption:  # on the figure itself, so that it travels with the picture
        fig.supxlabel(caption, fontsize=8)
    return axes


def _distinct_labels(values) -> list[str]:
    """The fewest significant digits (3 at least) that tell the values apart: a narrow map range (0.06195 to
    0.06230) would otherwise print the same label three times."""
    for digits in range(3, 10):
        labels = [f"{v:.{digits}g}" for v in values]
        if len(set(labels)) == len(labels):
            return labels
    return labels


# The figures that explanation_png keeps in memory instead of writing them (a context variable: each thread its own)
_IN_MEMORY: ContextVar[list[bytes] | None] = ContextVar("mmnet_explanation_png", default=None)


def explanation_png(explanation: Explanation, **options) -> bytes:
    """The PNG bytes of :func:`render_explanation` (the same figure, ``options`` being its keywords), written
    nowhere: ``mmnet serve`` keeps its figures in memory, so that a full disk cannot fail them and no face is
    written to disk for them."""
    kept: list[bytes] = []
    token = _IN_MEMORY.set(kept)
    try:
        render_explanation(explanation, "attention.png", **options)
    finally:
        _IN_MEMORY.reset(token)
    return kept[0]


def _write_png(path: Path, data: bytes) -> None:
    kept = _IN_MEMORY.get()
    if kept is None:
        atomic_write_bytes(path, data)
    else:
        kept.append(data)


def _panel_titles(e: Explanation) -> tuple[str, str]:
    """The onset and apex panels' titles: the file names of an image pair, else the frame numbers,
    the apex marked when it was spotted (as `mmnet predict` marks it with *)."""
    if e.frame_names:
        return tuple(textwrap.fill(f"{what}: {name}", width=30) for what, name in zip(("onset", "apex"), e.frame_names))
    onset = "onset" if e.onset_frame is None else f"onset (frame {e.onset_frame})"
    apex = "apex" if e.apex_frame is None else f"apex (frame {e.apex_frame}{', spotted' if e.apex_spotted else ''})"
    return onset, apex


def _caption(e: Explanation, panels: int) -> str:
    """The text under the panels, wrapped: a zero-motion warning first (the figure of identical frames
    looks like any other), then ``e.caption``."""
    text = " ".join(part for part in (f"Warning: {ZERO_MOTION}." if e.still else "", e.caption) if part)
    return textwrap.fill(text, width=max(60, 22 * panels))
