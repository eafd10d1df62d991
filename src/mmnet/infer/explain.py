"""Attention figures in the style of the paper's Fig. 4: where the CA blocks look on the face.

One row of panels: the onset face, the apex face, the amplified motion |apex - onset|, then the
continuous-attention maps of stages 1-4, each upsampled (bilinear) to the face size and overlaid
on the onset face. Each map is stretched to its own [min, max] for display (a later stage's map
is the product of all earlier ones, so its raw values are much smaller); the raw maximum is
printed in the panel title. Rendering uses matplotlib's Agg canvas, no display needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError
from ..utils import atomic_write_bytes
from .clips import Clip
from .predictor import Predictor

__all__ = ["Explanation", "explain_pair", "explain_clip", "render_explanation"]


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
    """

    onset: np.ndarray
    apex: np.ndarray
    motion: np.ndarray
    attention: list[np.ndarray]
    label: str
    probabilities: dict[str, float]
    source: str = ""
    onset_frame: int | None = None
    apex_frame: int | None = None


def explain_pair(predictor: Predictor, onset: np.ndarray, apex: np.ndarray) -> Explanation:
    """Prediction and upsampled attention maps for (H, W, 3) uint8 onset and apex frames.

    Raises:
        ConfigError: the checkpoint was built without CA blocks (``use_ca=False``).
    """
    model = predictor.model
    if not model.config.use_ca:
        raise ConfigError(
            "This checkpoint was trained without CA blocks (model.use_ca=False): it has no attention maps to draw."
        )
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
    )


def _to_uint8(image: torch.Tensor) -> np.ndarray:
    """(3, S, S) float in [0, 1] -> (S, S, 3) uint8."""
    return (image.clamp(0, 1).permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)


def explain_clip(predictor: Predictor, clip: Clip, *, onset: int | None = None, apex: int | None = None) -> Explanation:
    """``explain_pair`` on a clip's onset and apex (given as frame numbers, or first frame / spotted)."""
    onset, apex, _ = clip.select(onset, apex)
    result = explain_pair(predictor, *clip.read_pair(onset, apex))
    result.source, result.onset_frame, result.apex_frame = clip.source, onset, apex
    return result


def render_explanation(explanation: Explanation, path: str | Path, *, dpi: int = 100, alpha: float = 0.5) -> Path:
    """Draw one row (onset, apex, motion, attention 1-4 over the onset) and write a PNG."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    e = explanation
    panels = 3 + len(e.attention)
    fig = Figure(figsize=(2.0 * panels, 2.5), dpi=dpi)
    FigureCanvasAgg(fig)  # attaches the Agg canvas; no pyplot, no global backend switch
    axes = fig.subplots(1, panels)
    on_name = "onset" if e.onset_frame is None else f"onset ({e.onset_frame})"
    ap_name = "apex" if e.apex_frame is None else f"apex ({e.apex_frame})"
    axes[0].imshow(e.onset)
    axes[0].set_title(on_name, fontsize=9)
    axes[1].imshow(e.apex)
    axes[1].set_title(ap_name, fontsize=9)
    axes[2].imshow(e.motion, cmap="gray", vmin=0.0, vmax=1.0)
    axes[2].set_title("|apex - onset|, amplified", fontsize=9)
    for k, attn in enumerate(e.attention, start=1):
        lo, hi = float(attn.min()), float(attn.max())
        shown = (attn - lo) / (hi - lo) if hi > lo else np.zeros_like(attn)
        ax = axes[2 + k]
        ax.imshow(e.onset)
        ax.imshow(shown, cmap="jet", alpha=alpha, vmin=0.0, vmax=1.0)
        ax.set_title(f"stage {k} (max {hi:.2g})", fontsize=9)
    for ax in axes:
        ax.set_axis_off()
    p = e.probabilities[e.label]
    fig.suptitle(f"{e.source + ': ' if e.source else ''}{e.label} (p = {p:.2f})", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    out = Path(path)
    atomic_write_bytes(out, buf.getvalue())
    return out
