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
