"""The timeline figure of a spotted recording: per scale, the motion curve, its threshold, the intervals.

Two panels share the time axis (seconds, with frame numbers on top): macro on top, micro below.
Each shows the smoothed motion score, the threshold as a dashed line, the spotted intervals of
that type as shaded spans with the apex marked, and the gaps (no face) hatched in grey. A result without
curves (a spotter of one's own that keeps none in ``SpotResult.details``) shows its intervals alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["timeline_png"]

_COLOURS = {"macro": "#d62728", "micro": "#1f77b4"}


def timeline_png(result, *, width: float = 14.0) -> bytes:
    """The timeline PNG of a ``SpotResult`` as bytes (for `mmnet spot --out` and the HTTP API)."""
    import io

    from ..report.figure_fonts import fitted_fonts

    buffer, fig = io.BytesIO(), _figure(result, width)
    # a recording named in Chinese or Japanese: a font that has its characters, else one note (not one a glyph)
    with fitted_fonts(fig, "the timeline figure", "spot again"):
        fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def _figure(result, width: float):
    from matplotlib.figure import Figure

    numbers = np.asarray(result.curves.numbers)
    first = numbers[0] if len(numbers) else 0
    t = (numbers - first) / result.fps
    times = getattr(result.curves, "times", None)  # a video's presentation times: seconds of a variable frame rate
    known = np.isfinite(times) if times is not None and len(times) == len(numbers) else None
    if known is not None and known.sum() >= 2:
        t = np.interp(numbers, numbers[known], np.asarray(times)[known])  # frames without a time: between neighbours
        to_s, to_frame = _frame_clock(numbers, t, result.fps)
    else:

        def to_s(f):
            return (np.asarray(f) - first) / result.fps

        def to_frame(s):
            return np.asarray(s) * result.fps + first
    scales = [s for s in ("macro", "micro") if s in result.details]  # a micro-only learned spotter has no macro
    # a spotter that keeps no curve (details empty): the types of its intervals, without a curve
    scales = scales or [s for s in ("macro", "micro") if any(i.type == s for i in result.intervals)] or ["micro"]
    fig = Figure(figsize=(width, 1.0 + 2.1 * len(scales)), layout="constrained")
    axes = fig.subplots(len(scales), 1, sharex=True, squeeze=False)[:, 0]
    for ax, scale in zip(axes, scales):
        detail = result.details.get(scale)
        smoothed = np.asarray(detail["smoothed"], dtype=float) if detail is not None else np.full(len(t), np.nan)
        if detail is not None:
            ax.plot(t, smoothed, color="0.2", lw=0.8, label="motion (smoothed)")
        if detail is not None and detail["threshold"] is not None:  # None: the scale's motion was not measured
            ax.axhline(detail["threshold"], color=_COLOURS[scale], ls="--", lw=1.0,
                       label=f"threshold {detail['threshold']:.2f}")
        else:
            why = "the spotter kept no score curve" if detail is None else "nothing spotted (see the result's notes)"
            ax.text(0.5, 0.5, f"no {scale} threshold: {why}",
                    transform=ax.transAxes, ha="center", va="center", fontsize=9, color="0.3")
        ymax = np.nanmax(smoothed) if np.isfinite(smoothed).any() else 1.0
        found = [i for i in result.intervals if i.type == scale]
        for i in found:  # an interval spans its frames, the last one to its end: [onset, offset + 1)
            a, b = to_s(i.onset), to_s(i.offset + 1)
            ax.axvspan(a, b, color=_COLOURS[scale], alpha=0.25, lw=0)
            ax.plot([to_s(i.apex)], [ymax * 1.02], marker="v", color=_COLOURS[scale], ms=4)
        for a, b in result.gaps:
            ax.axvspan(to_s(a), to_s(b + 1), facecolor="0.85",
                       hatch="//", edgecolor="0.6", lw=0, label="no face" if (a, b) == result.gaps[0] else None)
        ax.set_ylabel(f"{scale}\n(k = {detail['k']} frames)" if detail is not None and "k" in detail else scale)
        ax.set_ylim(0, ymax * 1.08 if ymax > 0 else 1.0)
        handles, _ = ax.get_legend_handles_labels()  # none without a curve or a gap: the title alone
        ax.legend(handles=handles, loc="upper right", fontsize=8, title=f"{len(found)} {scale} interval(s)",
                  title_fontsize=8)
        ax.grid(axis="x", color="0.9")
    axes[-1].set_xlabel("time (s)")
    top = axes[0].secondary_xaxis("top", functions=(to_frame, to_s))
    top.set_xlabel("frame number")
    fig.suptitle(f"{Path(result.source).name}: {result.frames} frames at {result.fps:g} fps", fontsize=10)
    return fig


def _frame_clock(numbers: np.ndarray, t: np.ndarray, fps: float):
    """(frame -> seconds, seconds -> frame) of a video's frame times ``t``: between its frames as they are,
    beyond its first and last frame on at ``fps``. The frame-number axis is drawn over the time axis's margins
    too (matplotlib pads the recording by 5 % on each side): clamped there, as ``np.interp`` is, the margins
    read as the first and last frame and every label of the axis lands at the wrong time."""

    def to_s(f):
        f = np.asarray(f, dtype=float)
        inside = np.interp(f, numbers, t)
        return np.where(f < numbers[0], t[0] + (f - numbers[0]) / fps,
                        np.where(f > numbers[-1], t[-1] + (f - numbers[-1]) / fps, inside))

    def to_frame(s):
        s = np.asarray(s, dtype=float)
        inside = np.interp(s, t, numbers)
        return np.where(s < t[0], numbers[0] + (s - t[0]) * fps,
                        np.where(s > t[-1], numbers[-1] + (s - t[-1]) * fps, inside))

    return to_s, to_frame
