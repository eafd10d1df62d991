import json
import re

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


def test_a_loaded_network_is_in_eval_mode_and_predicting_leaves_it_unchanged(tmp_path):
    # it came back in training mode: logits depended on the batch and every forward pass, even under
    # no_grad, moved the BatchNorm running statistics
    out = MMNet(num_classes=3, image_size=32).train().save_pretrained(tmp_path / "ck")
    for model in (MMNet.from_pretrained(out), load_checkpoint(out)[0], load_checkpoint(out, device="cpu")[0]):
        assert not model.training and not any(m.training for m in model.modules())
        before = {k: v.clone() for k, v in model.state_dict().items()}
        batch = torch.randn(4, 3, 32, 32), torch.randn(4, 3, 32, 32)
        with torch.no_grad():
            torch.testing.assert_close(model(*batch)[:1], model(batch[0][:1], batch[1][:1]))
        assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize("kwargs, needle", [
    ({"map_location": "gpu"}, "map_location=gpu is not a device; use auto, cpu, cuda or cuda:N"),
    ({"device": "gpu"}, "device=gpu is not a device"),
    ({"device": "cpu", "map_location": "cuda"}, "device=cpu and map_location=cuda disagree"),
    ({"device": "cuda:99"}, "device=cuda:99, but"),
])
def test_a_device_this_machine_lacks_is_a_config_error(tmp_path, kwargs, needle):
    # map_location="gpu" gave a raw RuntimeError, "cuda" on a CPU-only torch an AssertionError
    from mmnet.errors import ConfigError

    out = MMNet(num_classes=3, image_size=32).save_pretrained(tmp_path / "ck")
    for load in (load_checkpoint, MMNet.from_pretrained):
        with pytest.raises(ConfigError, match=re.escape(needle)):
            load(out, **kwargs)


def test_map_location_is_another_name_for_device(tmp_path):
    out = MMNet(num_classes=3, image_size=32).save_pretrained(tmp_path / "ck")
    assert next(MMNet.from_pretrained(out, map_location="cpu").parameters()).device.type == "cpu"
    assert next(load_checkpoint(out, device="auto", map_location=None)[0].parameters()).device.type == (
        "cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("record", ["config.json", "model_card.json"])
def test_a_json_record_of_a_run_model_is_named_not_called_damaged(tmp_path, record):
    # naming FOLD/model/config.json said the checkpoint "is damaged: its sha256 ... is not the one done.json
    # recorded ... Rerun the run's command to train the fold again"
    from mmnet.infer import Predictor
    from mmnet.run_folder import file_sha256

    model_dir = MMNet(num_classes=3, image_size=32).save_pretrained(tmp_path / "final" / "model")
    (model_dir / "model_card.json").write_text("{}")
    digest = file_sha256(model_dir / "model.safetensors")
    (tmp_path / "final" / "done.json").write_text(json.dumps({"model_sha256": digest}))
    for load in (load_checkpoint, Predictor.from_checkpoint):
        with pytest.raises(CheckpointError) as info:
            load(model_dir / record)
        message = str(info.value)
        assert "damaged" not in message and "train the fold again" not in message
        assert f"give the folder '{model_dir}' or its model.safetensors" in message
    load_checkpoint(model_dir)  # the model itself agrees with done.json


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_loading_skips_the_random_initialisation_and_gives_the_same_network(tmp_path, dtype):
    """A checkpoint's MMNet is built without drawing random numbers (its initialisation is overwritten at once):
    the global random state is untouched, and the network equals one built and loaded as training builds it
    (tensors in the model's float32 as a copy gives them, trainable, the same drop-path rates, bit-identical
    logits)."""
    torch.manual_seed(0)
    config = {"num_classes": 3, "image_size": 64, "pc_depth": 3, "pc_drop_path": 0.3}
    trained = MMNet(**config)
    out = trained.to(dtype).save_pretrained(tmp_path / "ckpt")
    state = torch.random.get_rng_state()
    built = MMNet(**config)  # on the CPU, randomly initialised, then copied into: the training way
    assert not torch.equal(torch.random.get_rng_state(), state)  # training's build still draws its initialisation
    built.load_state_dict(trained.state_dict())
    built.eval()
    state = torch.random.get_rng_state()
    loaded, _ = load_checkpoint(out)
    assert torch.equal(torch.random.get_rng_state(), state)
    own = dict(built.named_parameters()) | dict(built.named_buffers())
    for name, tensor in list(loaded.named_parameters()) + list(loaded.named_buffers()):
        assert tensor.device.type == "cpu" and tensor.dtype == own[name].dtype and torch.equal(tensor, own[name])
    assert all(p.requires_grad for p in loaded.parameters())
    assert [repr(b.drop_path) for b in loaded.pc_module.blocks] == [repr(b.drop_path) for b in built.pc_module.blocks]
    onset, apex = torch.randn(2, 3, 64, 64), torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded(onset, apex), built(onset, apex))


def test_a_checkpoint_rewritten_in_place_leaves_the_loaded_network_as_it_was(tmp_path):
    """`cp other.safetensors model.safetensors` beside a running `mmnet serve` rewrites the file in place: the loaded
    network holds its own copy of the weights, not the file's memory map."""
    out = MMNet(num_classes=3, image_size=64).save_pretrained(tmp_path / "ckpt")
    loaded, _ = load_checkpoint(out)
    before = {k: v.clone() for k, v in loaded.state_dict().items()}
    weights = out / "model.safetensors"
    size = weights.stat().st_size
    with open(weights, "r+b") as f:  # the tensors' bytes (after the header) overwritten, the same inode
        f.seek(size // 2)
        f.write(b"\x7f" * (size - size // 2))
    assert [k for k, v in loaded.state_dict().items() if not torch.equal(v, before[k])] == []
