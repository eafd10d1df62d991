"""Where a CPU training step's time goes, beside what the machine's cores can give: a profile to read
with ``bench_train.py``'s throughput, on any CPU kind.

    python benchmarks/profile_train.py                          # fp32 and bf16, the layout training would use
    python benchmarks/profile_train.py --precision fp32 --threads-scan
    python benchmarks/profile_train.py --json profile.json      # the figures as JSON too
    python benchmarks/profile_train.py --quick                  # tiny sizes: checks that it runs

It prints:

1. the machine: CPU model, the instruction sets that decide the kernels (AVX2, AVX-512, AVX-512-BF16,
   AMX), torch's CPU capability, threads, the allocator;
2. what the cores can do: a large matrix product in fp32 (and bf16 where it is native), GFLOP/s, best of
   3, and memory bandwidth (an in-place add, and a copy into fresh memory);
3. the warm-up steps' seconds, system seconds and page faults (fresh memory costs the first steps
   seconds), then one training step (the training loop's own step: batch from the cache, forward,
   backward, AdamW) under torch's profiler, its time split by kind of work;
4. the same step through oneDNN's verbose log: each convolution pass (forward, backward-data,
   backward-weights) with its shape, the kernel oneDNN chose, milliseconds and GFLOP/s, and the
   time spent converting memory layouts (oneDNN "reorders"), and the operator calls that met NCHW and
   channels_last tensors together (PyTorch's slow path for mixed layouts; ``mmnet.model.layouts``);
5. with ``--threads-scan``: the step's img/s at 1, 2, 4 ... threads up to torch's default.

Not a test; the figures are this machine's. docs/performance.md ("Where the training step's time goes")
reads them for each CPU kind met.
"""

# ruff: noqa: E402  (torch must be imported after prepare_process)
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

from mmnet.runtime import prepare_process

prepare_process()  # as the CLI: mimalloc, huge pages
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_train import fake_cache, peak_rss_gib

from mmnet import MMNet
from mmnet.config import AugmentConfig
from mmnet.data.batches import DeviceFrames
from mmnet.model.cpu_kernels import set_cpu_routes
from mmnet.runtime import (
    active_allocator,
    configure_cpu_numerics,
    cpu_flags,
    cpu_has_fast_bf16,
    cpu_model_name,
    resolve_memory_format,
)
from mmnet.train.calibrate import calibrated_routes
from mmnet.train.loop import adamw, train_one_epoch

ISA_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")

# torch profiler op names -> kind of work (self time; ops not named here count as "elementwise, pooling, other")
KINDS = (
    ("convolution", ("aten::mkldnn_convolution", "aten::convolution_backward", "aten::_nnpack",
                     "aten::slow_conv", "aten::thnn_conv")),
    ("matrix products (linear, attention)", ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm",
                                             "aten::_scaled_dot_product", "aten::matmul")),
    ("normalisation (batch, layer)", ("aten::native_batch_norm", "aten::native_layer_norm", "aten::batch_norm",
                                      "aten::_batch_norm")),
    ("copies and casts", ("aten::copy_", "aten::_to_copy", "aten::clone", "aten::contiguous")),
    ("optimiser (AdamW)", ("aten::_fused_adamw", "aten::_foreach_")),
)
OTHER = "elementwise, pooling, other"

# oneDNN's problem descriptor of a 2-D convolution, e.g. mb32_ic180oc128_ih112oh112kh3sh1dh0ph1_iw112ow112kw3...
CONV_DESC = re.compile(r"mb(\d+)_(?:g(\d+))?ic(\d+)oc(\d+)_ih(\d+)oh(\d+)kh(\d+)\D.*?_iw(\d+)ow(\d+)kw(\d+)")


def machine() -> dict:
    flags = cpu_flags()
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count()
    return {"cpu_model": cpu_model_name(), "isa": {f: f in flags for f in ISA_FLAGS},
            "torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "bf16_by_cpu_flags": cpu_has_fast_bf16(), "cores_usable": cores, "torch_threads": torch.get_num_threads(),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"), "allocator": active_allocator()}


def best_ms(fn, repeat: int = 3) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) * 1e3


def matmul_gflops(n: int, dtype: torch.dtype) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    return 2 * n**3 / best_ms(lambda: torch.mm(a, b)) / 1e6


def peaks(quick: bool) -> dict:
    """What the cores give at best: a large matrix product (GFLOP/s) and memory bandwidth (GB/s)."""
    n = 256 if quick else 4096
    out = {"matmul_size": n, "matmul_fp32_gflops": matmul_gflops(n, torch.float32)}
    # bf16 only where it is native: measured on a small product first (CPU flags can promise more than the
    # kernels deliver, e.g. with oneDNN capped to an older ISA), since an emulated 4096^2 product takes minutes
    small = 128 if quick else 512
    native = matmul_gflops(small, torch.bfloat16) > matmul_gflops(small, torch.float32)
    out["matmul_bf16_gflops"] = matmul_gflops(n, torch.bfloat16) if native else None
    x = torch.randn((2 << 20) if quick else (64 << 20))  # 8 MB or 256 MB of fp32
    gb = x.numel() * 4 / 1e9
    out["bandwidth_inplace_add_gb_s"] = 2 * gb / best_ms(lambda: x.add_(1.0)) * 1e3  # read + write
    out["bandwidth_copy_to_new_gb_s"] = 2 * gb / best_ms(lambda: x.clone()) * 1e3  # + first touch of fresh pages
    return out


def training_step(precision: str, size: int, batch: int, memory_format: str, routes: str = "calibrated"):
    """A function that runs one training step exactly as `mmnet train` does (its loop, its batches, the fp32
    kernel routes the calibration measured faster unless ``routes`` is "off")."""
    device = torch.device("cpu")
    fmt = resolve_memory_format(memory_format, device, precision)
    data = DeviceFrames(fake_cache(batch, size), list(np.arange(batch) % 5), device)
    model = MMNet(image_size=size).to(memory_format=fmt)
    on = calibrated_routes(size, precision, fmt) if routes == "calibrated" else {}
    set_cpu_routes(model, **on)
    opt = adamw(model.parameters(), lr=8e-4, weight_decay=0.6)
    gen = torch.Generator().manual_seed(0)
    idx = torch.arange(batch)

    def step() -> None:
        train_one_epoch(model, data, idx, opt, batch_size=batch, augment=AugmentConfig(), generator=gen,
                        precision=precision, memory_format=fmt)

    return step, "channels_last" if fmt == torch.channels_last else "NCHW", [name for name, used in on.items() if used]


def kind_of(op: str) -> str:
    for kind, prefixes in KINDS:
        if op.startswith(prefixes):
            return kind
    return OTHER


def profile_kinds(step) -> dict:
    """Self time of the step's operators, summed by kind of work (ms)."""
    from torch.profiler import ProfilerActivity, profile

    t0 = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    wall = (time.perf_counter() - t0) * 1e3
    kinds: dict[str, float] = defaultdict(float)
    for event in prof.key_averages():
        if event.key.startswith("aten::"):
            kinds[kind_of(event.key)] += event.self_cpu_time_total / 1e3
    kinds["outside operators (Python, autograd, profiler)"] = max(0.0, wall - sum(kinds.values()))
    return {"wall_ms": wall, "kinds_ms": dict(kinds)}


@contextmanager
def captured_stdout_fd():
    """Collect what C libraries print on file descriptor 1 (oneDNN's verbose log), as one string in a list."""
    sys.stdout.flush()
    saved = os.dup(1)
    out: list[str] = []
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 1)
        try:
            yield out
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
            tmp.seek(0)
            out.append(tmp.read().decode(errors="replace"))


def conv_gflop(desc: str) -> float | None:
    m = CONV_DESC.search(desc)
    if not m:
        return None
    mb, g, ic, oc, _ih, oh, kh, _iw, ow, kw = (int(v) if v else 1 for v in m.groups())
    return 2 * mb * oc * oh * ow * (ic // g) * kh * kw / 1e9


def onednn_primitives(step) -> dict:
    """One step with oneDNN's verbose log on: each executed primitive's kind, kernel, pass, shape and ms."""
    with captured_stdout_fd() as log, torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
        step()
    rows: dict[tuple, dict] = {}
    for line in log[0].splitlines():
        parts = line.split(",")
        if len(parts) < 10 or parts[0] != "onednn_verbose" or "exec" not in parts[:4]:
            continue
        at = parts.index("exec")
        kind, impl, prop = parts[at + 2], parts[at + 3], parts[at + 4]
        desc, ms = parts[-2], float(parts[-1])
        key = (kind, impl, prop, desc if kind == "convolution" else "")
        row = rows.setdefault(key, {"kind": kind, "kernel": impl, "pass": prop, "shape": key[3], "calls": 0,
                                    "ms": 0.0})
        row["calls"] += 1
        row["ms"] += ms
    out = sorted(rows.values(), key=lambda r: -r["ms"])
    for row in out:
        flop = conv_gflop(row["shape"]) if row["kind"] == "convolution" else None
        row["gflops"] = flop * row["calls"] / row["ms"] * 1e3 if flop and row["ms"] > 0 else None
    return {"primitives": out, "onednn_ms": sum(r["ms"] for r in out),
            "reorder_ms": sum(r["ms"] for r in out if r["kind"] == "reorder")}


def img_per_s(step, batch: int, steps: int) -> float:
    step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - t0)


def warm_up(step, steps: int) -> list[dict]:
    """Run ``steps`` steps; each one's seconds, system seconds and page faults. The first steps touch fresh
    memory (the kernel zeroes every new page: seconds of system time per step), later ones reuse the freed
    memory; the figures after this are of the steady state a long run is in."""
    out = []
    for _ in range(steps):
        r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        step()
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        out.append({"s": time.perf_counter() - t0, "system_s": r1.ru_stime - r0.ru_stime,
                    "page_faults": r1.ru_minflt - r0.ru_minflt})
    return out


def mixed_layouts(step) -> dict:
    """Operator calls of one step that meet NCHW and channels_last together (slow elementwise paths)."""
    from mmnet.model.layouts import MixedLayouts

    with MixedLayouts() as mode:
        step()
    return {"calls": mode.total, "summary": mode.summary(),
            "top": [{"op": op, "shape": list(shape), "calls": n} for (op, shape), n in mode.calls.most_common(8)]}


def profile_precision(precision: str, args: argparse.Namespace) -> dict:
    step, layout, routes = training_step(precision, args.size, args.batch, args.memory_format, args.routes)
    result = {"precision": precision, "layout": layout, "size": args.size, "batch": args.batch, "cpu_routes": routes,
              "warm_up": warm_up(step, args.warm_up)}
    result["train_img_s"] = img_per_s(step, args.batch, args.steps)
    # oneDNN's log first: a step right after the profiler's touched fresh memory again in some layers
    result.update(onednn_primitives(step))
    result.update(profile_kinds(step))
    result["mixed_layouts"] = mixed_layouts(step)
    if args.threads_scan:
        default = torch.get_num_threads()
        scan = {}
        n = 1
        while n <= default:
            torch.set_num_threads(n)
            scan[n] = img_per_s(step, args.batch, args.steps)
            n *= 2
        torch.set_num_threads(default)
        result["img_s_by_threads"] = scan
    result["peak_rss_gib"] = peak_rss_gib()
    return result


def print_report(report: dict) -> None:
    m, p = report["machine"], report["peaks"]
    isa = ", ".join(f for f, on in m["isa"].items() if on) or "none of " + ", ".join(ISA_FLAGS)
    print(f"machine: {m['cpu_model'] or 'unknown CPU'} ({isa}); torch {m['torch']}, capability {m['cpu_capability']}, "
          f"{m['torch_threads']} threads on {m['cores_usable']} usable cores, {m['allocator']} malloc")
    bf16 = p["matmul_bf16_gflops"]
    print(f"peaks: {p['matmul_size']}^2 matrix product fp32 {p['matmul_fp32_gflops']:.0f} GFLOP/s, bf16 "
          + (f"{bf16:.0f} GFLOP/s" if bf16 else "emulated (slower than fp32: not timed at full size)")
          + f"; memory: in-place add {p['bandwidth_inplace_add_gb_s']:.1f} GB/s, copy into fresh memory "
          f"{p['bandwidth_copy_to_new_gb_s']:.1f} GB/s")
    for r in report["runs"]:
        routes = "".join(f", {name}" for name in r["cpu_routes"])
        print(f"\n## {r['precision']}, {r['layout']}{routes}, {r['size']} px, batch {r['batch']}: "
              f"{r['train_img_s']:.2f} img/s; profiled step {r['wall_ms']:.0f} ms, "
              f"peak RSS {r['peak_rss_gib']:.2f} GiB")
        print("warm-up steps (s / system s / page faults): "
              + ", ".join(f"{w['s']:.2f} / {w['system_s']:.2f} / {w['page_faults']}" for w in r["warm_up"]))
        print("\n| kind of work | ms | share |\n|---|---|---|")
        for kind, ms in sorted(r["kinds_ms"].items(), key=lambda kv: -kv[1]):
            print(f"| {kind} | {ms:.0f} | {ms / r['wall_ms']:.0%} |")
        print(f"\noneDNN primitives: {r['onednn_ms']:.0f} ms, of which layout conversions (reorders) "
              f"{r['reorder_ms']:.0f} ms")
        print("\n| primitive | pass | kernel | shape | calls | ms | GFLOP/s |\n|---|---|---|---|---|---|---|")
        for row in r["primitives"][:24]:
            gf = f"{row['gflops']:.0f}" if row["gflops"] else ""
            print(f"| {row['kind']} | {row['pass']} | {row['kernel']} | {row['shape'][:48]} | {row['calls']} "
                  f"| {row['ms']:.1f} | {gf} |")
        print(f"\nmemory layouts: {r['mixed_layouts']['summary']}")
        if "img_s_by_threads" in r:
            print("\nthreads -> img/s: " + ", ".join(f"{n}: {v:.2f}" for n, v in r["img_s_by_threads"].items()))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--precision", choices=("fp32", "bf16", "both"), default="both",
                   help="both: fp32, and bf16 where it is native (a bf16 product faster than fp32's)")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=2, help="timed steps for img/s")
    p.add_argument("--warm-up", type=int, default=4, help="steps before anything is timed (fresh memory)")
    p.add_argument("--memory-format", choices=("auto", "channels_last", "contiguous"), default="auto")
    p.add_argument("--routes", choices=("calibrated", "off"), default="calibrated",
                   help="fp32 kernel routes (mmnet.model.cpu_kernels): those the calibration measured faster, or none")
    p.add_argument("--threads-scan", action="store_true", help="img/s at 1, 2, 4 ... threads")
    p.add_argument("--quick", action="store_true", help="32 px, batch 2, small peaks: checks that it runs")
    p.add_argument("--json", type=Path, help="write the figures here too")
    args = p.parse_args()
    if args.quick:
        args.size, args.batch, args.steps, args.warm_up = 32, 2, 1, 1
    configure_cpu_numerics()
    report = {"machine": machine(), "peaks": peaks(args.quick)}
    native_bf16 = report["peaks"]["matmul_bf16_gflops"] is not None
    precisions = (["fp32"] + (["bf16"] if native_bf16 else [])) if args.precision == "both" else [args.precision]
    report["runs"] = [profile_precision(prec, args) for prec in precisions]
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
