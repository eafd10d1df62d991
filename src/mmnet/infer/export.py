"""Export a trained MMNet to ONNX (optional extra ``onnx``: onnx, onnxruntime).

The ONNX graph takes ``onset`` and ``apex`` (B, 3, S, S) float32 tensors, already resized and
normalised (the same preprocessing as ``mmnet.infer.Predictor``), with a dynamic batch axis, and
returns ``logits`` (B, num_classes). Class names and preprocessing travel in the model's
``metadata_props`` (JSON strings), so a program needs only onnxruntime, numpy and an image
reader to use it (docs/inference.md shows one). So does the model's provenance: what it was trained
on and the licence note (from the model card beside the weights, else the checkpoint's own record),
or that neither is recorded.

torch 2.13's ``torch.onnx.export`` defaults to the torch.export-based ("dynamo") exporter, which
needs the ``onnxscript`` package; this module uses the TorchScript-based exporter
(``dynamo=False``), which needs only ``onnx`` and handles this static graph exactly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from .. import __version__
from ..errors import ConfigError, MMNetError, install_hint
from ..images import RESIZE_METHOD
from ..model import CheckpointInfo, MMNet
from ..model.checkpoint import weights_file
from ..utils import atomic_write_bytes
from .predictor import Preprocessing
from .provenance import LICENCE_NOT_RECORDED, dataset_name, model_card_beside, training_record

__all__ = ["DEFAULT_OPSET", "supported_opsets", "onnx_metadata", "provenance_metadata", "export_onnx",
           "read_onnx_metadata", "onnx_parity", "TRAINING_NOT_RECORDED"]

DEFAULT_OPSET = 17  # LayerNormalization is a native op from opset 17
# The motion stem's bilinear resize (upsample_bilinear2d) exports only from opset 11; tried down to 7.
MIN_OPSET = 11


def supported_opsets() -> tuple[int, int]:
    """(lowest, highest) ONNX opset this model exports at with the installed torch."""
    try:
        from torch.onnx._constants import ONNX_MAX_OPSET as highest
    except ImportError:  # a private module: a torch that moved it still exports the default
        highest = DEFAULT_OPSET
    return MIN_OPSET, max(int(highest), DEFAULT_OPSET)


def _check_opset(opset: int) -> None:
    lowest, highest = supported_opsets()
    if not lowest <= opset <= highest:
        raise ConfigError(f"--opset {opset} is not supported: this model exports at ONNX opset {lowest} to "
                          f"{highest} with torch {torch.__version__} (default {DEFAULT_OPSET}).")


def _check_exportable(model: MMNet) -> None:
    if model.config.pc_antialias:
        raise ConfigError(
            "this model cannot be exported to ONNX: its PC module resizes with antialiasing (pc_antialias: true, "
            "torchvision >= 0.17's resize, aten::_upsample_bilinear2d_aa), which torch.onnx cannot write at any "
            "opset. Use it in PyTorch instead (mmnet predict, mmnet serve, mmnet.infer.Predictor), or export a "
            "model with pc_antialias: false (mmnet convert without --pc-antialias, the paper-era resize).")


@contextlib.contextmanager
def _stdout_discarded():
    """Drop what is written on stdout, by Python or by C++ (file descriptor 1), inside the block.

    When an operator cannot be exported, torch.onnx's TorchScript exporter writes its whole graph
    (hundreds of lines) to C++ std::cout; the error raised says what failed in one line. The redirection
    is process-wide: other threads' output to stdout is dropped too while an export runs (seconds).
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
    """Positional (onset, second) -> logits: torch.onnx needs a plain positional forward."""

    def __init__(self, model: MMNet) -> None:
        super().__init__()
        self.model = model
        self.flow = model.config.main_input == "flow"

    def forward(self, onset: Tensor, second: Tensor) -> Tensor:
        if self.flow:
            return self.model(onset, flow=second)
        return self.model(onset, second)


def _input_names(model: MMNet) -> list[str]:
    return ["onset", "flow" if model.config.main_input == "flow" else "apex"]


#: ``training_data`` of an export whose checkpoint records nothing of its training.
TRAINING_NOT_RECORDED = ("not recorded: the checkpoint holds no record of its training data and no model card was "
                         "beside it (it may be untrained); check its origin and its training data's licence before "
                         "using or sharing this model.")
# What of a checkpoint's own training record an export carries (the subjects held out of a fold are left out).
_HEADER_KEYS = ("dataset", "scheme", "classes", "datasets", "samples", "epochs", "synthetic", "permuted_labels",
                "source")


def provenance_metadata(checkpoint: str | Path | None, info: CheckpointInfo | None = None) -> dict[str, str]:
    """What the model was trained on and its licence note, for ``metadata_props``: copied from the model card
    beside ``checkpoint``'s weights when it describes them (``model_card_beside``), else from the checkpoint's own
    record (``info.training``); without either, ``training_data`` says it is not recorded."""
    from ..run_folder import MODEL_CARD_JSON, file_sha256

    given = None if checkpoint is None else Path(checkpoint)
    weights = None if given is None else weights_file(given)
    card = model_card_beside(given) if given is not None else None
    if card is not None:
        t = card.get("training") or {}
        data = {"dataset": t.get("dataset"), "datasets": t.get("datasets"), "samples": t.get("samples"),
                "subjects": t.get("subjects"), "epochs": t.get("epochs"), "synthetic": card.get("synthetic_data"),
                "scheme": (card.get("classes") or {}).get("scheme"), "recorded_in": "model card"}
        return {"training_data": json.dumps(data), "licence": str(card.get("licence") or LICENCE_NOT_RECORDED),
                "weights_sha256": str((card.get("weights") or {}).get("sha256")),
                "model_card_sha256": file_sha256(weights.parent / MODEL_CARD_JSON),
                "intended_use": str(card.get("intended_use")), "limits": str(card.get("limits"))}
    training = (info.training if info is not None else None) or {}
    out = {"training_data": TRAINING_NOT_RECORDED, "licence": LICENCE_NOT_RECORDED}
    if training:
        data = {k: training[k] for k in _HEADER_KEYS if k in training}
        out = {"training_data": json.dumps({**data, "recorded_in": "checkpoint"}),
               "licence": str(training.get("licence") or LICENCE_NOT_RECORDED)}
    elif given is not None and (run := training_record(given)):  # an earlier mmnet's model in its run folder
        data = {k: run[k] for k in ("dataset", "epochs", "synthetic", "permuted_labels", "recorded_in", "run")
                if k in run}
        out["training_data"] = json.dumps(data)
    if weights is not None and weights.is_file():  # the weights exported, for whoever traces them
        out["weights_sha256"] = file_sha256(weights)
    return out


def _doc_string(provenance: dict[str, str]) -> str:
    """The file's description: the paper, and a line of what it was trained on (details in the metadata)."""
    head = "MMNet micro-expression classifier (Li et al., IJCAI 2022); inputs normalised, see metadata"
    if provenance["training_data"] == TRAINING_NOT_RECORDED:
        return f"{head}. Training data not recorded: see metadata 'training_data'."
    data = json.loads(provenance["training_data"])
    dataset = data.get("dataset")
    named = dataset_name(dataset) if isinstance(dataset, str) else "data not stated"
    synthetic = " (mmnet's synthetic faces: meaningless on real faces)" if data.get("synthetic") else ""
    return f"{head}. Trained on {named}{synthetic}; licence note in metadata 'licence'."


def onnx_metadata(model: MMNet, info: CheckpointInfo | None = None,
                  checkpoint: str | Path | None = None) -> dict[str, str]:
    """The ``metadata_props`` written into the ONNX file (every value a string); ``checkpoint``, the folder or
    file the model was loaded from, is where its model card is looked for (``provenance_metadata``)."""
    info = info or CheckpointInfo()
    n = model.config.num_classes
    names = list(info.class_names) if info.class_names else [f"class_{i}" for i in range(n)]
    prep = Preprocessing.from_checkpoint(model, info).to_dict()
    prep.update({"resize": RESIZE_METHOD, "scale": "1/255", "channels": "RGB", "layout": "NCHW"})
    return {
        "mmnet_version": __version__,
        "class_names": json.dumps(names),
        "preprocessing": json.dumps(prep),
        "model_config": json.dumps(dataclasses.asdict(model.config)),
        "inputs": json.dumps(_input_names(model)),
        **provenance_metadata(checkpoint, info),
    }


def export_onnx(model: MMNet, path: str | Path, info: CheckpointInfo | None = None, *,
                opset: int = DEFAULT_OPSET, checkpoint: str | Path | None = None) -> Path:
    """Write ``model`` as an ONNX file with a dynamic batch axis and mmnet metadata (``onnx_metadata``:
    give ``checkpoint``, where the model was loaded from, for its model card's provenance).

    Raises:
        ConfigError: ``opset`` is outside :func:`supported_opsets`, or the model has an operator that
            ONNX cannot express (``pc_antialias=True``).
        MMNetError: the ``onnx`` package is missing, or torch.onnx could not export at ``opset``.
    """
    _check_opset(opset)
    _check_exportable(model)
    try:
        import onnx
    except ImportError:
        raise MMNetError(f"ONNX export needs the onnx package: {install_hint('onnx')}") from None
    out = Path(path)
    if out.is_dir():  # found before the export, not at its last step
        raise MMNetError(f"'{out}' is a folder; give the ONNX file's name, e.g. '{out / 'model.onnx'}'.")
    was_training = model.training
    wrapper = _OnsetApex(model).eval()  # eval() on the wrapper: export restores *its* mode afterwards
    size = model.config.image_size
    example = (torch.zeros(1, 3, size, size), torch.zeros(1, 3, size, size))
    names = _input_names(model)
    exported = io.BytesIO()  # a small model: built in memory, written (with its folder) only once complete
    try:
        with warnings.catch_warnings():
            # The TorchScript exporter is deprecated in favour of dynamo (see module docstring), and
            # the tracer warns on the model's input-size check, which is constant for a fixed size.
            warnings.simplefilter("ignore", category=DeprecationWarning)
            warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
            # Above opset 20 it warns that it has no newer operators: this graph needs none (the
            # file is checked by onnx and, in `mmnet export`, against PyTorch's logits).
            warnings.filterwarnings("ignore", message="Exporting to ONNX opset version", category=UserWarning)
            try:
                with _stdout_discarded():
                    torch.onnx.export(
                        wrapper, example, exported, dynamo=False, opset_version=opset,
                        input_names=names, output_names=["logits"],
                        dynamic_axes={names[0]: {0: "batch"}, names[1]: {0: "batch"}, "logits": {0: "batch"}},
                    )
            except (RuntimeError, TypeError, ValueError) as err:  # torch.onnx raises these for ops it cannot map
                first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                advice = (f"try the default opset {DEFAULT_OPSET}" if opset != DEFAULT_OPSET
                          else "please report this with the checkpoint's config.json")
                raise MMNetError(f"torch.onnx could not export this model at opset {opset} ({first_line}); "
                                 f"{advice}.") from err
        proto = onnx.load_model_from_string(exported.getvalue())
        meta = onnx_metadata(model, info, checkpoint)
        for key, value in meta.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        proto.doc_string = _doc_string(meta)
        onnx.checker.check_model(proto)
    finally:
        model.train(was_training)
    atomic_write_bytes(out, proto.SerializeToString())
    return out


def read_onnx_metadata(path: str | Path) -> dict:
    """``metadata_props`` of an exported file, JSON values decoded."""
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    meta = {}
    for entry in proto.metadata_props:
        try:
            meta[entry.key] = json.loads(entry.value)
        except json.JSONDecodeError:
            meta[entry.key] = entry.value
    return meta


def onnx_parity(model: MMNet, path: str | Path, *, batch_size: int = 2, seed: int = 0) -> float:
    """Largest |logit difference| between onnxruntime and PyTorch on random normalised inputs.

    Raises:
        MMNetError: onnxruntime is missing.
    """
    try:
        import onnxruntime as ort
    except ImportError:
        raise MMNetError(f"Checking the ONNX export needs onnxruntime: {install_hint('onnx')}") from None
    size = model.config.image_size
    g = torch.Generator().manual_seed(seed)
    onset = torch.randn(batch_size, 3, size, size, generator=g)
    second = onset + 0.3 * torch.randn(batch_size, 3, size, size, generator=g)  # motion of a plausible scale
    was_training = model.training
    wrapper = _OnsetApex(model).eval()
    with torch.inference_mode():
        expected = wrapper(onset, second).numpy()
    model.train(was_training)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    got = session.run(["logits"], dict(zip(names, [onset.numpy(), second.numpy()])))[0]
    return float(np.abs(got - expected).max())
