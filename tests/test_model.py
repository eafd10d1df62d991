import pytest
import torch
import torch.nn.functional as F

from mmnet import MMNet, MMNetConfig
from mmnet.errors import ConfigError
from mmnet.model.pc_module import Attention


def _pair(b=2, size=224):
    return torch.randn(b, 3, size, size), torch.randn(b, 3, size, size)


def test_parameter_count_matches_spec():
    model = MMNet(num_classes=5)
    assert sum(p.numel() for p in model.parameters()) == 9_438_841
    counts = {name: sum(p.numel() for p in mod.parameters()) for name, mod in model.named_children()}
    assert counts["motion_stem"] == 5_220
    assert counts["pc_module"] == 6_408_192
    assert counts["head"] == 501_765


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"num_classes": 3, "pc_depth": 3, "pc_mlp_ratio": 2.0, "pc_drop_path": 0.3},
        {"use_ca": False},
        {"use_pc": False},
        {"main_input": "apex"},
        {"pc_antialias": True},
    ],
)
def test_forward_shapes(overrides):
    model = MMNet(**overrides)
    onset, apex = _pair()
    logits = model(onset, apex)
    assert logits.shape == (2, model.config.num_classes)
    assert torch.isfinite(logits).all()


def test_flow_input():
    model = MMNet(main_input="flow").eval()
    onset, flow = _pair()
    assert model(onset, flow=flow).shape == (2, 5)
    with pytest.raises(ValueError, match="flow"):
        model(onset, torch.randn_like(onset))


def test_head_size_per_class_count():
    for c in (2, 3, 7):
        assert MMNet(num_classes=c).head.weight.numel() == 100_352 * c


@pytest.mark.parametrize("overrides", [{}, {"use_ca": False}, {"use_pc": False}, {"pc_depth": 3, "pc_drop_path": 0.3}])
def test_every_parameter_receives_gradient(overrides):
    model = MMNet(**overrides).train()
    onset, apex = _pair()
    model(onset, apex).logsumexp(1).sum().backward()
    dead = [n for n, p in model.named_parameters() if p.grad is None or not torch.any(p.grad != 0)]
    assert dead == []


def test_attention_maps_shapes_and_range():
    model = MMNet().eval()
    maps = model.attention_maps(*_pair())
    assert [tuple(m.shape) for m in maps] == [(2, 1, 112, 112), (2, 1, 56, 56), (2, 1, 28, 28), (2, 1, 14, 14)]
    for m in maps:
        assert (m >= 0).all() and (m <= 1).all()


def test_attention_is_continuous():
    """Stage k's map is its own sigmoid map times the pooled map of stage k-1 (the "continuous" CA)."""
    model = MMNet().eval()
    onset, apex = _pair()
    maps = model.attention_maps(onset, apex)
    pooled = F.max_pool2d(maps[0], 3, 2, 1)
    assert torch.all(maps[1] <= pooled + 1e-7)


def test_no_attention_maps_without_ca():
    with pytest.raises(ValueError, match="use_ca"):
        MMNet(use_ca=False).attention_maps(*_pair())


def test_fused_attention_equals_manual():
    attn = Attention(64, 4)
    x = torch.randn(2, 10, 64)
    B, N, D = x.shape
    qkv = attn.qkv(x).reshape(B, N, 3, 4, 16).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    weights = (q @ k.transpose(-2, -1) * 16**-0.5).softmax(-1)
    manual = attn.proj((weights @ v).transpose(1, 2).reshape(B, N, D))
    torch.testing.assert_close(attn(x), manual, atol=1e-5, rtol=1e-5)


def test_eval_is_deterministic():
    model = MMNet().eval()
    onset, apex = _pair()
    with torch.no_grad():
        torch.testing.assert_close(model(onset, apex), model(onset, apex))


def test_wrong_input_size_is_a_clear_error():
    with pytest.raises(ValueError, match="224x224"):
        MMNet()(*_pair(size=128))


@pytest.mark.parametrize(
    "bad",
    [{"num_classes": 1}, {"pc_depth": 0}, {"pc_drop_path": 1.5}, {"main_input": "optical"}, {"image_size": 100}],
)
def test_config_validation(bad):
    with pytest.raises(ConfigError):
        MMNetConfig(**bad)


def test_unknown_config_key():
    with pytest.raises(ConfigError, match="Unknown model config key"):
        MMNet(pc_dpeth=3)


LAYOUT = r"NCHW float, ImageNet-normalised, shape \(B, 3, S, S\) with S = 32"


@pytest.mark.parametrize("onset, apex, needles", [
    # onset batch 4, apex batch 1: broadcast silently to (4, 5) logits
    ((4, 3, 32, 32), (1, 3, 32, 32), ["onset and apex must have the same shape", "(4, 3, 32, 32)", "(1, 3, 32, 32)"]),
    # NHWC said "expected 32x32 frames, got (32, 3)"
    ((1, 32, 32, 3), (1, 32, 32, 3), ["onset must be", "got (1, 32, 32, 3) torch.float32", "HWC or uint8"]),
    # uint8 gave "expected scalar type Byte but found Float"
    ((1, 3, 32, 32, torch.uint8), (1, 3, 32, 32, torch.uint8), ["got (1, 3, 32, 32) torch.uint8", "HWC or uint8"]),
    # grey gave a convolution weight error
    ((1, 1, 32, 32), (1, 1, 32, 32), ["got (1, 1, 32, 32)", "grey frames"]),
    # a 16 px apex beside a 32 px onset gave a size mismatch
    ((1, 3, 32, 32), (1, 3, 16, 16), ["apex must be", "got (1, 3, 16, 16)"]),
    ((3, 32, 32), (3, 32, 32), ["got (3, 32, 32)", "unsqueeze(0)"]),
])
def test_frames_of_another_layout_are_a_value_error_naming_the_expected_one(onset, apex, needles):
    def frames(shape):
        dtype = shape[-1] if isinstance(shape[-1], torch.dtype) else torch.float32
        dims = shape[:-1] if isinstance(shape[-1], torch.dtype) else shape
        return torch.zeros(dims, dtype=dtype)

    model = MMNet(image_size=32).eval()
    for call in (model, model.forward_features, model.attention_maps):
        with pytest.raises(ValueError, match=LAYOUT) as info:
            call(frames(onset), frames(apex))
        assert all(n in str(info.value) for n in needles), str(info.value)


def test_a_flow_model_checks_its_flow_like_an_apex():
    model = MMNet(image_size=32, main_input="flow").eval()
    with pytest.raises(ValueError, match="onset and flow must have the same shape"):
        model(torch.zeros(2, 3, 32, 32), flow=torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match="flow must be"):
        model(torch.zeros(1, 3, 32, 32), flow=torch.zeros(1, 2, 32, 32))


def test_the_input_check_reads_no_values():
    # shapes and dtypes only: a meta tensor (no data) passes it, so a CUDA input never waits on the GPU
    model = MMNet(image_size=32)
    frames = torch.empty(2, 3, 32, 32, device="meta")
    model.check_inputs(frames, frames)
    with pytest.raises(ValueError, match="same shape"):
        model.check_inputs(frames, torch.empty(1, 3, 32, 32, device="meta"))


def test_forward_and_forward_head_say_what_they_take_and_return():
    assert all(word in MMNet.forward.__doc__ for word in ("(B, 3, S, S)", "IMAGENET_MEAN", "Returns", "eval()"))
    assert "forward_features" in MMNet.forward_head.__doc__
