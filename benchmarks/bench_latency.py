"""Single-clip latency of MMNet on this CPU: two decoded frames in, class probabilities out.

Each timed call starts from two decoded (H, W, 3) uint8 frames and includes the resize to 224,
normalisation and the forward pass (batch 1), as ``mmnet predict`` does after decoding. Variants:

- torch no_grad / inference_mode / inference_mode + channels_last / bf16 autocast (fp32 in and out),
- onnxruntime on the exported graph (needs the extra ``onnx``), preprocessing in numpy + PIL.

Each variant reports median, p10 and p90 wall time over ``--runs`` calls after ``--warmup`` calls,
and the largest |logit difference| to the fp32 no_grad reference. The machine may be shared: the
1-minute load average is printed before and after.

    python benchmarks/bench_latency.py [--checkpoint CKPT] [--runs 30] [--threads N]
"""

# ruff: noqa: E402  (torch must be imported after prepare_process)
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from mmnet.runtime import keep_freed_memory, prepare_process

prepare_process()  # as the CLI does: mimalloc (MMNET_ALLOCATOR=system: glibc's), huge pages
import torch

from mmnet import MMNet
from mmnet.calibration_cache import inference_routes
from mmnet.infer import Predictor
from mmnet.model import load_checkpoint


def _perturb_bn(model: MMNet, seed: int = 0) -> None:
    # A fresh model's BN terms make the main branch output ~1e-6 (spec section 4). Give the
    # untrained network trained-like BN terms so the motion counts in the accuracy column.
    g = torch.Generator().manual_seed(seed)
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=g))
            m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
            with torch.no_grad():
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
                if name.endswith("attn.bn"):  # attention maps ~0.8 instead of ~0.05
                    m.weight.fill_(0.2)
                    m.bias.fill_(2.5)


def _onnx_call(model: MMNet, prep, onset: np.ndarray, apex: np.ndarray, threads: int, stack: contextlib.ExitStack):
    """Export to a temporary file and return a callable running it in onnxruntime (ImportError if absent)."""
    from PIL import Image

    from mmnet.infer import export_onnx
    from mmnet.infer.export import _onnxruntime

    ort = _onnxruntime()  # the export check's import: telemetry off first (else a device id under ~/.cache)

    tmp = stack.enter_context(tempfile.TemporaryDirectory())
    path = export_onnx(model, Path(tmp) / "mmnet.onnx")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    mean = np.array(prep.mean, dtype=np.float32)
    std = np.array(prep.std, dtype=np.float32)

    def to_input(frame: np.ndarray) -> np.ndarray:
        im = Image.fromarray(frame).resize((prep.image_size, prep.image_size), Image.BILINEAR)
        x = (np.asarray(im, dtype=np.float32) / 255.0 - mean) / std  # (S, S, 3)
        return x.transpose(2, 0, 1)[None]  # (1, 3, S, S)

    def call() -> np.ndarray:
        return session.run(["logits"], {"onset": to_input(onset), "apex": to_input(apex)})[0]

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="mmnet checkpoint (default: random 5-class model)")
    parser.add_argument("--runs", type=int, default=30, help="timed calls per variant")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls per variant")
    parser.add_argument("--threads", type=int, default=None, help="torch and onnxruntime threads (default: torch's)")
    parser.add_argument("--height", type=int, default=480, help="decoded frame height")
    parser.add_argument("--width", type=int, default=640, help="decoded frame width")
    parser.add_argument("--no-bf16", action="store_true", help="skip bf16 autocast (slow on CPUs without bf16 units)")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    keep_freed_memory()  # as `mmnet predict` does
    threads = torch.get_num_threads()
    if args.checkpoint is not None:
        model, info = load_checkpoint(args.checkpoint)
    else:
        torch.manual_seed(0)
        model, info = MMNet(num_classes=5), None
        _perturb_bn(model)
    rng = np.random.default_rng(0)
    onset = rng.integers(0, 256, (args.height, args.width, 3), dtype=np.uint8)
    apex = np.clip(onset.astype(np.int16) + rng.integers(-8, 9, onset.shape), 0, 255).astype(np.uint8)

    print(f"torch {torch.__version__}, {threads} thread(s), {os.cpu_count()} CPU(s), frames {args.width}x{args.height}")
    print(f"load average before: {os.getloadavg()[0]:.2f}")

    plain = Predictor(model, info)
    prep = plain.preprocessing

    def torch_call(ctx, predictor: Predictor, dtype=None):
        def call() -> np.ndarray:
            x_on = prep.to_tensor([onset])
            x_ap = prep.to_tensor([apex])
            if predictor.channels_last:
                x_on = x_on.contiguous(memory_format=torch.channels_last)
                x_ap = x_ap.contiguous(memory_format=torch.channels_last)
            with ctx():
                if dtype is not None:
                    with torch.autocast("cpu", dtype=dtype):
                        return predictor.model(x_on, x_ap).float().numpy()
                return predictor.model(x_on, x_ap).float().numpy()

        return call

    cl_model = MMNet(config=model.config)
    cl_model.load_state_dict(model.state_dict())
    variants = {
        "torch fp32 no_grad": torch_call(torch.no_grad, plain),
        "torch fp32 inference_mode (default)": torch_call(torch.inference_mode, plain),
        "torch fp32 inference_mode + channels_last": torch_call(
            torch.inference_mode, Predictor(cl_model, channels_last=True)
        ),
        "torch fp32 fast_cpu (BN folded, Winograd)": torch_call(torch.inference_mode, Predictor(model, fast_cpu=True)),
    }
    routes = inference_routes(model.config.image_size)
    if any(routes.values()):  # what `mmnet predict` runs on this CPU
        routed_model = MMNet(config=model.config)
        routed_model.load_state_dict(model.state_dict())
        routed = Predictor(routed_model, info)
        routed.use_cpu_routes(routes)
        name = "torch fp32 + routes " + "+".join(r for r, on in routes.items() if on) + " (predict)"
        variants[name] = torch_call(torch.inference_mode, routed)
    else:
        print("fp32 kernel routes: none faster on this CPU, or no cached calibration (mmnet info --calibrate)")
    if not args.no_bf16:
        variants["torch bf16 autocast"] = torch_call(torch.inference_mode, plain, torch.bfloat16)

    with contextlib.ExitStack() as stack:
        try:
            variants["onnxruntime fp32"] = _onnx_call(model, prep, onset, apex, threads, stack)
        except ImportError:
            print("onnxruntime: not installed (pip install -e '.[onnx]' in the checkout), skipped")
        # Round-robin over the variants so that a change of machine load hits all of them alike.
        outputs = {name: fn() for name, fn in variants.items() for _ in range(args.warmup)}
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.runs):
            for name, fn in variants.items():
                t0 = time.perf_counter()
                outputs[name] = fn()
                times[name].append((time.perf_counter() - t0) * 1000.0)
    reference = outputs["torch fp32 no_grad"]
    results = {name: (times[name], float(np.abs(outputs[name] - reference).max())) for name in variants}

    print(f"\n{'variant':45s} {'median ms':>10s} {'p10':>8s} {'p90':>8s} {'max |dlogit|':>13s}")
    for name, (times, diff) in results.items():
        q = statistics.quantiles(times, n=10)
        print(f"{name:45s} {statistics.median(times):10.1f} {q[0]:8.1f} {q[-1]:8.1f} {diff:13.2e}")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}  ({args.runs} runs, {args.warmup} warm-up per variant)")


if __name__ == "__main__":
    main()
