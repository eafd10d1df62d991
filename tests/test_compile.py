"""train.compile: torch.compile'd training on a tiny synthetic LOSO stays finite; the saved model is plain MMNet."""

import csv
import math
import shutil

import pytest
import torch

from mmnet import MMNet
from mmnet.config import load_config
from mmnet.errors import ConfigError
from mmnet.runtime import check_compile
from mmnet.train import run_experiment

TINY = ["train.epochs=2", "data.image_size=32", "train.batch_size=4", "train.device=cpu"]
HAS_CXX = any(shutil.which(c) for c in ("g++", "clang++", "c++"))


def test_compile_needs_a_cxx_compiler(monkeypatch):
    monkeypatch.setenv("CXX", "")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match="C\\+\\+ compiler"):
        check_compile("cpu")


@pytest.mark.slow
@pytest.mark.skipif(not HAS_CXX, reason="no C++ compiler")
def test_compiled_bf16_training_step_has_finite_gradients():
    # inductor's bf16 backward of amax over channels gave non-finite gradients in every CA block
    torch.manual_seed(0)
    model = MMNet(image_size=32).to(memory_format=torch.channels_last)
    onset = torch.rand(4, 3, 32, 32).to(memory_format=torch.channels_last)
    apex = onset + 0.05 * torch.randn_like(onset)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = torch.compile(model)(onset, apex)
    torch.nn.functional.cross_entropy(logits.float(), torch.tensor([0, 1, 2, 3])).backward()
    bad = [n for n, p in model.named_parameters() if p.grad is not None and not torch.isfinite(p.grad).all()]
    assert bad == []


@pytest.mark.slow
@pytest.mark.skipif(not HAS_CXX, reason="no C++ compiler")
def test_compiled_training_runs_a_loso_and_saves_plain_weights(tmp_path):
    from mmnet import synth

    root = synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=4, seed=0)
    run = tmp_path / "run"
    cfg = load_config(None, [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", *TINY,
                             "train.compile=true", "train.save_models=true"])
    run_experiment(cfg, run, progress=False)
    for fold in ("fold-casme2_01", "fold-casme2_02"):
        with open(run / "seed-0" / fold / "history.csv") as f:
            rows = list(csv.DictReader(f))
        assert [int(r["epoch"]) for r in rows] == [1, 2]
        assert all(math.isfinite(float(r["train_loss"])) and math.isfinite(float(r["test_loss"])) for r in rows)
        # saved from the model, not from the compiled wrapper: MMNet's own keys (no "_orig_mod.")
        model = MMNet.from_pretrained(run / "seed-0" / fold / "model")
        assert not any(k.startswith("_orig_mod") for k in model.state_dict())


def test_compile_on_cuda_needs_triton_and_a_c_compiler(monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "triton" else
                        real_find_spec(name, *a))
    with pytest.raises(ConfigError, match="needs triton"):
        check_compile("cuda")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    monkeypatch.setenv("CC", "")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match="C compiler"):
        check_compile("cuda")
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}" if name == "gcc" else None)
    check_compile("cuda")
