"""A CA block trained in channels_last keeps one memory layout through its backward.

Reducing over channels (the spatial attention's mean and max) wrote NCHW gradients into a
channels_last block, and every op that then met both layouts (autograd summing a tensor's
gradients, ReLU's backward) ran several times slower. The layout is part of the training speed,
so it is checked here; the values must not depend on it.
"""

from __future__ import annotations

import torch

from mmnet.model.ca_block import CABlock, SpatialAttention
from mmnet.model.layouts import MixedLayouts, layout_of


def test_the_detector_sees_a_mixed_pair_and_not_views() -> None:
    a, b = torch.randn(2, 8, 5, 5), torch.randn(2, 8, 5, 5).to(memory_format=torch.channels_last)
    with MixedLayouts() as mode:
        b.permute(0, 2, 3, 1)  # a view: not counted
        _ = a + b
        _ = a.to(memory_format=torch.channels_last)  # a conversion meets both layouts too (it is one)
    assert dict(mode.calls) == {("aten.add.Tensor", (2, 8, 5, 5)): 1, ("aten._to_copy.default", (2, 8, 5, 5)): 1}
    assert layout_of(torch.randn(2, 1, 5, 5)) is None and "aten.add.Tensor 2x8x5x5: 1" in mode.summary()


def test_channels_last_block_backward_stays_channels_last() -> None:
    torch.manual_seed(0)
    block = CABlock(8, 8).to(memory_format=torch.channels_last)
    x = torch.randn(2, 8, 12, 12).to(memory_format=torch.channels_last).requires_grad_()
    prior = torch.rand(2, 1, 12, 12)
    with MixedLayouts() as mode:
        y, attn = block(x, prior)
        (y.square().sum() + attn.sum()).backward()
    assert mode.total == 0, mode.summary()
    assert x.grad is not None and x.grad.is_contiguous(memory_format=torch.channels_last)


def test_spatial_attention_same_values_and_gradients_in_both_layouts() -> None:
    torch.manual_seed(0)
    sa = SpatialAttention()
    sa.bn.weight.data.fill_(1.7)  # BN in training mode: a non-trivial map
    base = torch.randn(3, 16, 9, 9)
    results = []
    for fmt in (torch.contiguous_format, torch.channels_last):
        x = base.clone().to(memory_format=fmt).requires_grad_()
        out = sa(x)
        (out * torch.arange(out.numel()).reshape(out.shape)).sum().backward()
        results.append((out.detach(), x.grad.contiguous()))
    (out_nchw, grad_nchw), (out_cl, grad_cl) = results
    torch.testing.assert_close(out_cl, out_nchw, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(grad_cl, grad_nchw, atol=1e-5, rtol=1e-5)
    assert grad_nchw.abs().sum() > 0


def test_channel_pool_backward_is_autograds_bit_for_bit() -> None:
    """The attention's one-pass pooling backward gives autograd's gradient exactly, ties included."""
    from mmnet.model.ca_block import _ChannelMeanMax

    torch.manual_seed(0)
    for dtype in (torch.float32, torch.bfloat16):
        for dim in (1, 3):
            base = (torch.randn(3, 8, 7, 8) * 2).round() / 2  # few distinct values: ties in the max; C = 8
            upstream = torch.randn(3, 8, 7, 8).to(dtype)
            upstream = upstream.narrow(dim, 0, 2)  # (.., 2 along dim, ..): the mean's and the max's share
            grads, outs = [], []
            for pooled in (lambda x, d=dim: _ChannelMeanMax.apply(x, d),
                           lambda x, d=dim: torch.cat([x.mean(d, keepdim=True), x.max(d, keepdim=True).values], d)):
                x = base.to(dtype).requires_grad_()
                out = pooled(x)
                (out * upstream).sum().backward()
                outs.append(out.detach())
                grads.append(x.grad)
            assert torch.equal(outs[0], outs[1]), (dtype, dim)
            assert torch.equal(grads[0], grads[1]), (dtype, dim)
            assert grads[0].is_contiguous()


def test_spatial_attention_same_map_with_and_without_gradients() -> None:
    """Inference takes the plain operators (amax, sum / C), training the autograd Function: one map."""
    torch.manual_seed(0)
    sa = SpatialAttention().eval()
    for dtype in (torch.float32, torch.bfloat16):
        for fmt in (torch.contiguous_format, torch.channels_last):
            x = torch.randn(2, 16, 9, 9).to(dtype).to(memory_format=fmt)
            sa.to(dtype)
            with torch.no_grad():
                plain = sa(x)
            assert torch.equal(sa(x.clone().requires_grad_()).detach(), plain), (dtype, fmt)


def test_training_takes_the_one_pass_backward_and_inference_does_not(monkeypatch) -> None:
    from mmnet.model import ca_block

    calls = []
    original = ca_block._ChannelMeanMax.apply
    monkeypatch.setattr(ca_block._ChannelMeanMax, "apply", lambda *a: calls.append(1) or original(*a))
    sa = SpatialAttention()
    x = torch.randn(2, 8, 5, 5)
    with torch.no_grad():
        sa(x)
    assert calls == []
    sa(x.requires_grad_()).sum().backward()
    assert calls == [1] and x.grad is not None


def test_in_place_relu_and_residual_add_give_out_of_places_gradients(monkeypatch) -> None:
    """fp32 runs ReLU and the residual add in place: the same loss and gradients, bit for bit, as out of
    place (autograd raises if an in-place write hits a tensor some backward reads)."""
    from mmnet.model import MMNet, ca_block

    torch.manual_seed(0)
    model = MMNet(image_size=32)
    onset, apex = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    calls = []
    original = torch.relu_
    monkeypatch.setattr(torch, "relu_", lambda x: calls.append(1) or original(x))

    def loss_and_grads() -> tuple[torch.Tensor, list[torch.Tensor]]:
        model.zero_grad()
        loss = model(onset, apex).square().sum()
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in model.parameters()]

    in_place = loss_and_grads()
    assert len(calls) == 2 + 2 * 4  # stem, conv1, and two per CA block
    monkeypatch.setattr(ca_block.ReLU, "forward", lambda self, x: torch.relu(x))
    monkeypatch.setattr(ca_block, "_residual_add", lambda y, identity: y + identity)
    calls.clear()
    out_of_place = loss_and_grads()
    assert calls == []
    assert torch.equal(in_place[0], out_of_place[0])
    assert all(torch.equal(a, b) for a, b in zip(in_place[1], out_of_place[1]))
