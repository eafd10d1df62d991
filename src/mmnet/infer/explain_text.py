"""The words of an attention figure (:mod:`mmnet.infer.explain`): its row headings, panel titles and caption,
worded for the MMNet variant drawn (a model whose main branch reads the apex frame has no motion branch, and one
without CA blocks no attention maps)."""

from __future__ import annotations

import textwrap

import numpy as np

from .attribution import gradcam_heading
from .explain_record import METHOD_SHORT
from .predictor import ZERO_MOTION

__all__ = ["inputs_heading", "gates_heading", "main_input_title", "panel_titles", "caption_text", "title_text",
           "gradcam_title", "gate_title", "flat_map", "figure_text"]


def inputs_heading(e, columns: int) -> str:
    """The heading of the top row: the inputs and Grad-CAM's class, shares and deletion check, wrapped."""
    return textwrap.fill(gradcam_heading(e), width=max(60, 30 * columns)) if e.gradcam is not None else "inputs"


def gates_heading(e, shared_scale: bool, columns: int) -> str:
    """The heading of the attention row: what its maps are (internal gates, not an attribution) and their scale;
    for a model without CA blocks, that it has none to draw."""
    if not e.attention:
        text = (f"no attention maps: this model ({e.network}) has no CA blocks, so it has no gates to draw; "
                "the Grad-CAM map above is computed without them")
    else:
        scale = "one scale for all maps" if shared_scale else "each map on its own range"
        method = METHOD_SHORT
        if e.main_input == "apex":  # its main branch reads the apex frame: there is no motion branch
            method = method.replace("the motion branch", "the main branch (it reads the apex frame, not motion)")
        text = f"stages 1-{len(e.attention)}: {method}; {scale}"
    return textwrap.fill(text, width=max(60, 30 * columns))


def main_input_title(e) -> str:
    """The third input panel's title: what the main branch reads (the amplified difference, or the apex frame)."""
    return "main input: the apex frame (no difference)" if e.main_input == "apex" else "|apex - onset|, amplified"


def panel_titles(e) -> tuple[str, str]:
    """The onset and apex panels' titles: the file names of an image pair, else the frame numbers,
    the apex marked when it was spotted (as `mmnet predict` marks it with *)."""
    if e.frame_names:
        return tuple(textwrap.fill(f"{what}: {name}", width=30) for what, name in zip(("onset", "apex"), e.frame_names))
    onset = "onset" if e.onset_frame is None else f"onset (frame {e.onset_frame})"
    apex = "apex" if e.apex_frame is None else f"apex (frame {e.apex_frame}{', spotted' if e.apex_spotted else ''})"
    return onset, apex


def title_text(e) -> str:
    """The figure's title: the source, the prediction, and the variant when it is not MMNet itself."""
    p = e.probabilities[e.label]
    variant = f" by {e.network}" if e.network != "MMNet" else ""
    return f"{e.source + ': ' if e.source else ''}predicted {e.label} (score {p:.2f}){variant}"


def caption_text(e, columns: int, missing: str = "") -> str:
    """The text under the panels, wrapped: a zero-motion warning first (the figure of identical frames
    looks like any other), then ``e.caption`` (``missing`` when it is empty)."""
    text = " ".join(part for part in (f"Warning: {ZERO_MOTION}." if e.still else "", e.caption or missing) if part)
    return textwrap.fill(text, width=max(60, 32 * columns))


def gradcam_title(e) -> str:
    """The Grad-CAM panel's title: its class, and that it has only S/16 cells on a side."""
    cells = e.gradcam_native.shape
    return f"Grad-CAM, {e.target_class}: only {cells[0]}x{cells[1]} cells"


def gate_title(e, k: int, attn: np.ndarray) -> str:
    """Stage ``k``'s attention panel's title: its map's own range (what its colours span), or why it is drawn on
    the fixed 0-1 range of a CA map (no motion, or a flat map)."""
    if e.padding_only or flat_map(attn):
        return f"stage {k}: {'no motion' if e.padding_only else 'flat'}, fixed 0-1"
    return f"stage {k}: {float(attn.min()):.3g}-{float(attn.max()):.3g}"


def flat_map(attn: np.ndarray) -> bool:
    """The map's range is negligible beside its mean (below 0.1 %): stretched to the full colour range it
    would show rounding and edge effects, not structure."""
    lo, hi = float(attn.min()), float(attn.max())
    return hi - lo <= 1e-3 * max(abs(float(attn.mean())), 1e-12)


def figure_text(e) -> dict:
    """The figure's words and numbers that are otherwise pixels only, for a text alternative (the server's
    ``figure_text``): the Grad-CAM row's ``heading`` (unwrapped), the branches' ``gradcam_shares``, the panels'
    ``titles`` (Grad-CAM's, then each stage's), the attention row's ``gates_heading`` and each map's
    ``gate_ranges`` ([min, max])."""
    return {"heading": gradcam_heading(e) if e.gradcam is not None else None,
            "gradcam_shares": e.gradcam_shares,
            "gradcam_cells": list(e.gradcam_native.shape) if e.gradcam is not None else None,
            "titles": ([gradcam_title(e)] if e.gradcam is not None else [])
            + [gate_title(e, k, a) for k, a in enumerate(e.attention, start=1)],
            "gates_heading": " ".join(gates_heading(e, False, 1).split()),
            "gate_ranges": [[float(a.min()), float(a.max())] for a in e.attention]}
