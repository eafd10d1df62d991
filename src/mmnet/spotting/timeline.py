"""The timeline figure of a spotted recording: per scale, the motion curve, its threshold, the intervals.

Two panels share the time axis (seconds, with frame numbers on top): macro on top, micro below.
Each shows the smoothed motion score, the threshold as a dashed line, the spotted intervals of
that type as shaded spans with the apex marked, and the gaps (no face) hatched in grey.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["timeline_png"]

_COLOURS = {"macro": "#d62728", "micro": "#1f77b4"}


def timeline_png(result, *, width: float = 14.0) -> bytes:
    """The timeline PNG of a ``SpotResult`` as bytes (for `mmnet spot --out` and the HTTP API)."""
    import io

    buffer = io.BytesIO()
    _figure(result, width).savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def _figure(result, width: float):
    from matplotlib.figure import Figure

    numbers = result.curves.numbers
    t = (numbers - numbers[0]) / result.fps
    scales = [s for s in ("macro", "micro") if s in result.details]  # a micro-only learned spotter has no macro
    fig = Figure(figsize=(width, 1.0 + 2.1 * len(scales)), layout="constrained")
    axes = fig.subplots(len(scales), 1, sharex=True, squeeze=False)[:, 0]
    for ax, scale in zip(axes, scales):
        detail = result.details[scale]
        ax.plot(t, detail["smoothed"], color="0.2", lw=0.8, label="motion (smoothed)")
        if detail["threshold"] is not None:  # None: the scale's motion was not measured (the result's notes)
            ax.axhline(detail["threshold"], color=_COLOURS[scale], ls="--", lw=1.0,
                       label=f"threshold {detail['threshold']:.2f}")
        else:
            ax.text(0.5, 0.5, f"no {scale} threshold: nothing spotted (see the result's notes)",
                    transform=ax.transAxes, ha="center", va="center", fontsize=9, color="0.3")
        ymax = np.nanmax(detail["smoothed"]) if np.isfinite(detail["smoothed"]).any() else 1.0
        found = [i for i in result.intervals if i.type == scale]
        for i in found:
            a, b = (i.onset - numbers[0]) / result.fps, (i.offset - numbers[0]) / result.fps
            ax.axvspan(a, b, color=_COLOURS[scale], alpha=0.25, lw=0)
            ax.plot([(i.apex - numbers[0]) / result.fps], [ymax * 1.02], marker="v", color=_COLOURS[scale], ms=4)
        for a, b in result.gaps:
            ax.axvspan((a - numbers[0]) / result.fps, (b - numbers[0]) / result.fps, facecolor="0.85",
                       hatch="//", edgecolor="0.6", lw=0, label="no face" if (a, b) == result.gaps[0] else None)
        ax.set_ylabel(f"{scale}\n(k = {detail['k']} frames)")
        ax.set_ylim(0, ymax * 1.08 if ymax > 0 else 1.0)
        ax.legend(loc="upper right", fontsize=8, title=f"{len(found)} {scale} interval(s)", title_fontsize=8)
        ax.grid(axis="x", color="0.9")
    axes[-1].set_xlabel("time (s)")
    top = axes[0].secondary_xaxis("top", functions=(lambda s: s * result.fps + numbers[0],
                                                    lambda f: (f - numbers[0]) / result.fps))
    top.set_xlabel("frame number")
    fig.suptitle(f"{Path(result.source).name}: {result.frames} frames at {result.fps:g} fps", fontsize=10)
    return fig
