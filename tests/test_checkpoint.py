import json

import pytest
import torch

from mmnet import MMNet
from mmnet.errors import CheckpointError
from mmnet.model import CheckpointInfo, load_checkpoint


def test_round_trip(tmp_path):
    model = MMNet(num_classes=3, pc_depth=3, pc_mlp_ratio=2.0, use_ca=True).eval()
    info = CheckpointInfo(class_names=["negative", "positive", "surprise"], preprocessing={"image_size": 224})
    out = model.save_pretrained(tmp_path / "ckpt", info)
    assert (out / "model.safetensors").exists() and (out / "config.json").exists()
    loaded, loaded_info = load_checkpoint(out)
    loaded.eval()
    assert loaded.config == model.config
    assert loaded_info == info
    # The metadata is data beside the network, never attributes set on it.
    assert not hasattr(MMNet.from_pretrained(out), "class_names")
    x = torch.randn(1, 3, 224, 224), torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(loaded(*x), model(*x))
    # The weights file alone is a complete checkpoint (config in its header).
    assert MMNet.from_pretrained(out / "model.safetensors").config == model.config
    assert json.loads((out / "config.json").read_text())["format"] == "mmnet-checkpoint"


def test_not_a_checkpoint(tmp_path):
    junk = tmp_path / "model.safetensors"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        MMNet.from_pretrained(junk)
    with pytest.raises(CheckpointError, match="No mmnet checkpoint"):
        MMNet.from_pretrained(tmp_path / "nothing-here")


def test_foreign_safetensors_is_refused(tmp_path):
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(CheckpointError, match="not an mmnet checkpoint"):
        MMNet.from_pretrained(tmp_path / "other.safetensors")


def test_a_saved_checkpoint_follows_the_umask_and_leaves_no_temporary(tmp_path):
    # safetensors' save_file created model.safetensors 0600 whatever the umask: colleagues sharing
    # a run folder could read its config.json but not its weights
    import os
    import stat

    old = os.umask(0o022)
    try:
        out = MMNet(num_classes=3, image_size=32).save_pretrained(tmp_path / "ckpt", CheckpointInfo())
    finally:
        os.umask(old)
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {
        "model.safetensors": 0o644, "config.json": 0o644}
    assert load_checkpoint(out)[0].config.image_size == 32


def test_a_folder_with_config_json_alone_names_the_missing_weights(tmp_path):
    # it said "expected a folder holding model.safetensors and config.json", though config.json was there
    out = MMNet(num_classes=3).save_pretrained(tmp_path / "ck")
    (out / "model.safetensors").unlink()
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(out)
    assert f"'{out / 'model.safetensors'}' is missing (config.json alone is not a model)" in str(info.value)


@pytest.mark.parametrize("edit, needle", [
    (lambda meta: meta.update(class_names=list("abcde")), "lists 5 class names"),
    (lambda meta: meta["preprocessing"].update(image_size=128), "preprocessing.image_size 128 differs"),
])
def test_metadata_that_disagrees_with_the_network_names_the_checkpoint(tmp_path, edit, needle):
    # "Checkpoint lists 5 class names [...] for 3 outputs." named no file: which of several models is broken?
    from safetensors.torch import save_file

    from mmnet.cli import main

    out = MMNet(num_classes=3, image_size=64).save_pretrained(
        tmp_path / "ck", CheckpointInfo(class_names=["a", "b", "c"], preprocessing={"image_size": 64}))
    (out / "model.safetensors").unlink()  # config.json is read for a weights file without a header record
    meta = json.loads((out / "config.json").read_text())
    edit(meta)
    (out / "config.json").write_text(json.dumps(meta))
    save_file({k: v.contiguous() for k, v in MMNet(num_classes=3, image_size=64).state_dict().items()},
              str(out / "model.safetensors"))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(out)
    assert f"Checkpoint '{out}'" in str(info.value) and needle in str(info.value)
    assert main(["info", str(out)]) == 3
