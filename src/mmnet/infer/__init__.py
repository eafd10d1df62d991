"""The inference wing: classify new clips with a trained MMNet, draw its attention, export it.

* ``clips``: what a clip is (image pair, frame folder, streamed video) and how its onset and apex
  are chosen (apex spotting: ``mmnet.spotting``); ``clip_list``: requests for clips, a CSV list of them;
* ``predictor``: the checkpoint's preprocessing and the ``Predictor`` that classifies clips;
* ``explain``: attention figures in the style of the paper's Fig. 4;
* ``export``: ONNX export with the class names and preprocessing in its metadata.
"""

from .clip_list import ClipRequest, read_clip_list
from .clips import Clip, align_clip, load_clip
from .explain import Explanation, explain_clip, explain_pair, render_explanation
from .export import DEFAULT_OPSET, export_onnx, onnx_metadata, onnx_parity, read_onnx_metadata
from .predictor import Prediction, Predictor, Preprocessing

__all__ = [
    "Clip",
    "ClipRequest",
    "align_clip",
    "load_clip",
    "read_clip_list",
    "Explanation",
    "explain_clip",
    "explain_pair",
    "render_explanation",
    "DEFAULT_OPSET",
    "export_onnx",
    "onnx_metadata",
    "onnx_parity",
    "read_onnx_metadata",
    "Prediction",
    "Predictor",
    "Preprocessing",
]
