"""gpu-check.md from the check's JSON: one table row per section, then the throughput rows."""

from __future__ import annotations

HEADER = "| section | status | result | goal |"


def _g(x, spec: str = ".3g") -> str:
    return format(x, spec) if isinstance(x, (int, float)) and not isinstance(x, bool) else str(x)


def _env(r: dict) -> str:
    gpu = f"{r['gpu']} ({r.get('gpu_memory_gib')} GiB, sm {r.get('compute_capability')}), driver {r.get('driver')}" \
        if "gpu" in r else f"CPU: {r.get('cpu')} ({r.get('cpu_count')} cores)"
    return (f"{gpu}; torch {r.get('torch')}, CUDA {r.get('cuda_build')}, cuDNN {r.get('cudnn')}, "
            f"allocator {r.get('allocator')}")


def _parity(r: dict) -> str:
    cuda = (f"CUDA vs CPU fp32 max abs diff {_g(r['cuda_vs_cpu_fp32_max_abs'])} (relative "
            f"{_g(r['cuda_vs_cpu_fp32_max_rel'])})" if "cuda_vs_cpu_fp32_max_abs" in r
            else f"CUDA vs CPU: {r.get('cuda_vs_cpu_fp32')}")
    return (f"{cuda}; bf16 autocast moves logits by {_g(r.get('bf16_vs_fp32_max_abs'))} on {r.get('bf16_device')} "
            f"(same argmax: {r.get('bf16_same_argmax')})")


def _resume(r: dict) -> str:
    return (f"step {_g(r.get('first_step_s'))} s ({r.get('precision')}, batch {r.get('batch')}); state "
            f"{r.get('state_mb')} MB saved in {_g(r.get('save_s'))} s; resumed step identical: {r.get('identical')} "
            f"(max param diff {_g(r.get('params_max_abs_diff'))})")


def _data(r: dict) -> str:
    syncs = (f"host syncs: {r['train_syncs']} in a {r['train_steps']}-step training epoch, {r['eval_syncs']} in "
             f"{r['eval_batches']} eval batches" if "train_syncs" in r else f"host syncs: {r.get('host_syncs')}")
    return (f"cache on {r.get('cache_train_pixels')}, batches built on {r.get('batch')}, "
            f"{_g(r.get('data_ms_per_sample'))} ms/sample; {syncs}")


def _throughput(r: dict) -> str:
    if "best_train_img_s" not in r:
        return "no row finished"
    mem = (f"; peak GPU memory {r['peak_gpu_gib']} GiB allocated, {r.get('peak_reserved_gib')} GiB reserved (the "
           "largest row's)" if "peak_gpu_gib" in r else "")
    return (f"{r['image']} px {r['precision']} {r['memory_format']}: training {r['best_train_img_s']:,.0f} img/s "
            f"(batch {r['best_batch']}), evaluation up to {r['best_eval_img_s']:,.0f} img/s{mem}")


def _loso(r: dict) -> str:
    return (f"{r.get('folds_run')} of {r.get('folds')} folds x {r.get('epochs_run')} epochs ({r.get('clips')} clips, "
            f"{r.get('image')} px): {_g(r.get('folds_s'), '.1f')} s (+ cache {_g(r.get('prepare_s'), '.1f')} s); at "
            f"74 epochs: **{_g(r.get('extrapolated_74_epochs_s'), '.0f')} s** (extrapolated; at most "
            f"{_g(r.get('extrapolated_74_epochs_upper_s'), '.0f')} s if the fold's set-up recurred every epoch)")


def _ray(r: dict) -> str:
    return (f"{r.get('folds')} folds: one after another {r.get('sequential_s')} s, Ray at {r.get('gpus_per_fold')} "
            f"GPU each {r.get('ray_s')} s ({r.get('speedup')}x; Ray start {r.get('ray_init_s')} s more)")


def _compile(r: dict) -> str:
    return (f"batch {r.get('batch')}: training {r.get('train_speedup')}x, evaluation {r.get('eval_speedup')}x "
            f"of eager (compiling took {r.get('compile_s')} s)")


SUMMARY = {"env": _env, "parity": _parity, "train_resume": _resume, "data_path": _data, "throughput": _throughput,
           "loso": _loso, "ray": _ray, "compile": _compile}


def _goal(name: str, report: dict) -> str:
    goals = report.get("goals", {})
    return {"parity": "relative diff <= 1e-3", "train_resume": "identical",
            "data_path": "no host sync per step",
            "throughput": f">= {goals.get('train_img_s', 0):,} img/s training (H100/H200-class)",
            "loso": f"<= {goals.get('loso_74_epochs_s', 0) / 60:.0f} min (H100/H200-class)"}.get(name, "")


def _precision(row: dict) -> str:
    """A throughput row's precision as it ran: PyTorch runs "fp32" convolutions in TF32 on CUDA by default."""
    if row.get("precision") == "fp32" and row.get("tf32_convolutions"):
        return "fp32 (TF32 convolutions)"
    return str(row.get("precision"))


def render_markdown(report: dict) -> str:
    lines = [f"# mmnet GPU check: {report.get('device')}, {report.get('mode')} mode", "",
             f"{report.get('created')}; {report.get('total_s', 0)} s of a {report.get('budget_s')} s budget.", "",
             HEADER, "|---|---|---|---|"]
    for name, r in report.get("sections", {}).items():
        status = r.get("status", "?")
        try:
            result = SUMMARY[name](r) if status == "ok" or not status.startswith("skipped") else ""
        except (KeyError, TypeError, ValueError):
            result = "(see gpu-check.json)"
        cell = status.replace("|", "/").replace("\n", " ")
        lines.append(f"| {name} | {cell} | {result.replace('|', '/')} | {_goal(name, report)} |")
    rows = report.get("sections", {}).get("throughput", {}).get("rows", [])
    if rows:
        lines += ["", "| batch | precision | training img/s | evaluation img/s | peak GPU GiB | peak reserved GiB |",
                  "|---|---|---|---|---|---|"]
        for r in rows:
            lines.append(f"| {r.get('batch')} | {_precision(r)} | {r.get('train_img_s', r.get('error', ''))} "
                         f"| {r.get('eval_img_s', '')} | {r.get('peak_gpu_gib', '')} "
                         f"| {r.get('peak_reserved_gib', '')} |")
    return "\n".join(lines) + "\n"
