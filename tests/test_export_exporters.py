"""The two torch.onnx exporters behind `mmnet export`: dynamo (with onnxscript) and the deprecated TorchScript one.

tests/test_export.py exports with the default (dynamo where onnxscript is installed, as the onnx extra does); the
tests here force the other one, and check dynamo once more where it is installed (it is 2-3x slower)."""

import re
import sys
import warnings

import pytest
import torch

from mmnet import MMNet
from mmnet.cli import main
from mmnet.errors import ConfigError, MMNetError
from tests.test_inference import make_checkpoint

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import mmnet.infer.onnx_exporters as exporters  # noqa: E402
from mmnet.infer.export import export_onnx, onnx_parity, read_onnx_metadata  # noqa: E402

DYNAMO = pytest.param("dynamo", marks=pytest.mark.skipif(not exporters.dynamo_available(),
                                                         reason="the dynamo exporter needs onnxscript"))


@pytest.mark.parametrize("exporter", ["torchscript", DYNAMO])
def test_each_exporter_writes_a_checked_file_and_records_itself(tmp_path, exporter):
    torch.manual_seed(0)
    model = MMNet(num_classes=3, image_size=32).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the legacy exporter's deprecation notices are silenced, nothing else
        path = export_onnx(model, tmp_path / "m.onnx", exporter=exporter)
    assert read_onnx_metadata(path)["exporter"] == exporter
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.shape for i in session.get_inputs()] == [["batch", 3, 32, 32]] * 2
    for batch in (1, 3):  # dynamo exports from a batch of 2: other sizes must run too
        assert onnx_parity(model, path, batch_size=batch, seed=batch) <= 1e-4


class _Warns(MMNet):
    def forward(self, *args, **kwargs):
        warnings.warn("mmnet test: an API of the model is deprecated", DeprecationWarning, stacklevel=2)
        return super().forward(*args, **kwargs)


def test_other_deprecation_warnings_during_the_export_are_shown(tmp_path):
    # every DeprecationWarning was ignored while torch.onnx ran, not only the legacy exporter's own
    model = _Warns(num_classes=2, image_size=32).eval()
    with pytest.warns(DeprecationWarning, match="mmnet test: an API of the model is deprecated") as record:
        export_onnx(model, tmp_path / "m.onnx", exporter="torchscript")
    assert not [w for w in record if "legacy TorchScript" in str(w.message) or "will be removed" in str(w.message)]


def test_auto_uses_dynamo_only_with_onnxscript_and_from_opset_18(monkeypatch):
    monkeypatch.setattr(exporters, "_torch_at_least", lambda major, minor: True)
    monkeypatch.setattr(exporters, "dynamo_available", lambda: True)
    assert [exporters.pick_exporter(None, 18), exporters.pick_exporter("auto", 17)] == ["dynamo", "torchscript"]
    monkeypatch.setattr(exporters, "dynamo_available", lambda: False)
    assert exporters.pick_exporter(None, 18) == "torchscript"
    assert exporters.pick_exporter("torchscript", 11) == "torchscript"
    with pytest.raises(MMNetError, match=r"dynamo exporter needs the onnxscript package: pip install .*"
                                         r"or use --exporter torchscript"):
        exporters.pick_exporter("dynamo", 18)
    with pytest.raises(ConfigError, match="unknown ONNX exporter 'jit'"):
        exporters.pick_exporter("jit", 18)


def test_without_onnxscript_the_export_falls_back_to_torchscript(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxscript", None)
    assert not exporters.dynamo_available()
    path = export_onnx(MMNet(num_classes=2, image_size=32).eval(), tmp_path / "m.onnx")
    assert read_onnx_metadata(path)["exporter"] == "torchscript"


def test_cli_refuses_dynamo_below_opset_18_before_loading(tmp_path, capsys):
    out = tmp_path / "m.onnx"
    code = main(["export", "--checkpoint", str(tmp_path / "missing"), "--onnx", str(out), "--exporter", "dynamo",
                 "--opset", "17"])
    err = capsys.readouterr().err
    assert code == 3 and "--opset 17 is not supported: the dynamo exporter exports this model at ONNX opset 18" in err
    assert "Opsets 11 to 17: --exporter torchscript." in err and not out.exists()


def test_cli_exports_with_the_torchscript_exporter_when_asked(tmp_path, capsys):
    torch.manual_seed(0)
    make_checkpoint(tmp_path / "ckpt")
    out = tmp_path / "m.onnx"
    assert main(["export", "--checkpoint", str(tmp_path / "ckpt"), "--onnx", str(out), "--exporter",
                 "torchscript"]) == 0
    text = capsys.readouterr().out
    assert "opset 18, torch.onnx torchscript exporter" in text
    assert float(re.search(r"max \|logit difference\| (\S+)", text).group(1)) <= 1e-4
    assert read_onnx_metadata(out)["exporter"] == "torchscript"


@pytest.mark.skipif(not exporters.dynamo_available(), reason="the dynamo exporter needs onnxscript")
def test_the_dynamo_exporter_writes_an_antialiased_model_as_pytorch_computes_it(tmp_path, capsys):
    # mmnet refused pc_antialias with both exporters; dynamo writes torch's antialiased bilinear resize as ONNX
    # Resize antialias=1 (opset 18), which onnxruntime computes as PyTorch does
    import onnx

    torch.manual_seed(0)
    make_checkpoint(tmp_path / "ckpt", pc_antialias=True)  # 64 px, trained-like BatchNorm
    out = tmp_path / "aa.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["export", "--checkpoint", str(tmp_path / "ckpt"), "--onnx", str(out)]) == 0
    text = capsys.readouterr().out
    assert "torch.onnx dynamo exporter" in text
    assert float(re.search(r"max \|logit difference\| (\S+)", text).group(1)) <= 1e-4  # mmnet export's tolerance
    resize = [n for n in onnx.load(str(out)).graph.node if n.op_type == "Resize"]
    assert [{a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}["antialias"] for n in resize] == [1]
    from mmnet.model import load_checkpoint

    model, _ = load_checkpoint(tmp_path / "ckpt")
    for batch in (1, 3):  # and it is the antialiased resize that matches: the paper-era one gives other logits
        assert onnx_parity(model.eval(), out, batch_size=batch, seed=batch) <= 1e-4
        model.pc_module.antialias = False
        assert onnx_parity(model, out, batch_size=batch, seed=batch) > 1e-3
        model.pc_module.antialias = True
    with pytest.raises(ConfigError, match="the torchscript exporter cannot write this model"):
        export_onnx(model, tmp_path / "ts.onnx", exporter="torchscript")
