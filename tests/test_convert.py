import csv

import pytest
import torch

from mmnet import MMNet, convert_official_state_dict, load_official_checkpoint
from mmnet.errors import CheckpointError
from mmnet.model.convert import OFFICIAL_UNUSED_KEYS

from .conftest import REFERENCE


def _official_layout() -> dict[str, tuple[tuple[int, ...], bool]]:
    path = REFERENCE / "official-mmnet-5class-state-dict.tsv"
    if not path.exists():
        pytest.skip("../shared/reference is absent")
    rows = {}
    with path.open() as f:
        for row in csv.DictReader(f, delimiter="\t"):
            shape = tuple(int(s) for s in row["shape"].strip("()").split(",") if s.strip())
            rows[row["key"]] = (shape, row["used_in_forward"] == "yes")
    return rows


def _fake_official_state_dict() -> dict[str, torch.Tensor]:
    """Random tensors in the authors' layout, built from the published key/shape table."""
    g = torch.Generator().manual_seed(0)
    out = {}
    for key, (shape, _) in _official_layout().items():
        if key.endswith("num_batches_tracked"):
            out[key] = torch.tensor(7)
        elif key.endswith("running_var"):
            out[key] = torch.rand(shape, generator=g) + 0.5
        else:
            out[key] = torch.randn(shape, generator=g) * 0.05
    return out


def test_unused_keys_are_exactly_the_documented_ones():
    layout = _official_layout()
    assert {k for k, (_, used) in layout.items() if not used} == OFFICIAL_UNUSED_KEYS
    assert len(OFFICIAL_UNUSED_KEYS) == 13


def test_every_used_key_is_mapped_and_loads_strictly():
    sd = _fake_official_state_dict()
    converted = convert_official_state_dict(sd)
    model = MMNet()
    model.load_state_dict(converted, strict=True)
    used = sum(1 for _, used in _official_layout().values() if used)
    assert len(converted) == used == len(model.state_dict())


@pytest.mark.parametrize("wrap", ["bare", "state_dict", "module"])
def test_wrappers_and_dataparallel_prefix(wrap):
    sd = _fake_official_state_dict()
    if wrap == "state_dict":
        sd = {"state_dict": sd, "epoch": 3}
    elif wrap == "module":
        sd = {f"module.{k}": v for k, v in sd.items()}
    assert len(convert_official_state_dict(sd)) == len(MMNet().state_dict())


def test_missing_and_unexpected_keys_are_listed():
    sd = _fake_official_state_dict()
    del sd["main_branch.layer2.0.conv1.weight"]
    sd["main_branch.extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError) as err:
        convert_official_state_dict(sd)
    assert "main_branch.extra.weight" in str(err.value)
    assert "main_branch.layer2.0.conv1.weight" in str(err.value)


def test_shape_mismatch_is_reported():
    sd = _fake_official_state_dict()
    sd["main_branch.layer1.0.conv2.weight"] = torch.zeros(128, 128, 3, 3)
    with pytest.raises(CheckpointError, match="shape"):
        convert_official_state_dict(sd)


def test_three_class_variant_is_inferred():
    sd = _fake_official_state_dict()
    sd["main_branch.fc.weight"] = torch.zeros(3, 100352)
    sd["main_branch.fc.bias"] = torch.zeros(3)
    model = MMNet(num_classes=3)
    model.load_state_dict(convert_official_state_dict(sd), strict=True)


def test_not_a_checkpoint(tmp_path):
    bad = tmp_path / "notes.pth"
    bad.write_text("hello")
    with pytest.raises(CheckpointError, match="notes.pth"):
        load_official_checkpoint(bad)


# -- equality with the authors' code, through their exported checkpoint --------------------------

def _export():
    d = REFERENCE / "official-export"
    if not (d / "official_state_dict.pt").exists():
        pytest.skip("../shared/reference/official-export is absent")
    load = lambda name: torch.load(d / name, weights_only=True)  # noqa: E731
    return load("official_state_dict.pt"), load("inputs.pt"), load("expected.pt")


@pytest.mark.oracle
@pytest.mark.parametrize("antialias", [False, True])
def test_reference_logits(antialias):
    sd, inputs, expected = _export()
    model = MMNet(pc_antialias=antialias)
    model.load_state_dict(convert_official_state_dict(sd), strict=True)
    model.eval()
    with torch.no_grad():
        logits = model(inputs["onset"], inputs["apex"])
    key = "logits_antialias_true" if antialias else "logits_antialias_false"
    torch.testing.assert_close(logits, expected[key], atol=1e-4, rtol=0)


@pytest.mark.oracle
def test_reference_intermediates():
    sd, inputs, expected = _export()
    model = MMNet()
    model.load_state_dict(convert_official_state_dict(sd), strict=True)
    model.eval()
    # oneDNN's fp32 convolutions on this CPU accumulate in another order: stage-4 values (~6)
    # then land 1.2e-4 from a float64 evaluation, the reference 4e-5. PyTorch's own kernels are
    # as precise as the reference's, so the 1e-4 comparison uses them (logits pass either way).
    with torch.no_grad(), torch.backends.mkldnn.flags(enabled=False):
        motion = inputs["apex"] - inputs["onset"]
        stage4, maps = model.main_branch(model.motion_stem(motion))
        pc = model.pc_module(inputs["onset"])
    torch.testing.assert_close(maps[0], expected["attn1"], atol=1e-4, rtol=0)
    torch.testing.assert_close(pc, expected["pc_output"], atol=1e-4, rtol=0)
    torch.testing.assert_close(stage4, expected["stage4_output"], atol=1e-4, rtol=0)


@pytest.mark.oracle
def test_reference_file_loads_through_the_pth_path(tmp_path):
    sd, inputs, expected = _export()
    path = tmp_path / "authors.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in sd.items()}}, path)
    model = load_official_checkpoint(path).eval()
    with torch.no_grad():
        logits = model(inputs["onset"], inputs["apex"])
    torch.testing.assert_close(logits, expected["logits_antialias_false"], atol=1e-4, rtol=0)


# -- malformed and damaged .pth files: named, never a traceback --------------------------------------

def _head_and_block(**tensors) -> dict[str, torch.Tensor]:
    """The two tensors the model's sizes are read from, enough to get past that step."""
    return {"main_branch.fc.weight": torch.zeros(5, 8), "vit_pos.blocks.0.mlp.fc1.weight": torch.zeros(16, 4),
            **tensors}


@pytest.mark.parametrize("content, needle", [
    (_head_and_block(**{"main_branch.fc.weight": torch.tensor(1.0)}), "main_branch.fc.weight has shape ()"),
    (_head_and_block(**{"vit_pos.blocks.0.mlp.fc1.weight": torch.zeros(4, 0)}),
     "vit_pos.blocks.0.mlp.fc1.weight has shape (4, 0)"),
    (_head_and_block(**{"main_branch.fc.weight": torch.zeros(1, 8)}), "num_classes"),
    ({1: 2, "a": 3}, "holds no tensors (top-level keys: [1, 'a'])"),
    ({1: torch.zeros(2), "a": torch.zeros(2)}, "keyed by [1]"),
])
def test_a_malformed_checkpoint_is_named_not_a_traceback(tmp_path, content, needle):
    path = tmp_path / "odd.pth"
    torch.save(content, path)
    with pytest.raises(CheckpointError) as err:
        load_official_checkpoint(path)
    assert "odd.pth" in str(err.value) and "does not look like an MMNet checkpoint" in str(err.value)
    assert needle in str(err.value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e300])  # 1e300: float64, infinite as fp32
def test_non_finite_weights_are_refused_before_a_checkpoint_is_written(tmp_path, value):
    weight = torch.zeros(5, 8, dtype=torch.float64)
    weight[0, 0] = value
    path = tmp_path / "nan.pth"
    torch.save(_head_and_block(**{"main_branch.fc.weight": weight}), path)
    # the loader's wording, so that convert refuses what every other command would refuse
    with pytest.raises(CheckpointError, match=r"'.*nan\.pth' holds NaN or infinite weights in 1 tensor\(s\) "
                                              r"\(main_branch\.fc\.weight\)"):
        load_official_checkpoint(path)


def test_a_nan_in_a_tensor_the_forward_pass_never_reads_does_not_matter(tmp_path):
    sd = _fake_official_state_dict()
    sd["vit_pos.head.weight"] = torch.full_like(sd["vit_pos.head.weight"], float("nan"))
    torch.save(sd, tmp_path / "authors.pth")
    load_official_checkpoint(tmp_path / "authors.pth")


@pytest.mark.parametrize("legacy, size", [(False, 300), (False, 2000), (True, 100), (True, 600)])
def test_a_checkpoint_cut_short_asks_for_a_fresh_copy(tmp_path, legacy, size):
    whole = tmp_path / "whole.pth"
    torch.save(_head_and_block(), whole, _use_new_zipfile_serialization=not legacy)
    cut = tmp_path / "cut.pth"
    cut.write_bytes(whole.read_bytes()[:size])  # the zip format: starts with PK, its index (at the end) lost
    with pytest.raises(CheckpointError, match=rf"'.*cut\.pth' is a PyTorch checkpoint cut short \({size} bytes; .*"
                                              r"copy or save it again"):
        load_official_checkpoint(cut)
    cut.write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"cut\.pth' is empty"):
        load_official_checkpoint(cut)


def test_an_authors_checkpoint_loads_in_eval_mode(tmp_path):
    # it came back in training mode: its logits depended on the batch and each forward pass moved BatchNorm
    torch.save(_fake_official_state_dict(), tmp_path / "authors.pth")
    assert not load_official_checkpoint(tmp_path / "authors.pth").training
