"""The measurements behind :mod:`mmnet.train.calibrate`: real MMNet training steps on this CPU.

Kept apart from the choice and the cache so that those can be tested with fake timings.
"""

from __future__ import annotations

import math
import time

__all__ = ["ModelBench"]


class ModelBench:
    """MMNet training steps (forward, cross-entropy, backward, AdamW) on a fixed random batch."""

    def __init__(self, image_size: int, batch: int):
        import torch

        from ..model.mmnet import MMNet

        self.batch, self.size, self.threads = batch, image_size, torch.get_num_threads()
        gen = torch.Generator().manual_seed(0)
        self.onset = torch.randn(batch, 3, image_size, image_size, generator=gen)
        self.apex = self.onset + 0.1 * torch.randn(self.onset.shape, generator=gen)
        self.labels = torch.randint(0, 5, (batch,), generator=gen)
        with torch.random.fork_rng(devices=[]):  # the run's random stream is not touched
            torch.manual_seed(0)
            self.weights = MMNet(image_size=image_size).state_dict()
        self.models: dict[str, tuple] = {}
        self._route_layers: dict[tuple[str, str], tuple] = {}

    def _model(self, fmt):
        import torch

        from ..model.mmnet import MMNet

        with torch.random.fork_rng(devices=[]):
            model = MMNet(image_size=self.size)
        model.load_state_dict(self.weights)
        return model.to(memory_format=fmt)

    def screen(self) -> float:
        """CPU time of a bf16 convolution (forward + backward, autocast) over fp32's, on one thread
        (this thread's CPU time does not count other processes: robust on a busy host), best of 6."""
        import torch

        conv = torch.nn.Conv2d(64, 64, 3, padding=1)
        x = torch.randn(2, 64, 56, 56).requires_grad_()
        best = {"fp32": math.inf, "bf16": math.inf}
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            for _ in range(6):
                for prec in ("fp32", "bf16"):
                    t0 = time.thread_time()
                    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=prec == "bf16"):
                        y = conv(x)
                    y.float().sum().backward()
                    best[prec] = min(best[prec], time.thread_time() - t0)
        finally:
            torch.set_num_threads(threads)
        return best["bf16"] / best["fp32"]

    def logit_gap(self) -> tuple[float, float]:
        import torch

        from .loop import autocast

        model = self._model(torch.channels_last)
        with torch.no_grad():
            ref = model(self.onset, self.apex).float()
            with autocast(torch.device("cpu"), "bf16"):
                low = model(self.onset, self.apex).float()
        return float((low - ref).abs().max()), float(ref.abs().max())

    def step(self, option: str) -> tuple[float, float, bool]:
        import torch
        import torch.nn.functional as F

        from .loop import adamw, autocast

        prec, name = option.split("/")
        fmt = torch.channels_last if name == "channels_last" else torch.contiguous_format
        if option not in self.models:
            model = self._model(fmt)
            self.models[option] = (model, adamw(model.parameters(), lr=8e-4, weight_decay=0.6))
        model, opt = self.models[option]
        model.train()
        t0, c0 = time.perf_counter(), time.process_time()
        onset = self.onset.contiguous(memory_format=fmt)
        apex = self.apex.contiguous(memory_format=fmt)
        with autocast(torch.device("cpu"), prec):
            logits = model(onset, apex)
        loss = F.cross_entropy(logits.float(), self.labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        finite = bool(torch.isfinite(loss))
        return time.perf_counter() - t0, time.process_time() - c0, finite

    def route(self, name: str, on: bool, layout: str = "channels_last") -> tuple[float, float]:
        """Wall and CPU seconds of one forward + backward of the layer a kernel route changes
        (mmnet.model.cpu_kernels), with the route on or off, in fp32: ``onednn_linear`` on the PC
        module's MLP (2048 tokens, 512 -> 2048), ``pad_weight_grad`` on the main branch's 180 -> 128
        convolution at this bench's batch and resolution."""
        import torch

        from ..model.cpu_kernels import Conv2d, Linear

        fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
        if (name, layout) not in self._route_layers:
            gen = torch.Generator().manual_seed(0)
            if name == "onednn_linear":
                layer = Linear(512, 2048)
                x = torch.randn(2048, 512, generator=gen)
            elif name == "pad_weight_grad":
                layer = Conv2d(180, 128, 3, padding=1, bias=False).to(memory_format=fmt)
                side = max(1, self.size // 2)
                x = torch.randn(self.batch, 180, side, side, generator=gen).contiguous(memory_format=fmt)
            else:
                raise ValueError(f"unknown kernel route {name!r}")
            self._route_layers[name, layout] = (layer, x.requires_grad_())
        layer, x = self._route_layers[name, layout]
        layer.onednn = layer.pad_weight_grad = on
        t0, c0 = time.perf_counter(), time.process_time()
        y = layer(x)
        y.backward(torch.ones_like(y))
        seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - c0
        layer.zero_grad(set_to_none=True)
        x.grad = None
        return seconds, cpu_seconds

