"""Export a trained MMNet to ONNX (optional extra ``onnx``: onnx, onnxruntime).

The ONNX graph takes ``onset`` and ``apex`` (or ``flow``) (B, 3, S, S) float32 tensors, already resized and
normalised (the same preprocessing as ``mmnet.infer.Predictor``), with a dynamic batch axis, and
returns ``logits`` (B, num_classes). Class names and preprocessing travel in the model's
``metadata_props`` (JSON strings, ``mmnet.infer.onnx_metadata``), so a program needs only onnxruntime,
numpy and an image reader to use it (docs/inference.md shows one). So does the model's provenance: what
it was trained on and the licence note (from the model card beside the weights, else the checkpoint's own
record), or that neither is recorded.

torch.onnx has two exporters (``mmnet.infer.onnx_exporters``): the torch.export-based ("dynamo") one, used when
``onnxscript`` is installed, and the deprecated TorchScript-based one (``dynamo=False``), which needs only ``onnx``
and is the one that writes opsets below 18. The file's metadata ``exporter`` says which wrote it.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from ..errors import ConfigError, MMNetError, install_hint
from ..model import CheckpointInfo, MMNet
from ..utils import atomic_write_bytes
from .onnx_exporters import DEFAULT_OPSET, EXPORTERS, MIN_OPSETS, dynamo_available, pick_exporter, run_exporter
from .onnx_metadata import (
    TRAINING_NOT_RECORDED,
    doc_string,
    input_names,
    onnx_metadata,
    provenance_metadata,
    read_onnx_metadata,
)

__all__ = ["DEFAULT_OPSET", "EXPORTERS", "supported_opsets", "check_opset", "onnx_metadata", "provenance_metadata",
           "export_onnx", "read_onnx_metadata", "onnx_parity", "TRAINING_NOT_RECORDED"]

MIN_OPSET = MIN_OPSETS["torchscript"]  # the lowest of either exporter


# The first onnx release whose checker (and onnx.defs) knows each opset above 20 (onnx 1.15, the floor, stops at 20).
_ONNX_FOR_OPSET = {21: "1.16", 22: "1.17", 23: "1.18"}


def _torch_max_opset() -> int:
    try:
        from torch.onnx._constants import ONNX_MAX_OPSET as highest
    except ImportError:  # a private module: a torch that moved it still exports the default
        highest = DEFAULT_OPSET
    return max(int(highest), DEFAULT_OPSET)


def supported_opsets(exporter: str | None = None) -> tuple[int, int]:
    """(lowest, highest) ONNX opset this model exports at with the installed torch and onnx (the file is checked by
    onnx's checker, which refuses an opset newer than its own), by ``exporter`` (None or ``auto``: either)."""
    lowest = MIN_OPSETS.get(exporter or "auto", MIN_OPSET)
    highest = _torch_max_opset()
    with contextlib.suppress(ImportError):  # without onnx, export_onnx says to install it
        import onnx.defs

        highest = min(highest, max(int(onnx.defs.onnx_opset_version()), DEFAULT_OPSET))
    return lowest, highest


def _onnx_version() -> str:
    try:
        import onnx
    except ImportError:
        return "not installed"
    return onnx.__version__


def _newer_onnx(opset: int) -> str:
    """What to install for onnx to check ``opset``."""
    version = _ONNX_FOR_OPSET.get(opset)
    return f"pip install 'onnx>={version}'" if version else "pip install -U onnx"


def check_opset(opset: int, exporter: str | None = None) -> str:
    """ConfigError unless ``opset`` is within :func:`supported_opsets` for ``exporter`` (`mmnet export` asks before
    loading a model); returns the exporter that will write it (``onnx_exporters.pick_exporter``)."""
    lowest, highest = supported_opsets(exporter)
    if not lowest <= opset <= highest:
        newer = highest < opset <= _torch_max_opset()  # torch writes it, this onnx cannot check it
        hint = f" Opset {opset} needs a newer onnx: {_newer_onnx(opset)}." if newer else ""
        which = f"the {exporter} exporter" if exporter in MIN_OPSETS else "torch.onnx"
        older = (f" Opsets {MIN_OPSETS['torchscript']} to {lowest - 1}: --exporter torchscript."
                 if opset < lowest and exporter == "dynamo" else "")
        raise ConfigError(f"--opset {opset} is not supported: {which} exports this model at ONNX opset {lowest} to "
                          f"{highest} with torch {torch.__version__} and onnx {_onnx_version()} (default "
                          f"{DEFAULT_OPSET}).{hint}{older}")
    return pick_exporter(exporter, opset)


def _check_exportable(model: MMNet, exporter: str, opset: int) -> None:
    """ConfigError for a model that ``exporter`` cannot write. An antialiased PC resize (``pc_antialias``, torchvision
    >= 0.17's, aten::_upsample_bilinear2d_aa) has an ONNX form, Resize with antialias=1 (opset 18), which only the
    dynamo exporter writes: its onnxruntime logits match PyTorch's to ~5e-6 at 224 px (docs/inference.md)."""
    if not model.config.pc_antialias or exporter == "dynamo":
        return
    if not dynamo_available():
        how = f"install onnxscript ({install_hint('onnx')}), then use --exporter dynamo (or auto)"
    elif opset < MIN_OPSETS["dynamo"]:
        how = f"use --opset {MIN_OPSETS['dynamo']} or newer with --exporter dynamo (or auto)"
    else:
        how = "use --exporter dynamo (or auto, the default), not torchscript"
    raise ConfigError(
        "the torchscript exporter cannot write this model: its PC module resizes with antialiasing (pc_antialias: "
        "true, torchvision >= 0.17's resize, aten::_upsample_bilinear2d_aa), which only the dynamo exporter writes "
        f"(ONNX Resize with antialias, opset {MIN_OPSETS['dynamo']} and newer). To export it: {how}. Or use it in "
        "PyTorch (mmnet predict, mmnet serve, mmnet.infer.Predictor).")


@contextlib.contextmanager
def _stdout_discarded():
    """Drop what is written on stdout, by Python or by C++ (file descriptor 1), inside the block.

    When an operator cannot be exported, torch.onnx's TorchScript exporter writes its whole graph
    (hundreds of lines) to C++ std::cout; the error raised says what failed in one line. The redirection
    is process-wide: other threads' output to stdout is dropped too while an export runs (seconds), so
    only ``export_onnx(quiet=True)`` (``mmnet export``, a process of its own) asks for it.
    """
    if sys.stdout is not None:  # None under pythonw or a service without a console
        sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no standard output to protect
        with contextlib.redirect_stdout(io.StringIO()):
            yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        _flush_c_stdout()  # C stdio buffers what std::cout wrote; flushed now, it goes to devnull
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def _flush_c_stdout() -> None:
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError, TypeError):  # no C library to load by that name (Windows)
        pass


class _OnsetApex(nn.Module):
    """Positional (onset, second) -> logits: torch.onnx needs a plain positional forward.

    ``guard`` (the export): the two inputs go through one Concat, which onnxruntime refuses unless their batch
    sizes are equal. The model's own check is a Python condition the tracer turns into a constant, and the
    graph would broadcast a batch of 1 against a batch of 3 (PyTorch refuses it). A copy of the inputs: cheap.
    """

    def __init__(self, model: MMNet, guard: bool = False) -> None:
        super().__init__()
        self.model = model
        self.flow = model.config.main_input == "flow"
        self.guard = guard

    def forward(self, onset: Tensor, second: Tensor) -> Tensor:
        if self.guard:
            onset, second = torch.cat([onset, second], dim=1).split(onset.shape[1], dim=1)
        if self.flow:
            return self.model(onset, flow=second)
        return self.model(onset, second)


def _float32_cpu(model: MMNet) -> MMNet:
    """``model`` itself when its weights are float32 on the CPU, else a float32 CPU copy (the caller's model is
    left as it is): the export traces with float32 CPU inputs, and ONNX files of mmnet are float32."""
    tensors = [*model.parameters(), *model.buffers()]
    if all(t.device.type == "cpu" and (t.dtype == torch.float32 or not t.is_floating_point()) for t in tensors):
        return model
    copy = MMNet(config=model.config)
    copy.load_state_dict({k: v.detach().to("cpu", torch.float32) if v.is_floating_point() else v.detach().cpu()
                          for k, v in model.state_dict().items()})
    return copy.eval()


def export_onnx(model: MMNet, path: str | Path, info: CheckpointInfo | None = None, *,
                opset: int = DEFAULT_OPSET, checkpoint: str | Path | None = None, quiet: bool = False,
                check: Callable[[Path], None] | None = None, exporter: str | None = None) -> Path:
    """Write ``model`` as an ONNX file with a dynamic batch axis and mmnet metadata (``onnx_metadata``:
    give ``checkpoint``, where the model was loaded from, for its model card's provenance).

    ``exporter``: ``dynamo``, ``torchscript`` or None (``auto``: dynamo when onnxscript is installed and
    ``opset`` >= 18, see ``mmnet.infer.onnx_exporters``); the metadata ``exporter`` records the one used.

    A model in bfloat16, float16 or float64, or on a GPU, is exported from a float32 CPU copy (``model`` is not
    changed). ``check(temporary)``, when given, runs on the written file before it replaces ``path``: when it
    raises, the temporary is removed and a file already at ``path`` stays as it was. ``quiet=True`` drops what
    torch.onnx prints on standard output (its graph, when an operator cannot be exported) by redirecting file
    descriptor 1 for the whole process while the export runs: other threads' output is lost meanwhile, so a
    program that prints from other threads should leave it False.

    Raises:
        ConfigError: ``opset`` is outside :func:`supported_opsets`, or the model has an operator that
            ``exporter`` cannot write (``pc_antialias=True``: the dynamo exporter only).
        MMNetError: the ``onnx`` package (or, for ``exporter="dynamo"``, onnxscript) is missing, torch.onnx could
            not export at ``opset``, or onnx's checker refused the file.
    """
    used = check_opset(opset, exporter)
    _check_exportable(model, used, opset)
    try:
        import onnx
    except ImportError:
        raise MMNetError(f"ONNX export needs the onnx package: {install_hint('onnx')}") from None
    out = Path(path)
    if out.is_dir():  # found before the export, not at its last step
        raise MMNetError(f"'{out}' is a folder; give the ONNX file's name, e.g. '{out / 'model.onnx'}'.")
    net = _float32_cpu(model)
    was_training = net.training
    wrapper = _OnsetApex(net, guard=True).eval()  # eval() on the wrapper: export restores *its* mode afterwards
    names = input_names(model)
    try:
        try:  # a small model: built in memory, written (with its folder) only once complete
            with _stdout_discarded() if quiet else contextlib.nullcontext():
                exported = run_exporter(used, wrapper, model.config.image_size, names, opset)
        except (RuntimeError, TypeError, ValueError) as err:  # torch.onnx raises these for ops it cannot map
            first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            advice = [f"try the default opset {DEFAULT_OPSET}"] if opset != DEFAULT_OPSET else []
            if used == "dynamo":
                advice.append("try --exporter torchscript (exporter='torchscript')")
            advice = " or ".join(advice) or "please report this with the checkpoint's config.json"
            raise MMNetError(f"torch.onnx ({used} exporter) could not export this model at opset {opset} "
                             f"({first_line}); {advice}.") from err
        proto = onnx.load_model_from_string(exported)
        meta = {**onnx_metadata(model, info, checkpoint), "exporter": used}
        for key, value in meta.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        proto.doc_string = doc_string(meta)
        try:
            onnx.checker.check_model(proto)
        except onnx.checker.ValidationError as err:  # e.g. an IR version newer than this onnx's checker
            first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            other = f" or export at the default --opset {DEFAULT_OPSET}" if opset != DEFAULT_OPSET else ""
            raise MMNetError(f"onnx {onnx.__version__} cannot check the model exported at opset {opset} "
                             f"({first_line}); install a newer onnx ({_newer_onnx(opset)}){other}.") from err
    finally:
        net.train(was_training)
    atomic_write_bytes(out, proto.SerializeToString(), check)
    return out


def onnx_parity(model: MMNet, path: str | Path, *, batch_size: int = 2, seed: int = 0) -> float:
    """Largest |logit difference| between onnxruntime and PyTorch on random normalised inputs. A model that is
    not float32 on the CPU is compared through its float32 CPU copy, the one ``export_onnx`` exports.

    Raises:
        MMNetError: onnxruntime is missing.
    """
    ort = _onnxruntime()
    size = model.config.image_size
    g = torch.Generator().manual_seed(seed)
    onset = torch.randn(batch_size, 3, size, size, generator=g)
    second = onset + 0.3 * torch.randn(batch_size, 3, size, size, generator=g)  # motion of a plausible scale
    net = _float32_cpu(model)
    was_training = net.training
    wrapper = _OnsetApex(net).eval()
    with torch.inference_mode():
        expected = wrapper(onset, second).numpy()
    net.train(was_training)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    got = session.run(["logits"], dict(zip(names, [onset.numpy(), second.numpy()])))[0]
    return float(np.abs(got - expected).max())


# onnxruntime's import writes a persistent device id and a queued telemetry event (device, OS, CPU, Python
# path) under ~/.cache/Microsoft/DeveloperTools unless this is set before it; a user's explicit value stands.
ORT_TELEMETRY_VARIABLE = "ORT_DISABLE_TELEMETRY"


def _onnxruntime():
    os.environ.setdefault(ORT_TELEMETRY_VARIABLE, "1")
    try:
        import onnxruntime
    except ImportError:
        raise MMNetError(f"Checking the ONNX export needs onnxruntime: {install_hint('onnx')}") from None
    return onnxruntime
