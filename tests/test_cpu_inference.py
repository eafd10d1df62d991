"""The fast CPU inference copy (BN folded, Winograd 3x3 convolutions) computes the same network."""

import pytest
import torch

from mmnet import MMNet
from mmnet.model.cpu_inference import WinogradConv2d, fast_cpu_copy
from mmnet.runtime import nnpack_available

from .test_inference import perturb_bn


@pytest.mark.parametrize("winograd", [False, True])
def test_fast_copy_matches_the_exact_model(winograd):
    torch.manual_seed(0)
    model = MMNet(num_classes=5, image_size=64)
    perturb_bn(model)
    model.eval()
    onset = torch.randn(2, 3, 64, 64)
    apex = onset + 0.3 * torch.randn(2, 3, 64, 64)
    fast = fast_cpu_copy(model, winograd=winograd and nnpack_available())
    with torch.inference_mode():
        want, got = model(onset, apex), fast(onset, apex)
        want_maps, got_maps = model.attention_maps(onset, apex), fast.attention_maps(onset, apex)
    # Logits of this size move by ~1e-5 under a change of summation order; a wrong fold moves them by >1e-2.
    assert torch.allclose(got, want, rtol=1e-4, atol=1e-4), (got - want).abs().max()
    for a, b in zip(got_maps, want_maps):
        assert torch.allclose(a, b, atol=1e-5)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.main_branch.modules())
    winograd_layers = [m for m in fast.modules() if isinstance(m, WinogradConv2d)]
    assert len(winograd_layers) == (2 if winograd and nnpack_available() else 0)
    # The original is untouched and still trainable.
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert all(p.requires_grad for p in model.parameters())


def test_winograd_conv_falls_back_when_gradients_are_needed():
    conv = torch.nn.Conv2d(4, 4, 3, padding=1)
    fast = WinogradConv2d(conv)
    x = torch.randn(1, 4, 8, 8, requires_grad=True)
    fast(x).sum().backward()  # NNPACK has no backward here: the ordinary convolution is used
    assert x.grad is not None
    with pytest.raises(ValueError, match="3x3 stride-1"):
        WinogradConv2d(torch.nn.Conv2d(4, 4, 3, stride=2))


def test_winograd_falls_back_when_nnpack_fails_at_run_time(monkeypatch):
    conv = torch.nn.Conv2d(4, 6, 3, padding=1).eval()
    fast = WinogradConv2d(conv)
    x = torch.randn(1, 4, 9, 9)

    def refuse(*args, **kwargs):
        raise RuntimeError("NNPACK SpatialConvolution_updateOutput failed")

    monkeypatch.setattr(torch, "_nnpack_spatial_convolution", refuse, raising=False)
    with torch.no_grad(), pytest.warns(UserWarning, match="NNPACK convolution failed"):
        y = fast(x)
    assert torch.allclose(y, conv(x).detach())
    assert fast.nnpack_failed
    with torch.no_grad():
        assert torch.allclose(fast(x), conv(x))  # later calls go straight to the standard convolution
