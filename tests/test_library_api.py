"""The library as docs/inference.md shows it to a program that embeds mmnet: the documented call forms run (and are
typed to be accepted: text paths, numpy frame numbers, batches, PIL images and tensors), a missing GPU given as a
torch.device is the documented ConfigError, and an exported ONNX model given as a checkpoint is named as one."""

import ast
import importlib
import inspect
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

import mmnet
from mmnet.cli import main
from mmnet.errors import CheckpointError, ConfigError
from mmnet.infer import ClipRequest, Predictor, align_clip, explain_clip, explain_pair, load_clip
from tests.test_inference import make_checkpoint
from tests.test_spotting import synthetic_clip

MAKE_CHECKPOINT = make_checkpoint  # the model conftest's checkpoint and predictor fixtures make in this module


def test_a_clip_request_keeps_text_paths_as_paths(predictor, clip_folder):
    request = ClipRequest(str(clip_folder), onset=np.int64(104), apex=np.int32(108))
    assert request.source == clip_folder and isinstance(request.source, Path) and request.apex_image is None
    pair = ClipRequest("onset.png", "apex.png")
    assert (pair.source, pair.apex_image) == (Path("onset.png"), Path("apex.png"))
    (pred,) = predictor.predict_clips([request])
    assert (pred.source, pred.onset, pred.apex) == (str(clip_folder), 104, 108) and type(pred.onset) is int


def test_predict_frames_takes_arrays_batches_pil_images_and_tensors(predictor):
    frames = synthetic_clip(8, 5, noise=0.0)
    onsets, apexes = [frames[0], frames[1]], [frames[5], frames[6]]
    expected = predictor.predict_frames(onsets, apexes)
    for given in (np.stack(onsets), [Image.fromarray(f) for f in onsets], [torch.from_numpy(f) for f in onsets]):
        np.testing.assert_array_equal(predictor.predict_frames(given, np.stack(apexes)), expected)
    batch = predictor.preprocessing.to_tensor(np.stack(onsets))
    torch.testing.assert_close(batch, predictor.preprocessing.to_tensor([Image.fromarray(f) for f in onsets]))
    explained = explain_pair(predictor, Image.fromarray(frames[0]), torch.from_numpy(frames[5]))
    assert explained.probabilities == explain_pair(predictor, frames[0], frames[5]).probabilities


def test_numpy_frame_numbers_are_taken_wherever_frames_are_numbered(predictor, clip_folder):
    e = explain_clip(predictor, str(clip_folder), onset=np.int64(104), apex=None)
    assert e.onset_frame == 104 and e.apex_spotted

    class Aligner:  # the smallest aligner align_clip accepts: no detector, identity crop
        def estimate(self, image):
            return SimpleNamespace(apply=lambda frame: frame, face=SimpleNamespace(score=0.9))

    aligned = align_clip(load_clip(clip_folder), np.int64(105), aligner=Aligner())
    assert [type(n) for n in aligned.face_scores] == [int] and aligned.face_scores == {105: 0.9}


@pytest.mark.parametrize("package", ["mmnet", "mmnet.model", "mmnet.infer"])
def test_the_lazy_names_are_typed_and_a_typo_is_not(package):
    """Type checkers read the lazy names of a package from its TYPE_CHECKING imports; a module ``__getattr__``
    visible to them would type any name (``mmnet.MMNt``) as an object, so it is defined only when not type
    checking. At run time every public name loads (mmnet.model and mmnet.infer defer torch until one is used)."""
    module = importlib.import_module(package)
    tree = ast.parse(inspect.getsource(module))
    top = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert "__getattr__" not in top
    hidden = [node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "not TYPE_CHECKING"]
    assert any(isinstance(n, ast.FunctionDef) and n.name == "__getattr__" for block in hidden for n in block.body)
    typed = {alias.asname or alias.name for node in tree.body
             if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
             for imp in node.body if isinstance(imp, ast.ImportFrom) for alias in imp.names}
    eager = {alias.asname or alias.name for node in tree.body if isinstance(node, ast.ImportFrom)
             for alias in node.names}
    assert set(module.__all__) - {"__version__"} <= typed | eager
    for name in module.__all__:  # each public name resolves at run time
        value = getattr(module, name)
        assert value is not None and name in dir(module)
    assert mmnet.MMNet.__name__ == "MMNet"  # still imported lazily at run time
    with pytest.raises(AttributeError, match="no attribute 'MMNt'"):
        module.MMNt  # noqa: B018


def test_a_missing_gpu_given_as_a_torch_device_is_the_documented_config_error(checkpoint, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for device in ("cuda", torch.device("cuda"), torch.device("cuda", 0)):
        with pytest.raises(ConfigError, match=r"device=cuda(:0)?, but .*Use --device cpu"):
            Predictor.from_checkpoint(checkpoint, device=device)
    assert Predictor.from_checkpoint(checkpoint, device=torch.device("cpu")).device == torch.device("cpu")


def test_the_predictor_takes_over_the_model_it_is_given(checkpoint):
    """Documented (docs/inference.md): no copy is made; the caller's object is the predictor's model."""
    from mmnet.model import load_checkpoint

    model, info = load_checkpoint(checkpoint)
    model.train()
    predictor = Predictor(model, info, channels_last=True)
    assert predictor.model is model and not model.training
    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size != (1, 1))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)


def onnx_bytes() -> bytes:
    onnx = pytest.importorskip("onnx")
    graph = onnx.helper.make_graph([], "mmnet", [], [])
    return onnx.helper.make_model(graph, producer_name="pytorch").SerializeToString()


@pytest.mark.parametrize("name", ["conv.onnx", "model.safetensors"])
def test_an_onnx_model_given_as_the_checkpoint_is_named_as_one(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(onnx_bytes())
    with pytest.raises(CheckpointError, match=r"is an exported ONNX model, not an mmnet checkpoint: run it with "
                                              r"onnxruntime \(docs/inference.md, \"Running it without mmnet\"\)"):
        Predictor.from_checkpoint(path)


def test_predict_and_info_name_an_onnx_model(tmp_path, capsys):
    (tmp_path / "conv.onnx").write_bytes(b"not even protobuf")  # the name alone says what it is
    (tmp_path / "clip").mkdir()
    assert main(["predict", "--checkpoint", str(tmp_path / "conv.onnx"), str(tmp_path / "clip")]) == 3
    err = capsys.readouterr().err
    assert "exported ONNX model" in err and "checkpoint folder" in err and ".pth" not in err
    assert main(["info", str(tmp_path / "conv.onnx")]) == 3
    assert "exported ONNX model" in capsys.readouterr().err


def test_a_safetensors_file_refused_for_other_reasons_is_not_called_onnx(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"\x00\x01garbage" * 100)
    with pytest.raises(CheckpointError, match="not a readable safetensors file") as e:
        Predictor.from_checkpoint(tmp_path)
    assert "ONNX" not in str(e.value)


def test_a_torch_device_that_is_no_cuda_device_is_taken_as_it_is(checkpoint):
    # a torch.device was checked as its text: cpu:0 was "not a device", and mps or meta were refused
    assert Predictor.from_checkpoint(checkpoint, device=torch.device("cpu", 0)).device == torch.device("cpu", 0)
    predictor = Predictor.from_checkpoint(checkpoint, device=torch.device("meta"))  # any other type torch has
    assert predictor.device.type == "meta" and next(predictor.model.parameters()).is_meta


def test_a_cuda_torch_device_past_the_gpus_here_is_the_documented_config_error(checkpoint, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ConfigError, match=r"device=cuda:1, but this machine has 1 CUDA GPU"):
        Predictor.from_checkpoint(checkpoint, device=torch.device("cuda", 1))
