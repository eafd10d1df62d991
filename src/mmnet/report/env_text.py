"""report.md's "Environment": env.json's values one a line, with its records summarised in words (the CPU
calibration, the TF32 flags of a GPU run or what train.tf32 asked of folds run elsewhere, the libraries' versions),
the CUDA the folds trained with (their done.json, ``cuda_terms``) and the run's wall time from its start to its last
fold's end (``wall_time``; report.json's ``wall_time``)."""

from __future__ import annotations

from datetime import datetime

from .cuda_terms import fold_cuda_line
from .run_reader import Run

__all__ = ["wall_time", "environment_lines"]

_STAMP = "%Y-%m-%dT%H:%M:%S%z"  # env.json's started_at ("+0000") and done.json's finished_at ("+00:00") alike


def _moment(text) -> datetime | None:
    try:
        return datetime.strptime(str(text), _STAMP)
    except ValueError:
        return None


def wall_time(run: Run) -> dict | None:
    """From env.json's ``started_at`` to the last finished fold's ``finished_at`` (done.json): the whole run's
    time, the frame cache, the CPU calibration and any pause between a stop and its resume included; the folds'
    training seconds beside it. None where either end is not recorded (folds of an mmnet before 0.2.0)."""
    start = _moment(run.env.get("started_at"))
    ends = [m for folds in run.folds.values() for f in folds if f.done and (m := _moment(f.done.get("finished_at")))]
    if start is None or not ends:
        return None
    training = sum(float(f.done.get("seconds") or 0) for folds in run.folds.values() for f in folds if f.done)
    return {"started_at": run.env["started_at"], "last_fold_finished_at": max(ends).isoformat(),
            "seconds": round((max(ends) - start).total_seconds(), 1), "fold_training_seconds": round(training, 1)}


def _duration(seconds: float) -> str:
    minutes, s = divmod(int(round(seconds)), 60)
    hours, m = divmod(minutes, 60)
    return f"{hours} h {m:02d} min" if hours else f"{m} min {s:02d} s"


def _calibration(cal: dict) -> str:
    """One line of a CPU calibration: what it measured, each option's time per step, the bf16 check, the host."""
    options = cal.get("options") if isinstance(cal.get("options"), dict) else {}
    figures = ", ".join(f"{name} {entry['ms_per_step']:.0f} ms" if entry.get("status") == "ok" and
                        isinstance(entry.get("ms_per_step"), (int, float)) else f"{name} {entry.get('status')}"
                        for name, entry in options.items() if isinstance(entry, dict))
    check = cal.get("bf16_check") if isinstance(cal.get("bf16_check"), dict) else {}
    busy = f"; host busy: {'; '.join(map(str, cal['under_load']))}" if cal.get("under_load") else ""
    bf16 = _bf16(check, options)
    return (f"measured {cal.get('measured_at', '?')} at {cal.get('image_size', '?')} px, batch {cal.get('batch', '?')} "
            f"({cal.get('metric', 'wall')} time per training step): {figures or 'no option'}{bf16}{busy} "
            "(the full record: env.json)")


def _bf16(check: dict, options: dict) -> str:
    """The bf16 check in words: how far bf16's logits were from fp32's where that was measured; else why it was
    not (a bf16 convolution screened out as slower than fp32's by the ratio measured: bf16 emulated)."""
    if "ok" not in check:
        return ""
    if isinstance(check.get("max_logit_diff"), (int, float)):
        diff, scale = (float(check.get(k, float("nan"))) for k in ("max_logit_diff", "logit_scale"))
        return (f"; bf16 {'agreed with' if check['ok'] else 'did not agree with'} fp32 (largest logit difference "
                f"{diff:.3g} at logit scale {scale:.3g})")
    ratio = check.get("screen_ratio")
    # the calibration's words for an option screened out ("not timed: a bf16 convolution took ...")
    screened = any(str(entry.get("status", "")).startswith("not timed") for name, entry in options.items()
                   if name.startswith("bf16/") and isinstance(entry, dict))
    if isinstance(ratio, (int, float)) and screened:
        return (f"; bf16 screened out as {ratio:.1f}x slower than fp32 (a bf16 convolution's time: bf16 emulated), "
                "not compared with fp32")
    return "; bf16 failed here, not compared with fp32 (env.json's calibration options say why)"


def _tf32(flags: dict) -> str:
    if "train_tf32" in flags:  # the folds trained elsewhere (Ray, SLURM): env.json holds what the config asked
        setting = {None: "null", False: "false", True: "true"}.get(flags["train_tf32"], flags["train_tf32"])
        return (f"train.tf32 {setting} asked: {flags.get('meaning', '?')}; the flags in force: "
                f"{flags.get('flags_in_force', '?')}")
    said = {True: "allowed", False: "off"}
    return (f"cuDNN convolutions {said.get(flags.get('cudnn_allow_tf32'), '?')}, matrix products "
            f"{said.get(flags.get('cuda_matmul_allow_tf32'), '?')} (float32 matmul precision "
            f"{flags.get('float32_matmul_precision', '?')}; train.tf32)")


def environment_lines(report: dict) -> list[str]:
    """``- key: value`` of env.json, its records in words, then the wall time (when recorded)."""
    env = report.get("environment") or {}
    if not env:
        return ["- (env.json missing)"]
    words = {"calibration": _calibration, "tf32": _tf32,
             "libraries": lambda libs: ", ".join(f"{k} {v}" for k, v in sorted(libs.items()) if v) or "none recorded"}
    lines = [f"- {k}: {words[k](v) if k in words and isinstance(v, dict) else v}" for k, v in sorted(env.items())]
    lines += fold_cuda_line(report)  # under Ray or SLURM the folds' machines are not the one env.json describes
    if wall := report.get("wall_time"):
        lines.append(f"- wall time: {_duration(wall['seconds'])} from the run's start ({wall['started_at']}) to its "
                     f"last fold's end ({wall['last_fold_finished_at']}), the frame cache, the calibration and any "
                     f"pause before a resume included; the folds' training: {_duration(wall['fold_training_seconds'])}")
    return lines
