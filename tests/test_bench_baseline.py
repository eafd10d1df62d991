"""The benchmark's authors' network computes what mmnet's does: the baseline's ratio compares two ways of
computing the same thing, so a faster formulation of ours must not leak into theirs or change the values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from authors_baseline import WARM_UP_STEPS, AuthorsAttention, AuthorsSpatialAttention, authors_model  # noqa: E402

from mmnet import MMNet  # noqa: E402


def test_authors_network_is_their_formulation_with_our_values() -> None:
    torch.manual_seed(0)
    theirs = authors_model(64)
    ours = MMNet(image_size=64)
    ours.load_state_dict(theirs.state_dict())
    relus = [m for m in theirs.modules() if isinstance(m, nn.ReLU)]
    assert relus and all(m.inplace for m in relus)
    assert len([m for m in theirs.modules() if isinstance(m, AuthorsSpatialAttention)]) == 4
    assert all(isinstance(b.attn, AuthorsAttention) for b in theirs.pc_module.blocks)
    onset, apex = torch.randn(2, 3, 64, 64), torch.randn(2, 3, 64, 64)
    labels = torch.tensor([0, 3])
    grads = []
    for model in (theirs, ours):
        model.train()
        logits = model(onset, apex)
        nn.functional.cross_entropy(logits, labels).backward()
        grads.append((logits.detach(), {n: p.grad for n, p in model.named_parameters()}))
    (logits_t, grads_t), (logits_o, grads_o) = grads
    torch.testing.assert_close(logits_o, logits_t, atol=1e-5, rtol=1e-5)
    for name, grad in grads_t.items():
        torch.testing.assert_close(grads_o[name], grad, atol=1e-4, rtol=1e-3, msg=name)


@pytest.mark.slow
def test_baseline_runs_five_cells_and_prints_the_split(tmp_path):
    """`bench_train.py --baseline --rounds 2` at tiny sizes: five fresh processes per round, each timed after
    its untimed steps; each ratio over the rounds."""
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root / "src"))
    proc = subprocess.run([sys.executable, str(root / "benchmarks" / "bench_train.py"), "--baseline", "--steps", "1",
                           "--size", "64", "--batch", "4", "--rounds", "2"],
                          env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    cells = [line for line in proc.stdout.splitlines() if "process settings (" in line]
    assert len(cells) == 10, proc.stdout
    assert [line.split(":")[0] for line in cells] == ["round 1"] * 5 + ["round 2"] * 5
    assert all(line.count(" / ") == WARM_UP_STEPS - 1 and "untimed steps" in line for line in cells)
    assert "| ours, ours process settings | " in proc.stdout  # each cell's range over the rounds
    ratio = next(line for line in proc.stdout.splitlines() if line.startswith("| ours / authors' with our process"))
    assert "our code alone" in ratio and ratio.rstrip(" |").endswith("x")
