"""ONNX export: onnxruntime parity with PyTorch, dynamic batch, metadata, the standalone snippet."""

import importlib.util
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mmnet import MMNet
from mmnet.cli import main
from mmnet.errors import MMNetError
from mmnet.infer import ClipRequest, Predictor
from mmnet.model import load_checkpoint
from tests.test_inference import CLASSES, make_checkpoint, perturb_bn, write_frames
from tests.test_spotting import synthetic_clip

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from mmnet.infer.export import export_onnx, onnx_parity, read_onnx_metadata, supported_opsets  # noqa: E402
from mmnet.infer.onnx_exporters import pick_exporter  # noqa: E402

# The exporter these tests run: dynamo where onnxscript is installed (the onnx extra), else torchscript;
# tests/test_export_exporters.py forces each.
AUTO = pick_exporter(None, 18)

DOCS = Path(__file__).resolve().parents[1] / "docs" / "inference.md"


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A 64 px checkpoint and its export (the graph is the same as at 224 px, only smaller)."""
    root = tmp_path_factory.mktemp("export")
    torch.manual_seed(0)
    make_checkpoint(root / "ckpt")
    model, info = load_checkpoint(root / "ckpt")
    return root, model, info, export_onnx(model, root / "mmnet.onnx", info)


@pytest.mark.slow
def test_parity_224_dynamic_batch(tmp_path):
    torch.manual_seed(1)
    model = MMNet(num_classes=5)
    perturb_bn(model)  # at init the main branch barely reaches the logits (spec section 4)
    model.eval()
    path = export_onnx(model, tmp_path / "m.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["onset", "apex"]
    assert session.get_inputs()[0].shape == ["batch", 3, 224, 224]
    for batch in (1, 3):
        assert onnx_parity(model, path, batch_size=batch, seed=batch) <= 1e-4
    # The motion must matter, or parity would not test the main branch.
    onset = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        moved = (model(onset, onset + 0.3 * torch.randn_like(onset)) - model(onset, onset)).abs().max()
    assert moved > 1e-2


def test_parity_on_real_preprocessing(tmp_path, small):
    root, model, info, path = small
    frames = synthetic_clip(8, 5)
    write_frames(tmp_path, [frames[0], frames[5]], ["on.png", "ap.png"])
    predictor = Predictor(model, info)
    onset = predictor.preprocessing.to_tensor([frames[0], frames[2]])
    apex = predictor.preprocessing.to_tensor([frames[5], frames[7]])
    expected = predictor.logits(onset, apex).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(["logits"], {"onset": onset.numpy(), "apex": apex.numpy()})[0]
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)


def test_parity_sees_a_model_that_differs_from_its_export(tmp_path):
    torch.manual_seed(0)
    model = make_checkpoint(tmp_path / "ckpt")
    path = export_onnx(model, tmp_path / "m.onnx", exporter="torchscript")  # about onnx_parity: the faster exporter
    assert onnx_parity(model, path) <= 1e-4
    with torch.no_grad():
        model.head.bias.add_(0.5)  # the export keeps the old weights
    assert onnx_parity(model, path) > 1e-2


def test_metadata(small):
    _, model, info, path = small
    meta = read_onnx_metadata(path)
    assert meta["class_names"] == CLASSES
    assert meta["preprocessing"]["image_size"] == 64
    assert meta["preprocessing"]["mean"] == info.preprocessing["mean"]
    assert meta["preprocessing"]["std"] == info.preprocessing["std"]
    # "bilinear" alone reads as OpenCV INTER_LINEAR or torch without antialias: other inputs when shrinking
    assert meta["preprocessing"]["resize"] == "Pillow BILINEAR (antialiased when downscaling)"
    assert meta["model_config"]["num_classes"] == 3
    assert meta["inputs"] == ["onset", "apex"]
    assert meta["exporter"] == AUTO  # which torch.onnx exporter wrote it


def test_export_keeps_mode_and_statistics(tmp_path):
    model = MMNet(num_classes=2, image_size=32).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    export_onnx(model, tmp_path / "m.onnx")
    assert model.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k  # tracing must not run BN in training mode


def test_flow_model_exports_onset_and_flow(tmp_path):
    model = MMNet(num_classes=2, image_size=32, main_input="flow").eval()
    path = export_onnx(model, tmp_path / "flow.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["onset", "flow"]
    assert onnx_parity(model, path) <= 1e-4


def test_missing_onnx_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(MMNetError, match=r'pip install -e "\.\[onnx\]"'):
        export_onnx(MMNet(num_classes=2, image_size=32), tmp_path / "m.onnx")


def test_an_output_folder_is_refused_before_the_export(tmp_path, monkeypatch):
    # it was found at the last step (the rename), after the whole export
    monkeypatch.setattr(torch.onnx, "export", lambda *a, **k: pytest.fail("exported into a folder"))
    with pytest.raises(MMNetError, match=r"is a folder; give the ONNX file's name, e\.g\. '.*model\.onnx'"):
        export_onnx(MMNet(num_classes=2, image_size=32), tmp_path)


def test_cli_export_reports_parity(tmp_path, small, capsys):
    root, _, _, _ = small
    out = tmp_path / "cli.onnx"
    assert main(["export", "--checkpoint", str(root / "ckpt"), "--onnx", str(out)]) == 0
    text = capsys.readouterr().out
    assert out.is_file()
    assert f"opset 18, torch.onnx {AUTO} exporter" in text
    diff = float(re.search(r"max \|logit difference\| (\S+)", text).group(1))
    assert diff <= 1e-4


def _bare_home_env(home: Path) -> dict:
    """The environment with HOME (and the cache folders) in ``home`` and no ORT_DISABLE_TELEMETRY of the user's."""
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("ORT_DISABLE_TELEMETRY", "XDG_CACHE_HOME")}
    env.update(HOME=str(home), MMNET_CACHE_DIR=str(home / "mmnet-cache"))
    return env


@pytest.mark.slow
def test_cli_export_check_writes_no_onnxruntime_device_id_or_telemetry(tmp_path, small):
    # importing onnxruntime for the check wrote ~/.cache/Microsoft/DeveloperTools/.onnxruntime/deviceid (a
    # persistent id) and onnxruntime.db (a queued telemetry event), though mmnet says it sends nothing
    root, _, _, _ = small
    env = _bare_home_env(tmp_path / "home")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1] / "src"),
                                                      env.get("PYTHONPATH")]))
    out = tmp_path / "m.onnx"
    result = subprocess.run([sys.executable, "-m", "mmnet", "export", "--checkpoint", str(root / "ckpt"),
                             "--onnx", str(out)], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    assert "max |logit difference|" in result.stdout  # the check did run onnxruntime
    assert not (tmp_path / "home" / ".cache" / "Microsoft").exists()


def _docs_snippet() -> str:
    text = DOCS.read_text()
    match = re.search(r"<!-- snippet: onnx-standalone -->\s*```python\n(.*?)```", text, re.S)
    assert match, "docs/inference.md lost its onnx-standalone snippet"
    return match.group(1)


def _write_pair(folder: Path, frames, kind: str) -> list[str]:
    """onset and apex files as ``kind``: plain PNGs; JPEGs stored sideways with EXIF orientation 6 (a phone's
    portrait photo); 16-bit greyscale PNGs (PIL mode I;16)."""
    names = [f"onset.{'jpg' if kind == 'exif' else 'png'}", f"apex.{'jpg' if kind == 'exif' else 'png'}"]
    for name, frame in zip(names, frames):
        if kind == "exif":
            exif = Image.Exif()
            exif[0x0112] = 6  # the stored image is rotated: viewers (and mmnet) turn it 90 degrees clockwise
            Image.fromarray(np.ascontiguousarray(np.rot90(frame))).save(folder / name, exif=exif, quality=95)
        elif kind == "16bit":
            grey = frame.astype(np.float64).mean(axis=2) * 257 + np.arange(frame.shape[1]) % 200  # low byte varies
            image = Image.fromarray(np.clip(grey, 0, 65535).astype(np.uint16))
            assert image.mode == "I;16"
            image.save(folder / name)
        else:
            Image.fromarray(frame).save(folder / name)
    return names


@pytest.mark.parametrize("kind", ["png", "exif", "16bit"])
def test_docs_snippet_runs_without_mmnet(tmp_path, small, kind):
    # the snippet read images with convert("RGB") alone: a sideways phone photo and a 16-bit PNG (clipped
    # white) gave other classes than mmnet predict
    root, model, info, path = small
    frames = synthetic_clip(8, 5)
    onset, apex = _write_pair(tmp_path, [frames[0], frames[5]], kind)
    (tmp_path / "mmnet.onnx").symlink_to(path)
    snippet = _docs_snippet()
    assert '"onset.png"' in snippet and '"apex.png"' in snippet
    snippet = snippet.replace('"onset.png"', f'"{onset}"').replace('"apex.png"', f'"{apex}"')
    (tmp_path / "snippet.py").write_text(snippet)
    # mmnet made unimportable: the snippet must not need it.
    driver = "import sys; sys.modules['mmnet'] = None; exec(open('snippet.py').read())"
    env = _bare_home_env(tmp_path / "home")
    result = subprocess.run([sys.executable, "-c", driver], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env=env)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "home" / ".cache" / "Microsoft").exists()  # no device id, no telemetry queue
    printed = dict(line.split(": ") for line in result.stdout.strip().splitlines())
    (pred,) = Predictor(model, info).predict_clips([ClipRequest(tmp_path / onset, tmp_path / apex)])
    assert list(printed) == CLASSES
    for name in CLASSES:
        assert abs(float(printed[name]) - pred.probabilities[name]) < 2e-4


@pytest.mark.parametrize("opset", [0, 5, 10, 99])
def test_cli_export_refuses_an_opset_out_of_range(tmp_path, small, capsys, opset):
    # 5 and 10 gave a TypeError traceback, 99 a RuntimeError one, 0 silently exported opset 17
    root, _, _, _ = small
    out = tmp_path / "o.onnx"
    assert main(["export", "--checkpoint", str(root / "ckpt"), "--onnx", str(out), "--opset", str(opset)]) == 3
    err = capsys.readouterr().err
    assert f"--opset {opset} is not supported" in err
    lowest, highest = supported_opsets()
    assert (lowest, highest >= 17) == (11, True)
    assert f"opset {lowest} to {highest}" in err and "Traceback" not in err
    assert not out.exists()


def test_an_opset_newer_than_the_onnx_package_is_refused_naming_the_onnx_to_install(tmp_path, small, capsys,
                                                                                     monkeypatch):
    # onnx 1.15 (the floor) knows opsets up to 20: --opset 21 exported, then its checker raised a ValidationError
    # ("ir_version 10 is higher than the checker's (9)") as a traceback
    import onnx.defs

    import mmnet.infer.export as export_module

    if export_module._torch_max_opset() < 21:
        pytest.skip("this torch exports up to opset 20")
    monkeypatch.setattr(onnx.defs, "onnx_opset_version", lambda: 20)  # onnx 1.15's
    assert supported_opsets() == (11, 20)
    root, _, _, _ = small
    out = tmp_path / "o.onnx"
    assert main(["export", "--checkpoint", str(root / "ckpt"), "--onnx", str(out), "--opset", "21"]) == 3
    err = capsys.readouterr().err
    assert "--opset 21 is not supported" in err and "opset 11 to 20" in err and f"onnx {onnx.__version__}" in err
    assert "Opset 21 needs a newer onnx: pip install 'onnx>=1.16'" in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("opset, advice", [(18, r"pip install -U onnx\)\.$"),
                                           (21, r"pip install 'onnx>=1\.16'\) or export at the default --opset 18\.$")])
def test_a_file_the_onnx_checker_refuses_names_the_opset_and_the_onnx_to_install(tmp_path, monkeypatch, opset, advice):
    import onnx.checker

    import mmnet.infer.export as export_module

    if opset > export_module._torch_max_opset():
        pytest.skip(f"this torch exports up to opset {export_module._torch_max_opset()}")
    # as an onnx that knows opset 21 says
    monkeypatch.setattr(export_module, "supported_opsets", lambda exporter=None: (11, 23))

    def refuse(proto):
        raise onnx.checker.ValidationError("Your model ir_version 10 is higher than the checker's (9).\nmore")

    monkeypatch.setattr(onnx.checker, "check_model", refuse)
    with pytest.raises(MMNetError, match=rf"onnx {re.escape(onnx.__version__)} cannot check the model exported at "
                                         rf"opset {opset} \(Your model ir_version 10 is higher than the checker's "
                                         rf"\(9\)\.\); install a newer onnx \({advice}"):
        export_onnx(MMNet(num_classes=2, image_size=32), tmp_path / "m.onnx", opset=opset, exporter="torchscript")
    assert list(tmp_path.iterdir()) == []


def test_a_torch_onnx_failure_names_the_opset(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("Exporting the operator 'aten::foo' to ONNX opset version 12 is not supported.\nmore")

    monkeypatch.setattr(torch.onnx, "export", fail)
    with pytest.raises(MMNetError, match=r"could not export this model at opset 12 \(Exporting the operator "
                                         r"'aten::foo'.*not supported\.\); try the default opset 18"):
        export_onnx(MMNet(num_classes=2, image_size=32), tmp_path / "m.onnx", opset=12)
    assert not (tmp_path / "m.onnx.tmp").exists()


WITH_ONNXSCRIPT = pytest.mark.skipif(importlib.util.find_spec("onnxscript") is None, reason="needs onnxscript")


@pytest.mark.parametrize("exporter, opset, onnxscript, how", [
    pytest.param("torchscript", 18, True, r"use --exporter dynamo \(or auto, the default\), not torchscript",
                 marks=WITH_ONNXSCRIPT),
    pytest.param("auto", 17, True, r"use --opset 18 or newer with --exporter dynamo", marks=WITH_ONNXSCRIPT),
    ("auto", 18, False, r"install onnxscript \(pip install .*\), then use --exporter dynamo"),
])
def test_an_antialiased_model_is_refused_by_torchscript_before_the_export(tmp_path, monkeypatch, exporter, opset,
                                                                          onnxscript, how):
    # aten::_upsample_bilinear2d_aa has no TorchScript symbolic at any opset: torch failed after a graph dump;
    # the dynamo exporter writes it (tests/test_export_exporters.py)
    if not onnxscript:
        monkeypatch.setitem(sys.modules, "onnxscript", None)
    monkeypatch.setattr(torch.onnx, "export", lambda *a, **k: pytest.fail("export attempted"))
    model = MMNet(num_classes=2, image_size=32, pc_antialias=True)
    with pytest.raises(MMNetError, match=r"the torchscript exporter cannot write this model: .*pc_antialias: true.*"
                                         r"only the dynamo exporter writes \(ONNX Resize with antialias, opset 18 "
                                         rf"and newer\)\. To export it: {how}"):
        export_onnx(model, tmp_path / "sub" / "m.onnx", exporter=exporter, opset=opset)
    assert not (tmp_path / "sub").exists()


def test_a_failed_export_prints_no_graph_and_no_useless_opset_advice(tmp_path, monkeypatch, capfd):
    # torch.onnx wrote its whole TorchScript graph (hundreds of lines) on stdout, then mmnet said
    # "try the default opset 17" at opset 17
    import mmnet.infer.export as export_module

    monkeypatch.setattr(export_module, "_check_exportable", lambda *args: None)
    model = MMNet(num_classes=2, image_size=32, pc_antialias=True)
    print("before")
    with pytest.raises(MMNetError, match=r"at opset 18 \(Exporting the operator 'aten::_upsample_bilinear2d") as err:
        export_onnx(model, tmp_path / "m.onnx", opset=18, quiet=True, exporter="torchscript")
    print("after")
    assert "try the default opset" not in str(err.value)
    assert capfd.readouterr().out == "before\nafter\n"


def test_opsets_above_the_torchscript_exporters_are_quiet_and_verified(tmp_path, small, capsys):
    # torch warned "opset 23 is not supported ... highest 20" while the docs promise opsets up to 23
    root, _, _, _ = small
    highest = supported_opsets()[1]
    if highest <= 20:
        pytest.skip(f"this torch and onnx export up to opset {highest}")
    out = tmp_path / "high.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["export", "--checkpoint", str(root / "ckpt"), "--onnx", str(out), "--opset", str(highest),
                     "--exporter", "torchscript"]) == 0
    import onnx

    assert {o.version for o in onnx.load(str(out)).opset_import if o.domain in ("", "ai.onnx")} == {highest}
    diff = float(re.search(r"max \|logit difference\| (\S+)", capsys.readouterr().out).group(1))
    assert diff <= 1e-4


def test_export_works_without_a_standard_output(tmp_path, monkeypatch):
    # pythonw and services run with sys.stdout None: the graph-dump guard flushed it unconditionally
    monkeypatch.setattr("sys.stdout", None)
    # the guard is the same for both exporters: the faster one
    assert export_onnx(MMNet(num_classes=2, image_size=32), tmp_path / "m.onnx", exporter="torchscript").is_file()
