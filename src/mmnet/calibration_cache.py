"""The reading side of CPU calibration: this machine's cached measurements and what inference takes from them.

``mmnet.train.calibrate`` measures (fp32/bf16, NCHW/channels_last and the fp32 kernel routes of
:mod:`mmnet.model.cpu_kernels`) and writes one JSON file per machine and image-size bucket under mmnet's cache
folder (``calibration/``). Inference (predict, explain, serve, spot) only reads it, with no training code
loaded: :func:`inference_routes`. ``mmnet info`` lists the files (:func:`cached_calibrations`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .calibration_version import CACHE_VERSION
from .model.cpu_kernels import ROUTES
from .runtime import machine_fingerprint

__all__ = ["Calibration", "calibration_enabled", "calibration_key", "calibration_folder", "cache_path",
           "read_calibration", "cached", "remember", "remembered", "forget", "cached_calibrations", "inference_routes",
           "size_bucket", "valid_route",
           "OWN_FOLDER_ADVICE", "ENV_SWITCH", "CACHE_VERSION", "OPTIONS", "INFERENCE_ROUTES"]

log = logging.getLogger("mmnet.train")

ENV_SWITCH = "MMNET_CALIBRATE"  # "0": never measure (the CPU-flag rule decides)
INFERENCE_ROUTES = ("onednn_linear",)  # the kernel routes a forward pass meets (the other acts on weight gradients)
OPTIONS = ("fp32/contiguous", "fp32/channels_last", "bf16/contiguous", "bf16/channels_last")
_BUCKETS = (48, 80, 128, 192, 288)  # image-size buckets (upper bounds, px); larger sizes form one more


@dataclass
class Calibration:
    """What was measured on this machine at one image size, and when."""

    key: dict  # machine_fingerprint() + the image-size bucket
    image_size: int
    batch: int
    measured_at: str
    seconds: float  # the calibration's own wall time
    # option -> {"ms_per_step", "img_per_s", "steps", "spread", "status"}; status "ok" or why it was not timed/used;
    # spread: how far its timed rounds disagreed (slowest / fastest - 1)
    options: dict[str, dict] = field(default_factory=dict)
    bf16_check: dict = field(default_factory=dict)  # screen ratio, finite, logit gap, tolerance, ok
    # this process's CPU time over (wall time x threads) in the timed steps: below BUSY_SHARE the host
    # was busy with other work, and the figures are CPU time / threads ("cpu") instead of wall time ("wall")
    cpu_share: float | None = None
    metric: str = "wall"
    # kernel route -> {"plain_ms", "route_ms", "use"} or {"status": why not measured} (mmnet.model.cpu_kernels)
    routes: dict[str, dict] = field(default_factory=dict)
    # the CPU-flag rule's choice ({"precision", "fp32": layout, "bf16": layout}): ties go to it (calibrate_choice)
    defaults: dict = field(default_factory=dict)
    # why the host counted as busy while measuring (empty: it did not); such a record is measured again by a
    # later run on a quiet host (mmnet.train.calibrate_choice); busy_streak: busy measurements in a row
    under_load: list[str] = field(default_factory=list)
    busy_streak: int = 0
    version: int = CACHE_VERSION

    def route_choice(self, precision: str = "fp32", layout: str = "channels_last") -> dict[str, bool]:
        """set_cpu_routes' keyword arguments for a run in this precision and layout: the routes measured
        faster in that layout (they were timed in one: the faster fp32 one); none outside fp32, where
        they do not act."""
        return {name: precision == "fp32" and entry.get("layout") == layout and entry.get("use") is True
                for name, entry in self.routes.items()}

    def timed(self, option: str) -> float | None:
        entry = self.options.get(option, {})
        return entry.get("ms_per_step") if entry.get("status") == "ok" else None

    def summary(self) -> dict:
        return asdict(self)


def calibration_enabled() -> bool:
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")


def size_bucket(image_size: int) -> str:
    lo = 1
    for hi in _BUCKETS:
        if image_size <= hi:
            return f"{lo}-{hi}px"
        lo = hi + 1
    return f">{_BUCKETS[-1]}px"


def calibration_key(image_size: int) -> dict:
    return {**machine_fingerprint(), "size_bucket": size_bucket(image_size), "version": CACHE_VERSION}


def calibration_folder(cache_dir: str | Path | None) -> Path:
    from .data.cache import default_cache_dir

    return Path(cache_dir) if cache_dir else default_cache_dir() / "calibration"


def cache_path(key: dict, cache_dir: str | Path | None) -> Path:
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return calibration_folder(cache_dir) / f"{digest}.json"


def valid_route(entry) -> bool:
    """A route's record: timed both ways (finite positive times, a boolean choice) or why it was not."""
    if not isinstance(entry, dict) or not isinstance(entry.get("use"), bool):
        return False
    if "status" in entry:
        return isinstance(entry["status"], str) and entry["use"] is False
    times = (entry.get("plain_ms"), entry.get("route_ms"))
    return all(isinstance(t, (int, float)) and math.isfinite(t) and t > 0 for t in times)


def read_calibration(path: Path) -> Calibration:
    """A cache file back as a Calibration; ValueError/KeyError/TypeError when it is not one."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("not a calibration record")
    cal = Calibration(**data)
    if cal.version != CACHE_VERSION or not all(isinstance(x, dict) for x in (cal.options, cal.key, cal.bf16_check)):
        raise ValueError("not a calibration of this mmnet version")
    if set(cal.options) != set(OPTIONS) or not all(isinstance(e, dict) for e in cal.options.values()):
        raise ValueError("the options measured are not mmnet's")
    if not isinstance(cal.routes, dict) or set(cal.routes) not in (set(), set(ROUTES)) or not all(
            valid_route(e) for e in cal.routes.values()):
        raise ValueError("the kernel routes measured are not mmnet's")
    if not isinstance(cal.defaults, dict) or not isinstance(cal.under_load, list) or not all(
            isinstance(r, str) for r in cal.under_load) or not isinstance(cal.busy_streak, int):
        raise ValueError("its record of the host's load is not mmnet's")
    for entry in cal.options.values():
        if entry.get("status") == "ok" and not (isinstance(entry.get("ms_per_step"), (int, float))
                                                 and math.isfinite(entry["ms_per_step"]) and entry["ms_per_step"] > 0):
            raise ValueError("an option without a valid step time")
    return cal


OWN_FOLDER_ADVICE = ("MMNET_CACHE_DIR set to a writable folder of your own keeps this machine's calibration there "
                     "(and mmnet's other caches)")
MEMO: dict[str, Calibration] = {}  # per process, by cache file: a folder that cannot be written is not measured twice


def cached(key: dict, path: Path, then: str | None) -> Calibration | None:
    """The calibration cached at ``path`` when it is this machine's (``key``), else None (logged with ``then``; not
    logged without it: a first look, which the caller repeats)."""
    if str(path) in MEMO:
        return MEMO[str(path)]
    try:
        if not path.is_file():
            return None
        cal = read_calibration(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if then is None:
            pass
        elif isinstance(exc, PermissionError):  # another user's file or folder (a shared cache): not damaged, not ours
            log.warning("calibration cache '%s' is unreadable (permission denied: %s); %s. %s",
                        path, exc.strerror or exc, then, OWN_FOLDER_ADVICE)
        else:
            log.warning("calibration cache '%s' is damaged (%s); %s", path, exc, then)
        return None
    if cal.key == key:
        MEMO[str(path)] = cal
        return cal
    if then is not None:
        log.warning("calibration cache '%s' belongs to another machine or torch; %s", path, then)
    return None


def remember(path: Path, cal: Calibration) -> None:
    """Keep ``cal`` for this process as the calibration of cache file ``path`` (written or not)."""
    MEMO[str(path)] = cal


def remembered(path: Path) -> bool:
    """Whether this process has read or measured the calibration of cache file ``path`` already."""
    return str(path) in MEMO


def forget(path: Path) -> None:
    """Drop what this process kept of cache file ``path`` (to be measured again)."""
    MEMO.pop(str(path), None)


def cached_calibrations(cache_dir: str | Path | None = None) -> list[tuple[Path, Calibration | str]]:
    """Every cached calibration file with its content (or why it cannot be read), newest first."""
    folder = calibration_folder(cache_dir)
    dated: list[tuple[float, Path]] = []
    for path in folder.glob("*.json") if folder.is_dir() else []:
        with suppress(FileNotFoundError):  # removed since it was listed (`mmnet cache prune` in another process)
            dated.append((path.stat().st_mtime, path))
    out: list[tuple[Path, Calibration | str]] = []
    for _, path in sorted(dated, key=lambda entry: entry[0], reverse=True):
        try:
            out.append((path, read_calibration(path)))
        except FileNotFoundError:  # removed meanwhile, as above: no longer cached
            continue
        except (OSError, ValueError, KeyError, TypeError) as exc:
            out.append((path, f"unreadable ({exc}); it is measured again when needed"))
    return out


def inference_routes(image_size: int, cache_dir: str | Path | None = None) -> dict[str, bool]:
    """The fp32 kernel routes of inference (predict, explain, serve, spot) at this image size: the cached calibration's
    INFERENCE_ROUTES, whatever the layout. Never measured here (no prediction waits for it): none without a cache."""
    if not calibration_enabled():
        return {}
    key = calibration_key(image_size)
    cal = cached(key, cache_path(key, cache_dir), "fp32 kernel routes off for inference")
    return {name: cal.routes[name]["use"] for name in INFERENCE_ROUTES if name in cal.routes} if cal else {}
