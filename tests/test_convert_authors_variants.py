"""Checkpoints of the authors' scripts as they come: CASME2_3.py's (a 5-output head on a depth-3 PC module), weights
trained on other data, their training loop's wrapped save, and mmnet's own format given to the converter."""

from __future__ import annotations

import re

import pytest
import torch

from mmnet import MMNet, load_official_checkpoint
from mmnet.cli import main
from mmnet.errors import CheckpointError
from mmnet.model import MMNetConfig, read_checkpoint

# mmnet's names back to the authors' (the converter's key map, read the other way)
_TO_AUTHORS = ((r"^motion_stem\.conv\.", "conv_act.0."), (r"^motion_stem\.bn\.", "conv_act.1."),
               (r"^head\.", "main_branch.fc."), (r"\.attn\.conv\.", ".attn.0."), (r"\.attn\.bn\.", ".attn.1."),
               (r"^pc_module\.", "vit_pos."))


def authors_state_dict(**config) -> dict[str, torch.Tensor]:
    """A state_dict in the authors' layout for the MMNet ``config`` describes (defaults: CASME2_5.py's)."""
    out = {}
    for key, value in MMNet(config=MMNetConfig(**config)).state_dict().items():
        for pattern, repl in _TO_AUTHORS:
            key = re.sub(pattern, repl, key)
        out[key] = value
    return out


def three_class_script(tmp_path):
    """A checkpoint of the authors' CASME2_3.py: PC depth 3, MLP ratio 2, and their 5-output head."""
    path = tmp_path / "CASME2_3class.pth"
    torch.save(authors_state_dict(pc_depth=3, pc_mlp_ratio=2.0), path)
    return path


def _names(folder):
    return read_checkpoint(folder)[1]["class_names"]


def test_the_authors_3class_checkpoint_is_not_named_with_the_5class_names(tmp_path, capsys):
    path = three_class_script(tmp_path)
    assert main(["convert", str(path), str(tmp_path / "out")]) == 3
    err = capsys.readouterr().err
    assert "CASME2_3.py" in err and "positive (happiness), surprise, negative" in err
    assert "--num-classes 3 --class-names positive,surprise,negative" in err
    assert not (tmp_path / "out").exists()
    # the suggested command: the head's first three rows, the authors' 3-class ids
    assert main(["convert", str(path), str(tmp_path / "out"), "--num-classes", "3",
                 "--class-names", "positive,surprise,negative"]) == 0
    assert _names(tmp_path / "out") == ["positive", "surprise", "negative"]
    model = MMNet.from_pretrained(tmp_path / "out")
    saved = torch.load(path, weights_only=True)
    assert model.config.num_classes == 3 and model.config.pc_depth == 3
    assert model.config.pc_drop_path == 0.3  # as the authors trained it: model.train() goes on the same way
    torch.testing.assert_close(model.head.weight, saved["main_branch.fc.weight"][:3])
    torch.testing.assert_close(model.head.bias, saved["main_branch.fc.bias"][:3])


def test_5class_names_only_for_casme2(tmp_path, capsys):
    torch.save(authors_state_dict(), tmp_path / "five.pth")
    assert main(["convert", str(tmp_path / "five.pth"), str(tmp_path / "samm"), "--trained-on", "samm"]) == 3
    err = capsys.readouterr().err
    assert "trained on samm" in err and "--class-names" in err
    assert main(["convert", str(tmp_path / "five.pth"), str(tmp_path / "casme2"), "--trained-on", "casme2"]) == 0
    assert _names(tmp_path / "casme2") == ["happiness", "repression", "disgust", "surprise", "others"]
    # another PC module than either script's: no names are guessed
    torch.save(authors_state_dict(pc_depth=1), tmp_path / "odd.pth")
    assert main(["convert", str(tmp_path / "odd.pth"), str(tmp_path / "odd")]) == 3
    assert "depth 1, MLP ratio 4" in capsys.readouterr().err


def test_num_classes_is_checked_against_the_head(tmp_path):
    path = three_class_script(tmp_path)
    with pytest.raises(CheckpointError, match=r"num_classes=6 keeps the first logits of its 5-output head"):
        load_official_checkpoint(path, num_classes=6)
    assert load_official_checkpoint(path, num_classes=3).config.num_classes == 3


def test_a_conversion_without_names_suggests_class_names(tmp_path, capsys):
    torch.save(authors_state_dict(num_classes=3), tmp_path / "three.pth")
    assert main(["convert", str(tmp_path / "three.pth"), str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "class_0..class_2" in out and "--class-names positive,surprise,negative" in out
    torch.save(authors_state_dict(num_classes=4), tmp_path / "four.pth")
    assert main(["convert", str(tmp_path / "four.pth"), str(tmp_path / "four")]) == 0
    out = capsys.readouterr().out
    assert "class_0..class_3" in out and "--class-names NAME" in out and "CASME2_3.py" not in out
    torch.save(authors_state_dict(), tmp_path / "five.pth")
    assert main(["convert", str(tmp_path / "five.pth"), str(tmp_path / "five")]) == 0
    assert "note:" not in capsys.readouterr().out  # named: nothing to suggest


def test_the_authors_training_loop_save_is_unwrapped(tmp_path):
    # their loop saves the state_dict beside an epoch and a best score (a 0-d tensor)
    sd = authors_state_dict()
    torch.save({"state_dict": sd, "epoch": 40, "max_corr": torch.tensor(7)}, tmp_path / "loop.pth")
    model = load_official_checkpoint(tmp_path / "loop.pth")
    torch.testing.assert_close(model.head.weight, sd["main_branch.fc.weight"])
    # a wrapper key it does not know: the top-level keys are listed
    torch.save({"weights": sd, "max_corr": torch.tensor(7)}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match=r"top-level keys: \['max_corr', 'weights'\]"):
        load_official_checkpoint(tmp_path / "other.pth")


def test_mmnet_format_is_named_by_the_python_api(tmp_path):
    MMNet(num_classes=3, image_size=64).save_pretrained(tmp_path / "ours")
    for given in (tmp_path / "ours", tmp_path / "ours" / "model.safetensors"):
        with pytest.raises(CheckpointError, match="in mmnet's format already .*mmnet.load_checkpoint"):
            load_official_checkpoint(given)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="is a folder, not a checkpoint"):
        load_official_checkpoint(tmp_path / "empty")
