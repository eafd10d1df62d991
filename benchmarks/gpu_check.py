"""Does mmnet work, and how fast, on this GPU? One run, every check, one report.

    bash scripts/gpu-check.sh                         # the full check on CUDA: gpu-check/gpu-check.{json,md}
    python benchmarks/gpu_check.py --out DIR          # the same
    python benchmarks/gpu_check.py --quick --device cpu --out DIR   # every section at tiny sizes, < 1 min

Sections, in order (each records ``ok``, ``skipped: reason`` or ``failed: error``; the JSON and the
markdown are rewritten after every section, so an interrupted run keeps what finished):

- env: device and software (torch, CUDA, cuDNN, driver, GPU name and memory).
- parity: MMNet's logits on CUDA against the CPU's (fp32, TF32 off); how far bf16 autocast moves them.
- train_resume: a training step, then a resume (save the state, reload it, the next step identical).
- data_path: the frame cache and the augmented batches on the device; host synchronisations per epoch.
- throughput: training and evaluation img/s (224 px, bf16 + channels_last) for a few batch sizes, peak memory.
- loso: a CASME II-size synthetic LOSO (26 subjects) for a few epochs, extrapolated to the paper's 74.
- ray: 4 folds as Ray tasks at 0.25 GPU each against the same folds one after another.
- compile: torch.compile against eager.

loso, ray and compile run in child processes that the time budget can stop.

It is a standalone script rather than an ``mmnet`` subcommand: it measures the package from outside,
through the same functions ``mmnet train`` runs, and adds no command users would need day to day.
"""

# ruff: noqa: E402  (torch must be imported after prepare_process)
from __future__ import annotations

import time

STARTED = time.perf_counter()  # the budget counts from here: the torch import and the set-up are in it

import argparse
import dataclasses
import datetime
import importlib.util
import json
import os
import signal
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

SECTIONS = ("env", "parity", "train_resume", "data_path", "throughput", "loso", "ray", "compile")
# Rough seconds each needs on an H100/H200-class GPU: a section starts only if that much budget is left.
ESTIMATE_S = {"env": 5, "parity": 20, "train_resume": 20, "data_path": 20, "throughput": 60, "loso": 150, "ray": 60,
              "compile": 120}  # compile: an eager run, then compiling the training and the evaluation graphs
CHILD = {"loso": 360, "ray": 240, "compile": 300}  # run in a child process, at most this long (and within the budget)
SCHEMA = 1
# 8 minutes for the whole script: the budget (from STARTED) leaves 30 s for the interpreter's start, the final
# write and a section that runs past its estimate.
DEFAULT_BUDGET_S = 450
NO_CUDA = ("the GPU check needs CUDA, and {why} (torch {torch}). Run it where a CUDA GPU and a CUDA build of "
           "torch are, or add --quick (every section at tiny sizes) or --device cpu for the CPU smoke test.")


def unavailable_sections() -> dict[str, str]:
    """Sections that cannot run in this environment, with the status to record: known before they start, so
    they cost no child process and reserve none of the budget."""
    if importlib.util.find_spec("ray") is None:
        return {"ray": "skipped: ray is not installed (pip install -e '.[ray]' in the mmnet checkout)"}
    return {}


def run_child_process(cmd: list[str], env: dict, timeout: float) -> int | None:
    """Run ``cmd`` in its own session; its exit status, or None when it was stopped at ``timeout``.

    At the timeout the whole process group is killed: Ray's workers and the inductor's compile workers
    that the child started too, not only the child."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=env, start_new_session=True)  # stderr: the terminal
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        return None


def status_of(exc: BaseException) -> str:
    return f"failed: {type(exc).__name__}: {str(exc).strip()[:500]}"


def run_section(fn: Callable[[], dict], skip_type: type, failed_type: type) -> dict:
    """Run one section; never raises (a failure is the section's status)."""
    t0 = time.perf_counter()
    try:
        out = {"status": "ok", **fn()}
    except skip_type as exc:
        out = {"status": f"skipped: {exc}"}
    except failed_type as exc:
        out = {"status": f"failed: {exc}", **exc.figures}
    except Exception as exc:  # noqa: BLE001 - any error is this section's result; the others still run
        out = {"status": status_of(exc), "traceback": traceback.format_exc()[-3000:]}
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out


def write_outputs(report: dict, out: Path) -> str:
    from gpu_check_report import render_markdown

    from mmnet.utils import atomic_write_text

    md = render_markdown(report)
    atomic_write_text(out / "gpu-check.json", json.dumps(report, indent=2, default=str) + "\n")
    atomic_write_text(out / "gpu-check.md", md)
    return md


def _child(name: str, args: argparse.Namespace, timeout: float) -> dict:
    """Run one section in a fresh process (a hang or crash there cannot take the others with it).

    Stopped at ``timeout``: a failure when that is the section's own limit (``CHILD``: it hung), skipped
    when it is its share of the time budget (the check ran out of time, the section did not fail)."""
    result = args.out / f".section-{name}.json"
    result.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--out", str(args.out),
           "--work", str(args.work), "--device", args.device]
    cmd += (["--quick"] if args.quick else []) + (["--ray-cpu"] if args.ray_cpu else [])
    t0 = time.perf_counter()
    env = dict(os.environ, MMNET_GPU_CHECK_DEADLINE=str(time.time() + timeout))
    returncode = run_child_process(cmd, env, timeout)
    if returncode is None:
        status = (f"failed: no result within its limit of {timeout:.0f} s" if timeout >= CHILD[name] else
                  f"skipped: stopped after {timeout:.0f} s, its share of the time budget (--budget)")
        return {"status": status, "seconds": round(time.perf_counter() - t0, 2)}
    if result.exists():
        return json.loads(result.read_text())
    return {"status": f"failed: the child process exited with {returncode} without a result (its output "
                      "is above)", "seconds": round(time.perf_counter() - t0, 2)}


def _skip_compile(*_args) -> dict:
    from gpu_check_sections import Skip

    raise Skip("--quick: compiling takes minutes, more than the quick mode's budget")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("gpu-check"), help="output folder (default: gpu-check)")
    p.add_argument("--device", default=None, help="cuda, cuda:N or cpu (default: cuda; with --quick: cuda when "
                   "present, else cpu)")
    p.add_argument("--quick", action="store_true", help="every section at tiny sizes (always so on the CPU)")
    p.add_argument("--budget", type=float, default=DEFAULT_BUDGET_S, help="seconds for the whole check, counted "
                   f"from the script's start (default {DEFAULT_BUDGET_S}: with the rest, within 8 minutes); a "
                   "section that would not fit in what is left is skipped")
    p.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    p.add_argument("--work", type=Path, default=None,
                   help="folder for the synthetic data, caches and runs the check makes (default: OUT/work)")
    p.add_argument("--ray-cpu", action="store_true", help="run the Ray section on the CPU too (0 GPUs per fold)")
    p.add_argument("--child", choices=SECTIONS, help=argparse.SUPPRESS)
    args = p.parse_args()

    from mmnet.runtime import prepare_process

    prepare_process()  # as the CLI: mimalloc, huge pages (before torch is imported)
    import torch

    from mmnet.errors import MMNetError
    from mmnet.runtime import check_device, configure_cpu_numerics, configure_cuda_numerics

    try:
        check_device(args.device or "auto", where="--device")
    except MMNetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.device is None and not args.quick and not torch.cuda.is_available():
        # A full check that quietly fell back to the CPU's quick mode would check nothing and exit 0
        why = "this PyTorch is built without CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
        print(f"error: {NO_CUDA.format(why=why, torch=torch.__version__)}", file=sys.stderr)
        return 2
    args.device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(args.device)
    args.quick = args.quick or device.type == "cpu"
    wanted = [s for s in args.sections.split(",") if s]
    unknown = sorted(set(wanted) - set(SECTIONS))
    if unknown:
        print(f"error: unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    if device.type == "cpu":
        configure_cpu_numerics()  # as run_fold does on the CPU
    else:
        configure_cuda_numerics()  # as training does on CUDA: cuDNN picks its convolution algorithms by timing
    args.out.mkdir(parents=True, exist_ok=True)
    args.work = args.work or args.out / "work"
    args.work.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import gpu_check_runs as runs
    import gpu_check_sections as sec

    sizes = sec.QUICK if args.quick else sec.FULL
    functions = {"env": sec.section_env, "parity": sec.section_parity, "train_resume": sec.section_train_resume,
                 "data_path": runs.section_data_path, "throughput": sec.section_throughput,
                 "loso": runs.section_loso, "ray": lambda d, s, o: runs.section_ray(d, s, o, args.ray_cpu),
                 "compile": runs.section_compile}
    if args.quick:
        functions["compile"] = _skip_compile

    if args.child:
        res = run_section(lambda: functions[args.child](device, sizes, args.work), sec.Skip, sec.Failed)
        (args.out / f".section-{args.child}.json").write_text(json.dumps(res, default=str))
        return 0

    report = {"schema": SCHEMA, "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "device": str(device), "mode": "quick" if args.quick else "full", "budget_s": args.budget,
              "goals": {"train_img_s": sec.GOAL_TRAIN_IMG_S, "loso_74_epochs_s": sec.GOAL_LOSO_S,
                        "applies_to": "H100/H200-class GPU, 224 px"},
              "sizes": dataclasses.asdict(sizes),
              "sections": {}}
    deadline = STARTED + args.budget
    unavailable = unavailable_sections()
    for name in SECTIONS:
        if name not in wanted or name in unavailable:
            status = unavailable.get(name, "skipped: not in --sections")
            report["sections"][name] = {"status": status, "seconds": 0.0}
            continue
        left = deadline - time.perf_counter()
        need = ESTIMATE_S[name] if not args.quick else 1
        print(f"[gpu-check] {name} ...", file=sys.stderr, flush=True)
        if left < need:
            res = {"status": f"skipped: time budget ({left:.0f} s left, needs about {need} s)", "seconds": 0.0}
        elif name in CHILD:  # its share: what is left but the later sections' estimates (the LOSO stops early)
            later = sum(ESTIMATE_S[n] for n in SECTIONS[SECTIONS.index(name) + 1:]
                        if n in wanted and n not in unavailable)
            share = left - 5 - (later if not args.quick else 0)
            res = _child(name, args, timeout=min(CHILD[name], max(share, need)))
        else:
            res = run_section(lambda name=name: functions[name](device, sizes, args.work), sec.Skip, sec.Failed)
            if device.type == "cuda":
                torch.cuda.empty_cache()
        report["sections"][name] = res
        report["total_s"] = round(time.perf_counter() - STARTED, 1)
        print(f"[gpu-check] {name}: {res['status']} ({res.get('seconds', 0):.1f} s)", file=sys.stderr, flush=True)
        write_outputs(report, args.out)
    print(write_outputs(report, args.out))
    print(f"[gpu-check] wrote {args.out / 'gpu-check.json'} and {args.out / 'gpu-check.md'}", file=sys.stderr)
    return 1 if any(s["status"].startswith("failed") for s in report["sections"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
