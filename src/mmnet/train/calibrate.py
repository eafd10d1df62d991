"""Precision and memory format for training on CPU, chosen by measurement, once per machine.

Which of fp32 / bf16 autocast and NCHW / channels_last trains fastest depends on the CPU (AMX,
AVX-512 BF16 or neither), on torch's kernels and on the image size, in ways CPU flags predict
badly. So on CPU ``train.precision=auto`` / ``train.memory_format=auto`` time a few training steps
of MMNet at the run's image size with a small batch, for each of the four options, and take the
fastest. The result is cached in mmnet's cache folder (``calibration/``), keyed by CPU model and
flags, torch version, thread count and image-size bucket, so it runs once per machine and size.

- Quick: a bf16 convolution against fp32 first (milliseconds) drops bf16 where it is emulated;
  then one untimed warm-up step per option, then rounds of one timed step per option (interleaved,
  so that a busy neighbour on a shared host slows all options alike) until the time budget is
  spent, 2 rounds at least (a single round cannot show its own noise), 8 at most. An option's figure is its
  fastest step: wall time, or on a busy host (the process got under 60 % of its threads' CPU time) CPU time / threads.
- Noise and load (:mod:`mmnet.train.calibrate_choice`): options whose figures lie within their rounds' spread tie,
  and a tie goes to the CPU-flag rule's choice; a record measured on a busy host is cached marked as such and
  measured again by a later run that finds the host quiet.
- Correct: bf16 is chosen only if every bf16 step's loss was finite, its logits agree with
  fp32's within ``LOGIT_TOLERANCE`` (same weights, same batch), and it is faster than the best
  fp32 option by ``BF16_MIN_GAIN`` (a tie is not worth bf16's rounding).
- Robust: an unreadable or foreign cache file is measured again; a calibration that fails leaves
  the choice to the CPU-flag rule of :func:`mmnet.runtime.plan_compute`, with the reason logged
  and recorded, and so does a cache folder that cannot be written, or another user's record that may
  not be replaced there (not measured: every run would measure again). Runs started together on a
  shared host take turns (the cache file's lock): one measures, the others wait and use its result,
  instead of all measuring at once on the same cores (a cached result is read without the lock).
- Kernel routes (:mod:`mmnet.model.cpu_kernels`): two fp32 operations' second way to run on CPU, each
  timed both ways (:mod:`mmnet.train.calibrate_routes`) and used by fp32 training, and by inference
  from the cache, when faster.
- Off with ``MMNET_CALIBRATE=0`` (the tests run so), or by setting precision and memory format.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import stat
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..calibration_cache import (
    ENV_SWITCH,
    INFERENCE_ROUTES,
    OPTIONS,
    OWN_FOLDER_ADVICE,
    Calibration,
    cache_path,
    cached,
    cached_calibrations,
    calibration_enabled,
    calibration_folder,
    calibration_key,
    forget,
    inference_routes,
    remember,
    remembered,
    size_bucket,
)
from ..data.cache_folder import entry_lock
from ..runtime import ComputePlan, configure_cuda_numerics, plan_compute, resolve_device
from ..utils import atomic_write_text, in_made_folder
from .calibrate_choice import (
    BF16_MIN_GAIN,
    BUSY_SHARE,
    busy_now,
    choose,
    flag_defaults,
    load_reasons,
    measure_again,
    spread,
)
from .calibrate_routes import measure_routes

if TYPE_CHECKING:
    from ..config import TrainConfig

__all__ = ["Calibration", "CalibrationNotKept", "not_keepable", "calibration_enabled", "calibrate", "calibrated_routes",
           "inference_routes", "choose", "measure", "plan_training", "cached_calibrations", "calibration_folder",
           "size_bucket", "OPTIONS", "INFERENCE_ROUTES", "BF16_MIN_GAIN", "BUSY_SHARE"]

log = logging.getLogger("mmnet.train")

BUDGET_S = 8.0  # the timed rounds stop once this much has been spent (screen and warm-up included)
MIN_ROUNDS, MAX_ROUNDS = 2, 8  # best of 2 at least, however slow the steps: one round cannot tell noise from speed
BF16_SCREEN_RATIO = 2.0  # a bf16 convolution this much slower than fp32: emulated, not timed further
LOGIT_TOLERANCE = 0.1  # max |bf16 - fp32| logit, relative to the fp32 logits' largest magnitude (at least 1)

_FAILED: dict[str, str] = {}  # size bucket -> why its calibration failed in this process (not tried again per fold)


class CalibrationNotKept(RuntimeError):
    """The calibration's result could not be cached, so it was not measured (see :func:`calibrate`). Its text is the
    short reason (recorded in env.json), ``advice`` what the user can do (logged)."""

    def __init__(self, reason: str, advice: str):
        super().__init__(reason)
        self.advice = advice


def calibrate(image_size: int, *, force: bool = False, cache_dir: str | Path | None = None,
              budget_s: float = BUDGET_S, announce: bool = True) -> Calibration:
    """This machine's calibration at ``image_size``: from the cache, else measured and cached; a record measured on a
    busy host is measured again once the host is quiet (calibrate_choice.measure_again). One process at a
    time measures a machine and size (the cache file's lock): the others wait and read its result. Where the result
    cannot be cached (a folder that is not writable, another user's record that may not be replaced) it is not
    measured, unless ``force``: every run would spend the measurement again (seconds, minutes on a busy host) for what
    the CPU-flag rule decides at once; CalibrationNotKept.
    """
    key = calibration_key(image_size)
    path = cache_path(key, cache_dir)
    seen = remembered(path)  # read or measured by this process already: kept for it, however measured
    stale = None  # the measured_at of a record taken on a busy host, to be measured again now that it is quiet
    if not force and (cal := cached(key, path, None)) is not None:  # cached: no turn to wait for, nothing to write
        if seen or not measure_again(cal):
            return cal
        stale = cal.measured_at
        forget(path)
        log.info("calibration '%s' was measured on a busy host (%s); the host is quiet now: measuring again",
                 path, "; ".join(cal.under_load))
    waiting = (f"waiting for another mmnet process measuring this machine's training steps at {size_bucket(image_size)}"
               f" (calibration '{path}')")
    with entry_lock(path, waiting):
        not_kept = not_keepable(path)
        then = "measuring again" if force or not_kept is None else "not measured, since it could not be cached"
        previous = cached(key, path, then)
        # measured by the process we waited for; or one to replace that cannot be: kept
        if not force and previous is not None and (previous.measured_at != stale or not_kept is not None):
            return previous
        if not_kept is not None and not force:
            raise CalibrationNotKept(not_kept, f"Measuring on every run costs more than it gains; {OWN_FOLDER_ADVICE}, "
                                               f"or train.precision / train.memory_format (or {ENV_SWITCH}=0) choose "
                                               "without measuring")
        if announce:
            from ..progress import write_line

            write_line(f"Measuring fp32/bf16 and NCHW/channels_last training steps at {image_size} px "
                       f"(~{budget_s:.0f} s on a quiet machine, minutes on a busy one; once per machine and size; "
                       f"{ENV_SWITCH}=0 skips it)")
        cal = measure(image_size, budget_s=budget_s)
        cal.key = key
        if cal.under_load:
            cal.busy_streak = 1 + (previous.busy_streak if previous is not None and previous.under_load else 0)
        if announce:
            choice = choose(cal)
            figures = ", ".join(f"{o} {e['ms_per_step']:.0f} ms" if e.get("status") == "ok"
                                else f"{o} {e.get('status')}" for o, e in cal.options.items())
            routes = [name for name, on in cal.route_choice().items() if on]
            write_line(f"Measured in {cal.seconds:.1f} s (batch {cal.batch}, fastest step): {figures} -> "
                       + ("/".join(choice) if choice else "none usable, the CPU-flag rule decides")
                       + (f"; fp32 kernel routes faster here: {', '.join(routes)}" if routes else ""))
            if cal.under_load:
                write_line(f"The host was busy ({'; '.join(cal.under_load)}): this choice is used, and measured "
                           f"again by a run on a quiet host (`mmnet info --calibrate --image-size {image_size}`)")
        try:
            atomic_write_text(path, json.dumps(cal.summary(), indent=2) + "\n")
        except OSError as exc:
            log.warning("calibration could not be cached in '%s' (%s); it is used for this process only. %s",
                        path, exc, OWN_FOLDER_ADVICE)
        remember(path, cal)
        return cal


def not_keepable(path: Path) -> str | None:
    """Why a calibration measured now could not be cached at ``path`` (its folder created if missing), or None."""
    try:
        in_made_folder(path, lambda: tempfile.TemporaryFile(dir=path.parent).close())
    except OSError as exc:
        return f"its cache folder '{path.parent}' is not writable ({exc.strerror or exc})"
    if not _may_replace(path):
        return f"its cache file '{path}' is another user's, in a shared folder (sticky bit): not replaceable"
    return None


def _may_replace(path: Path) -> bool:
    """Whether a file written beside ``path`` may be renamed over it. In a sticky folder (a shared one, mode 1777)
    only the owner of the file or of the folder may, or a process allowed to override it (root)."""
    if os.name == "nt":
        return True
    try:
        record, folder = path.stat(), path.parent.stat()
    except OSError:  # no record to replace
        return True
    return (not folder.st_mode & stat.S_ISVTX or os.geteuid() in (record.st_uid, folder.st_uid)
            or _overrides_sticky_bit())


def _overrides_sticky_bit() -> bool:
    """Whether this process holds CAP_FOWNER (Linux; elsewhere: runs as root)."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii", errors="replace")
        return bool(int(re.search(r"^CapEff:\s*([0-9a-f]+)", status, re.M).group(1), 16) & 1 << 3)
    except (OSError, AttributeError):
        return getattr(os, "geteuid", lambda: -1)() == 0  # Windows has no user ids (and no sticky bit)


# ----------------------------------------------------------------------------- the choice
def plan_training(tc: TrainConfig, image_size: int, device: str | None = None) -> ComputePlan:
    """The ComputePlan of a training run: measured on CPU when precision or memory format is "auto"
    (see the module's text), else (or when measuring is off or fails) ``runtime.plan_compute``. On CUDA it
    also turns cuDNN's autotuning on (``runtime.configure_cuda_numerics``)."""
    import torch

    name = device or tc.device
    dev = resolve_device(name)
    if dev.type == "cuda":
        configure_cuda_numerics(tc.tf32)
    if dev.type != "cpu" or "auto" not in (tc.precision, tc.memory_format):
        return plan_compute(name, tc.precision, tc.memory_format)
    if not calibration_enabled():
        return plan_compute(name, tc.precision, tc.memory_format, why=f"{ENV_SWITCH}=0")
    bucket = size_bucket(image_size)
    if bucket in _FAILED:
        return plan_compute(name, tc.precision, tc.memory_format, why=_FAILED[bucket])
    try:
        cal = calibrate(image_size)
        choice = choose(cal, tc.precision, tc.memory_format)
        if choice is None:
            why = "calibration measured no usable option: " + "; ".join(
                f"{o}: {e.get('status')}" for o, e in cal.options.items())
            raise RuntimeError(why)
    except Exception as exc:  # noqa: BLE001 - any failure of the measurement leaves the choice to the flag rule
        not_kept = isinstance(exc, CalibrationNotKept)
        reason = f"calibration skipped: {exc}" if not_kept else f"calibration failed: {type(exc).__name__}: {exc}"
        log.warning("%s; precision and memory format chosen from the CPU flags instead%s", reason,
                    f". {exc.advice}" if not_kept else "")
        _FAILED[bucket] = reason[:300]
        return plan_compute(name, tc.precision, tc.memory_format, why=reason[:300])
    prec, fmt = choice
    memory_format = torch.channels_last if fmt == "channels_last" else torch.contiguous_format
    record = {k: getattr(cal, k) for k in ("image_size", "batch", "measured_at", "cpu_share", "metric", "options",
                                           "bf16_check", "routes", "defaults",
                                           "under_load")} | {"size_bucket": cal.key.get("size_bucket")}
    return ComputePlan(dev, prec, memory_format, "calibration", record, cpu_routes=cal.route_choice(prec, fmt))


def calibrated_routes(image_size: int, precision: str, memory_format) -> dict[str, bool]:
    """The fp32 kernel routes that training turns on at this image size, precision and memory format
    (torch's) on this CPU (measured once and cached, as the rest of the calibration); none with calibration
    off or failing. For benchmarks."""
    import torch

    if not calibration_enabled():
        return {}
    layout = "channels_last" if memory_format == torch.channels_last else "contiguous"
    try:
        return calibrate(image_size).route_choice(precision, layout)
    except Exception as exc:  # noqa: BLE001 - as plan_training: a failed measurement leaves the routes off
        log.warning("calibration failed (%s: %s); fp32 kernel routes off", type(exc).__name__, exc)
        return {}


# ----------------------------------------------------------------------------- the measurement
def calibration_batch(image_size: int) -> int:
    """A small batch of about the same pixel count at any size: 2 at 224 px, 8 at 112, 16 at 64 and below."""
    return max(2, min(16, round(2 * (224 / image_size) ** 2)))


def measure(image_size: int, *, budget_s: float = BUDGET_S, bench=None, clock=time.perf_counter) -> Calibration:
    """Time the options (see the module's text). ``bench`` (tests) stands in for the model: it has
    ``batch``, ``threads``, ``screen() -> bf16/fp32 time ratio``, ``step(option) -> (wall s, CPU s, loss
    finite)`` and
    ``logit_gap() -> (max |bf16 - fp32|, fp32 scale)``. The process's random stream is left as it was."""
    import torch

    with torch.random.fork_rng(devices=[]):
        return _measure(image_size, budget_s, bench, clock)


def _measure(image_size: int, budget_s: float, bench, clock) -> Calibration:
    start, load_before = clock(), busy_now()
    if bench is None:
        from .calibrate_steps import ModelBench

        bench = ModelBench(image_size, calibration_batch(image_size))
    options = {o: {"status": "ok", "steps": 0} for o in OPTIONS}
    check: dict = {"tolerance": LOGIT_TOLERANCE}

    def drop(prefix: str, why: str) -> None:
        for o in OPTIONS:
            if o.startswith(prefix) and options[o]["status"] == "ok":
                options[o]["status"] = why

    try:
        ratio = float(bench.screen())
        check["screen_ratio"] = round(ratio, 3)
        if not ratio <= BF16_SCREEN_RATIO:
            drop("bf16/", f"not timed: a bf16 convolution took {ratio:.1f}x fp32's (bf16 emulated)")
    except Exception as exc:  # noqa: BLE001 - bf16 unusable here: measured without it
        drop("bf16/", f"failed: {type(exc).__name__}: {exc}")
    if options["bf16/contiguous"]["status"] == "ok":
        try:
            gap, scale = bench.logit_gap()
            check.update(max_logit_diff=float(gap), logit_scale=float(scale))
            if not (math.isfinite(gap) and gap <= LOGIT_TOLERANCE * max(1.0, scale)):
                drop("bf16/", f"rejected: bf16 logits differ from fp32's by {gap:.3g} (scale {scale:.3g})")
        except Exception as exc:  # noqa: BLE001
            drop("bf16/", f"failed: {type(exc).__name__}: {exc}")

    times: dict[str, list[float]] = {o: [] for o in OPTIONS}  # wall seconds per timed step
    cpu: dict[str, list[float]] = {o: [] for o in OPTIONS}  # this process's CPU seconds per timed step
    finite = True

    def run(option: str, timed: bool) -> None:
        nonlocal finite
        try:
            seconds, cpu_seconds, ok = bench.step(option)
        except Exception as exc:  # noqa: BLE001 - this option does not run here; the others still can
            options[option]["status"] = f"failed: {type(exc).__name__}: {exc}"
            return
        if option.startswith("bf16/") and not ok:
            finite = False
            drop("bf16/", "rejected: a bf16 step's loss was not finite")
        if timed:
            times[option].append(float(seconds))
            cpu[option].append(float(cpu_seconds))

    for option in OPTIONS:  # warm-up: kernel selection, first touch of memory
        if options[option]["status"] == "ok":
            run(option, timed=False)
    rounds = 0
    while rounds < MAX_ROUNDS:
        active = [o for o in OPTIONS if options[o]["status"] == "ok"]
        if not active:
            break
        last_round = sum(times[o][-1] for o in active if times[o]) if rounds else 0.0
        if rounds >= MIN_ROUNDS and clock() - start + last_round > budget_s:
            break
        for option in active:
            run(option, timed=True)
        rounds += 1
    # Busy host (other processes took the CPU): wall times measure the neighbours, CPU time still the step.
    wall_sum, cpu_sum = sum(map(sum, times.values())), sum(map(sum, cpu.values()))
    share = cpu_sum / (wall_sum * bench.threads) if wall_sum > 0 else None
    metric = "cpu" if share is not None and share < BUSY_SHARE else "wall"
    for option in OPTIONS:
        entry = options[option]
        if entry["status"] == "ok" and times[option]:
            wall_s, cpu_s = min(times[option]), min(cpu[option])
            best = wall_s if metric == "wall" else cpu_s / bench.threads
            entry.update(ms_per_step=round(best * 1e3, 3), img_per_s=round(bench.batch / best, 3),
                         steps=len(times[option]), wall_ms=round(wall_s * 1e3, 3), cpu_ms=round(cpu_s * 1e3, 3),
                         spread=round(spread(times[option] if metric == "wall" else cpu[option]), 4))
        elif entry["status"] == "ok":
            entry["status"] = "failed: no timed step"
    check["finite"] = finite
    fp32_fastest = min((o for o in OPTIONS if o.startswith("fp32/") and options[o].get("ms_per_step")),
                       key=lambda o: options[o]["ms_per_step"], default="fp32/channels_last")
    routes = measure_routes(bench, fp32_fastest.split("/")[1], metric)
    # numerically usable: losses finite and logits close to fp32's (an option that failed to run is simply not timed)
    check["ok"] = finite and "max_logit_diff" in check and not any(
        options[o]["status"].startswith("rejected") for o in OPTIONS)
    cal = Calibration(key={}, image_size=image_size, batch=bench.batch,
                      measured_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"), seconds=round(clock() - start, 3),
                      options=options, bf16_check=check, cpu_share=None if share is None else round(share, 3),
                      metric=metric, routes=routes, defaults=flag_defaults())
    cal.under_load = load_reasons(cal, [load_before, busy_now()])
    return cal
