"""Attention figures in the style of the paper's Fig. 4: where the CA blocks of the motion branch gate it.

Two rows of panels, some 9.6 inches wide (a page's or a screen's width, where one row of eight panels
made each a thumbnail): above, the onset face, the apex face, the amplified motion |apex - onset| and the
class-specific Grad-CAM map (:mod:`mmnet.infer.gradcam`); below, under a heading that calls them internal
gates, the continuous-attention maps of stages 1-4, each upsampled (bilinear, each map cell on the input
pixel it is centred on) to the face size and overlaid on the onset face in a perceptual colour map
(viridis), with a colour bar in the map's raw values.

These maps are the network's internal spatial gates, computed before the classifier: they are the
same whatever class is predicted (they are no attribution of it), they leave out the onset-appearance
(PC) branch, and they have not been tested for faithfulness. The figure says so; its PNG records how
it was made (:mod:`mmnet.infer.explain_record`).

By default each map's colours span its own [min, max] (a later stage's map is the product of all
earlier ones, so its raw values are much smaller), and the title gives that range: a map whose
range is narrow (an untrained model's, e.g. 0.49-0.51) is nearly flat however bright its colours
look. ``shared_scale`` puts all four maps on one scale, so their magnitudes compare directly.
Panels keep the face's aspect ratio (the network sees a square; the figure shows the frame's
shape). Rendering uses matplotlib's Agg canvas, no display needed.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..model.config import variant_name
from ..utils import atomic_write_bytes
from .attribution import deletion_check, split_grad_cam
from .clips import Clip, FrameNumber, as_clip
from .explain_record import ALPHA, NOT_RECORDED, figure_record, png_text
from .explain_text import (
    caption_text,
    flat_map,
    gate_title,
    gates_heading,
    gradcam_title,
    inputs_heading,
    main_input_title,
    panel_titles,
    title_text,
)
from .gradcam import pc_offset, placement_note, target_index
from .predictor import FrameLike, Predictor, checked_frame_pair
from .prepared_note import check_prepared, prepared_notes

__all__ = ["Explanation", "explain_pair", "explain_clip", "render_explanation", "draw_explanation",
           "explanation_png"]


@dataclass
class Explanation:
    """Everything one figure shows, as arrays at the network's input size S.

    Attributes:
        onset, apex: (S, S, 3) uint8 resized faces.
        motion: (S, S) float in [0, 1]: |apex - onset| averaged over RGB, divided by its
            99th percentile (the "amplification") and clipped.
        attention: four (S, S) float maps, the raw CA attention of stages 1-4, upsampled (:func:`upsample_map`).
        native: the same four maps at the size the network computed them (S/2 ... S/16 on a side).
        strides: input pixels per map cell of each stage (2, 4, 8, 16): cell j is centred on input pixel stride * j.
        label, probabilities: the prediction for this pair.
        source, onset_frame, apex_frame: what the pair was taken from (for the title).
        apex_spotted: the apex frame was found automatically (largest motion), not given.
        frame_names: the file names of an image pair's two images (its panels are named by them).
        frame_size: (height, width) of the frames before resizing, for the figure's aspect ratio.
        caption: a line under the panels, e.g. what the model was trained on
            (:func:`mmnet.infer.provenance.training_caption`); empty: none.
        still: the onset and apex frames hold the same pixels, so the motion is zero by construction
            (``mmnet.infer.predictor.ZERO_MOTION``).
        padding_only: ``still`` and the network reads the difference apex - onset: its input is zero, so
            the maps are constant but for the zero padding at the edges (drawn greyed, on a fixed scale).
        target_class, gradcam, gradcam_native: the class whose Grad-CAM map is drawn in the panel after the motion,
            the map upsampled to (S, S) and at its native (S/16, S/16) (:mod:`mmnet.infer.gradcam`); None: not computed.
        gradcam_placement, pc_offset: where the Grad-CAM map's cells are drawn (on the motion branch's stage-4 cells)
            and how many input pixels down and right of them the PC branch's share of each cell lies (7.5; None
            without PC): :func:`mmnet.infer.gradcam.placement_note`.
        gradcam_parts, gradcam_shares, deletion: the map's motion and PC parts before its ReLU, their shares of it
            and its deletion check (:mod:`mmnet.infer.attribution`; None: not computed).
        network, main_input: the MMNet variant drawn (``mmnet.model.config.variant_name``: "MMNet without PC" ...),
            named in the title, and what its main branch reads (``difference`` or ``apex``: the third panel's).
        notes: what ``mmnet prepare`` warned of the chosen frames of a folder it wrote (``prepared_notes``, as
            ``mmnet predict`` gives them: a frame near a span where the face had moved away from the crop).
        provenance: what else the figure's PNG records (``checkpoint``, ``checkpoint_sha256``, ``aligned``,
            ``landmarks``: :func:`mmnet.infer.explain_record.checkpoint_record`).
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
    native: list[np.ndarray] = field(default_factory=list, repr=False)
    target_class: str = ""
    gradcam: np.ndarray | None = field(default=None, repr=False)
    gradcam_native: np.ndarray | None = field(default=None, repr=False)
    strides: tuple[int, ...] = ()
    padding_only: bool = False
    provenance: dict[str, str] = field(default_factory=dict, repr=False)  # long texts: the PNG record shows them
    gradcam_placement: str = field(default="", repr=False)
    pc_offset: float | None = None
    gradcam_parts: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    gradcam_shares: dict[str, float] | None = None
    deletion: dict | None = field(default=None, repr=False)
    network: str = "MMNet"
    main_input: str = "difference"
    notes: tuple[str, ...] = ()


def explain_pair(predictor: Predictor, onset: FrameLike, apex: FrameLike, *,
                 target_class: str | None = None, check_deletion: bool = True) -> Explanation:
    """Prediction and upsampled attention maps for (H, W, 3) uint8 onset and apex frames (arrays, PIL images or
    tensors, converted as ``Predictor.predict_frames`` converts them), and the Grad-CAM map of ``target_class``
    (default: the predicted class; :mod:`mmnet.infer.gradcam`), its split into the motion and PC branches' shares
    and, unless ``check_deletion`` is false, its deletion check (one batch of 7 more predictions;
    :mod:`mmnet.infer.attribution`).

    A model without CA blocks (``use_ca=False``) has no attention maps: ``attention`` is empty, the rest is drawn.

    Raises:
        ConfigError: ``target_class`` is not one of the checkpoint's classes.
        DataError: a frame is not (H, W, 3) uint8, or the two differ in size.
    """
    model = predictor.model
    onset, apex = checked_frame_pair(onset, apex, "explain_pair")
    prep = predictor.preprocessing
    size = prep.image_size
    x_on = prep.to_tensor([onset]).to(predictor.device)  # (1, 3, S, S)
    x_ap = prep.to_tensor([apex]).to(predictor.device)
    with torch.inference_mode():
        features, maps = model.forward_features(x_on, x_ap)
        probs = torch.softmax(model.forward_head(features), dim=1)[0].float().cpu().numpy()
        native = [m.float()[0, 0].cpu().numpy() for m in maps if m is not None]  # none without CA
    strides = map_strides(model)
    upsampled = [upsample_map(m, s, size) for m, s in zip(native, strides)]  # each (S, S)
    onset_small = (x_on[0].cpu() * torch.tensor(prep.std).view(3, 1, 1) + torch.tensor(prep.mean).view(3, 1, 1))
    apex_small = (x_ap[0].cpu() * torch.tensor(prep.std).view(3, 1, 1) + torch.tensor(prep.mean).view(3, 1, 1))
    onset_rgb = _to_uint8(onset_small)
    apex_rgb = _to_uint8(apex_small)
    diff = np.abs(apex_rgb.astype(np.float32) - onset_rgb.astype(np.float32)).mean(axis=2)  # (S, S)
    scale = float(np.percentile(diff, 99))
    motion = np.clip(diff / scale, 0.0, 1.0) if scale > 0 else np.zeros_like(diff)
    k = int(np.argmax(probs))
    target = target_index(predictor.class_names, target_class, probs)
    split = split_grad_cam(model, features, x_on, target)
    cam = split["cam"]  # (S/16, S/16)
    deletion = (deletion_check(model, x_on, x_ap, split["signed"], target, float(probs[target]),
                               motion=split["parts"]["motion"]) if check_deletion else None)
    still = bool(np.array_equal(onset, apex))
    return Explanation(
        onset=onset_rgb, apex=apex_rgb, motion=motion, attention=upsampled,
        label=predictor.class_names[k],
        probabilities={c: float(p) for c, p in zip(predictor.class_names, probs)},
        frame_size=(int(onset.shape[0]), int(onset.shape[1])),
        still=still, native=native, strides=strides,
        padding_only=still and model.config.main_input == "difference",
        target_class=predictor.class_names[target], gradcam_native=cam,
        gradcam=upsample_map(cam, size // cam.shape[0], size),
        gradcam_placement=placement_note(model), pc_offset=pc_offset(model),
        gradcam_parts=split["parts"], gradcam_shares=split["shares"], deletion=deletion,
        network=variant_name(model.config), main_input=model.config.main_input,
    )


def map_strides(model) -> tuple[int, ...]:
    """Input pixels per attention-map cell of each stage: the motion stem's stride times the stages' (2, 4, 8,
    16 for MMNet). Every downsampling is a 3x3 stride-2 convolution or pooling padded by 1 (or a 1x1 stride-2
    one), so cell j of a stage is centred on input pixel stride * j."""
    stride = model.motion_stem.conv.stride[0]
    strides = []
    for s in model.main_branch.strides:
        stride *= s
        strides.append(stride)
    return tuple(strides)


def upsample_map(native: np.ndarray, stride: int, size: int) -> np.ndarray:
    """A (h, w) map whose cell j is centred on input pixel stride * j, bilinearly enlarged to (size, size):
    input pixel y takes the map's value at coordinate y / stride (edges clamped). ``F.interpolate`` with
    align_corners=False would put each cell (stride - 1) / 2 pixels down and right of its place."""
    m = torch.from_numpy(np.ascontiguousarray(native, np.float32))[None, None]  # (1, 1, h, w)
    h, w = native.shape
    coords = torch.arange(size, dtype=torch.float64) / stride  # map coordinates of the input pixels

    def normalised(c: torch.Tensor, n: int) -> torch.Tensor:  # grid_sample's [-1, 1] with align_corners=True
        return (2 * c / (n - 1) - 1) if n > 1 else torch.zeros_like(c)

    gy, gx = torch.meshgrid(normalised(coords, h), normalised(coords, w), indexing="ij")
    grid = torch.stack([gx, gy], dim=-1)[None].float()  # (1, S, S, 2), x first
    out = F.grid_sample(m, grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out[0, 0].numpy()


def _to_uint8(image: torch.Tensor) -> np.ndarray:
    """(3, S, S) float in [0, 1] -> (S, S, 3) uint8."""
    return (image.clamp(0, 1).permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)


def explain_clip(predictor: Predictor, clip: Clip | str | Path, *, onset: FrameNumber | None = None,
                 apex: FrameNumber | None = None, target_class: str | None = None,
                 check_deletion: bool = True) -> Explanation:
    """``explain_pair`` on a clip's onset and apex (given as frame numbers, or first frame / spotted); ``clip``
    is a Clip or its path. As ``mmnet predict``, refuses a frame of a folder ``mmnet prepare`` wrote where prepare
    found the face moved out of the crop (``check_prepared``), and keeps its warnings of the chosen frames."""
    clip = as_clip(clip)
    onset, apex, spotted = clip.select(onset, apex)
    check_prepared(clip, onset, apex)  # before reading: the crop there shows part of the face or background
    result = explain_pair(predictor, *clip.read_pair(onset, apex), target_class=target_class,
                          check_deletion=check_deletion)
    result.source, result.onset_frame, result.apex_frame = clip.source, onset, apex
    result.apex_spotted, result.notes = spotted, tuple(prepared_notes(clip, onset, apex))
    if clip.pair:  # two image files: their "frame 0" and "frame 1" mean nothing to the reader
        result.frame_names = (Path(clip.name(onset)).name, Path(clip.name(apex)).name)
    return result


def render_explanation(explanation: Explanation, path: str | Path, *, dpi: int = 100, alpha: float = ALPHA,
                       shared_scale: bool = False, cmap: str = "viridis") -> Path:
    """Draw the two rows (onset, apex, motion, Grad-CAM; attention 1-4 over the onset, with colour bars); write a PNG
    (:func:`explanation_png`'s bytes, written whole or not at all).

    The PNG's text entries record how it was made (:func:`mmnet.infer.explain_record.figure_record`). Without
    ``explanation.caption`` the line under the panels says that what the model was trained on is not recorded.

    Args:
        shared_scale: one colour scale for the four attention maps (default: each its own range).
        cmap: a perceptual matplotlib colour map (viridis, magma, ...).
    """
    out = Path(path)
    atomic_write_bytes(out, explanation_png(explanation, dpi=dpi, alpha=alpha, shared_scale=shared_scale, cmap=cmap))
    return out


def explanation_png(explanation: Explanation, *, dpi: int = 100, alpha: float = ALPHA, shared_scale: bool = False,
                    cmap: str = "viridis") -> bytes:
    """The PNG bytes of :func:`render_explanation`'s figure (the same keywords), written nowhere: ``mmnet serve``
    keeps its figures in memory, so that a full disk cannot fail them and no face is written to disk for them."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    e = explanation
    h, w = e.frame_size or e.onset.shape[:2]
    columns = _columns(e)
    caption_lines = len(caption_text(e, columns, NOT_RECORDED).splitlines())
    # the two rows, the title above them and the caption under them
    height = sum(_row_heights(e, shared_scale)) + 0.35 + 0.15 * caption_lines
    fig = Figure(figsize=(PANEL * columns, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)  # attaches the Agg canvas; no pyplot, no global backend switch
    draw_explanation(fig, e, alpha=alpha, shared_scale=shared_scale, cmap=cmap, missing_caption=NOT_RECORDED)
    buf = io.BytesIO()
    record = figure_record(e, alpha=alpha, cmap=cmap, shared_scale=shared_scale)
    from ..report.figure_fonts import fitted_fonts

    # a clip or class named in Chinese or Japanese: a font that has its characters, else one note (not one a glyph)
    with fitted_fonts(fig, "the explanation figure", "draw it again"):
        fig.savefig(buf, format="png", metadata=png_text(record))
    return buf.getvalue()


PANEL = 2.4  # inches per panel: four columns make a figure some 9.6 inches wide, a page's or a screen's width


def _row_heights(e: Explanation, shared_scale: bool) -> tuple[float, float]:
    """Inches for the two rows at PANEL inches a panel: the panels at the face's aspect ratio, their titles and
    colour bars, the row's heading."""
    h, w = e.frame_size or e.onset.shape[:2]
    heading = 0.15 * len(gates_heading(e, shared_scale, _columns(e)).splitlines())
    top = 0.15 * len(inputs_heading(e, _columns(e)).splitlines())
    panel = (PANEL - 0.1) * h / w + 0.8
    return panel + top + 0.05, (panel if e.attention else 0.1) + heading + 0.05  # no CA: the note alone


def _columns(e: Explanation) -> int:
    """Panels per row: onset, apex, motion (and Grad-CAM) above, the attention maps below."""
    return max(3 + (e.gradcam is not None), len(e.attention))


def draw_explanation(fig, e: Explanation, *, alpha: float = ALPHA, shared_scale: bool = False,
                     cmap: str = "viridis", missing_caption: str = "") -> list:
    """The panels of :func:`render_explanation` on a matplotlib Figure, in two rows: the inputs (onset, apex,
    motion) and the class-specific Grad-CAM map above, the class-independent CA gates of stages 1-4 below, each
    row under a heading that says what it is. Returns the axes in reading order: onset, apex, motion, Grad-CAM
    (when computed), stages 1-4. ``missing_caption`` is drawn in place of an empty ``e.caption`` (by default
    nothing is)."""
    h, w = e.frame_size or e.onset.shape[:2]
    extent = (0, w, h, 0)  # the S x S arrays drawn at the frame's shape
    columns = _columns(e)
    top, bottom = fig.subfigures(2, 1, height_ratios=_row_heights(e, shared_scale))
    inputs = top.add_gridspec(1, columns)
    gates = bottom.add_gridspec(1, columns)
    axes = [top.add_subplot(inputs[0, i]) for i in range(3 + (e.gradcam is not None))]
    stages = [bottom.add_subplot(gates[0, i]) for i in range(len(e.attention))]
    on_name, ap_name = panel_titles(e)
    axes[0].imshow(e.onset, extent=extent)
    axes[0].set_title(on_name, fontsize=9)
    axes[1].imshow(e.apex, extent=extent)
    axes[1].set_title(ap_name, fontsize=9)
    if e.main_input == "apex":  # what this model's main branch reads: the apex frame, not the difference
        axes[2].imshow(e.apex, extent=extent)
    else:
        axes[2].imshow(e.motion, cmap="gray", vmin=0.0, vmax=1.0, extent=extent)
    axes[2].set_title(main_input_title(e), fontsize=9)
    if e.gradcam is not None:
        _draw_gradcam(top, axes[3], e, extent, alpha, cmap)
    top.suptitle(inputs_heading(e, columns), fontsize=9)
    stretched = [a for a in e.attention if not flat_map(a)]
    if shared_scale and stretched:
        lo_all = min(float(a.min()) for a in stretched)
        hi_all = max(float(a.max()) for a in stretched)
    for k, (ax, attn) in enumerate(zip(stages, e.attention), start=1):
        lo, hi = float(attn.min()), float(attn.max())
        ax.imshow(e.onset, extent=extent)
        if e.padding_only or flat_map(attn):  # stretched, a constant map's edge effects would fill the colour range
            vmin, vmax = 0.0, 1.0  # the range of a CA map (products of sigmoids)
            im = ax.imshow(attn, cmap="gray" if e.padding_only else cmap, alpha=alpha, vmin=vmin, vmax=vmax,
                           extent=extent)
            if e.padding_only:
                ax.text(0.5, 0.5, "no motion:\nmap shows\npadding only", transform=ax.transAxes, ha="center",
                        va="center", fontsize=8, color="white", bbox={"facecolor": "black", "alpha": 0.6})
            ax.set_title(gate_title(e, k, attn), fontsize=9)
        else:
            vmin, vmax = (lo_all, hi_all) if shared_scale else (lo, hi)
            if vmax <= vmin:
                vmax = vmin + 1e-12
            im = ax.imshow(attn, cmap=cmap, alpha=alpha, vmin=vmin, vmax=vmax, extent=extent)
            ax.set_title(gate_title(e, k, attn), fontsize=9)
        _colour_bar(bottom, im, ax, vmin, vmax)
    bottom.suptitle(gates_heading(e, shared_scale, columns), fontsize=9)
    axes += stages
    for ax in axes:
        ax.set_axis_off()
    fig.suptitle(title_text(e), fontsize=10)
    caption = caption_text(e, columns, missing_caption)
    if caption:  # on the figure itself, so that it travels with the picture
        fig.supxlabel(caption, fontsize=8)
    return axes


def _draw_gradcam(fig, ax, e: Explanation, extent, alpha: float, cmap: str) -> None:
    """The Grad-CAM panel: the map over the onset face on its own [0, max] (it is a ReLU), with the warning
    that it has only S/16 cells on a side."""
    hi = float(e.gradcam.max())
    ax.imshow(e.onset, extent=extent)
    im = ax.imshow(e.gradcam, cmap=cmap, alpha=alpha, vmin=0.0, vmax=hi if hi > 0 else 1.0, extent=extent)
    ax.set_title(textwrap.fill(gradcam_title(e), width=30), fontsize=9)
    _colour_bar(fig, im, ax, 0.0, hi if hi > 0 else 1.0)


def _colour_bar(fig, im, ax, vmin: float, vmax: float) -> None:
    """A horizontal colour bar under ``ax`` with three ticks (more run together under a panel a quarter of the
    figure wide), the end labels kept inside the bar's width so that they take no room from the panels."""
    bar = fig.colorbar(im, ax=ax, orientation="horizontal", fraction=0.06, pad=0.02)
    ticks = np.linspace(vmin, vmax, 3)
    bar.set_ticks(ticks, labels=_distinct_labels(ticks))
    bar.ax.tick_params(labelsize=7)
    labels = bar.ax.get_xticklabels()
    labels[0].set_horizontalalignment("left")
    labels[-1].set_horizontalalignment("right")


def _distinct_labels(values) -> list[str]:
    """The fewest significant digits (3 at least) that tell the values apart: a narrow map range (0.06195 to
    0.06230) would otherwise print the same label three times."""
    for digits in range(3, 10):
        labels = [f"{v:.{digits}g}" for v in values]
        if len(set(labels)) == len(labels):
            return labels
    return labels
