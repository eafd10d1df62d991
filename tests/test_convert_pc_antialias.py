"""`mmnet convert --pc-antialias`: the checkpoint written resizes in its PC module with antialiasing (torchvision >=
0.17's default), as its config.json records, and gives the authors' code's logits under that torchvision; without
the option, the paper-era resize and its logits."""

from __future__ import annotations

import json

import pytest
import torch

from mmnet import MMNet
from mmnet.cli import main

from .conftest import REFERENCE

EXPORT = REFERENCE / "official-export"


@pytest.mark.oracle
def test_the_converted_checkpoint_resizes_as_asked(tmp_path, capsys):
    if not (EXPORT / "official_state_dict.pt").exists():
        pytest.skip("../shared/reference/official-export is absent")
    inputs, expected = (torch.load(EXPORT / name, weights_only=True) for name in ("inputs.pt", "expected.pt"))
    for option, antialias in ((["--pc-antialias"], True), ([], False)):
        out = tmp_path / f"antialias-{antialias}"
        assert main(["convert", str(EXPORT / "official_state_dict.pt"), str(out), *option,
                     "--class-names", "a,b,c,d,e"]) == 0
        assert json.loads((out / "config.json").read_text())["model"]["pc_antialias"] is antialias
        model = MMNet.from_pretrained(out).eval()
        assert model.config.pc_antialias is antialias
        with torch.no_grad():
            logits = model(inputs["onset"], inputs["apex"])
        torch.testing.assert_close(logits, expected[f"logits_antialias_{str(antialias).lower()}"], atol=1e-4, rtol=0)
