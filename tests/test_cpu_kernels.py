"""The fp32 CPU kernel routes (mmnet.model.cpu_kernels): the same results as the plain kernels, the route
really taken when on and never when off or outside fp32, and their measured choice in the calibration."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from mmnet import MMNet, calibration_cache
from mmnet.config import TrainConfig
from mmnet.model import cpu_kernels
from mmnet.model.cpu_kernels import Conv2d, Linear, set_cpu_routes
from mmnet.train import calibrate as cal_mod
from mmnet.train import calibrate_choice
from mmnet.train.calibrate import OPTIONS, measure, plan_training


@pytest.fixture(autouse=True)
def _quiet_host(monkeypatch):
    # the calibrations here are fake: the real machine's load average must not mark them busy (and measured again)
    monkeypatch.setattr(calibrate_choice, "host_load", lambda: (0.5, 2))


class Calls(TorchDispatchMode):
    """Records (operator name, shapes of its tensor arguments) of every ATen call."""

    def __init__(self):
        super().__init__()
        self.calls: list[tuple[str, list[tuple[int, ...]]]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.calls.append((func.__name__, [tuple(a.shape) for a in args if isinstance(a, torch.Tensor)]))
        return func(*args, **(kwargs or {}))

    def names(self) -> set[str]:
        return {name.split(".")[0] for name, _ in self.calls}


def _grads(module, x, **kw):
    x = x.clone().requires_grad_()
    y = module(x, **kw)
    y.backward(torch.randn(y.shape, generator=torch.Generator().manual_seed(1)))
    grads = [x.grad] + [p.grad.clone() for p in module.parameters()]
    module.zero_grad(set_to_none=True)
    return y.detach(), grads


def test_linear_through_onednn_gives_the_same_values_and_gradients():
    torch.manual_seed(0)
    layer = Linear(64, 96)
    x = torch.randn(4, 128, 64)  # over 20,480 elements: PyTorch's convolution takes oneDNN (with 2+ threads)
    ref_y, ref_g = _grads(layer, x)
    layer.onednn = True
    with Calls() as calls:
        y, g = _grads(layer, x)
    assert "convolution" in calls.names() and not calls.names() & {"addmm", "mm", "bmm"}  # oneDNN, not BLAS
    assert y.shape == ref_y.shape == (4, 128, 96)
    torch.testing.assert_close(y, ref_y, rtol=1e-5, atol=1e-5)
    for a, b in zip(g, ref_g, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_linear_route_stays_off_outside_plain_fp32():
    torch.manual_seed(0)
    layer = Linear(32, 16)
    layer.onednn = True
    x = torch.randn(4, 32)
    with Calls() as calls, torch.autocast("cpu", dtype=torch.bfloat16):
        y = layer(x)
    assert y.dtype == torch.bfloat16 and "convolution" not in calls.names()  # bf16: torch's own (oneDNN) linear
    with Calls() as calls:
        y = layer.double()(x.double())
    assert y.dtype == torch.float64 and "convolution" not in calls.names()


@pytest.mark.parametrize("layout", [torch.channels_last, torch.contiguous_format])
@pytest.mark.parametrize("stride", [1, 2])
def test_padded_weight_gradient_gives_the_same_gradients(layout, stride):
    torch.manual_seed(0)
    conv = Conv2d(20, 8, 3, stride=stride, padding=1, bias=False).to(memory_format=layout)
    x = torch.randn(2, 20, 12, 12).contiguous(memory_format=layout)
    ref_y, ref_g = _grads(conv, x)
    conv.pad_weight_grad = True
    with Calls() as calls:
        y, g = _grads(conv, x)
    weight_grad_inputs = [shapes for name, shapes in calls.calls if name.startswith("convolution_backward")]
    assert (2, 32, 12, 12) in {s for shapes in weight_grad_inputs for s in shapes}  # padded 20 -> 32 channels
    assert torch.equal(y, ref_y)  # the forward is the plain convolution
    assert g[1].shape == (8, 20, 3, 3)
    for a, b in zip(g, ref_g, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_padding_only_where_it_applies(monkeypatch):
    conv = Conv2d(32, 8, 3, padding=1, bias=False)  # already a multiple of 16: nothing to pad
    conv.pad_weight_grad = True
    x = torch.randn(1, 32, 8, 8, requires_grad=True)
    with Calls() as calls:
        conv(x).sum().backward()
    backward_inputs = [shapes[1] for name, shapes in calls.calls if name.startswith("convolution_backward")]
    assert backward_inputs == [(1, 32, 8, 8)]  # one plain backward, no padded copy
    odd = Conv2d(20, 8, 3, padding=1, bias=False)
    odd.pad_weight_grad = True
    routed = []
    real_apply = cpu_kernels._PaddedWeightGradConv.apply
    monkeypatch.setattr(cpu_kernels._PaddedWeightGradConv, "apply", lambda *a: routed.append(1) or real_apply(*a))
    odd(torch.randn(1, 20, 8, 8)).sum().backward()
    assert routed == [1]  # the spy sees the route when it is taken
    with torch.no_grad():  # inference: no gradient, the plain convolution
        odd(torch.randn(1, 20, 8, 8))
    odd(torch.randn(20, 8, 8)).sum().backward()  # unbatched input: the plain convolution (and no crash)
    assert routed == [1]
    linear = Linear(8, 4)
    linear.onednn = True
    assert linear(torch.randn(0, 8)).shape == (0, 4)  # no rows: nn.Linear's answer


def test_mmnet_with_routes_matches_without_and_keeps_its_state_dict():
    torch.manual_seed(0)
    plain = MMNet(image_size=32)
    routed = copy.deepcopy(plain)
    set_cpu_routes(routed, onednn_linear=True, pad_weight_grad=True)
    assert routed.state_dict().keys() == plain.state_dict().keys()
    assert all(m.onednn for m in routed.modules() if isinstance(m, Linear))
    assert any(m.pad_weight_grad for m in routed.modules() if isinstance(m, Conv2d))
    assert not any(getattr(m, "onednn", False) or getattr(m, "pad_weight_grad", False) for m in plain.modules())
    onset = torch.randn(2, 3, 32, 32)
    apex = onset + 0.1 * torch.randn_like(onset)
    out = {}
    for name, model in (("plain", plain), ("routed", routed)):
        logits = model(onset, apex)
        logits.square().sum().backward()
        out[name] = (logits.detach(), {n: p.grad for n, p in model.named_parameters()})
    torch.testing.assert_close(out["routed"][0], out["plain"][0], rtol=1e-5, atol=1e-5)
    for n, grad in out["plain"][1].items():
        scale = grad.abs().max().clamp_min(1e-8)
        assert float((out["routed"][1][n] - grad).abs().max() / scale) < 1e-3, n


# ----------------------------------------------------------------------------- the measured choice
class RouteBench:
    """Fake calibration bench: fp32/channels_last fastest, routes 'taking' the given seconds."""

    batch, threads = 4, 2

    def __init__(self, routes: dict[str, tuple[float, float]], cpu: dict[str, tuple[float, float]] | None = None,
                 busy: bool = False):
        self.routes, self.cpu, self.busy, self.layouts = routes, cpu or {}, busy, set()

    def screen(self):
        return 8.0  # bf16 emulated: fp32 only

    def step(self, option):
        wall = 0.09 if option == "fp32/channels_last" else 0.1
        return (wall * 5, wall, True) if self.busy else (wall, wall * self.threads, True)

    def route(self, name, on, layout):
        self.layouts.add(layout)
        if name not in self.routes:
            raise RuntimeError("no such kernel here")
        wall = self.routes[name][on]
        return wall, self.cpu.get(name, (wall * self.threads,) * 2)[on]


def test_calibration_times_the_routes_and_uses_the_faster():
    bench = RouteBench({"onednn_linear": (0.100, 0.050), "pad_weight_grad": (0.100, 0.095)})  # (plain, route)
    cal = measure(64, budget_s=1.0, bench=bench)
    assert bench.layouts == {"channels_last"}  # the faster fp32 layout
    assert cal.routes["onednn_linear"] == {"plain_ms": 100.0, "route_ms": 50.0, "layout": "channels_last",
                                           "spread": 0.0, "use": True}  # rounds that agree: no noise
    assert cal.routes["pad_weight_grad"]["use"] is False  # 5 % is within the noise: not worth it
    assert cal.route_choice() == {"onednn_linear": True, "pad_weight_grad": False}
    # measured in channels_last: not applied in another layout, nor where it does not act (bf16)
    assert not any(cal.route_choice("fp32", "contiguous").values())
    assert not any(cal.route_choice("bf16", "channels_last").values())
    failing = measure(64, budget_s=1.0, bench=RouteBench({"onednn_linear": (0.1, 0.2)}))
    assert failing.routes["pad_weight_grad"]["status"].startswith("failed: RuntimeError")
    assert failing.route_choice() == {"onednn_linear": False, "pad_weight_grad": False}


def test_plan_and_training_carry_the_routes(monkeypatch, tmp_path):
    monkeypatch.setenv("MMNET_CALIBRATE", "1")
    monkeypatch.setenv("MMNET_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(calibration_cache, "MEMO", {})
    bench = RouteBench({"onednn_linear": (0.1, 0.05), "pad_weight_grad": (0.1, 0.05)})
    monkeypatch.setattr(cal_mod, "measure", lambda size, *, budget_s: measure(size, budget_s=1.0, bench=bench))
    plan = plan_training(TrainConfig(device="cpu"), 64)
    assert plan.cpu_routes == {"onednn_linear": True, "pad_weight_grad": True}
    assert plan.calibration["routes"]["onednn_linear"]["route_ms"] == 50.0
    from mmnet.runtime import describe_machine

    assert describe_machine(plan)["cpu_routes"] == ["onednn_linear", "pad_weight_grad"]
    monkeypatch.setattr(calibration_cache, "MEMO", {})  # from the cache file: the routes come back
    monkeypatch.setattr(cal_mod, "measure", lambda *a, **k: pytest.fail("measured again"))
    assert plan_training(TrainConfig(device="cpu"), 64).cpu_routes == plan.cpu_routes


def test_a_cache_file_with_unknown_routes_is_measured_again(tmp_path):
    cal = measure(64, budget_s=1.0, bench=RouteBench({}))
    data = cal.summary()
    data["routes"] = {"fast_magic": {"use": True}}
    path = tmp_path / "x.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="kernel routes"):
        calibration_cache.read_calibration(path)
    assert set(OPTIONS) == set(cal.options)


def test_calibration_says_which_routes_it_found_faster(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("MMNET_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(calibration_cache, "MEMO", {})
    bench = RouteBench({"onednn_linear": (0.1, 0.05), "pad_weight_grad": (0.1, 0.1)})
    monkeypatch.setattr(cal_mod, "measure", lambda size, *, budget_s: measure(size, budget_s=1.0, bench=bench))
    cal_mod.calibrate(64)
    captured = capsys.readouterr()
    assert "fp32 kernel routes faster here: onednn_linear\n" in captured.out + captured.err


def test_on_a_busy_host_routes_are_judged_by_cpu_time():
    # by wall time the route looks twice as fast (a neighbour slowed the plain runs); by CPU time it is slower
    bench = RouteBench({"onednn_linear": (0.2, 0.1)}, cpu={"onednn_linear": (0.2, 0.3)}, busy=True)
    cal = measure(64, budget_s=1.0, bench=bench)
    assert cal.metric == "cpu"
    assert cal.routes["onednn_linear"]["use"] is False and cal.routes["onednn_linear"]["route_ms"] == 150.0


@pytest.mark.parametrize("routes", [
    {"onednn_linear": {"plain_ms": 1.0, "route_ms": 0.5, "use": True}},  # one of the two
    {"onednn_linear": {"plain_ms": 1.0, "route_ms": 0.5, "use": "false"},
     "pad_weight_grad": {"status": "failed: x", "use": False}},  # not a boolean
    {"onednn_linear": {"route_ms": 0.5, "use": True}, "pad_weight_grad": {"status": "failed: x", "use": False}},
    {"onednn_linear": {"plain_ms": float("nan"), "route_ms": 0.5, "use": True},
     "pad_weight_grad": {"status": "failed: x", "use": False}},
])
def test_damaged_route_records_are_measured_again(tmp_path, routes):
    data = measure(64, budget_s=1.0, bench=RouteBench({})).summary()
    data["routes"] = routes
    path = tmp_path / "x.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="kernel routes"):
        calibration_cache.read_calibration(path)


def test_a_fold_turns_on_the_planned_routes(monkeypatch, tmp_path):
    from dataclasses import replace

    from mmnet import synth
    from mmnet.config import load_config
    from mmnet.train import fold
    from mmnet.train.prepare import fold_tasks, prepare_run

    root = synth.write_dataset(tmp_path / "data", subjects=2, clips_per_subject=3, seed=0)
    cfg = load_config(None, [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", "train.epochs=1",
                             "data.image_size=32", "model.image_size=32", "train.batch_size=4"])
    real_plan = fold.plan_training
    monkeypatch.setattr(fold, "plan_training", lambda *a, **k: replace(
        real_plan(*a, **k), cpu_routes={"onednn_linear": True, "pad_weight_grad": True}))
    applied = []
    real_set = fold.set_cpu_routes
    monkeypatch.setattr(fold, "set_cpu_routes", lambda model, **kw: applied.append(kw) or real_set(model, **kw))
    task = fold_tasks(prepare_run(cfg, tmp_path / "run", progress=False))[0]
    fold.run_fold(task, progress=False)
    assert applied == [{"onednn_linear": True, "pad_weight_grad": True}]
    assert (task.fold_dir / "done.json").is_file()


def test_inference_takes_the_cached_linear_route_and_never_measures(monkeypatch, tmp_path):
    from mmnet.commands.common import load_predictor
    from mmnet.train.calibrate import inference_routes

    monkeypatch.setenv("MMNET_CALIBRATE", "1")
    monkeypatch.setenv("MMNET_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(calibration_cache, "MEMO", {})
    checkpoint = MMNet(num_classes=3, image_size=64).save_pretrained(tmp_path / "ckpt")
    measured = []
    monkeypatch.setattr(cal_mod, "measure", lambda *a, **k: measured.append(a) or pytest.fail("measured"))
    assert inference_routes(64) == {}  # nothing cached: no route, and no calibration started
    plain = load_predictor(checkpoint, device="cpu")
    assert plain.cpu_routes == {} and not any(m.onednn for m in plain.model.modules() if isinstance(m, Linear))

    bench = RouteBench({"onednn_linear": (0.1, 0.05), "pad_weight_grad": (0.1, 0.05)})
    monkeypatch.setattr(cal_mod, "measure", lambda size, *, budget_s: measure(size, budget_s=1.0, bench=bench))
    cal_mod.calibrate(64, announce=False)  # what a training run or `mmnet info --calibrate` caches
    monkeypatch.setattr(calibration_cache, "MEMO", {})
    monkeypatch.setattr(cal_mod, "measure", lambda *a, **k: pytest.fail("measured again"))
    assert inference_routes(64) == {"onednn_linear": True}  # the weight-gradient route has no part in inference
    routed = load_predictor(checkpoint, device="cpu")
    assert routed.cpu_routes == {"onednn_linear": True}
    linears = [m for m in routed.model.modules() if isinstance(m, Linear)]
    assert linears and all(m.onednn for m in linears)
    frames = [torch.randint(0, 256, (64, 64, 3), dtype=torch.uint8).numpy() for _ in range(2)]
    torch.testing.assert_close(torch.from_numpy(routed.predict_frames([frames[0]], [frames[1]])),
                               torch.from_numpy(plain.predict_frames([frames[0]], [frames[1]])), rtol=1e-5, atol=1e-6)
    monkeypatch.setenv("MMNET_CALIBRATE", "0")
    assert inference_routes(64) == {}
