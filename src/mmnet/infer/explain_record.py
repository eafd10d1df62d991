"""What an attention figure records about itself: the method, the maps' native sizes and how they were
enlarged and coloured, the prediction, the software and (from ``mmnet explain``) the checkpoint.

The same record goes into the PNG as text entries (``PIL.Image.open(png).text``) and, with the maps at
their native size, into the ``.npz`` file of ``mmnet explain --save-maps``: a figure can be redrawn or
checked without guessing how it was made.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from ..utils import atomic_write_bytes
from ..version import __version__
from .gradcam import GRADCAM_NOTE

__all__ = ["ALPHA", "METHOD", "METHOD_SHORT", "NO_ATTENTION", "INTERPOLATION", "NOT_RECORDED", "figure_record",
           "png_text", "save_maps", "checkpoint_record"]

METHOD = ("continuous-attention (CA) maps of the motion (main) branch, stages 1-4: the network's internal "
          "spatial gates, computed before the classifier and so the same for every class; not an attribution "
          "of the predicted class, not tested for faithfulness; the onset-appearance (PC) branch, which also "
          "feeds the classifier, is not shown")
METHOD_SHORT = ("class-independent CA attention of the motion branch (internal gates: not an attribution, not "
                "tested for faithfulness); the onset-appearance (PC) branch is not shown")
INTERPOLATION = ("bilinear; input pixel y is sampled at map coordinate y / stride (map cell j is centred on "
                 "input pixel stride * j, as the stride-2 convolutions and poolings place it), edges clamped")
NO_ATTENTION = ("no continuous-attention (CA) maps: this model has no CA blocks; the figure shows its inputs and the "
                "class-specific Grad-CAM map (mmnet.gradcam)")
ALPHA = 0.6  # the maps' opacity over the onset face (render_explanation's default)
NOT_RECORDED = "What this model was trained on is not recorded (no caption was given)."


def figure_record(e, *, alpha: float, cmap: str, shared_scale: bool) -> dict[str, str]:
    """The record of one figure, as text: ``e`` is an :class:`mmnet.infer.explain.Explanation`."""
    stages = [{"stage": k, "native_size": list(m.shape), "stride": int(s),
               "range": [float(m.min()), float(m.max())]}
              for k, (m, s) in enumerate(zip(e.native, e.strides), start=1)]
    if e.padding_only:
        scale = "fixed 0-1 in grey (no motion: the maps show the zero padding only)"
    elif shared_scale:
        scale = "one scale for all maps, their joint [min, max]; a map with a negligible range on fixed 0-1"
    else:
        scale = "each map on its own [min, max]; a map with a negligible range on fixed 0-1"
    record = {
        # a model without CA blocks has no gates: the figure shows the inputs and Grad-CAM (``mmnet.gradcam``) only
        "mmnet.method": METHOD if e.attention else NO_ATTENTION,
        "mmnet.version": __version__,
        "mmnet.image_size": str(e.onset.shape[0]),
        "mmnet.stages": json.dumps(stages),
        "mmnet.interpolation": INTERPOLATION,
        "mmnet.normalisation": scale,
        "mmnet.colour_map": cmap,
        "mmnet.alpha": f"{alpha:g}",
        "mmnet.network": e.network,  # the MMNet variant drawn (an ablation is named)
        "mmnet.label": e.label,
        "mmnet.probabilities": json.dumps(e.probabilities),
        "mmnet.source": e.source,
        "mmnet.onset": "" if e.onset_frame is None else str(e.onset_frame),
        "mmnet.apex": "" if e.apex_frame is None else str(e.apex_frame),
        "mmnet.apex_spotted": str(bool(e.apex_spotted)).lower(),
        "mmnet.still": str(bool(e.still)).lower(),
        "mmnet.training": e.caption or NOT_RECORDED,
    }
    if not e.attention:  # no stage maps to scale
        del record["mmnet.normalisation"]
    if e.gradcam_native is not None:
        record["mmnet.gradcam"] = json.dumps({"method": GRADCAM_NOTE, "target_class": e.target_class,
                                              "native_size": list(e.gradcam_native.shape),
                                              "range": [float(e.gradcam_native.min()), float(e.gradcam_native.max())],
                                              "placement": e.gradcam_placement, "pc_offset_px": e.pc_offset,
                                              "shares": e.gradcam_shares, "deletion_check": e.deletion})
    record.update({f"mmnet.{k}": str(v) for k, v in e.provenance.items()})
    return record


def png_text(record: dict[str, str]) -> dict[str, str]:
    """``record`` with the PNG's standard keywords added (matplotlib's ``savefig(metadata=...)``)."""
    import matplotlib

    return {"Software": f"mmnet {__version__} (matplotlib {matplotlib.__version__})",
            "Description": record["mmnet.method"], **record}


def save_maps(e, path: str | Path, record: dict[str, str]) -> Path:
    """Write the maps at their native size (``stage1`` ... and ``gradcam``, float32; ``gradcam_motion`` and
    ``gradcam_pc``: its two branches' parts before the ReLU), the stage maps' ``strides`` (with stage maps only), the
    ``image_size`` and the record (``metadata``, a JSON string) to an ``.npz`` file; ``np.load(path)`` reads it back
    (no pickle)."""
    buf = io.BytesIO()
    arrays = {f"stage{k}": np.asarray(m, np.float32) for k, m in enumerate(e.native, start=1)}
    if e.gradcam_native is not None:
        arrays["gradcam"] = np.asarray(e.gradcam_native, np.float32)
        arrays.update({f"gradcam_{k}": np.asarray(m, np.float32) for k, m in e.gradcam_parts.items()})
    if e.native:  # the strides of the stage maps: none without CA blocks
        arrays["strides"] = np.asarray(e.strides, np.int64)
    np.savez(buf, **arrays, image_size=np.int64(e.onset.shape[0]), metadata=np.asarray(json.dumps(record)))
    out = Path(path)
    atomic_write_bytes(out, buf.getvalue())
    return out


def checkpoint_record(checkpoint: str | Path) -> dict[str, str]:
    """The checkpoint a figure was drawn with: its path and the SHA-256 of its weights file."""
    from ..model.checkpoint import weights_file
    from ..run_folder import weights_sha256

    weights = weights_file(checkpoint)
    return {"checkpoint": str(checkpoint), "checkpoint_sha256": weights_sha256(weights)}
