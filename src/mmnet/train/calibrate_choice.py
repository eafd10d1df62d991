"""The choice from a calibration's figures (:mod:`mmnet.train.calibrate`), and whether the host was too busy for them
to stand.

Noise: an option's ``spread`` is how far its timed rounds disagree (slowest / fastest - 1). Two options tie when the
slower one is within the larger of their spreads of the faster. A tie goes to the CPU-flag rule's choice
(:func:`mmnet.runtime.plan_compute`, recorded as the calibration's ``defaults``): a noisy winner would make the run's
arithmetic depend on the moment it was measured. Between layouts of one precision: the flag rule's layout. Between
precisions: bf16 needs ``BF16_MIN_GAIN`` over fp32 as before; only when the noise is wider than that margin, a tie goes
to the flag rule's precision. On a quiet machine the spreads are a few percent, so this changes only choices that
were a coin toss.

Busy host (``under_load``): the load average above ``BUSY_LOAD`` x the usable cores, or the process given under
``BUSY_SHARE`` of its threads' CPU time (noisy rounds alone are not: their tie goes to the flag rule's choice). Such
a record is cached, marked, and measured again by the next run that finds the host quiet (the load average, read at
once), so a noisy measurement is not kept for good; while the host stays busy the record is used (measuring again
would be as noisy, and take minutes on every run). After ``MAX_BUSY_STREAK`` busy measurements in a row (a host that
is never quiet, or a CPU quota) it is kept until ``mmnet info --calibrate``.
"""

from __future__ import annotations

import os

from ..calibration_cache import OPTIONS, Calibration

__all__ = ["choose", "spread", "flag_defaults", "host_load", "busy_now", "load_reasons", "measure_again",
           "BF16_MIN_GAIN", "BUSY_SHARE", "BUSY_LOAD", "MAX_BUSY_STREAK"]

BF16_MIN_GAIN = 0.10  # bf16 must be this much faster than the best fp32 option
BUSY_SHARE = 0.6  # this process's share of its threads' CPU time below which the host was busy
BUSY_LOAD = 1.5  # a 1-minute load average above this many times the usable cores: a busy host
MAX_BUSY_STREAK = 3  # busy measurements in a row after which the record is kept (no more automatic re-measuring)


def spread(values: list[float]) -> float:
    """How far repeated timings of one thing disagree: slowest / fastest - 1 (0 for fewer than 2)."""
    return max(values) / min(values) - 1 if len(values) > 1 and min(values) > 0 else 0.0


def flag_defaults() -> dict:
    """The CPU-flag rule's choice on this CPU: its precision and the layout it takes for each precision."""
    import torch

    from ..runtime import resolve_memory_format, resolve_precision

    cpu = torch.device("cpu")
    layouts = {p: "channels_last" if resolve_memory_format("auto", cpu, p) == torch.channels_last else "contiguous"
               for p in ("fp32", "bf16")}
    return {"precision": resolve_precision("auto", cpu), **layouts}


def host_load() -> tuple[float, int] | None:
    """The 1-minute load average and the cores this process may use; None where the system has no load average."""
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):  # Windows
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return float(load), max(1, cores)


def busy_now() -> str | None:
    """Why the host counts as busy at this moment (its load average), or None."""
    got = host_load()
    if got is None or got[0] <= BUSY_LOAD * got[1]:
        return None
    return f"load average {got[0]:.1f} on {got[1]} usable cores"


def _tie(cal: Calibration, a: str, b: str) -> bool:
    ta, tb = cal.timed(a), cal.timed(b)
    noise = max(cal.options[a].get("spread", 0.0), cal.options[b].get("spread", 0.0))
    return max(ta, tb) <= min(ta, tb) * (1 + noise)


def load_reasons(cal: Calibration, loads: list[str | None]) -> list[str]:
    """Why ``cal`` was measured under load (empty: it was not); ``loads``: busy_now() before and after measuring."""
    reasons = [r for r in loads if r][:1]  # the first busy reading says it; a second would repeat it
    if cal.metric == "cpu":
        reasons.append(f"this process had {cal.cpu_share:.0%} of its threads' CPU time")
    # Rounds that disagree over a tie on a quiet host are not a reason: the tie goes to the flag rule's choice, which
    # another measurement would not change, and measuring again would cost every later run minutes.
    return reasons


def measure_again(cal: Calibration) -> bool:
    """Whether a cached record measured under load is to be measured again now (see the module's text)."""
    return bool(cal.under_load) and cal.busy_streak < MAX_BUSY_STREAK and busy_now() is None


def choose(cal: Calibration, precision: str = "auto", memory_format: str = "auto") -> tuple[str, str] | None:
    """(precision, memory format) from the measured figures, within what the config fixed, ties to the CPU-flag
    rule's choice (see the module's text); None when nothing measured applies (the caller falls back to that rule)."""

    def fits(option: str) -> bool:
        prec, fmt = option.split("/")
        return precision in ("auto", prec) and memory_format in ("auto", fmt) and cal.timed(option) is not None

    candidates = [o for o in OPTIONS if fits(o)]
    if precision == "auto" and not cal.bf16_check.get("ok", False):
        candidates = [o for o in candidates if o.startswith("fp32/")]
    if not candidates:
        return None
    defaults = cal.defaults or {}

    def fastest(prec: str) -> str | None:
        mine = [o for o in candidates if o.startswith(prec + "/")]
        if not mine:
            return None
        best, usual = min(mine, key=cal.timed), f"{prec}/{defaults.get(prec)}"
        return usual if usual in mine and _tie(cal, best, usual) else best

    fp32, bf16 = fastest("fp32"), fastest("bf16")
    best = fp32 or bf16
    if fp32 and bf16:
        noise = max(cal.options[o].get("spread", 0.0) for o in (fp32, bf16))
        if noise > BF16_MIN_GAIN and _tie(cal, fp32, bf16) and defaults.get("precision") in ("fp32", "bf16"):
            best = fp32 if defaults["precision"] == "fp32" else bf16
        else:
            best = bf16 if 1 - cal.timed(bf16) / cal.timed(fp32) >= BF16_MIN_GAIN else fp32
    prec, fmt = best.split("/")
    return prec, fmt
