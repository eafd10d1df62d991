"""The module ``mmnet.export`` of mmnet 0.1.0 (ONNX export), kept for programs written against it: its names now live
in :mod:`mmnet.infer`. Importing it warns (DeprecationWarning) and forwards each name on first use. Removed in mmnet
0.3.0."""

from __future__ import annotations

from .lazy_names import lazy_name, warn_moved

warn_moved("mmnet.export", "mmnet.infer")

_HOME = {name: "infer" for name in (
    "DEFAULT_OPSET", "onnx_metadata", "export_onnx", "read_onnx_metadata", "onnx_parity")}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> object:
    return lazy_name("mmnet", _HOME, name)
