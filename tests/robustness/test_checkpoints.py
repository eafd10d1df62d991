"""Checkpoints: the safetensors header is the one source of truth; damaged or foreign files are named."""

from __future__ import annotations

import json
import struct

import pytest
import torch

from mmnet.errors import CheckpointError
from mmnet.model import load_checkpoint

from .helpers import assert_named_error, cli, small_checkpoint


def _rewrite_header(path, mutate) -> None:
    """Rewrite the JSON header of a safetensors file (8-byte length, then the header)."""
    data = path.read_bytes()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + n])
    new = mutate(header).encode()
    new += b" " * (-len(new) % 8)
    path.write_bytes(struct.pack("<Q", len(new)) + new + data[8 + n :])


def test_invalid_json_in_the_header_record_is_named(tmp_path, capsys):
    ckpt = small_checkpoint(tmp_path / "ckpt")

    def broken(header):
        header["__metadata__"]["mmnet"] = header["__metadata__"]["mmnet"][:-5]
        return json.dumps(header)

    _rewrite_header(ckpt / "model.safetensors", broken)
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(ckpt)
    for argv in (["info", ckpt], ["export", "--checkpoint", ckpt, "--onnx", tmp_path / "x.onnx"]):
        code, _, err = cli(capsys, *argv)
        assert_named_error(code, err, "not valid JSON", "model.safetensors")


def test_config_json_is_ignored_when_the_header_has_the_record(tmp_path):
    ckpt = small_checkpoint(tmp_path / "ckpt")
    (ckpt / "config.json").write_text("{ this is not json")
    model, info = load_checkpoint(ckpt)  # the header decides
    assert info.class_names == ["negative", "positive", "surprise"]
    (ckpt / "config.json").write_text(json.dumps({"format": "mmnet-checkpoint", "model": {"num_classes": 7},
                                                  "class_names": list("abcdefg")}))
    model, info = load_checkpoint(ckpt)
    assert model.config.num_classes == 3 and info.class_names == ["negative", "positive", "surprise"]


def test_config_json_is_used_only_without_a_header_record_and_then_checked(tmp_path):
    from safetensors.torch import save_file

    ckpt = small_checkpoint(tmp_path / "ckpt")
    meta = json.loads((ckpt / "config.json").read_text())
    from safetensors import safe_open

    with safe_open(str(ckpt / "model.safetensors"), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    save_file(tensors, str(ckpt / "model.safetensors"))  # no metadata
    assert load_checkpoint(ckpt)[1].class_names == meta["class_names"]
    (ckpt / "config.json").write_text("{ broken")
    with pytest.raises(CheckpointError, match=r"config\.json.*not valid JSON"):
        load_checkpoint(ckpt)
    (ckpt / "config.json").write_text(json.dumps({**meta, "model": {**meta["model"], "pc_num_heads": 0}}))
    with pytest.raises(CheckpointError, match="pc_num_heads"):
        load_checkpoint(ckpt)
    (ckpt / "config.json").write_text(json.dumps({**meta, "class_names": "abc"}))
    with pytest.raises(CheckpointError, match="class_names"):
        load_checkpoint(ckpt)


def test_info_validates_against_the_mmnet_layout(tmp_path, capsys):
    from safetensors.torch import save_file

    meta = {"format": "mmnet-checkpoint", "format_version": 1, "model": {"num_classes": 3}, "class_names": None,
            "preprocessing": {}}
    path = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(3)}, str(path), metadata={"mmnet": json.dumps(meta)})
    code, out, err = cli(capsys, "info", path)
    assert_named_error(code, err, "do not match", "missing keys")
    assert "parameters" not in out
    ckpt = small_checkpoint(tmp_path / "ckpt")
    code, out, _ = cli(capsys, "info", ckpt)
    assert code == 0 and "parameters:" in out


@pytest.mark.parametrize("cut, needles", [
    (0.5, ["damaged", "header describes", "copy or save it again"]),
    (100, ["cut short inside its header", "copy or save it again"]),
    (0, ["is empty", "copy or save it again"]),
])
def test_a_truncated_weights_file_is_called_damaged_not_an_authors_pth(tmp_path, capsys, cut, needles):
    # the message pointed to `mmnet convert` (for the authors' .pth) whatever the damage
    weights = small_checkpoint(tmp_path / "ckpt") / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: int(len(data) * cut) if isinstance(cut, float) else cut])
    code, _, err = cli(capsys, "info", tmp_path / "ckpt")
    assert_named_error(code, err, "model.safetensors", *needles)
    assert "mmnet convert" not in err


def test_a_checkpoint_of_a_newer_mmnet_says_which_versions(tmp_path, capsys):
    ckpt = small_checkpoint(tmp_path / "ckpt")

    def newer(header):
        record = json.loads(header["__metadata__"]["mmnet"])
        record["mmnet_version"], record["model"]["new_option"] = "99.0", True
        header["__metadata__"]["mmnet"] = json.dumps(record)
        return json.dumps(header)

    _rewrite_header(ckpt / "model.safetensors", newer)
    (tmp_path / "clip.mp4").write_bytes(b"")  # present (a missing clip is said before the model loads), never read
    code, _, err = cli(capsys, "predict", "--checkpoint", ckpt, tmp_path / "clip.mp4")
    assert_named_error(code, err, "new_option", "written by mmnet 99.0", "upgrade mmnet")


def test_config_json_given_as_the_checkpoint_points_to_its_folder(tmp_path, capsys):
    ckpt = small_checkpoint(tmp_path / "ckpt")
    code, _, err = cli(capsys, "info", ckpt / "config.json")
    assert_named_error(code, err, "config.json", f"give the folder '{ckpt}'")


def test_convert_writes_no_checkpoint_that_the_other_commands_would_refuse(tmp_path, capsys):
    from ..test_convert import _fake_official_state_dict  # skips without the authors' key table

    sd = _fake_official_state_dict()
    sd["main_branch.fc.weight"][0, 0] = float("nan")
    torch.save(sd, tmp_path / "nan.pth")
    code, _, err = cli(capsys, "convert", tmp_path / "nan.pth", tmp_path / "out")  # wrote it, rc 0
    assert_named_error(code, err, "nan.pth", "holds NaN or infinite weights", "main_branch.fc.weight")
    assert not (tmp_path / "out").exists()
