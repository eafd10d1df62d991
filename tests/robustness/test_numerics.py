"""NaN and infinity never become a result: config values, training losses, checkpoints, outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mmnet.config import AugmentConfig, TrainConfig, load_config
from mmnet.errors import CheckpointError, ConfigError, TrainingError
from mmnet.model import MMNetConfig

from .helpers import TINY, all_finite, assert_named_error, cli, small_checkpoint


@pytest.mark.parametrize("item", [
    "train.weight_decay=.nan", "train.weight_decay=nan", "train.lr=.inf", "train.lr=-.inf", "train.lr_gamma=nan",
    "augment.rotate_degrees=.inf", "augment.rotate_degrees=nan", "augment.hflip=nan", "model.pc_mlp_ratio=.nan",
    "model.pc_drop_path=inf", "data.jitter_fraction=.nan",
])
def test_non_finite_config_values_are_refused(item):
    key = item.split("=")[0]
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(None, [item])


@pytest.mark.parametrize("make", [
    lambda: TrainConfig(weight_decay=float("nan")), lambda: TrainConfig(lr=float("inf")),
    lambda: AugmentConfig(rotate_degrees=float("nan")), lambda: MMNetConfig(pc_mlp_ratio=float("nan")),
])
def test_non_finite_values_are_refused_by_the_dataclasses_too(make):
    with pytest.raises(ConfigError):
        make()


@pytest.mark.parametrize("heads", [0, -4, 3, 1000])
def test_pc_num_heads_must_divide_512(heads):
    with pytest.raises(ConfigError, match="pc_num_heads"):
        load_config(None, [f"model.pc_num_heads={heads}"])


@pytest.mark.slow
def test_a_loss_that_becomes_nan_stops_the_fold_with_a_named_error(tmp_path, monkeypatch):
    """Epoch 2 of 3 diverges: the error names epoch and step; the epoch-1 state is kept and resumes."""
    from mmnet import synth
    from mmnet.train import loop, run_experiment

    root = synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=3, seed=0)
    cfg = load_config(None, [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", *TINY, "train.epochs=3"])
    calls = {"n": 0}
    real = loop.F.cross_entropy

    def poisoned(logits, labels, *a, **k):
        loss = real(logits, labels, *a, **k)
        if "reduction" not in k:  # a training step
            calls["n"] += 1
            # 2 folds of 3 training samples, batch 4: one step per epoch; call 5 = fold 2, epoch 2
            if calls["n"] == 5:
                return loss * float("nan")
        return loss

    monkeypatch.setattr(loop.F, "cross_entropy", poisoned)
    with pytest.raises(TrainingError, match=r"fold casme2/02: the training loss became nan at epoch 2, step 1"
                       r".*continues from its state after epoch 1.*train\.lr.*--restart \(moves this run aside"):
        run_experiment(cfg, tmp_path / "run", progress=False)
    monkeypatch.setattr(loop.F, "cross_entropy", real)
    run_dir = tmp_path / "run"
    assert (run_dir / "seed-0/fold-casme2_01/done.json").exists()
    assert torch.load(run_dir / "seed-0/fold-casme2_02/state.pt", weights_only=True)["epoch"] == 1
    run_experiment(cfg, tmp_path / "run", progress=False)  # resumes and finishes
    history = (tmp_path / "run").glob("seed-0/fold-*/history.csv")
    for h in history:
        rows = h.read_text().splitlines()[1:]
        assert len(rows) == 3 and all("nan" not in r for r in rows)


def test_train_one_epoch_finds_the_step_without_a_sync_per_step(monkeypatch):
    from mmnet.train import loop

    class Data:
        device = torch.device("cpu")
        has_flow = False

        def train_batch(self, idx, augment, generator, memory_format):
            x = torch.randn(len(idx), 4)
            return x, x, torch.zeros(len(idx), dtype=torch.long)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 2)

        def forward(self, onset, apex):
            return self.lin(onset + apex)

    steps = {"n": 0}
    real = loop.F.cross_entropy

    def nan_at_3(logits, labels):
        steps["n"] += 1
        loss = real(logits, labels)
        return loss * float("inf") if steps["n"] == 3 else loss

    monkeypatch.setattr(loop.F, "cross_entropy", nan_at_3)
    net = Net()
    stats = loop.train_one_epoch(net, Data(), torch.arange(10), torch.optim.SGD(net.parameters(), lr=0.1),
                                 batch_size=2, augment=AugmentConfig(), generator=torch.Generator(), precision="fp32")
    assert stats.first_bad_step == 3


def test_checkpoint_with_nan_weights_is_refused(tmp_path, capsys):
    from safetensors import safe_open
    from safetensors.torch import save_file

    ckpt = small_checkpoint(tmp_path / "ckpt")
    path = ckpt / "model.safetensors"
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    key = next(k for k, v in tensors.items() if v.is_floating_point() and k.endswith("weight"))
    tensors[key] = tensors[key].clone()
    tensors[key].view(-1)[0] = float("nan")
    save_file(tensors, str(path), metadata=meta)
    from mmnet.model import load_checkpoint

    with pytest.raises(CheckpointError, match="NaN or infinite"):
        load_checkpoint(ckpt)
    for name in ("a.png", "b.png"):  # present (missing inputs are said before the model loads), never read
        (ckpt / name).write_bytes(b"")
    for argv in (["info", ckpt], ["predict", "--checkpoint", ckpt, ckpt / "a.png", ckpt / "b.png", "--json"],
                 ["export", "--checkpoint", ckpt, "--onnx", tmp_path / "m.onnx"]):
        code, out, err = cli(capsys, *argv)
        assert_named_error(code, err, "NaN or infinite")
        assert "NaN" not in out


def test_predict_json_is_valid_and_finite(tmp_path, capsys):
    from PIL import Image

    ckpt = small_checkpoint(tmp_path / "ckpt")
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png"):
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(tmp_path / name)
    code, out, err = cli(capsys, "predict", "--checkpoint", ckpt, tmp_path / "a.png", tmp_path / "b.png", "--json")
    assert code == 0, err
    data = json.loads(out, parse_constant=lambda c: pytest.fail(f"invalid JSON constant {c}"))
    assert all_finite(data)


def test_export_never_passes_a_nan_parity(tmp_path, capsys, monkeypatch):
    pytest.importorskip("onnxruntime")
    from mmnet.infer import export

    ckpt = small_checkpoint(tmp_path / "ckpt")
    monkeypatch.setattr(export, "onnx_parity", lambda model, path: float("nan"))
    code, out, err = cli(capsys, "export", "--checkpoint", ckpt, "--onnx", tmp_path / "m.onnx")
    assert_named_error(code, err, "non-finite")
    assert "max |logit difference| nan" not in out
