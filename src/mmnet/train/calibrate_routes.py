"""The fp32 kernel routes' part of the calibration (:mod:`mmnet.train.calibrate`): timing each route
against the plain kernel (:func:`mmnet.calibration_cache.valid_route` checks a cached record of it). The routes
are :mod:`mmnet.model.cpu_kernels`'."""

from __future__ import annotations

from ..model.cpu_kernels import ROUTES
from .calibrate_choice import spread

__all__ = ["measure_routes", "ROUTE_MIN_GAIN", "ROUTE_ROUNDS"]

ROUTE_MIN_GAIN = 0.10  # a kernel route must be this much faster than the plain kernel (a tie is noise)
ROUTE_ROUNDS = 3


def measure_routes(bench, layout: str, metric: str) -> dict[str, dict]:
    """Each kernel route against the plain kernel, in the faster fp32 layout: ROUTE_ROUNDS interleaved
    rounds after an untimed one, the best of each (used when at least ROUTE_MIN_GAIN, and more than the rounds'
    spread, faster), by wall time, or by CPU time / threads on a busy host
    (``metric``, as the options). ``bench.route(name, on, layout)`` times one run: (wall s, CPU s);
    a bench without it measures none."""
    if not hasattr(bench, "route"):
        return {}
    out: dict[str, dict] = {}

    def timed(name: str, on: bool) -> float:
        wall, cpu = bench.route(name, on, layout)
        return wall if metric == "wall" else cpu / bench.threads

    for name in ROUTES:
        try:
            timed(name, False), timed(name, True)  # untimed: kernel selection, first touch
            plain, routed = [], []
            for _ in range(ROUTE_ROUNDS):
                plain.append(timed(name, False))
                routed.append(timed(name, True))
            plain_ms, route_ms = min(plain) * 1e3, min(routed) * 1e3
            # a lead within the rounds' own spread is noise too (a busy host): the route stays off, as by default
            noise = max(spread(plain), spread(routed))
            out[name] = {"plain_ms": round(plain_ms, 3), "route_ms": round(route_ms, 3), "layout": layout,
                         "spread": round(noise, 4), "use": route_ms <= (1 - max(ROUTE_MIN_GAIN, noise)) * plain_ms}
        except Exception as exc:  # noqa: BLE001 - a route that does not run here stays off
            out[name] = {"status": f"failed: {type(exc).__name__}: {exc}", "use": False}
    return out


