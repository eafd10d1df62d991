"""The two torch.onnx exporters ``mmnet.infer.export`` can use, and which one it picks.

* ``dynamo``: the torch.export-based exporter, torch's default since 2.9; needs the ``onnxscript`` package (in the
  ``onnx`` extra). Its operators start at opset 18: asked for an older opset it writes opset 18 anyway, so it is
  only used from opset 18.
* ``torchscript``: the legacy tracing exporter (``dynamo=False``), which needs only ``onnx``. torch 2.13 deprecates
  it ("The feature will be removed"); it is the one that writes opsets 11 to 17, and the fallback without
  onnxscript.

``auto`` (the default) is ``dynamo`` when onnxscript is importable, torch is 2.9 or newer and the opset is 18 or
newer, else ``torchscript``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import warnings

import torch
from torch import nn

from ..errors import ConfigError, MMNetError, install_hint

__all__ = ["EXPORTERS", "DEFAULT_OPSET", "MIN_OPSETS", "dynamo_available", "pick_exporter", "run_exporter"]

EXPORTERS = ("auto", "dynamo", "torchscript")
# Both exporters write opset 18 (onnxruntime >= 1.14 runs it); LayerNormalization is a native op from opset 17.
DEFAULT_OPSET = 18
# torchscript: the motion stem's bilinear resize (upsample_bilinear2d) exports only from opset 11 (tried down to 7).
# dynamo: onnxscript's operators start at 18; below it the file kept opset 18 whatever was asked.
MIN_OPSETS = {"dynamo": 18, "torchscript": 11}

# What the legacy exporter says of itself (torch 2.9+); only these are silenced, any other DeprecationWarning shows.
_LEGACY_NOTICES = (r"You are using the legacy TorchScript-based ONNX export",
                   r"The feature will be removed\. Please remove usage of this function")
# Loggers of the dynamo exporter that report what it skips (torchvision's operators, absent here) on every export.
_DYNAMO_LOGGERS = ("torch.onnx._internal.exporter._registration", "torch.onnx._internal.exporter._compat")


def _torch_at_least(major: int, minor: int) -> bool:
    try:
        return tuple(int(p) for p in torch.__version__.split("+")[0].split(".")[:2]) >= (major, minor)
    except ValueError:  # a development version string: assume a current torch
        return True


def dynamo_available() -> bool:
    """Whether the dynamo exporter can run here: onnxscript importable."""
    try:
        return importlib.util.find_spec("onnxscript") is not None
    except (ImportError, ValueError):  # sys.modules["onnxscript"] = None, or a broken install
        return False


def pick_exporter(requested: str | None, opset: int) -> str:
    """``dynamo`` or ``torchscript`` for ``requested`` (None or ``auto``: see the module docstring) at ``opset``.

    Raises:
        ConfigError: an unknown exporter, or ``dynamo`` at an opset below 18.
        MMNetError: ``dynamo`` asked for without onnxscript.
    """
    requested = requested or "auto"
    if requested not in EXPORTERS:
        raise ConfigError(f"unknown ONNX exporter {requested!r}: choose one of {', '.join(EXPORTERS)}.")
    if requested == "auto":
        usable = dynamo_available() and _torch_at_least(2, 9) and opset >= MIN_OPSETS["dynamo"]
        return "dynamo" if usable else "torchscript"
    if requested == "dynamo":
        if opset < MIN_OPSETS["dynamo"]:
            raise ConfigError(f"the dynamo exporter writes ONNX opset {MIN_OPSETS['dynamo']} and newer, not "
                              f"{opset}: use --exporter torchscript (opsets {MIN_OPSETS['torchscript']} to 17) or "
                              f"--opset {MIN_OPSETS['dynamo']}.")
        if not dynamo_available():
            raise MMNetError(f"the dynamo exporter needs the onnxscript package: {install_hint('onnx')}; or use "
                             "--exporter torchscript.")
    return requested


def run_exporter(exporter: str, wrapper: nn.Module, size: int, names: list[str], opset: int) -> bytes:
    """The ONNX file (bytes) of ``wrapper`` (positional onset, second -> logits) at ``opset``, batch axis free."""
    with warnings.catch_warnings():
        for notice in _LEGACY_NOTICES:
            warnings.filterwarnings("ignore", message=notice, category=DeprecationWarning)
        # The tracer warns on the model's input-size check, which is constant for a fixed image size.
        warnings.filterwarnings("ignore", message="Converting a tensor to a Python", category=torch.jit.TracerWarning)
        # Above opset 20 the TorchScript exporter warns that it has no newer operators: this graph needs none (the
        # file is checked by onnx and, in `mmnet export`, against PyTorch's logits).
        warnings.filterwarnings("ignore", message="Exporting to ONNX opset version", category=UserWarning)
        # torch.export's own use of a pytree API it deprecates (torch 2.13), nothing mmnet calls
        warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated",
                                category=FutureWarning)
        # The two inputs share one batch Dim, so torch names it once: the file's axis is "batch" all the same.
        warnings.filterwarnings("ignore", message=r"# The axis name: \w+ will not be used, since it shares",
                                category=UserWarning)
        if exporter == "dynamo":
            with _loggers_quiet(_DYNAMO_LOGGERS):
                return _dynamo(wrapper, size, names, opset)
        return _torchscript(wrapper, size, names, opset)


def _torchscript(wrapper: nn.Module, size: int, names: list[str], opset: int) -> bytes:
    example = (torch.zeros(1, 3, size, size), torch.zeros(1, 3, size, size))
    exported = io.BytesIO()
    torch.onnx.export(wrapper, example, exported, dynamo=False, opset_version=opset,
                      input_names=names, output_names=["logits"],
                      dynamic_axes={names[0]: {0: "batch"}, names[1]: {0: "batch"}, "logits": {0: "batch"}})
    return exported.getvalue()


def _dynamo(wrapper: nn.Module, size: int, names: list[str], opset: int) -> bytes:
    # An example batch of 2: torch.export specialises a batch of 1 to a constant and torch.onnx then retries
    # with other strategies (3x slower). One Dim for both inputs: their batch sizes must be equal.
    example = (torch.zeros(2, 3, size, size), torch.zeros(2, 3, size, size))
    batch = torch.export.Dim("batch")
    program = torch.onnx.export(wrapper, example, dynamo=True, opset_version=opset, input_names=names,
                                output_names=["logits"], dynamic_shapes=({0: batch}, {0: batch}), verbose=False)
    return program.model_proto.SerializeToString()


@contextlib.contextmanager
def _loggers_quiet(names: tuple[str, ...]):
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)
