"""The inference wing: classify new clips with a trained MMNet, draw its attention, export it.

* ``clips``: what a clip is (image pair, frame folder, streamed video) and how its onset and apex
  are chosen (apex spotting: ``mmnet.spotting``); ``clip_list``: requests for clips, a CSV list of them;
* ``predictor``: the checkpoint's preprocessing and the ``Predictor`` that classifies clips;
* ``explain``: attention figures in the style of the paper's Fig. 4;
* ``export``: ONNX export with the class names and preprocessing in its metadata.
"""

from typing import TYPE_CHECKING

from ..lazy_names import lazy_name as _lazy_name

if TYPE_CHECKING:  # type checkers and IDEs see the public names; at run time they load lazily (below)
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

# the submodule of each public name: predictor, explain and export import torch (about 1.5 s), clips and
# clip_list do not, so `mmnet predict` refuses a missing clip before torch loads
_HOME = {
    "ClipRequest": "clip_list", "read_clip_list": "clip_list",
    "Clip": "clips", "align_clip": "clips", "load_clip": "clips",
    "Explanation": "explain", "explain_clip": "explain", "explain_pair": "explain", "render_explanation": "explain",
    "DEFAULT_OPSET": "export", "export_onnx": "export", "onnx_metadata": "export", "onnx_parity": "export",
    "read_onnx_metadata": "export",
    "Prediction": "predictor", "Predictor": "predictor", "Preprocessing": "predictor",
}

if not TYPE_CHECKING:  # hidden from type checkers: a module __getattr__ would make them accept any name

    def __getattr__(name: str) -> object:
        return _lazy_name(__name__, _HOME, name)


def __dir__() -> list[str]:
    # the lazy names are part of the package's API: listed (tab completion, dir())
    return sorted(set(globals()) | set(__all__))
